"""Merged passes, measured: what one pass over many users' rows costs against one pass per user, and how
far a merged row moves from the same row run alone, per dtype (the reason the engine merges only in
float32, `lm/transformer/engine.py`).

    python -m bench.bench_merged_passes [--users 4 16] [--rows 8] [--context-words 6 60]

Each user's word search expands `--rows` paths after its own context. "alone" runs each user's rows in
a pass of their own, as the engine does for one user alone; "merged" runs all users' rows in one pass with the
engine's shared-context attention (`lm/transformer/shared_attention.py`); "padded" with transformers' attention
over per-row padded caches and a mask (the engine's fallback).
"""

from __future__ import annotations

import argparse

import torch

from bench.common import median_seconds, write_report
from lm import TransformerModel
from lm.transformer.engine import Row

CONTEXT = "User {i} says that " + "I hope you have a wonderful day at the office and a great evening with friends "


def user_rows(tm: TransformerModel, users: int, rows: int, words: int) -> list[list[Row]]:
    words_text = " ".join(CONTEXT.split()[3:]) * (1 + words // 16)
    contexts = [" ".join((CONTEXT.format(i=i).split()[:3] + words_text.split())[: words + 3]) for i in range(users)]
    states = [tm.states.state(tuple(tm._encode(text))) for text in contexts]
    return [[Row(s.layers, (1000 + 10 * i + j,)) for j in range(rows)] for i, s in enumerate(states)]


def measure(tm: TransformerModel, users: int, rows: int, words: int) -> dict:
    engine = tm.engine
    requests = user_rows(tm, users, rows, words)
    everything = [row for request in requests for row in request]
    alone = torch.stack([r.logprobs for request in requests for r in engine.runner.forward(request)])
    figures = {
        "context_tokens": max(row.cached for row in everything),
        "alone_ms": 1000 * median_seconds(lambda: [engine.runner.forward(r) for r in requests], 3),
        "padded_ms": 1000 * median_seconds(lambda: engine.runner._forward_padded(everything), 3),
    }
    padded = torch.stack([r.logprobs for r in engine.runner._forward_padded(everything)])
    figures["padded_max_probability_difference"] = float((padded.exp() - alone.exp()).abs().max())
    if engine.runner.shared_attention:
        figures["merged_ms"] = 1000 * median_seconds(lambda: engine.runner._forward_shared(everything), 3)
        merged = torch.stack([r.logprobs for r in engine.runner._forward_shared(everything)])
        figures["merged_max_probability_difference"] = float((merged.exp() - alone.exp()).abs().max())
        figures["merged_speedup_vs_alone"] = figures["alone_ms"] / figures["merged_ms"]
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--context-words", type=int, nargs="+", default=[6, 120])
    args = parser.parse_args()
    report = {"rows_per_user": args.rows, "runs": []}
    for dtype in ("bfloat16", "float32"):
        tm = TransformerModel.from_pretrained(device="cpu", dtype=dtype)
        for users in args.users:
            for words in args.context_words:
                figures = measure(tm, users, args.rows, words)
                report["runs"].append({"dtype": dtype, "users": users, "context_words": words, **figures})
        tm.close()
    fp32 = {(r["users"], r["context_words"]): r for r in report["runs"] if r["dtype"] == "float32"}
    report["float32_merged_vs_bfloat16_alone"] = {
        f"{users} users, {words} words": r["alone_ms"] / fp32[(users, words)]["merged_ms"]
        for r in report["runs"]
        if r["dtype"] == "bfloat16"
        for users, words in [(r["users"], r["context_words"])]
    }
    write_report("merged_passes", report)


if __name__ == "__main__":
    main()
