"""What the request checks cost (`demo.serving.RequestGuard`): every request passes them.

1. In this process: the guard around an ASGI app that answers at once, against that app alone, on the
   headers a keystroke request carries (Host, Origin, Content-Length), alternating rounds.
2. The served app (`app.py`, real models): sequential keystroke requests to the bigram strip (a
   look-up of microseconds, so the server's own cost shows), the app now against `--baseline` (before
   the guard), one after the other in the same run, and the share of refused requests' answers.

    python -m bench.bench_serving [--baseline 03654f9] [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from bench.common import ROOT, checked_out, serve, write_report
from bench.load import free_port
from demo.serving import RequestGuard, proxy_names, served_names

BASELINE = "03654f9"  # the app before the hardening (issue 13)
KEYSTROKE = {"data": ["I hope you're having a wonderful d", "most likely", 1.0, 0, 1.0, -1, 1]}
SCOPE = {
    "type": "http",
    "method": "POST",
    "path": "/keystroke/suggest_bigram",
    "headers": [
        (b"host", b"127.0.0.1:7860"),
        (b"origin", b"http://127.0.0.1:7860"),
        (b"content-length", b"120"),
        (b"content-type", b"application/json"),
    ],
}


async def _answer_at_once(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _nothing(message):
    return None


def guard_overhead(calls: int, rounds: int = 7) -> dict:
    """Microseconds per request through the guard and without it (medians of alternating rounds)."""
    guarded = RequestGuard(_answer_at_once, served_names("127.0.0.1"), proxy_names())

    async def per_call(app) -> float:
        start = time.perf_counter()
        for _ in range(calls):
            await app(SCOPE, _nothing, _nothing)
        return (time.perf_counter() - start) / calls * 1e6

    async def measure():
        alone, through = [], []
        for _ in range(rounds):
            alone.append(await per_call(_answer_at_once))
            through.append(await per_call(guarded))
        return statistics.median(alone), statistics.median(through)

    alone, through = asyncio.run(measure())
    return {
        "app_alone_us": round(alone, 2),
        "through_the_guard_us": round(through, 2),
        "added_us": round(through - alone, 2),
    }


def keystroke_round_trips(port: int, requests: int) -> dict:
    """Sequential keystroke requests to the bigram strip: median and p95 milliseconds per round trip."""
    url = f"http://127.0.0.1:{port}/keystroke/suggest_bigram"
    times = []
    with httpx.Client(timeout=30, headers={"Origin": f"http://127.0.0.1:{port}"}) as client:
        for i in range(requests + 20):
            start = time.perf_counter()
            answer = client.post(url, json=KEYSTROKE)
            elapsed = time.perf_counter() - start
            answer.raise_for_status()
            if i >= 20:  # the first ones warm up
                times.append(elapsed * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 3), "p95_ms": round(times[int(0.95 * len(times))], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    report = {"guard_in_process": guard_overhead(args.calls), "keystroke_route": {}}
    with checked_out(args.baseline) as baseline_tree:
        for name, tree in ((f"before ({args.baseline})", baseline_tree), ("now", ROOT)):
            port = free_port()
            app = serve(tree, port)
            try:
                report["keystroke_route"][name] = keystroke_round_trips(port, args.requests)
            finally:
                app.terminate()
                app.wait(timeout=60)
    before, now = report["keystroke_route"].values()
    report["keystroke_route"]["p50_ratio_now_to_before"] = round(now["p50_ms"] / before["p50_ms"], 3)
    write_report("serving", report)


if __name__ == "__main__":
    main()
