"""Soak benchmark: does the served app's memory level off? The app (`app.py` in a subprocess, real models)
gets rounds of mixed work for `--minutes`: "generate 50 words", a class of `--users` typing, a Compare
run, and the charts, while its resident memory (RSS) is sampled every `--every` seconds. The report
gives the samples, the peak, and the growth over the second half of the run (MB per minute); with
`--baseline`, the app at that revision is soaked first, the same way.

    python -m bench.bench_soak [--minutes 10] [--users 10] [--every 5] [--baseline REV] [--name soak]
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from bench.bench_load import rss_mb
from bench.common import ROOT, checked_out, serve, write_report
from tests.many_pages import free_port, run_users

PROMPTS = ["Once upon a time", "The weather today", "My favourite food is", "In the morning I"]


def one_round(client, url: str, users: int, index: int) -> dict:
    """One round of each kind of work; returns its seconds per kind."""
    seconds = {}
    start = time.perf_counter()
    client.predict(PROMPTS[index % len(PROMPTS)], 50, 1.0, 0, 1.0, -1, "", api_name="/generate_transformer")
    seconds["generate_50_words"] = time.perf_counter() - start
    start = time.perf_counter()
    run_users(url, users, 20)
    seconds["class_typing"] = time.perf_counter() - start
    start = time.perf_counter()
    client.predict(
        f"Round {index}. " + "the cat sat on the mat and the dog ran to the park. " * 6, 60, api_name="/compare"
    )
    seconds["compare_60_words"] = time.perf_counter() - start
    start = time.perf_counter()
    client.predict(f"{PROMPTS[index % len(PROMPTS)]} and ", 1.0, 0, 1.0, api_name="/distributions")
    seconds["charts"] = time.perf_counter() - start
    return seconds


def soak(tree, minutes: float, users: int, every: float, app_args: tuple[str, ...]) -> dict:
    """Serve the app from `tree` and give it rounds of work for `minutes`, sampling its RSS."""
    from gradio_client import Client

    port = free_port()
    app = serve(tree, port, app_args)
    url = f"http://127.0.0.1:{port}/"
    samples, stop = [], threading.Event()
    started = time.perf_counter()

    def sample():
        while not stop.is_set():
            samples.append((round(time.perf_counter() - started, 1), round(rss_mb(app.pid), 1)))
            stop.wait(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rounds = []
    try:
        client = Client(url, verbose=False)
        while time.perf_counter() - started < 60 * minutes:
            rounds.append(one_round(client, url, users, len(rounds)))
    finally:
        stop.set()
        sampler.join()
        app.terminate()
        app.wait(timeout=30)
    second_half = [(t, rss) for t, rss in samples if t >= samples[-1][0] / 2]
    span_min = (second_half[-1][0] - second_half[0][0]) / 60
    return {
        "rounds": len(rounds),
        "round_seconds": rounds,
        "rss_mb_first": samples[0][1],
        "rss_mb_peak": max(rss for _, rss in samples),
        "rss_mb_last": samples[-1][1],
        "second_half_growth_mb_per_min": (second_half[-1][1] - second_half[0][1]) / span_min if span_min else None,
        "samples_s_mb": samples,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--every", type=float, default=5, help="seconds between memory samples")
    parser.add_argument("--app-args", default="")
    parser.add_argument("--baseline", default="", help="also soak the app at this git revision, first")
    parser.add_argument("--name", default="soak", help="the report's name in bench/results/")
    args = parser.parse_args()
    options = (args.minutes, args.users, args.every, tuple(args.app_args.split()))
    report = {"minutes": args.minutes, "users": args.users, "app_args": args.app_args}
    if args.baseline:
        with checked_out(args.baseline) as tree:
            report["baseline"] = {"revision": args.baseline, **soak(tree, *options)}
    report["now"] = soak(ROOT, *options)
    write_report(args.name, report)


if __name__ == "__main__":
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    main()
