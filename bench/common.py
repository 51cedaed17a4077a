"""Timing helpers shared by the benchmarks: medians of repeats, and the JSON report."""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import torch

RESULTS = Path(__file__).parent / "results"


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """The median wall time of `repeats` calls of `run`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def per_call_seconds(run: Callable[[object], object], inputs: list, rounds: int = 5) -> float:
    """The median over `rounds` of the mean time of one call of `run` over all `inputs`."""

    def one_round():
        for item in inputs:
            run(item)

    return median_seconds(one_round, rounds) / len(inputs)


def machine() -> dict:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def write_report(name: str, report: dict) -> Path:
    """Write `report` (plus the machine) to bench/results/<name>.json and print it."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **report}, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    print(f"written to {path}")
    return path
