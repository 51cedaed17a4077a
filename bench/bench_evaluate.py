"""Evaluation benchmark: `python -m lm.evaluation.evaluate` on the held-out play, timed, for this tree and for the
app at `--baseline` (checked out into a temporary worktree), one after the other in the same run. Both
run their own defaults (`--workers auto`); the report gives each one's seconds and headline figures,
which should agree (the same searches, whatever runs them).

    python -m bench.bench_evaluate [--words 2000] [--baseline a67fafb] [--name evaluate_speed]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, checked_out, write_report

BASELINE = "a67fafb"  # before the engine (issue 12): worker processes, one forward pass at a time each
HEADLINES = ("perplexity", "top1_accuracy", "top3_accuracy", "keystroke_savings")


def timed_evaluation(tree: Path, words: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder) / "report.json"
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "lm.evaluation.evaluate", "--max-words", str(words), "--json", str(report_path)],
            cwd=tree,
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - start
        report = json.loads(report_path.read_text())
    return {
        "seconds_with_loading": seconds,
        **{
            name: {key: report[name][key] for key in (*HEADLINES, "seconds", "workers")}
            for name in ("bigram", "transformer")
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=2000)
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with ('' to skip)")
    parser.add_argument("--name", default="evaluate_speed")
    args = parser.parse_args()
    report = {"words": args.words}
    if args.baseline:
        with checked_out(args.baseline) as tree:
            report["baseline"] = {"revision": args.baseline, **timed_evaluation(tree, args.words)}
    report["now"] = timed_evaluation(ROOT, args.words)
    if "baseline" in report:
        before, now = report["baseline"]["transformer"], report["now"]["transformer"]
        report["transformer_seconds_now_vs_baseline"] = now["seconds"] / before["seconds"]
        report["same_figures"] = {key: abs(now[key] - before[key]) for key in HEADLINES}
    write_report(args.name, report)


if __name__ == "__main__":
    main()
