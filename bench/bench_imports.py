"""What importing the counting side costs, here and at an earlier revision, side by side.

Each import runs in a fresh interpreter, alternating between the two trees, several times; the report
holds the median wall time and the modules it loaded (transformers? the engine? Gradio?). torch itself
is measured alone too: the counting tables are torch tensors, so its import is the floor.

    python -m bench.bench_imports [--baseline f2e2146] [--repeats 5] [--name imports]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, checked_out, write_report

HEAVY = ("torch", "transformers", "gradio", "pandas", "lm.transformer.engine", "lm.engine")
PROBE = "import sys, {module}; print(sorted(m for m in {heavy!r} if m in sys.modules))"


def import_once(tree: Path, module: str) -> tuple[float, str]:
    """Seconds a fresh interpreter in `tree` takes to `import module`, and the heavy modules it loaded."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, heavy=HEAVY)],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="f2e2146", help="git revision whose `lm.bigram` is compared")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--name", default="imports")
    args = parser.parse_args()
    with checked_out(args.baseline) as baseline:
        cases = {
            f"{args.baseline}: import lm.bigram": (baseline, "lm.bigram"),
            "now: import lm.counting.bigram": (ROOT, "lm.counting.bigram"),
            "now: import lm.core.distribution": (ROOT, "lm.core.distribution"),
            "import torch (the floor)": (ROOT, "torch"),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        loaded: dict[str, str] = {}
        for _ in range(args.repeats):  # alternate, so the machine's drift falls on every case alike
            for name, (tree, module) in cases.items():
                seconds, loaded[name] = import_once(tree, module)
                times[name].append(seconds)
    report = {
        "what": "wall seconds of a fresh `python -c 'import X'` (interpreter start included), median of repeats",
        "repeats": args.repeats,
        "cases": {
            name: {
                "median_s": round(statistics.median(t), 3),
                "all_s": [round(x, 3) for x in t],
                "loaded": loaded[name],
            }
            for name, t in times.items()
        },
    }
    path = write_report(args.name, report)
    for name, case in report["cases"].items():
        print(f"{name:40s} {case['median_s']:6.2f} s  loaded {case['loaded']}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
