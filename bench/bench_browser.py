"""Browser benchmark: what a typist sees. Chromium types a fixed paragraph at 8 keys/s into the served
app (real models, `app.py` in a subprocess) and records, for every keystroke, the time until each
strip shows the chips for that text or a later one (see `bench/typist.py`). The baseline, the app as
it was at `--baseline` (a git revision, checked out into a temporary worktree), runs in the same
benchmark, one app after the other, so the two are compared side by side on the same machine.

Also measured in the same run: the requests the page sends per keystroke and after the last one, and
the engine's own time for the same keystrokes (`Keyboard.suggest` called in this process at the same
pace), so the time the page and the server add on top of the models is visible.

    python -m bench.bench_browser [--baseline 4d1dd32] [--keys-per-s 8]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench.common import ROOT, checked_out, serve, write_report
from bench.typist import STRIPS, fresh_after_each_key, split_by_stage, summary, truth_key, type_and_record
from tests.browser import event_names, watch_requests
from tests.many_pages import free_port

BASELINE = "4d1dd32"  # the app before the keystroke-loop work (issue 10)
PARAGRAPH = (
    "I hope you're having a wonderful day. The weather is lovely, so we should go for a walk "
    "in the park this afternoon. See you tomorrow!"
)
IDLE_S = 8  # seconds watched for requests once the strips have settled


def truths(url: str, texts: list[str]) -> dict[str, dict[str, tuple]]:
    """strip -> text -> the chips the API gives for that text (the page's answers are not trusted)."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    found = {name: {} for name in STRIPS}
    for text in dict.fromkeys(texts):
        for name in STRIPS:
            strip = next(o for o in client.predict(text, api_name=f"/suggest_{name}") if isinstance(o, dict))
            found[name][text] = truth_key(strip["chips"])
    return found


def settle_then_watch(page, sent: list[dict], typed_until: float) -> dict:
    """Requests sent after the last key, then wait for fresh strips and count requests for IDLE_S more."""
    page.wait_for_timeout(3000)
    settled = time.perf_counter()
    page.wait_for_timeout(IDLE_S * 1000)
    after_typing = {
        name: sum(1 for r in sent if r["at"] > typed_until and r["name"] == f"suggest_{name}") for name in STRIPS
    }
    idle = [r["name"] for r in sent if r["at"] > settled]
    return {"after_last_key_per_strip": after_typing, f"in_{IDLE_S}_s_idle": len(idle), "idle_examples": idle[:5]}


def measure_page(url: str, key_delay_ms: float) -> dict:
    """Type PARAGRAPH into the page at `url`; per-strip freshness, requests, and the keys' texts and times."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.locator("#bigram-0").wait_for()
        box = page.locator("#keyboard-input textarea")
        box.press_sequentially("Warm up the models. ", delay=key_delay_ms)  # first passes are slow everywhere
        box.fill("")
        page.wait_for_timeout(3000)
        sent = watch_requests(page, event_names(page))
        started = time.perf_counter()
        type_and_record(page, PARAGRAPH, key_delay_ms)
        typed_until = time.perf_counter()
        requests = settle_then_watch(page, sent, typed_until)
        recording = page.evaluate("() => window.__typist")  # again: with the answers that came after the last key
        browser.close()
    keys = recording["keys"]
    requests["per_key"] = {
        name: sum(1 for r in sent if r["at"] <= typed_until and r["at"] >= started and r["name"] == f"suggest_{name}")
        / len(keys)
        for name in STRIPS
    }
    requests["per_key_all_events"] = sum(1 for r in sent if started <= r["at"] <= typed_until) / len(keys)
    requests["events_seen"] = sorted({r["name"] for r in sent})
    answers = truths(url, [key["text"] for key in keys])
    fresh = {name: fresh_after_each_key(keys, recording["strips"][name], answers[name]) for name in STRIPS}
    span = (keys[-1]["t"] - keys[0]["t"]) / 1000
    return {
        "keys": len(keys),
        "keys_per_s": round((len(keys) - 1) / span, 2),
        **{
            f"{name}_strip": {
                **summary(fresh[name]),
                "never_fresh_texts": [k["text"][-30:] for k, ms in zip(keys, fresh[name]) if ms is None],
            }
            for name in STRIPS
        },
        "page_split": split_by_stage(recording),
        "requests": requests,
        "key_times_ms": [key["t"] - keys[0]["t"] for key in keys],
        "texts": [key["text"] for key in keys],
    }


def engine_times(texts: list[str], key_times_ms: list[float]) -> dict:
    """`Keyboard.suggest` for each strip, for the same texts at the same pace, in this process."""
    import app

    keyboard = app.load(app.parse_args([]))
    for text in ("Warm up the models. ", ""):
        keyboard.suggest(text)
    seconds = {name: [] for name in STRIPS}
    start = time.perf_counter()
    for text, at in zip(texts, key_times_ms):
        time.sleep(max(0.0, start + at / 1000 - time.perf_counter()))
        for name in STRIPS:
            began = time.perf_counter()
            keyboard.suggest(text, models=(name,))
            seconds[name].append(1000 * (time.perf_counter() - began))
    if keyboard.prefetcher:
        keyboard.prefetcher.stop()
    return {f"{name}_strip": summary(seconds[name]) for name in STRIPS}


def run_tree(tree: Path, key_delay_ms: float, app_args: tuple[str, ...] = ()) -> dict:
    port = free_port()
    app = serve(tree, port, app_args)
    try:
        return measure_page(f"http://127.0.0.1:{port}/", key_delay_ms)
    finally:
        app.terminate()
        app.wait(timeout=30)


def ratios(now: dict, before: dict) -> dict:
    """now / before for each strip's p50 and p95 (below 1: faster now)."""
    out = {}
    for name in STRIPS:
        for stat in ("p50_ms", "p95_ms"):
            a, b = now[f"{name}_strip"].get(stat), before[f"{name}_strip"].get(stat)
            out[f"{name}_{stat}"] = round(a / b, 3) if a and b else None
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with ('' to skip)")
    parser.add_argument("--keys-per-s", type=float, default=8.0)
    parser.add_argument("--app-args", default="", help="extra app.py arguments for both runs, e.g. '--no-prefetch'")
    args = parser.parse_args()
    delay = 1000 / args.keys_per_s
    report = {"paragraph": PARAGRAPH, "keys_per_s_asked": args.keys_per_s, "app_args": args.app_args}
    if args.baseline:
        with checked_out(args.baseline) as tree:
            report["baseline"] = {"revision": args.baseline, **run_tree(tree, delay, tuple(args.app_args.split()))}
    report["now"] = run_tree(ROOT, delay, tuple(args.app_args.split()))
    report["engine"] = engine_times(report["now"]["texts"], report["now"]["key_times_ms"])
    if "baseline" in report:
        report["now_vs_baseline"] = ratios(report["now"], report["baseline"])
    for run in ("baseline", "now"):
        if run in report:
            report[run].pop("texts"), report[run].pop("key_times_ms")
    write_report("browser", report)


if __name__ == "__main__":
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    main()
