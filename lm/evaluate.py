"""Compare the bigram model and the transformer on the same text, word by word.

    python -m lm.evaluate [--text FILE] [--model ID|PATH] [--corpus PATH ...] [--json OUT.json]
                          [--markdown OUT.md] [--plots DIR] [--slots 3] [--max-words N] [--workers auto|N]

Without ``--text`` the text is the play held out of the default corpus (`lm.corpus.HELD_OUT_PLAY`,
The Tempest), which the bigram model was not built from.

The metrics, per model, over the words of the text (`lm.tokenize` words; compared case-insensitively):

- ``perplexity``: exp(-mean ln p(word | context)) over the same words for both models. The bigram
  uses interpolated Kneser-Ney on the previous word, so an unseen pair is not infinite; a word the
  corpus never saw gets the ``<UNK>`` slot's probability and is counted like any other word. The
  transformer's p(word) is the probability of the word's tokens in the text (one pass over it) times
  p(the next token ends the word), as in `lm.word_search`.
- ``top1_accuracy``, ``top3_accuracy``: is the word the first / among the first three suggestions,
  with nothing of it typed yet (recall@1 and recall@3).
- ``keystroke_savings``: KSR = 1 - (keys typed + keys spent selecting) / (keys without prediction),
  simulating a strip of ``--slots`` suggestions: type one more letter at a time until the word is
  suggested, then select it (1 key, which also adds the space). Without prediction a word costs its
  length + 1 for the space.
- ``found_within``: the share of words suggested after typing at most 0, 1, 2, ... letters.

``agreement``: how often the two top-3 lists share a word, their mean overlap, and the mean
Jensen-Shannon divergence (nats) of the two next-word distributions over the union of each model's
top-10 words (for the transformer, the words its keyboard search found, case merged), each
renormalised over that union (0 when identical, ln 2 when disjoint).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from lm.smoothing import KneserNey
from lm.tokenize import WORD_RE, last_word
from lm.word_search import SearchBudget

TOP_FOR_AGREEMENT = 10  # words per model in the Jensen-Shannon comparison
MAX_PREFIX_SHOWN = 5  # letters typed, in `found_within`
SCORING = SearchBudget(k=10, batch_size=32, fanout=32, max_steps=8, min_prob=1e-4)  # a word a token straddles


# ---- the metrics, as plain functions ---------------------------------------------------------


def recall_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Share of positions whose true word ranked within the first `k` (None = not suggested).

    Example:
        >>> recall_at_k([1, 2, None, 4], 3)
        0.5
    """
    return sum(rank is not None and rank <= k for rank in ranks) / len(ranks) if ranks else 0.0


def perplexity(log_probs: Sequence[float]) -> float:
    """exp(-mean of natural-log probabilities); inf if any probability is 0.

    Example:
        >>> perplexity([math.log(0.5), math.log(0.125)])  # exp(-(ln 1/2 + ln 1/8) / 2) = 4
        4.0
    """
    if len(log_probs) == 0:
        raise ValueError("`log_probs` is empty: no words to score")
    return float(math.exp(-float(np.mean(log_probs))))


def keystroke_savings(costs: Sequence[int], words: Sequence[str]) -> float:
    """1 - (keys spent with prediction) / (keys without: each word's length + 1 for the space).

    Example:
        >>> keystroke_savings([1, 4], ["the", "cat"])  # 1 - (1 + 4) / (4 + 4)
        0.375
    """
    without = sum(len(word) + 1 for word in words)
    return 1.0 - sum(costs) / without if without else 0.0


def js_divergence(p: dict[str, float], q: dict[str, float]) -> float:
    """Jensen-Shannon divergence (nats) of two distributions over the union of their words, each renormalised.

    Example:
        >>> disjoint = js_divergence({"a": 1.0}, {"b": 1.0})
        >>> js_divergence({"a": 1.0}, {"a": 2.0}), round(disjoint, 6) == round(math.log(2), 6)
        (0.0, True)
    """
    words = sorted(set(p) | set(q))
    a = np.array([p.get(w, 0.0) for w in words], dtype=float)
    b = np.array([q.get(w, 0.0) for w in words], dtype=float)
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(x):
        keep = x > 0
        return float(np.sum(x[keep] * np.log(x[keep] / m[keep])))

    return 0.5 * kl(a) + 0.5 * kl(b)


def typing_cost(word: str, suggest: Callable[[str], list[str]]) -> tuple[int, int | None]:
    """(keys spent on `word`, letters typed before it was suggested or None), for a suggestion strip.

    `suggest(prefix)` gives the strip's words after typing `prefix`. Selecting costs 1 key and adds
    the space; a word never suggested costs its length + 1.

    Example:
        >>> typing_cost("cat", lambda prefix: ["cat"] if prefix == "c" else ["the"])
        (2, 1)
    """
    target = word.lower()
    for typed in range(len(word) + 1):
        if target in (s.lower() for s in suggest(word[:typed])):
            return typed + 1, typed
    return len(word) + 1, None


# ---- each model as a suggester and a scorer ----------------------------------------------------


@dataclass
class WordSpan:
    """One word of the text and where it starts (the context is the text before it)."""

    word: str
    start: int


def word_spans(text: str) -> list[WordSpan]:
    """The words of `text` with their offsets, case kept (typographic apostrophes become ').

    Example:
        >>> [(s.word, s.start) for s in word_spans("Don\u2019t stop.")]
        [("Don't", 0), ('stop', 6)]
    """
    text = text.replace("\u2019", "'")
    return [WordSpan(m.group(), m.start()) for m in WORD_RE.finditer(text)]


class BigramSide:
    """The bigram model: suggestions from its tables, probabilities from Kneser-Ney."""

    name = "bigram"

    def __init__(self, model):
        self.model, self.smoother = model, KneserNey(model)

    def suggest(self, context: str, prefix: str, k: int) -> list[str]:
        return [word for word, _ in self.model.top_next_words(context, k, prefix)]

    def next_words(self, context: str, k: int) -> tuple[list[str], dict[str, float]]:
        """(the k suggestions with nothing typed, the top words with p(w | context, a word comes next))."""
        ranked = self.model.top_next_words(context, TOP_FOR_AGREEMENT)
        return [w for w, _ in ranked[:k]], dict(ranked)

    def log_probs(self, text: str, spans: list[WordSpan]) -> list[float]:
        return [math.log(self.smoother.prob(s.word.lower(), last_word(text[: s.start]))) for s in spans]


class TransformerSide:
    """The transformer: suggestions from the word search, probabilities from one pass over the text."""

    name = "transformer"

    def __init__(self, model):
        self.model = model

    def suggest(self, context: str, prefix: str, k: int) -> list[str]:
        return [word for word, _ in self.model.top_next_words(context, k, prefix)]

    def next_words(self, context: str, k: int) -> tuple[list[str], dict[str, float]]:
        """(the k suggestions with nothing typed, the words the keyboard's distribution lists, case merged)."""
        ranked = self.model.next_word_distribution(context).top()  # what the keyboard's chips and charts show
        merged: dict[str, float] = {}
        for word, p in ranked[:TOP_FOR_AGREEMENT]:
            merged[word.lower()] = merged.get(word.lower(), 0.0) + p
        return [w for w, _ in ranked[:k]], merged

    def log_probs(self, text: str, spans: list[WordSpan]) -> list[float]:
        """ln p(word | text before it) for each span: its tokens' log-probs plus ln p(the word ends)."""
        tm = self.model
        encoded = tm.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
        first_word_end = spans[0].start + len(spans[0].word) if spans else 0
        token_logprobs, end_mass = _token_scores(tm, ids, sum(start < first_word_end for start, _ in offsets))
        owner = np.full(len(text) + 1, -1)  # character -> the token that holds it
        for index, (start, end) in enumerate(offsets):
            owner[start:end] = index
        scores = []
        for span in spans:
            first, last = owner[span.start], owner[span.start + len(span.word) - 1]
            if span.start and text[span.start - 1] == " " and first >= 0 and offsets[first][0] == span.start:
                space = owner[span.start - 1]  # the token holding the space: the path starts there if it is a bare " "
                first = space if space >= 0 and tm.tokens.texts[ids[space]] == " " else -1
            aligned = first >= 0 and last >= first and offsets[last][1] == span.start + len(span.word)
            aligned = aligned and not text[offsets[first][0] : span.start].strip()
            if aligned:
                scores.append(float(token_logprobs[first : last + 1].sum()) + math.log(max(end_mass[last], 1e-300)))
            else:  # a token straddles the word's edge: ask the word search instead
                result = tm.word_search(text[: span.start], span.word, SCORING)
                p = result.words.get(span.word, 0.0) * result.prefix_mass
                scores.append(math.log(p) if p > 0 else -math.inf)
        return scores


def _token_scores(tm, ids: list[int], from_start: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """For each token of `ids`: ln p(token | the tokens before it), and p(the token after it ends a word).

    As `TransformerModel.log_likelihood` and the word search define it, only the text's beginning is
    conditioned on the start token: the first `from_start` tokens (the first word) are scored after it,
    all later ones after the text alone. Texts longer than the window go in overlapping chunks.
    """
    logprob, end = _scores_in_windows(tm, list(ids))
    head = [tm.start_token] + list(ids[: from_start + 1])
    head_logprob, head_end = _scores_in_windows(tm, head)
    logprob[:from_start], end[:from_start] = head_logprob[1 : from_start + 1], head_end[1 : from_start + 1]
    return logprob, end


def _scores_in_windows(tm, sequence: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """logprob[i] = ln p(sequence[i] | sequence[:i]) (0 for i = 0) and end[i] = p(a word-ending token
    after sequence[:i + 1]), each from at most `max_context_tokens` tokens of context."""
    window = tm.max_context_tokens
    stride = max(1, window // 2)  # each chunk after the first keeps window - stride tokens of context
    logprob, end = np.zeros(len(sequence)), np.zeros(len(sequence))
    ends = torch.as_tensor(tm.tokens.ends, device=tm.device)
    position = 0  # the next position whose next-token distribution is needed
    while position < len(sequence):
        start = max(0, position - (window - stride))
        chunk = sequence[start : start + window]
        with torch.inference_mode():
            logits = tm.model(input_ids=torch.tensor([chunk], device=tm.device)).logits[0, position - start :].float()
        logprobs = torch.log_softmax(logits, -1)  # row r: the distribution after sequence[: position + r + 1]
        stop = start + len(chunk)
        following = torch.tensor(sequence[position + 1 : stop + 1], device=tm.device)
        logprob[position + 1 : position + 1 + len(following)] = (
            logprobs[torch.arange(len(following)), following].cpu().numpy()
        )
        end[position:stop] = torch.logsumexp(logprobs.masked_fill(~ends, float("-inf")), -1).exp().cpu().numpy()
        position = stop
    return logprob, end


# ---- the evaluation -----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one model did at one word position (with nothing typed, and while typing it)."""

    top: list[str]  # the suggestions with nothing typed
    distribution: dict[str, float]  # its top words, for the Jensen-Shannon comparison
    cost: int  # keys spent on the word
    typed: int | None  # letters typed before it was suggested (None: never)


def simulate(side, text: str, spans: list[WordSpan], slots: int) -> list[Outcome]:
    """Type `spans` one after another against `side`'s suggestion strip (see `typing_cost`).

    Example:
        >>> from lm import BigramModel
        >>> side = BigramSide(BigramModel.from_text("the cat sat. the cat ran. the dog ran.", device="cpu"))
        >>> text = "the dog sat"
        >>> [(o.top[:2], o.cost, o.typed) for o in simulate(side, text, word_spans(text), slots=1)]
        [(['the'], 1, 0), (['cat', 'dog'], 2, 1), (['ran'], 2, 1)]
    """
    outcomes = []
    for span in spans:
        context = text[: span.start]
        top, distribution = side.next_words(context, max(slots, 3))
        cost, typed = typing_cost(
            span.word, lambda prefix: top[:slots] if not prefix else side.suggest(context, prefix, slots)
        )
        outcomes.append(Outcome(top, distribution, cost, typed))
    return outcomes


CHUNK_WORDS = 50  # words per task when the simulation runs in worker processes


@functools.cache
def _worker_side(load_options: tuple) -> TransformerSide:
    """The transformer, loaded once per worker process."""
    from lm.transformer import TransformerModel

    return TransformerSide(TransformerModel.from_pretrained(**dict(load_options)))


def _simulate_chunk(load_options: tuple, threads: int, text: str, spans: list[WordSpan], slots: int) -> list[Outcome]:
    torch.set_num_threads(threads)
    return simulate(_worker_side(load_options), text, spans, slots)


def check_workers(workers) -> None:
    """Raise `ValueError` unless `workers` is ``"auto"`` or a positive integer.

    Example:
        >>> check_workers(0)
        Traceback (most recent call last):
        ...
        ValueError: `workers` has to be a positive integer or 'auto', but is 0
    """
    if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"`workers` has to be a positive integer or 'auto', but is {workers!r}")


def choose_workers(side, workers: int | str = "auto") -> int:
    """Processes for the keystroke simulation: ``"auto"`` is one per CPU core, at most 4 (measured on
    2 cores: two single-threaded processes simulate 1.4x faster than one process with two threads);
    always 1 on a GPU, for a model `from_pretrained` did not load, and for the bigram (it is fast).

    Example:
        >>> from lm import BigramModel
        >>> choose_workers(BigramSide(BigramModel.from_text("the cat sat.", device="cpu")), "auto")
        1
    """
    check_workers(workers)
    options = getattr(getattr(side, "model", None), "load_options", None)
    if not isinstance(side, TransformerSide) or options is None or torch.device(options["device"]).type != "cpu":
        return 1
    return max(1, min(4, os.cpu_count() or 1)) if workers == "auto" else workers


def _simulate_in_processes(
    side, text: str, spans: list[WordSpan], slots: int, workers: int, progress=None
) -> list[Outcome]:
    """`simulate` split into chunks of `CHUNK_WORDS` words over `workers` processes, each loading the model
    once. Each chunk starts with a cold cache, which changes nothing but float rounding."""
    options = tuple(sorted(side.model.load_options.items()))
    threads = max(1, (os.cpu_count() or 1) // workers)
    chunks = [spans[i : i + CHUNK_WORDS] for i in range(0, len(spans), CHUNK_WORDS)]
    results: dict[int, list[Outcome]] = {}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {
            pool.submit(_simulate_chunk, options, threads, text[: chunk[-1].start], chunk, slots): i
            for i, chunk in enumerate(chunks)
        }
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if progress:
                progress(side.name, sum(map(len, results.values())), len(spans))
    return [outcome for i in range(len(chunks)) for outcome in results[i]]


def evaluate_side(
    side, text: str, spans: list[WordSpan], slots: int, progress=None, workers: int | str = 1
) -> tuple[dict, list[dict]]:
    """Every metric for one model with its per-position details, and its next-word distributions."""
    started = time.perf_counter()
    log_probs = side.log_probs(text, spans)
    workers = choose_workers(side, workers)
    if workers > 1:
        outcomes = _simulate_in_processes(side, text, spans, slots, workers, progress)
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


def agreement(bigram: tuple[dict, list], transformer: tuple[dict, list]) -> dict:
    """How the two models' suggestions overlap, and how far apart their next-word distributions are."""
    pairs = list(zip(bigram[0]["positions"], transformer[0]["positions"]))
    overlaps = [len({w.lower() for w in b["top3"]} & {w.lower() for w in t["top3"]}) for b, t in pairs]
    divergences = [js_divergence(p, q) for p, q in zip(bigram[1], transformer[1]) if p and q]
    return {
        "top3_share_a_word": sum(o > 0 for o in overlaps) / len(overlaps),
        "top3_mean_overlap": float(np.mean(overlaps)),
        "mean_js_divergence_nats": float(np.mean(divergences)) if divergences else None,
    }


def evaluate(
    text: str, bigram, transformer, slots: int = 3, max_words: int | None = None, progress=None, workers: int | str = 1
) -> dict:
    """The full comparison report for `text` (see the module docstring).

    `workers`: processes simulating the transformer's keyboard (``"auto"``: see `choose_workers`).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("`text` is empty: give some words to evaluate on")
    if isinstance(slots, bool) or not isinstance(slots, int) or not 1 <= slots <= 10:
        raise ValueError(f"`slots` has to be an integer from 1 to 10, but is {slots!r}")
    check_workers(workers)  # before any work
    spans = word_spans(text)[:max_words]
    if not spans:
        raise ValueError("`text` has no words to evaluate on")
    text = text.replace("\u2019", "'")[: spans[-1].start + len(spans[-1].word)]
    results = {
        side.name: evaluate_side(side, text, spans, slots, progress, workers)
        for side in (BigramSide(bigram), TransformerSide(transformer))
    }
    report = {name: details for name, (details, _) in results.items()}
    report["agreement"] = agreement(results["bigram"], results["transformer"])
    report["slots"] = slots
    report["words"] = [s.word for s in spans]
    return report


def summary_table(report: dict) -> str:
    """A Markdown table of the headline metrics."""
    rows = [
        ("perplexity (per word)", "perplexity", "{:.1f}"),
        ("recall@1", "top1_accuracy", "{:.1%}"),
        ("recall@3", "top3_accuracy", "{:.1%}"),
        (f"keystroke savings ({report['slots']} slots)", "keystroke_savings", "{:.1%}"),
        ("seconds", "seconds", "{:.1f}"),
    ]
    lines = ["| metric | bigram | transformer |", "| --- | --- | --- |"]
    for label, key, form in rows:
        lines.append(f"| {label} | {form.format(report['bigram'][key])} | {form.format(report['transformer'][key])} |")
    agree = report["agreement"]
    lines.append(
        f"\n{len(report['words'])} words. Top-3 lists share a word at {agree['top3_share_a_word']:.1%} of positions "
        f"(mean overlap {agree['top3_mean_overlap']:.2f}); mean Jensen-Shannon divergence "
        f"{agree['mean_js_divergence_nats'] or float('nan'):.3f} nats (ln 2 = 0.693 is disjoint)."
    )
    return "\n".join(lines)


def _progress_bar(name: str, done: int, total: int) -> None:
    if done == total or done % 25 == 0:
        width = 30
        filled = int(width * done / total)
        print(
            f"\r{name:12s} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
            end="\n" if done == total else "",
            file=sys.stderr,
            flush=True,
        )


def _workers_argument(value: str) -> int | str:
    if value == "auto" or (value.isdigit() and int(value) >= 1):
        return value if value == "auto" else int(value)
    raise argparse.ArgumentTypeError(f"has to be 'auto' or a positive whole number, not {value!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare the bigram model and the transformer on a text.")
    parser.add_argument("--text", help="a UTF-8 text file (default: the held-out play)")
    parser.add_argument("--model", default=None, help="hub id, folder or .gguf (default: embedded SmolLM2)")
    parser.add_argument("--corpus", nargs="+", default=None, help="the bigram model's corpus (default: Shakespeare)")
    parser.add_argument("--json", help="write the full report (with per-position details) here")
    parser.add_argument("--markdown", help="write the summary table here")
    parser.add_argument("--plots", help="write PNG charts into this folder")
    parser.add_argument("--slots", type=int, default=3)
    parser.add_argument("--max-words", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--workers",
        default="auto",
        type=_workers_argument,
        help="processes for the transformer's keystroke simulation: auto or a number (default: auto)",
    )
    args = parser.parse_args(argv)

    from lm import BigramModel, TransformerModel, corpus

    try:
        text = corpus.read_text_file(Path(args.text)) if args.text else corpus.held_out_text()
        bigram = BigramModel.from_corpus(args.corpus, device=args.device)
        transformer = TransformerModel.from_pretrained(args.model, device=args.device)
        report = evaluate(text, bigram, transformer, args.slots, args.max_words, _progress_bar, args.workers)
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
        from lm.evaluate_plots import save_plots

        save_plots(report, Path(args.plots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
