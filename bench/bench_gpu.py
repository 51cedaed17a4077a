"""GPU benchmark: the engine's merged passes and sampling on a CUDA device (`bench/gpu.sh` runs it on a lent
machine; `--device cpu --small` runs the same code here in seconds, so it never rots).

The embedded SmolLM2 cannot travel to the device (its package is 98 MB; a device call carries 64 MiB), so
the model is a Llama of SmolLM2-135M's shape with seeded random weights: a pass costs what SmolLM2's
costs, whatever its weights. Per dtype (float32, bfloat16):

- merged = alone: users' rows (contexts of different lengths, paths of one or two tokens) run each user
  alone and all in one merged pass, through the same engine code; the largest |delta p| between them;
- passes: one row alone, and 64 rows (16 contexts x 4 paths) in one pass, median seconds, rows/s;
- sampling on the device: warping and drawing 100,000 words from a 49,152-word distribution.

    python -m bench.bench_gpu [--device cuda] [--small] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from bench.common import RESULTS, machine, median_seconds
from lm.core.distribution import Distribution
from lm.transformer.engine import Engine, Row

SMOLLM2_SHAPE = {  # SmolLM2-135M-Instruct's config
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "vocab_size": 49152,
    "max_position_embeddings": 8192,
    "tie_word_embeddings": True,
}
SMALL_SHAPE = {**SMOLLM2_SHAPE, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2}
SMALL_SHAPE.update(num_attention_heads=4, num_key_value_heads=2, vocab_size=2048)
CONTEXT_LENGTHS = (5, 23, 61, 130)  # tokens: the users' contexts differ, so a merged pass pads or shares them


def model_of_shape(shape: dict, dtype: torch.dtype, device: str) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(**shape, attn_implementation="sdpa")
    return LlamaForCausalLM(config).to(device=device, dtype=dtype).eval()


def context_layers(engine: Engine, vocab: int, lengths, seed: int = 0) -> list:
    """The KV caches of contexts of the given lengths (random tokens), computed by the engine."""
    generator = torch.Generator().manual_seed(seed)
    ids = [tuple(torch.randint(100, vocab, (n,), generator=generator).tolist()) for n in lengths]
    return [result.layers for result in engine.run([Row([], tokens, keep_kv=True) for tokens in ids])]


def merged_vs_alone(engine: Engine, vocab: int) -> float:
    """The largest |p merged - p alone| over every row, each user's rows also run in a pass of their own."""
    layers = context_layers(engine, vocab, CONTEXT_LENGTHS)
    users = [[Row(kv, (7 + i,)), Row(kv, (9 + i, 11 + i))] for i, kv in enumerate(layers)]
    alone = [engine.run(rows) for rows in users]
    merged = engine.run([row for rows in users for row in rows])
    pairs = zip([result for results in alone for result in results], merged)
    return max(float((a.logprobs.exp() - m.logprobs.exp()).abs().max()) for a, m in pairs)


def pass_seconds(engine: Engine, vocab: int, contexts: int, paths: int, repeats: int) -> float:
    layers = context_layers(engine, vocab, [40] * contexts, seed=1)
    rows = [Row(kv, (5 + j,)) for kv in layers for j in range(paths)]
    engine.run(rows)  # warm-up (kernels, allocator)
    return median_seconds(lambda: engine.run(rows), repeats)


def sampling_seconds(device: str, words: int, repeats: int) -> float:
    probs = torch.softmax(torch.randn(words, generator=torch.Generator().manual_seed(2)), -1).to(device)
    distribution = Distribution([f"w{i}" for i in range(words)], probs.double())

    def draw():
        distribution.warp(0.8, 50, 0.9).sample(100_000, seed=0)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    draw()
    return median_seconds(draw, repeats)


def measure(device: str, shape: dict, repeats: int) -> dict:
    report = {}
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        engine = Engine(model_of_shape(shape, dtype, device), merge=True)  # merged in both, to compare them
        try:
            started = time.perf_counter()
            one = pass_seconds(engine, shape["vocab_size"], 1, 1, repeats)
            many = pass_seconds(engine, shape["vocab_size"], 16, 4, repeats)
            report[name] = {
                "merged_vs_alone_max_abs_p": merged_vs_alone(engine, shape["vocab_size"]),
                "one_row_pass_ms": round(one * 1e3, 3),
                "rows_64_pass_ms": round(many * 1e3, 3),
                "rows_per_s_at_64": round(64 / many, 1),
                "seconds": round(time.perf_counter() - started, 1),
            }
        finally:
            engine.close()
    report["sampling_100k_draws_ms"] = round(sampling_seconds(device, shape["vocab_size"], repeats) * 1e3, 3)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--small", action="store_true", help="a tiny model of the same kind (a smoke test)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", default=str(RESULTS), help="the folder the JSON report goes to")
    parser.add_argument("--name", default=None, help="the report's name (default: gpu, or gpu_small)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here: run bench/gpu.sh on a lent GPU machine, or pass --device cpu --small")
    shape = SMALL_SHAPE if args.small else SMOLLM2_SHAPE
    report = {"machine": machine(), "device": args.device, "shape": shape, **measure(args.device, shape, args.repeats)}
    path = Path(args.out) / f"{args.name or ('gpu_small' if args.small else 'gpu')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
