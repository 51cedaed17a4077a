"""Soak under a careless or hostile client: the served app's memory (RSS) while, for `--minutes`, new
sessions send big texts and slow connections hold half-sent bodies; this tree and `--baseline` (the code
before issue 21) in the same run, each `app.py` in a subprocess with the real models.

- `--senders` threads each post ``/gradio_api/call/explain`` with a text of `--mb` MB, one new session per
  call (every ``/call`` is one), and read its answer.
- `--slow` connections at a time each send the headers of a 15 MB body and 1 MB of it, then nothing; the
  report counts how many the server cut off (a reply or a close) and how long they were held.

RSS is sampled every `SAMPLE_S` seconds from ``/proc/<pid>/status``: flat means the last minute adds
little to the first.

    python -m bench.bench_abuse_soak [--minutes 3] [--mb 11] [--senders 3] [--slow 30] [--baseline f2e2146|none]
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

import httpx

from bench.bench_load import rss_mb
from bench.common import ROOT, checked_out, serve, write_report
from tests.many_pages import free_port

BASELINE = "f2e2146"  # the code before issue 21
SAMPLE_S = 5
SLOW_BODY_BYTES = 15 << 20  # what a slow connection announces
SLOW_SENT_BYTES = 1 << 20  # what it sends of it


def _send_big_texts(url: str, text: str, stop: threading.Event, counts: dict) -> None:
    while not stop.is_set():
        try:
            started = httpx.post(f"{url}gradio_api/call/explain", json={"data": [text]}, timeout=120)
            if started.status_code == 200:
                httpx.get(f"{url}gradio_api/call/explain/{started.json()['event_id']}", timeout=120)
            counts[started.status_code] = counts.get(started.status_code, 0) + 1
        except httpx.HTTPError as error:
            counts[type(error).__name__] = counts.get(type(error).__name__, 0) + 1


def _hold_slow_body(port: int, stop: threading.Event, held: list, cut: list) -> None:
    while not stop.is_set():
        opened = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port)) as client:
                client.sendall(
                    b"POST /gradio_api/call/explain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {SLOW_BODY_BYTES}\r\n\r\n".encode()
                    + b"x" * SLOW_SENT_BYTES
                )
                client.settimeout(1)
                while not stop.is_set():
                    try:
                        client.recv(4096)  # a reply, or b"" for a close: either way the server cut it off
                    except TimeoutError:
                        continue
                    cut.append(time.monotonic() - opened)
                    break
        except OSError:
            cut.append(time.monotonic() - opened)
        held.append(time.monotonic() - opened)


def soak(tree: Path, minutes: float, mb: float, senders: int, slow: int) -> dict:
    port = free_port()
    app = serve(tree, port)
    url = f"http://127.0.0.1:{port}/"
    try:
        text = ("the cat sat on the mat. " * int(mb * (1 << 20) / 24 + 1))[: int(mb * (1 << 20))]
        stop, counts, held, cut = threading.Event(), {}, [], []
        threads = [threading.Thread(target=_send_big_texts, args=(url, text, stop, counts)) for _ in range(senders)]
        threads += [threading.Thread(target=_hold_slow_body, args=(port, stop, held, cut)) for _ in range(slow)]
        samples = [(0.0, rss_mb(app.pid))]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        while time.monotonic() - started < minutes * 60:
            time.sleep(SAMPLE_S)
            samples.append((round(time.monotonic() - started, 1), rss_mb(app.pid)))
        stop.set()
        for thread in threads:
            thread.join()
        per_minute = [max(m for t, m in samples if t <= 60 * (i + 1)) for i in range(int(minutes))]
        return {
            "rss_mib_start": samples[0][1],
            "rss_mib_max": max(m for _, m in samples),
            "rss_mib_end": samples[-1][1],
            "rss_mib_max_by_minute": per_minute,
            "rss_mib_last_minute_minus_first": per_minute[-1] - per_minute[0] if per_minute else None,
            "big_text_calls_by_status": {str(k): v for k, v in counts.items()},
            "slow_connections": len(held),
            "slow_connections_cut_by_server": len(cut),
            "slow_connection_held_s_median": sorted(held)[len(held) // 2] if held else None,
            "samples": samples,
        }
    finally:
        app.kill()
        app.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--mb", type=float, default=11)
    parser.add_argument("--senders", type=int, default=3)
    parser.add_argument("--slow", type=int, default=30)
    parser.add_argument("--baseline", default=BASELINE, help="a revision, or none (this tree alone: a longer soak)")
    args = parser.parse_args()
    report = {"minutes": args.minutes, "text_mb": args.mb, "senders": args.senders, "slow_at_once": args.slow}
    if args.baseline != "none":
        with checked_out(args.baseline) as tree:
            report["baseline"] = {
                "revision": args.baseline,
                **soak(tree, args.minutes, args.mb, args.senders, args.slow),
            }
    report["now"] = soak(ROOT, args.minutes, args.mb, args.senders, args.slow)
    write_report("abuse_soak" if args.baseline != "none" else f"abuse_soak_{args.minutes:g}_minutes", report)


if __name__ == "__main__":
    main()
