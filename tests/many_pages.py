"""Many users at once: simulated pages typing against one served app (loopback only).

Used by the test suite (a few users, tiny models: `tests/test_load.py`) and by the benchmarks
(`bench/bench_load.py`: 50 users, the real models). Each user sends what the page sends
(`demo/keyboard.js`): per keystroke, one POST per strip of
``keystroke/suggest_<strip>`` (``gradio_api/run/suggest_<strip>`` for an app from before that route)
with the text before the caret, the settings and a ticket; a strip keeps one request in flight and,
when its answer is in, asks again for the latest text if the text moved on meanwhile. Every reply is
checked to complete that user's own word and to echo the ticket it was sent with, so a mixed-up
reply counts as an error.

Two ways to type:
- closed loop (``keys_per_s=None``): a user presses the next key as soon as both strips show the
  current text, so the app is as busy as it can be made;
- at a typing pace (``keys_per_s=3``): keys at fixed intervals, whatever the strips do; the report
  says how stale each user's chips were (time from a key until the strip shows that text or a later
  one, and the share of the typing time a strip showed chips for an older text).
"""

from __future__ import annotations

import asyncio
import random
import socket
import statistics
import threading
import time

import httpx

from lm.registry import DEFAULT_MODELS

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
STRIPS = DEFAULT_MODELS  # the default lineup's strips
SETTINGS = ["most likely", 1.0, 0, 1.0, -1]  # mode, temperature, top_k, top_p, seed: the page's defaults
KEYSTROKE_ROUTE = "keystroke/suggest_{strip}"  # what the page posts to (`demo.keystroke.KEYSTROKE_ROUTE`)
GRADIO_RUN_ROUTE = "gradio_api/run/suggest_{strip}"  # what the page posted to before that route existed


def free_port() -> int:
    """A TCP port free on loopback now."""
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


class _Strip:
    """One strip of one page: one request in flight, the key its latest answer was for."""

    def __init__(self, name: str):
        self.name = name
        self.shown = -1  # the key index of the text the strip's chips are for
        self.busy = False
        self.answered = asyncio.Event()  # set whenever an answer arrives
        self.latencies: list[float] = []  # per request: seconds from sending to the answer


class _User:
    """One page: the keys it presses and both strips' requests, as `demo/keyboard.js` sends them."""

    def __init__(self, client: httpx.AsyncClient, url: str, route: str, index: int, requests: int, report):
        self.client, self.url, self.route, self.index, self.report = client, url, route, index, report
        self.texts = keystroke_texts(index, requests)
        self.key = -1  # the key pressed last
        self.key_times: list[float] = []
        self.fresh_at: dict[str, dict[int, float]] = {name: {} for name in STRIPS}  # key -> first time shown
        self.strips = {name: _Strip(name) for name in STRIPS}
        self.ticket = 0

    def press(self) -> None:
        self.key += 1
        self.key_times.append(time.perf_counter())
        for strip in self.strips.values():
            if not strip.busy:
                asyncio.get_running_loop().create_task(self._send_until_current(strip))

    async def _send_until_current(self, strip: _Strip) -> None:
        strip.busy = True
        try:
            while strip.shown < self.key:
                await self._ask(strip, self.key)
        finally:
            strip.busy = False

    async def _ask(self, strip: _Strip, key: int) -> None:
        self.ticket += 1
        text, ticket = self.texts[key], self.ticket
        sent = time.perf_counter()
        try:
            response = await self.client.post(
                self.url + self.route.format(strip=strip.name), json={"data": [text, *SETTINGS, ticket, None]}
            )
            answer = response.json()["data"][0]
            expected = text.rsplit(" ", 1)[-1]
            if not isinstance(answer, dict) or answer.get("ticket") != ticket or answer.get("prefix") != expected:
                raise AssertionError(f"reply {str(answer)[:80]} is not for ticket {ticket} completing {expected!r}")
        except Exception as error:  # counted, not raised: the report says how many failed
            self.report["errors"].append(f"user {self.index}: {strip.name}: {type(error).__name__}: {error}")
            strip.shown = key  # the page draws nothing and asks again at the next key
            strip.answered.set()
            return
        now = time.perf_counter()
        strip.latencies.append(now - sent)
        for shown in range(strip.shown + 1, key + 1):
            self.fresh_at[strip.name][shown] = now
        strip.shown = key
        strip.answered.set()

    async def type_closed_loop(self) -> None:
        """The next key as soon as both strips show the current text."""
        for _ in self.texts:
            self.press()
            for strip in self.strips.values():
                while strip.shown < self.key:
                    strip.answered.clear()
                    await strip.answered.wait()

    async def type_at(self, keys_per_s: float) -> None:
        """A key every 1 / `keys_per_s` seconds (from a random phase), then wait for the strips to settle."""
        await asyncio.sleep(random.Random(self.index).uniform(0, 1 / keys_per_s))
        for _ in self.texts:
            self.press()
            await asyncio.sleep(1 / keys_per_s)
        for strip in self.strips.values():
            while strip.shown < self.key:
                strip.answered.clear()
                await strip.answered.wait()


def percentiles(values: list[float]) -> dict:
    ms = sorted(1000 * v for v in values)
    return {
        "count": len(ms),
        "p50_ms": statistics.median(ms) if ms else None,
        "p95_ms": ms[min(len(ms) - 1, int(0.95 * len(ms)))] if ms else None,
        "max_ms": ms[-1] if ms else None,
    }


def _staleness(users: list[_User], name: str) -> dict:
    """Per key: seconds until the strip showed that text or a later one; and the share of the typing time
    (first key to last key) a strip showed chips for an older text."""
    fresh, stale, typing = [], 0.0, 0.0
    for user in users:
        times = user.key_times
        for key, pressed in enumerate(times):
            shown = user.fresh_at[name].get(key)
            if shown is None:
                continue
            fresh.append(shown - pressed)
            if key + 1 < len(times):
                stale += min(shown, times[key + 1]) - pressed
        typing += times[-1] - times[0] if len(times) > 1 else 0.0
    return {"fresh_after_key": percentiles(fresh), "stale_share": stale / typing if typing else None}


async def _page_route(client: httpx.AsyncClient, url: str) -> str:
    """Where this app's page posts keystrokes: its keystroke route, or (an app from before it) Gradio's /run."""
    probe = await client.post(url + KEYSTROKE_ROUTE.format(strip="bigram"), json={"data": ["", *SETTINGS, 0]})
    return KEYSTROKE_ROUTE if probe.status_code == 200 else GRADIO_RUN_ROUTE


async def _run(url: str, users: int, requests: int, keys_per_s: float | None, timeout: float) -> dict:
    report = {"errors": []}
    limits = httpx.Limits(max_connections=4 * users, max_keepalive_connections=4 * users)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        route = await _page_route(client, url)
        pages = [_User(client, url, route, i, requests, report) for i in range(users)]
        started = time.perf_counter()
        typing = [page.type_closed_loop() if keys_per_s is None else page.type_at(keys_per_s) for page in pages]
        await asyncio.wait_for(asyncio.gather(*typing), timeout)
        wall = time.perf_counter() - started
    out = {
        "users": users,
        "keys_per_user": requests,
        "typing": "closed loop" if keys_per_s is None else f"{keys_per_s} keys/s",
        "errors": len(report["errors"]),
        "error_examples": report["errors"][:5],
        "wall_s": wall,
    }
    for name in STRIPS:
        latencies = [s for page in pages for s in page.strips[name].latencies]
        out[name] = {
            **percentiles(latencies),
            "answers_per_s": len(latencies) / wall if wall else None,
            **_staleness(pages, name),
        }
    return out


def run_users(url: str, users: int, requests: int, keys_per_s: float | None = None, timeout: float = 600) -> dict:
    """`users` simulated pages typing `requests` keys each into the app at `url` (see the module docstring).

    The pages run on an event loop of their own, in a thread (the caller may already run one, as
    Playwright's synchronous API does)."""
    outcome = {}

    def pages():
        try:
            outcome["report"] = asyncio.run(_run(url, users, requests, keys_per_s, timeout))
        except Exception as error:  # raised in the caller's thread below
            outcome["error"] = error

    thread = threading.Thread(target=pages, name="load-pages")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["report"]
