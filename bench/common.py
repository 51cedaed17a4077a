"""Timing helpers shared by the benchmarks: medians of repeats, and the JSON report."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import torch

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent


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


# ---- serving the app, now and at an earlier revision ------------------------------------------------


def serve(tree: Path, port: int, app_args: tuple[str, ...] = ()) -> subprocess.Popen:
    """`app.py` from `tree` on 127.0.0.1:`port`, once it answers (the models loaded)."""
    app = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), *app_args],
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/info", timeout=2):
                return app
        except OSError:
            if app.poll() is not None:
                raise RuntimeError(f"app.py in {tree} exited with {app.returncode}")
            time.sleep(0.5)
    app.kill()
    raise RuntimeError(f"app.py in {tree} did not answer within 300 s")


@contextmanager
def checked_out(revision: str):
    """The repository at `revision`, checked out into a temporary worktree (removed afterwards)."""
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), revision], cwd=ROOT, check=True, capture_output=True
        )
        try:
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
