"""Compare the models of a lineup (`lm.registry`) on the same text, word by word: the report and the
command line (the metrics are in `lm.evaluation.metrics`, the typing simulation in `lm.evaluation.typing_simulation`).

    python -m lm.evaluation.evaluate [--models bigram,transformer] [--text FILE] [--model ID|PATH] [--corpus PATH ...]
                          [--json OUT.json] [--markdown OUT.md] [--plots DIR] [--slots 3] [--max-words N]
                          [--workers auto|N]

Without ``--text`` the text is the play held out of the default corpus (`lm.counting.corpus.HELD_OUT_PLAY`,
The Tempest), which the bigram model was not built from.

The metrics, per model, over the words of the text (`lm.core.tokenize` words; compared case-insensitively):

- ``perplexity``: exp(-mean ln p(word | context)) over the same words for every model, each model's own
  `word_log_probs`. The bigram uses interpolated Kneser-Ney on the previous word, so an unseen pair is
  not infinite; a word the corpus never saw gets the ``<UNK>`` slot's probability and is counted like any
  other word. The trigram interpolates its counts with that (Witten-Bell). The transformer's p(word) is
  the probability of the word's tokens in the text (one pass over it) times p(the next token ends the
  word), as in `lm.transformer.word_search`.
- ``top1_accuracy``, ``top3_accuracy``: is the word the first / among the first three suggestions,
  with nothing of it typed yet (recall@1 and recall@3).
- ``keystroke_savings``: KSR = 1 - (keys typed + keys spent selecting) / (keys without prediction),
  simulating a strip of ``--slots`` suggestions: type one more letter at a time until the word is
  suggested, then select it (1 key, which also adds the space). Without prediction a word costs its
  length + 1 for the space.
- ``found_within``: the share of words suggested after typing at most 0, 1, 2, ... letters.

``agreement``, for every pair of models: how often the two top-3 lists share a word, their mean overlap,
and the mean Jensen-Shannon divergence (nats) of the two next-word distributions over the union of each model's
top-10 words (for the transformer, the words its keyboard search found, case merged), each
renormalised over that union (0 when identical, ln 2 when disjoint).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lm.evaluation.metrics import js_divergence, keystroke_savings, perplexity, recall_at_k
from lm.evaluation.typing_simulation import (
    Side,
    WordSpan,
    check_workers,
    choose_workers,
    simulate,
    simulate_concurrently,
    word_spans,
)
from lm.registry import DEFAULT_MODELS, MODELS, LoadOptions, check_model_names, load
from lm.transformer.engine import BACKGROUND, Work

MAX_PREFIX_SHOWN = 5  # letters typed, in `found_within`


# ---- the report ---------------------------------------------------------------------------------


def evaluate_side(
    side, text: str, spans: list[WordSpan], slots: int, progress=None, workers: int | str = 1
) -> tuple[dict, list[dict]]:
    """Every metric for one model with its per-position details, and its next-word distributions."""
    started = time.perf_counter()
    log_probs = side.log_probs(text, spans)
    workers = choose_workers(side, workers)
    if workers > 1:
        outcomes = simulate_concurrently(side, text, spans, slots, workers, progress)
    else:
        outcomes = []
        for i, span in enumerate(spans):
            outcomes += simulate(side, text, [span], slots)
            if progress:
                progress(side.name, i + 1, len(spans))
    positions = []
    for span, outcome, log_prob in zip(spans, outcomes, log_probs):
        rank = next((r for r, word in enumerate(outcome.top, 1) if word.lower() == span.word.lower()), None)
        positions.append(
            {
                "word": span.word,
                "rank": rank,
                "p": math.exp(log_prob),
                "letters_typed": outcome.typed,
                "top3": outcome.top[:3],
            }
        )
    words = [s.word for s in spans]
    ranks = [p["rank"] for p in positions]
    found = [outcome.typed for outcome in outcomes]
    return {
        "perplexity": perplexity(log_probs),
        "top1_accuracy": recall_at_k(ranks, 1),
        "top3_accuracy": recall_at_k(ranks, 3),
        "keystroke_savings": keystroke_savings([outcome.cost for outcome in outcomes], words),
        "found_within": {
            str(j): sum(t is not None and t <= j for t in found) / len(found) for j in range(MAX_PREFIX_SHOWN + 1)
        },
        "words": len(words),
        "seconds": time.perf_counter() - started,
        "workers": workers,
        "positions": positions,
    }, [outcome.distribution for outcome in outcomes]


def agreement(one: tuple[dict, list], other: tuple[dict, list]) -> dict:
    """How two models' suggestions overlap, and how far apart their next-word distributions are."""
    pairs = list(zip(one[0]["positions"], other[0]["positions"]))
    overlaps = [len({w.lower() for w in a["top3"]} & {w.lower() for w in b["top3"]}) for a, b in pairs]
    divergences = [js_divergence(p, q) for p, q in zip(one[1], other[1]) if p and q]
    return {
        "top3_share_a_word": sum(o > 0 for o in overlaps) / len(overlaps),
        "top3_mean_overlap": float(np.mean(overlaps)),
        "mean_js_divergence_nats": float(np.mean(divergences)) if divergences else None,
    }


def pair_name(one: str, other: str) -> str:
    """The key of a pair of models in ``report["agreement"]``.

    Example:
        >>> pair_name("bigram", "transformer")
        'bigram vs transformer'
    """
    return f"{one} vs {other}"


def evaluate(
    text: str,
    models: list,
    slots: int = 3,
    max_words: int | None = None,
    progress=None,
    workers: int | str = 1,
    max_letters: int | None = None,
) -> dict:
    """The full comparison report for `text` (see the module docstring), for every model of `models` (a
    lineup of `lm.registry.NamedModel`): ``report[name]`` for each, ``report["agreement"][pair_name(a, b)]``
    for each pair, ``report["models"]`` their names in order.

    `max_words` and `max_letters` cut the text: the simulation types a word letter by letter, so its
    cost grows with the letters as well as the words (``report["letters"]`` says how many were read).

    `workers`: word positions of an engine model's keyboard simulated at once (``"auto"``: see
    `choose_workers`). The whole evaluation is `lm.transformer.engine.BACKGROUND` work: typists' keystrokes go first,
    and its contexts live in the transformer's background cache.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("`text` is empty: give some words to evaluate on")
    if isinstance(slots, bool) or not isinstance(slots, int) or not 1 <= slots <= 10:
        raise ValueError(f"`slots` has to be an integer from 1 to 10, but is {slots!r}")
    if not models:
        raise ValueError("`models` is empty: give at least one model to evaluate")
    check_workers(workers)  # before any work
    spans = word_spans(text)[:max_words]
    if not spans:
        raise ValueError("`text` has no words to evaluate on")
    if max_letters is not None:
        letters = np.cumsum([len(span.word) for span in spans])
        spans = spans[: int(np.searchsorted(letters, max_letters, side="right"))]
        if not spans:
            raise ValueError(f"the first word of `text` is longer than the {max_letters:,} letters a run may read")
    text = text.replace("\u2019", "'")[: spans[-1].start + len(spans[-1].word)]
    background = Work(BACKGROUND)  # one job, after every keystroke, in the background's cache
    results = {
        named.name: evaluate_side(Side(named.name, named.doing(background)), text, spans, slots, progress, workers)
        for named in models
    }
    names = list(results)
    report = {name: details for name, (details, _) in results.items()}
    report["models"] = names
    report["agreement"] = {
        pair_name(one, other): agreement(results[one], results[other])
        for i, one in enumerate(names)
        for other in names[i + 1 :]
    }
    report["slots"] = slots
    report["words"] = [s.word for s in spans]
    report["letters"] = sum(len(s.word) for s in spans)
    return report


def large_number(value: float) -> str:
    """A number that can be huge (a perplexity): one decimal up to a million, then powers of ten.

    Example:
        >>> large_number(430.14), large_number(3.6e200), large_number(float("inf"))
        ('430.1', '3.6e+200', 'inf')
    """
    return f"{value:,.1f}" if value < 1e6 else f"{value:.2g}"


def summary_table(report: dict) -> str:
    """A Markdown table of the headline metrics."""
    rows = [
        ("perplexity (per word)", "perplexity", large_number),
        ("recall@1", "top1_accuracy", "{:.1%}".format),
        ("recall@3", "top3_accuracy", "{:.1%}".format),
        (f"keystroke savings ({report['slots']} slots)", "keystroke_savings", "{:.1%}".format),
        ("seconds", "seconds", "{:.1f}".format),
    ]
    names = report["models"]
    lines = [f"| metric | {' | '.join(names)} |", "| --- |" + " --- |" * len(names)]
    for label, key, form in rows:
        lines.append(f"| {label} | " + " | ".join(form(report[name][key]) for name in names) + " |")
    lines.append(f"\n{len(report['words'])} words.")
    for pair, agree in report["agreement"].items():
        divergence = agree["mean_js_divergence_nats"]  # None when no position had both distributions
        lines.append(
            f"{pair}: top-3 lists share a word at {agree['top3_share_a_word']:.1%} of positions "
            f"(mean overlap {agree['top3_mean_overlap']:.2f}); mean Jensen-Shannon divergence "
            f"{float('nan') if divergence is None else divergence:.3f} nats (ln 2 = 0.693 is disjoint)."
        )
    return "\n".join(lines)


class ProgressBars:
    """`evaluate`'s `progress(name, done, total)` as one tqdm bar per model, on stderr."""

    def __init__(self):
        self.bars: dict[str, tqdm] = {}

    def __call__(self, name: str, done: int, total: int) -> None:
        if name not in self.bars:
            self.bars[name] = tqdm(total=total, desc=name, unit="word", file=sys.stderr)
        bar = self.bars[name]
        bar.update(done - bar.n)
        if done == total:
            bar.close()


def _workers_argument(value: str) -> int | str:
    if value == "auto" or (value.isdigit() and int(value) >= 1):
        return value if value == "auto" else int(value)
    raise argparse.ArgumentTypeError(f"has to be 'auto' or a positive whole number, not {value!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare the models of a lineup on a text, word by word.")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help=f"any of {', '.join(MODELS)}")
    parser.add_argument("--text", help="a UTF-8 text file (default: the held-out play)")
    parser.add_argument("--model", default=None, help="hub id, folder or .gguf (default: embedded SmolLM2)")
    parser.add_argument("--corpus", nargs="+", default=None, help="the counting models' corpus (default: Shakespeare)")
    parser.add_argument("--json", help="write the full report (with per-position details) here")
    parser.add_argument("--markdown", help="write the summary table here")
    parser.add_argument("--plots", help="write PNG charts into this folder")
    parser.add_argument("--slots", type=int, default=3)
    parser.add_argument("--max-words", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--dtype",
        default="float32",
        help="the transformer's dtype (float32: the positions' passes are merged, exactly; see lm.transformer.engine)",
    )
    parser.add_argument(
        "--workers",
        default="auto",
        type=_workers_argument,
        help="word positions of the transformer's keystroke simulation run at once: auto or a number (default: auto)",
    )
    args = parser.parse_args(argv)

    from lm.counting import corpus

    try:
        text = corpus.read_text_file(Path(args.text)) if args.text else corpus.held_out_text()
        options = LoadOptions(corpus=args.corpus, model=args.model, device=args.device, dtype=args.dtype)
        models = load(check_model_names(args.models), options)
        report = evaluate(text, models, args.slots, args.max_words, ProgressBars(), args.workers)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report["text"] = args.text or f"held-out play: {corpus.HELD_OUT_PLAY}"
    table = summary_table(report)
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(table + "\n", encoding="utf-8")
    if args.plots:
        from lm.evaluation.evaluate_plots import save_plots

        save_plots(report, Path(args.plots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
