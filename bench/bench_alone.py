"""One page typing alone into a freshly started app, the two apps in turn: the cold figure of
`bench/bench_load.py` ("alone", measured first, right after its app starts) without the order of the
apps deciding it. Each round starts the baseline app (`--baseline`, checked out into a temporary worktree)
and this tree's app afresh, in alternating order, and times one page typing `--keys` keys in a closed loop
(`tests.many_pages.run_users`: each key as soon as every strip shows the last one), its first texts never
seen by the app.

    python -m bench.bench_alone [--rounds 3] [--keys 20] [--baseline 91ce7e4] [--app-args '--host 0.0.0.0']
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench.common import ROOT, checked_out, serve, write_report
from tests.many_pages import free_port, run_users

BASELINE = "91ce7e4"  # the app before issue 22 (the house)


def cold_run(tree, keys: int, app_args: tuple[str, ...]) -> dict:
    """Start the app in `tree`, let one page type `keys` keys, stop it: the page's wall time and strips."""
    port = free_port()
    app = serve(tree, port, app_args)
    try:
        start = time.perf_counter()
        report = run_users(f"http://127.0.0.1:{port}/", 1, keys)
        wall = time.perf_counter() - start
    finally:
        app.terminate()
        app.wait(timeout=30)
    strips = {name: report[name] for name in ("bigram", "transformer")}
    return {
        "wall_s": round(wall, 3),
        "errors": report["errors"],
        **{f"{name}_{stat}": round(strip[stat], 1) for name, strip in strips.items() for stat in ("p50_ms", "max_ms")},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--app-args", default="--host 0.0.0.0", help="app.py arguments for both apps")
    parser.add_argument("--name", default=f"alone_vs_{BASELINE}", help="the report's name in bench/results/")
    args = parser.parse_args()
    app_args = tuple(args.app_args.split())
    runs = {"baseline": [], "now": []}
    with checked_out(args.baseline) as baseline:
        trees = {"baseline": baseline, "now": ROOT}
        for round_ in range(args.rounds):
            for side in ("baseline", "now") if round_ % 2 == 0 else ("now", "baseline"):
                runs[side].append(cold_run(trees[side], args.keys, app_args))
    medians = {side: statistics.median(run["wall_s"] for run in done) for side, done in runs.items()}
    write_report(
        args.name,
        {
            "baseline": args.baseline,
            "keys": args.keys,
            "app_args": args.app_args,
            "runs": runs,
            "median_wall_s": medians,
            "now_vs_baseline_wall": round(medians["now"] / medians["baseline"], 3),
        },
    )


if __name__ == "__main__":
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    main()
