"""What a typist sees: Chromium types into the served page while the page records when each strip
shows the chips for the text typed so far.

Used by `bench/bench_browser.py` (the real models, figures in `bench/results/browser.json`); the page's
event requests are watched as the browser tests watch them (`tests.browser.watch_requests`).
Two scripts run inside the page:

- every `input` event of the textbox is logged with `performance.now()` and the new text;
- a `MutationObserver` on each strip logs, at every change, the chips' labels and whether the strip
  is marked stale (the `stale` class the page sets while a newer keystroke is on its way).

A keystroke's strip is *fresh* at the first moment, at or after the key, when the strip shows the
chips the server gives for that text or for a later one (the truth is asked from the API afterwards,
so the page's own answers are not trusted). The page's strip requests (`fetch` calls to
`/suggest_<strip>`, as demo/keyboard.js sends them) are logged too, so the time can be split into
waiting before a request leaves and its round trip.
"""

from __future__ import annotations

import statistics

from lm.registry import DEFAULT_MODELS

STRIPS = DEFAULT_MODELS  # the strips of the default lineup, each recorded

RECORDER = r"""
(names) => {
  const log = {keys: [], strips: Object.fromEntries(names.map((name) => [name, []]))};
  const box = document.querySelector('#keyboard-input textarea');
  box.addEventListener('input', () => log.keys.push({t: performance.now(), text: box.value}), true);
  for (const name of Object.keys(log.strips)) {
    const chips = [0, 1, 2].map(i => document.getElementById(`${name}-${i}`));
    const row = chips[0].closest('.strip');
    const snap = () => log.strips[name].push({
      t: performance.now(),
      labels: chips.map(c => c.innerText.trim()),
      stale: row.classList.contains('stale'),
    });
    snap();
    const observer = new MutationObserver(snap);
    for (const node of [row, ...chips]) {
      observer.observe(node, {subtree: true, childList: true, characterData: true, attributes: true,
                              attributeFilter: ['class']});
    }
  }
  log.requests = [];  // the page's strip requests (fetched by demo/keyboard.js): when sent and answered
  if (!window.__typistFetch) {
    const realFetch = window.__typistFetch = window.fetch;
    window.fetch = async (url, options) => {
      const strip = String(url).match(/suggest_(\w+)/);
      if (!strip || !window.__typist || !(strip[1] in window.__typist.strips)) return realFetch(url, options);
      const entry = {name: strip[1], sent: performance.now()};
      window.__typist.requests.push(entry);
      const response = await realFetch(url, options);
      entry.answered = performance.now();
      return response;
    };
  }
  window.__typist = log;
}
"""


def chip_key(labels: list[str]) -> tuple:
    """What a strip shows, compared loosely: each chip's word (case-folded) and its percentage."""
    key = []
    for label in labels:
        lines = [line.strip() for line in label.splitlines() if line.strip()]
        if lines:
            key.append((lines[0].casefold(), lines[-1] if len(lines) > 1 else ""))
    return tuple(key)


def truth_key(chips: list[dict]) -> tuple:
    """The same key for the chips the API returns (`{"word", "p"}`), formatted as the page does."""
    return tuple((chip["word"].casefold(), f"{chip['p']:.1%}") for chip in chips)


def fresh_after_each_key(keys: list[dict], states: list[dict], truths: dict[str, tuple]) -> list[float | None]:
    """For every key, ms from the key until its strip is fresh (None: never, within the recording)."""
    latencies = []
    for i, key in enumerate(keys):
        wanted = {truths[later["text"]] for later in keys[i:]}
        shown_before = [s for s in states if s["t"] <= key["t"]]
        candidates = ([{**shown_before[-1], "t": key["t"]}] if shown_before else []) + [
            s for s in states if s["t"] > key["t"]
        ]
        fresh = next((s["t"] for s in candidates if chip_key(s["labels"]) in wanted), None)
        latencies.append(None if fresh is None else fresh - key["t"])
    return latencies


def split_by_stage(recording: dict) -> dict:
    """Where the page's time goes, per strip: from the key to the request leaving the page (waiting for the
    strip's previous request), and the request's round trip (the server's work and the network)."""
    keys, split = recording["keys"], {}
    for name in STRIPS:
        waited, round_trip = [], []
        for request in (r for r in recording.get("requests", []) if r["name"] == name and "answered" in r):
            key = [k["t"] for k in keys if k["t"] <= request["sent"]]
            if key:
                waited.append(request["sent"] - key[-1])
            round_trip.append(request["answered"] - request["sent"])
        if round_trip:
            split[name] = {"key_to_request_sent": summary(waited), "request_round_trip": summary(round_trip)}
    return split


def summary(ms: list[float | None]) -> dict:
    """p50 / p95 / max of the latencies, and how many keys never got fresh chips."""
    seen = sorted(m for m in ms if m is not None)
    if not seen:
        return {"keys": len(ms), "never_fresh": len(ms)}
    return {
        "keys": len(ms),
        "p50_ms": round(statistics.median(seen), 1),
        "p95_ms": round(seen[min(len(seen) - 1, int(0.95 * len(seen)))], 1),
        "max_ms": round(seen[-1], 1),
        "never_fresh": len(ms) - len(seen),
    }


def type_and_record(page, text: str, key_delay_ms: float) -> dict:
    """Type `text` into the keyboard at one key every `key_delay_ms`; return the page's recording."""
    page.evaluate(RECORDER, list(STRIPS))
    box = page.locator("#keyboard-input textarea")
    box.click()
    box.press("End")
    type_on_schedule(page, text, key_delay_ms)
    return page.evaluate("() => window.__typist")


def type_on_schedule(page, text: str, key_delay_ms: float) -> None:
    """Press the keys of `text` into the focused element, key i at `i * key_delay_ms` from the first
    (Playwright's own `delay` waits after each press, so a busy page would slow the typist down)."""
    import time

    start = time.perf_counter()
    for i, character in enumerate(text):
        time.sleep(max(0.0, start + i * key_delay_ms / 1000 - time.perf_counter()))
        page.keyboard.type(character)
