"""Load benchmark: a class typing at once into one served app (real models, `app.py` in a subprocess),
each user sending what the page sends (`tests/many_pages.py`). The baseline, the app at `--baseline` (checked
out into a temporary worktree), is measured in the same run, one app after the other, with the same users.
The simulated pages run in this process, on the same CPU as the app (in a class they would run on the
students' machines), so the figures are pessimistic.

For each app: one user typing alone (closed loop), `--users` typing in a closed loop (each key as soon as
both strips show the last one), and `--users` typing at `--keys-per-s`.

    python -m bench.bench_load [--users 50] [--keys 20] [--keys-per-s 3] [--paced-keys 60] [--baseline 2850b2a]
                               [--app-args '--host 0.0.0.0']
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request

from bench.common import ROOT, checked_out, serve, write_report
from tests.many_pages import free_port, run_users

BASELINE = "2850b2a"  # the app before issue 20 (rows padded, the API one call at a time)


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid`, in MB."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))


def measure_app(
    tree, users: int, keys: int, paced_keys: int, keys_per_s: float, app_args: tuple[str, ...] = ()
) -> dict:
    port = free_port()
    app = serve(tree, port, app_args)
    url = f"http://127.0.0.1:{port}/"
    try:
        with urllib.request.urlopen(f"{url}gradio_api/info") as info:
            endpoints = json.load(info)["named_endpoints"]
        runs = {
            "alone": run_users(url, 1, keys),
            "closed_loop": run_users(url, users, keys),
            "at_typing_pace": run_users(url, users, paced_keys, keys_per_s=keys_per_s),
        }
        runs["rss_mb_after"] = rss_mb(app.pid)
        runs["has_suggest_strip_endpoints"] = all(f"/suggest_{name}" in endpoints for name in ("bigram", "transformer"))
        return runs
    finally:
        app.terminate()
        app.wait(timeout=30)


def ratios(now: dict, before: dict) -> dict:
    """now / before for the figures the issue names."""

    def ratio(a, b):
        return round(a / b, 3) if a and b else None

    figures = {}
    for run in ("alone", "closed_loop", "at_typing_pace"):
        for strip in ("bigram", "transformer"):
            for stat in ("p50_ms", "p95_ms", "answers_per_s"):
                figures[f"{run}.{strip}.{stat}"] = ratio(now[run][strip][stat], before[run][strip][stat])
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--keys", type=int, default=20, help="keys each user types")
    parser.add_argument("--keys-per-s", type=float, default=3.0)
    parser.add_argument("--paced-keys", type=int, default=60, help="keys each user types at --keys-per-s")
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with ('' to skip)")
    parser.add_argument(
        "--app-args",
        default="--host 0.0.0.0",
        help="app.py arguments for both apps (default: as a teacher serves a class, which loads float32 now)",
    )
    parser.add_argument("--name", default="load", help="the report's name in bench/results/")
    args = parser.parse_args()
    app_args = tuple(args.app_args.split())
    report = {"users": args.users, "keys": args.keys, "paced_keys": args.paced_keys, "keys_per_s": args.keys_per_s}
    report["app_args"] = args.app_args
    if args.baseline:
        with checked_out(args.baseline) as tree:
            report["baseline"] = {
                "revision": args.baseline,
                **measure_app(tree, args.users, args.keys, args.paced_keys, args.keys_per_s, app_args),
            }
    report["now"] = measure_app(ROOT, args.users, args.keys, args.paced_keys, args.keys_per_s, app_args)
    if "baseline" in report:
        report["now_vs_baseline"] = ratios(report["now"], report["baseline"])
    write_report(args.name, report)


if __name__ == "__main__":
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    main()
