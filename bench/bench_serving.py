"""What the request checks cost (`demo.serving.RequestGuard`): every request passes them.

1. In this process: the guard around an ASGI app that answers at once, against that app alone, on the
   headers a keystroke request carries (Host, Origin, Content-Length), alternating rounds.
2. The served app (`app.py`, real models): sequential keystroke requests to the bigram strip (a
   look-up of microseconds, so the server's own cost shows), the app now against `--baseline` (before
   the guard), both served at once and taking turns every 50 requests.

    python -m bench.bench_serving [--baseline 03654f9] [--requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from bench.common import ROOT, checked_out, serve, write_report
from demo.serving import RequestGuard, proxy_names, served_names
from tests.many_pages import free_port

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


def keystroke_round_trips(ports: dict[str, int], requests: int, block: int = 50) -> dict:
    """Sequential keystroke requests to each app's bigram strip, the apps taking turns every `block`
    requests (so both see the same moments of this noisy machine): p50 and p95 milliseconds each."""
    times = {name: [] for name in ports}
    with httpx.Client(timeout=30) as client:
        for turn in range(requests // block + 1):
            for name, port in ports.items():
                url = f"http://127.0.0.1:{port}/keystroke/suggest_bigram"
                for _ in range(block):
                    start = time.perf_counter()
                    answer = client.post(url, json=KEYSTROKE, headers={"Origin": f"http://127.0.0.1:{port}"})
                    elapsed = time.perf_counter() - start
                    answer.raise_for_status()
                    if turn:  # the first turn warms up
                        times[name].append(elapsed * 1000)
    return {name: _percentiles(ms) for name, ms in times.items()}


def _percentiles(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"requests": len(ms), "p50_ms": round(statistics.median(ms), 3), "p95_ms": round(ms[int(0.95 * len(ms))], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    report = {"guard_in_process": guard_overhead(args.calls)}
    before = f"before ({args.baseline})"
    with checked_out(args.baseline) as baseline_tree:
        ports = {before: free_port(), "now": free_port()}
        apps = [serve(baseline_tree, ports[before]), serve(ROOT, ports["now"])]
        try:
            route = keystroke_round_trips(ports, args.requests)
        finally:
            for app in apps:
                app.terminate()
                app.wait(timeout=60)
    route["p50_ratio_now_to_before"] = round(route["now"]["p50_ms"] / route[before]["p50_ms"], 3)
    report["keystroke_route"] = route
    write_report("serving", report)


if __name__ == "__main__":
    main()
