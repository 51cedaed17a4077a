"""Transformer benchmark: per-keystroke latency of 3 whole-word suggestions while typing.

Replays typing of a few paragraphs one character at a time (the text before the cursor is split
into context and the word being typed, as the keyboard does) and times `top_next_words` per
keystroke, all in one process:

- back to back: keystrokes with no pause, no prefetching (the worst case for the caches);
- at a typist's pace (one key every `--cadence` seconds, 0.3 s = 40 words/min), without and with
  the `lm.transformer.prefetch.Prefetcher` that the keyboard UI runs;
- a naive baseline on the first keystrokes, back to back: a full forward pass over the whole
  context for every keystroke, then greedy multi-token expansion of the 3 best first tokens.

It also measures the CPU dtype choice (float32 vs bfloat16) on the same contexts.

    python -m bench.bench_transformer [--naive-keystrokes 120] [--cadence 0.3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from bench.common import median_seconds, write_report
from lm import TransformerModel
from lm.core.tokenize import split_partial_word
from lm.transformer.engine import KEYSTROKE, Work
from lm.transformer.prefetch import Prefetcher

PARAGRAPHS = [
    "I hope you're having a great day. Thanks for sending the report so quickly; I will read it tonight "
    "and send you my notes before the meeting tomorrow morning.",
    "The weather has been lovely this week, so we are planning a picnic in the park on Saturday. "
    "Let me know if you would like to join us and bring your kids.",
    "Could you please check whether the new version of the app works on your phone? "
    "Some users said that it crashes when they open the settings page.",
]


def keystrokes(paragraphs: list[str]):
    """Every (context, prefix) a typist produces, one per character typed."""
    for paragraph in paragraphs:
        for end in range(1, len(paragraph) + 1):
            yield split_partial_word(paragraph[:end])


def percentiles(seconds: list[float]) -> dict:
    ms = sorted(1000 * s for s in seconds)
    return {
        "keystrokes": len(ms),
        "p50_ms": statistics.median(ms),
        "p95_ms": ms[min(len(ms) - 1, int(0.95 * len(ms)))],
        "max_ms": ms[-1],
    }


def naive_top3(tm: TransformerModel, context: str, prefix: str, max_tokens: int = 6) -> list[tuple[str, float]]:
    """Baseline: recompute the whole context, then extend the 3 best first tokens greedily."""
    ids, separator = tm._context(context)
    model, texts = tm.model, tm.tokens.texts

    def last_logprobs(sequence):
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([sequence], device=tm.device)).logits[0, -1]
        return torch.log_softmax(logits.float(), -1)

    logprobs = last_logprobs(list(ids))
    target = (separator + prefix).lower()
    starts = tm.tokens.starts_after_space if separator == " " else tm.tokens.starts_bare
    covering, inside = tm.tokens.compatible_starts(separator, target) if prefix else (starts.nonzero()[0], [])
    candidates = torch.as_tensor(list(covering) + list(inside), dtype=torch.long)
    if len(candidates) == 0:
        return []
    best = candidates[torch.topk(logprobs[candidates], min(3, len(candidates))).indices].tolist()
    suggestions = []
    for token in best:
        path, score = [token], float(logprobs[token])
        for _ in range(max_tokens - 1):
            following = last_logprobs(list(ids) + path)
            nxt = int(following.argmax())
            if not tm.tokens.continues[nxt]:
                break
            path.append(nxt)
            score += float(following[nxt])
        suggestions.append(("".join(texts[t] for t in path).strip(), float(torch.tensor(score).exp())))
    return suggestions


def time_keystrokes(suggest, strokes, cadence: float = 0.0) -> list[float]:
    """Seconds per keystroke; with a `cadence` the next key comes that long after the last one."""
    seconds = []
    for context, prefix in strokes:
        start = time.perf_counter()
        suggest(context, prefix)
        seconds.append(time.perf_counter() - start)
        time.sleep(max(0.0, cadence - seconds[-1]))
    return seconds


def typing_with_prefetch(tm: TransformerModel, strokes, cadence: float) -> list[float]:
    """Keystrokes at a typist's pace, each search followed by a hint to the prefetcher, as the UI does."""
    with Prefetcher(tm) as prefetcher:

        def suggest(context, prefix):
            words = tm.working(Work(KEYSTROKE)).top_next_words(context, 3, prefix)
            prefetcher.hint(context, prefix)
            return words

        return time_keystrokes(suggest, strokes, cadence)


def dtype_comparison(contexts: list[str]) -> dict:
    """Forward latency of a short context in float32 and bfloat16, and how often the top word agrees."""
    report = {}
    models = {name: TransformerModel.from_pretrained(device="cpu", dtype=name) for name in ("float32", "bfloat16")}
    for name, tm in models.items():
        ids = torch.tensor([tm._encode(contexts[0])])
        with torch.inference_mode():
            report[f"{name}_forward_ms"] = 1000 * median_seconds(lambda: tm.model(input_ids=ids, logits_to_keep=1), 15)
    tops = {name: [tm.top_next_words(c, 1)[0][0] for c in contexts] for name, tm in models.items()}
    report["forward_tokens"] = int(ids.shape[1])
    report["bf16_speedup"] = report["float32_forward_ms"] / report["bfloat16_forward_ms"]
    report["top1_agreement"] = sum(a == b for a, b in zip(tops["float32"], tops["bfloat16"])) / len(contexts)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--naive-keystrokes", type=int, default=120, help="keystrokes replayed for the slow baseline")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--cadence", type=float, default=0.3, help="seconds between keys at a typist's pace")
    args = parser.parse_args()

    strokes = list(keystrokes(PARAGRAPHS))
    word_contexts = [context for context, prefix in strokes if not prefix and context.endswith(" ")][:40]
    dtypes = dtype_comparison(word_contexts) if not torch.cuda.is_available() else {}

    loaded = TransformerModel.from_pretrained(dtype=args.dtype)

    def fresh():  # the same weights with empty caches, so every run starts cold
        tm = TransformerModel(loaded.tokenizer, loaded.model, loaded.device, loaded.name)
        tm.top_next_words("Warm up the model.", 3)
        return tm

    tm = fresh()
    back_to_back = time_keystrokes(lambda c, p: tm.top_next_words(c, 3, p), strokes)
    at_boundary = [s for s, (c, p) in zip(back_to_back, strokes) if not p]
    tm_paced = fresh()
    paced = time_keystrokes(lambda c, p: tm_paced.top_next_words(c, 3, p), strokes, args.cadence)
    prefetched = typing_with_prefetch(fresh(), strokes, args.cadence)
    subset = strokes[: args.naive_keystrokes]
    tm_subset = fresh()
    ours_subset = time_keystrokes(lambda c, p: tm_subset.top_next_words(c, 3, p), subset)
    naive = time_keystrokes(lambda c, p: naive_top3(loaded, c, p), subset)

    report = {
        "model": repr(loaded),
        "back_to_back": percentiles(back_to_back),
        "back_to_back_at_word_boundaries": percentiles(at_boundary),
        "typing_pace": {
            "cadence_s": args.cadence,
            "without_prefetch": percentiles(paced),
            "with_prefetch": percentiles(prefetched),
        },
        "side_by_side_with_naive": {
            "keystrokes": len(subset),
            "ours": percentiles(ours_subset),
            "naive": percentiles(naive),
        },
        "cpu_dtype": dtypes,
        "gpu": "not measured: no CUDA device in this run"
        if not torch.cuda.is_available()
        else torch.cuda.get_device_name(0),
    }
    side = report["side_by_side_with_naive"]
    side["speedup_p50"] = side["naive"]["p50_ms"] / side["ours"]["p50_ms"]
    write_report("transformer", report)


if __name__ == "__main__":
    main()
