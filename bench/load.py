"""Many users at once: concurrent gradio_client users typing against one served app (loopback only).

Shared by `bench/bench_load.py` (50 users x 20 keystrokes, the real models) and the test suite
(a smaller run on tiny models). Each user types its own words and, like the page, asks for both
suggestion strips at every keystroke; every reply is checked to complete that user's own word, so
mixed-up replies are counted as errors.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time

USER_WORDS = [
    "wonderful",
    "morning",
    "question",
    "thanks",
    "weather",
    "project",
    "meeting",
    "holiday",
    "kitchen",
    "garden",
    "problem",
    "friend",
    "family",
    "history",
    "picture",
    "evening",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def keystroke_texts(user: int, requests: int) -> list[str]:
    """What user `user` has typed at each of its `requests` keystrokes: growing prefixes of its words."""
    word = USER_WORDS[user % len(USER_WORDS)]
    texts, typed = [], f"User {user} says I hope you have a "
    while len(texts) < requests:
        for end in range(1, len(word) + 1):
            texts.append(typed + word[:end])
            if len(texts) == requests:
                break
        typed += word + " and a "
    return texts


STRIPS = ("bigram", "transformer")


def run_users(url: str, users: int, requests: int, timeout: float = 600) -> dict:
    """`users` threads, each with its own gradio_client, sending `requests` keystrokes as the page does:
    both strips' requests at once (/suggest_bigram and /suggest_transformer), timed separately."""
    from gradio_client import Client

    latencies, errors, lock = {name: [] for name in STRIPS}, [], threading.Lock()

    def user(index: int):
        try:
            client = Client(url, verbose=False)
        except Exception as error:  # counted, not raised: the report says how many failed
            with lock:
                errors.append(f"user {index}: connect: {error}")
            return
        for text in keystroke_texts(index, requests):
            start = time.perf_counter()
            jobs = {name: client.submit(text, api_name=f"/suggest_{name}") for name in STRIPS}
            for name, job in jobs.items():  # the bigram's comes first; each is timed when its answer is in
                try:
                    strip = next(o for o in job.result(timeout=timeout) if isinstance(o, dict))
                    expected = text.rsplit(" ", 1)[-1]
                    if strip.get("prefix") != expected:
                        raise AssertionError(f"{name} reply for {expected!r} completes {strip.get('prefix')!r}")
                except Exception as error:
                    with lock:
                        errors.append(f"user {index}: {name}: {type(error).__name__}: {error}")
                    continue
                with lock:
                    latencies[name].append(time.perf_counter() - start)

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, timeout - (time.perf_counter() - started)))
    wall = time.perf_counter() - started
    report = {
        "users": users,
        "requests_per_user": requests,
        "errors": len(errors),
        "error_examples": errors[:5],
        "wall_s": wall,
    }
    for name in STRIPS:
        ms = sorted(1000 * s for s in latencies[name])
        report[name] = {
            "answered": len(ms),
            "p50_ms": statistics.median(ms) if ms else None,
            "p95_ms": ms[min(len(ms) - 1, int(0.95 * len(ms)))] if ms else None,
            "max_ms": ms[-1] if ms else None,
            "answers_per_s": len(ms) / wall if wall else None,
        }
    return report
