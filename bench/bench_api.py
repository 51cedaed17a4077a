"""API load benchmark: Python users of the documented HTTP API (`gradio_client`) typing at once into one
served app (real models, `app.py` in a subprocess), this tree and `--baseline` in the same run.

Each user holds one `gradio_client.Client` and, like the page, fills both strips in a closed loop: one
thread asks ``/suggest_transformer`` and one ``/suggest_bigram`` for each of its `--keys` keystrokes (the
growing prefixes of its word, `tests.many_pages.keystroke_texts`), the next as soon as the answer is in. Every
answer must complete that user's own word. The report gives each strip's latency (p50 / p95) and answers
per second.

    python -m bench.bench_api [--users 50] [--keys 6] [--baseline 2850b2a] [--app-args '--host 0.0.0.0']
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from gradio_client import Client

from bench.common import ROOT, checked_out, serve, write_report
from tests.many_pages import SETTINGS, free_port, keystroke_texts, percentiles

BASELINE = "2850b2a"  # the code before issue 20


def _strip_loop(client: Client, strip: str, texts: list[str], latencies: list, errors: list) -> None:
    for ticket, text in enumerate(texts):
        sent = time.perf_counter()
        try:
            answer, _ = client.predict(text, *SETTINGS, ticket, None, api_name=f"/suggest_{strip}")
            if answer.get("prefix") != text.rsplit(" ", 1)[-1]:
                raise AssertionError(f"{str(answer)[:80]} does not complete {text!r}")
        except Exception as error:  # counted, not raised
            errors.append(f"{strip}: {type(error).__name__}: {str(error)[:120]}")
            continue
        latencies.append(time.perf_counter() - sent)


def run_api_users(url: str, users: int, keys: int) -> dict:
    """`users` gradio_client users, each filling both strips for `keys` keystrokes (closed loop)."""
    clients = [Client(url, verbose=False) for _ in range(users)]
    latencies = {"bigram": [], "transformer": []}
    errors: list[str] = []
    threads = [
        threading.Thread(target=_strip_loop, args=(client, strip, keystroke_texts(i, keys), latencies[strip], errors))
        for i, client in enumerate(clients)
        for strip in latencies
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    report = {
        "users": users,
        "keys_per_user": keys,
        "wall_s": wall,
        "errors": len(errors),
        "error_examples": errors[:5],
    }
    for strip, values in latencies.items():
        report[strip] = {**percentiles(values), "answers_per_s": len(values) / wall}
    for client in clients:
        client.close()
    return report


def measure(tree, users: int, keys: int, app_args: tuple[str, ...]) -> dict:
    port = free_port()
    app = serve(tree, port, app_args)
    try:
        url = f"http://127.0.0.1:{port}/"
        run_api_users(url, 1, 2)  # warm-up: the first keystroke loads what a keystroke needs
        return {"alone": run_api_users(url, 1, keys), "class": run_api_users(url, users, keys)}
    finally:
        app.terminate()
        app.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--keys", type=int, default=6, help="keystrokes each user sends to each strip")
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with ('' to skip)")
    parser.add_argument("--app-args", default="--host 0.0.0.0", help="app.py arguments (default: as a teacher serves)")
    parser.add_argument("--name", default="api_load", help="the report's name in bench/results/")
    args = parser.parse_args()
    app_args = tuple(args.app_args.split())
    report = {"users": args.users, "keys": args.keys, "app_args": args.app_args}
    if args.baseline:
        with checked_out(args.baseline) as tree:
            report["baseline"] = {"revision": args.baseline, **measure(tree, args.users, args.keys, app_args)}
    report["now"] = measure(ROOT, args.users, args.keys, app_args)
    write_report(args.name, report)


if __name__ == "__main__":
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    main()
