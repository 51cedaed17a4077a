"""An experiment, not used by the app: would merging several users' forward passes into one pay off?

    python -m bench.bench_merged_passes [--users 4] [--rows 8]

Each user's word search expands `--rows` paths after its own context. The app runs one batched pass
per user (each over that user's KV cache). Merging users means one pass over all rows, with each
user's KV cache left-padded to the longest, an attention mask hiding the padding, and position ids
carrying each row's true position. This measures both side by side in one process, per dtype, and
how far the merged log-probabilities are from the per-user ones (the app's probabilities must not
depend on who else is typing).
"""

from __future__ import annotations

import argparse

import torch

from bench.common import median_seconds, write_report
from lm import TransformerModel

CONTEXT = "User {i} says that I hope you have a wonderful day at the office and a great evening with{more} friends and"


def merged_logprobs(tm: TransformerModel, states, paths) -> torch.Tensor:
    """One pass over every user's rows: KV caches left-padded to the longest, the padding masked."""
    from transformers import DynamicCache

    longest, rows = max(s.cached for s in states), sum(map(len, paths))
    owner = [i for i, user_paths in enumerate(paths) for _ in user_paths]
    layers = []
    for layer in range(len(states[0].layers)):
        keys, values = (
            torch.zeros(rows, *t.shape[1:2], longest, t.shape[3], dtype=t.dtype, device=t.device)
            for t in states[0].layers[layer]
        )
        for row, user in enumerate(owner):
            k, v = states[user].layers[layer]
            keys[row, :, longest - k.shape[2] :], values[row, :, longest - v.shape[2] :] = k[0], v[0]
        layers.append((keys, values))
    mask = torch.ones(rows, longest + 1, dtype=torch.long, device=tm.device)
    positions = torch.tensor([[states[user].cached] for user in owner], device=tm.device)
    for row, user in enumerate(owner):
        mask[row, : longest - states[user].cached] = 0
    ids = torch.tensor([list(path) for user_paths in paths for path in user_paths], device=tm.device)
    cache = DynamicCache(ddp_cache_data=layers, config=tm.model.config)
    with torch.inference_mode():
        output = tm.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **{tm.states._cache_argument: cache},
        )
    return torch.log_softmax(output.logits.float(), -1)[:, 0]


def measure(dtype: str, users: int, rows: int) -> dict:
    tm = TransformerModel.from_pretrained(device="cpu", dtype=dtype)
    states = [tm.states.state(tuple(tm._encode(CONTEXT.format(i=i, more=" their" * i)))) for i in range(users)]
    paths = [[(token,) for token in range(1000 + 10 * i, 1000 + 10 * i + rows)] for i in range(users)]
    separate = [
        tm.states._forward(torch.tensor([list(p) for p in user_paths]), s.layers, keep=1)[0][:, 0]
        for s, user_paths in zip(states, paths)
    ]
    merged = merged_logprobs(tm, states, paths)
    reference = torch.cat(separate)
    top = reference.topk(50, dim=-1).indices
    return {
        "context_tokens": [s.cached for s in states],
        "separate_ms": 1000
        * median_seconds(
            lambda: [
                tm.states._forward(torch.tensor([list(p) for p in ps]), s.layers, keep=1)
                for s, ps in zip(states, paths)
            ],
            5,
        ),
        "merged_ms": 1000 * median_seconds(lambda: merged_logprobs(tm, states, paths), 5),
        "max_logprob_difference_top50": float((merged.gather(1, top) - reference.gather(1, top)).abs().max()),
        "max_probability_difference": float((merged.exp() - reference.exp()).abs().max()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--rows", type=int, default=8)
    args = parser.parse_args()
    report = {"users": args.users, "rows_per_user": args.rows}
    for dtype in ("bfloat16", "float32"):
        figures = measure(dtype, args.users, args.rows)
        figures["merged_speedup"] = figures["separate_ms"] / figures["merged_ms"]
        report[dtype] = figures
    write_report("merged_passes", report)


if __name__ == "__main__":
    main()
