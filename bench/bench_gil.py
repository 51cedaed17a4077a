"""Where a class's time goes: one merged pass, alone and beside threads that run Python.

A pass of SmolLM2 calls torch a few thousand times from Python and takes Python's lock (the GIL) back
after each call. In the served app other threads run Python meanwhile (the event loop, the handlers,
the jobs' thread), so a pass waits for the lock thousands of times. This measures one engine pass of
50 one-token rows after 50 contexts of 45 tokens (what a class's keystrokes look like): alone, and
beside 1 and 2 threads spinning in Python, at the app's switch interval and its old one.

    python -m bench.bench_gil [--name gil]
"""

from __future__ import annotations

import argparse
import sys
import threading

import torch

from bench.common import median_seconds, write_report
from demo.ui import SWITCH_INTERVAL_S
from lm.transformer.engine import Engine, Row
from lm.transformer.loading import load_causal_lm

ROWS, CONTEXT = 50, 45


def pass_ms_beside(engine: Engine, rows: list[Row], busy_threads: int) -> float:
    """Median milliseconds of one pass over `rows` while `busy_threads` threads run Python."""
    stop = threading.Event()

    def spin():
        count = 0
        while not stop.is_set():
            count += 1

    threads = [threading.Thread(target=spin, daemon=True) for _ in range(busy_threads)]
    for thread in threads:
        thread.start()
    try:
        return 1000 * median_seconds(lambda: engine.runner.forward(rows), 3)
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", default="gil", help="the report's name in bench/results/")
    args = parser.parse_args()
    _, model, _ = load_causal_lm(device="cpu", dtype="float32")
    engine = Engine(model)
    generator = torch.Generator().manual_seed(0)
    contexts = [tuple(torch.randint(100, 40_000, (CONTEXT,), generator=generator).tolist()) for _ in range(ROWS)]
    layers = [result.layers for result in engine.run([Row([], ids, keep_kv=True) for ids in contexts])]
    rows = [Row(kv, (5 + i,)) for i, kv in enumerate(layers)]
    engine.runner.forward(rows)  # warm-up
    report = {"rows": ROWS, "context_tokens": CONTEXT, "app_switch_interval_s": SWITCH_INTERVAL_S, "pass_ms": {}}
    for interval in (0.0005, SWITCH_INTERVAL_S):  # the app's old and current switch intervals
        sys.setswitchinterval(interval)
        report["pass_ms"][f"switch {interval * 1000:g} ms"] = {
            f"{busy} busy threads": round(pass_ms_beside(engine, rows, busy), 1) for busy in (0, 1, 2)
        }
    engine.close()
    write_report(args.name, report)


if __name__ == "__main__":
    main()
