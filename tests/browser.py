"""Driving the served app in a real browser: Debian's Chromium through Playwright.

Browser tests need `/usr/bin/chromium`; they skip with a reason where it is absent, except in CI
(CI=true), where `.ci/run` installs it and a missing browser is a failure.
"""

import os
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"  # git-ignored; look at them
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def browser_missing() -> bool:
    """Whether browser tests should skip: no Chromium, and not in CI (where it must be there)."""
    return not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true"


def open_app(browser, url, width: int = 1280, height: int = 900):
    """A new page of the app at `url`, once its keystroke loop (`demo/keyboard.js`) is installed."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.wait_for_function("() => window.nextword !== undefined", timeout=20_000)
    return page


def open_tab(page, name):
    """Click a tab, through Gradio's overflow menu when a narrow screen has folded it away."""
    tab = page.get_by_role("tab", name=name)
    if tab.count() and tab.first.is_visible():
        tab.first.click()
        return
    page.locator(".overflow-menu button").first.click()
    page.locator(".overflow-dropdown button", has_text=name).first.click()


def poll(page, condition, timeout_ms: int = 20_000, step_ms: int = 50) -> None:
    """Let the page run until `condition()` (a check on what the test recorded) holds; fail at `timeout_ms`."""
    waited = 0
    while not condition():
        if waited >= timeout_ms:
            raise AssertionError(f"still not true after {timeout_ms} ms: {condition.__doc__ or condition}")
        page.wait_for_timeout(step_ms)
        waited += step_ms


def event_names(page) -> dict[int, str]:
    """fn_index -> api name (or trigger) of the page's events, read from the page's own config."""
    config = page.evaluate("() => window.gradio_config")
    names = {}
    for index, dependency in enumerate(config["dependencies"]):
        names[dependency.get("id", index)] = dependency.get("api_name") or f"event {index}"
    return names


def watch_requests(page, names: dict[int, str]) -> list[dict]:
    """Log every event request the page sends: when (`time.perf_counter()`) and the event's name (from
    the URL for `gradio_api/run/<api name>`, else from the body's `fn_index`)."""
    import json
    import time

    sent = []

    def on_request(request):
        if request.method != "POST" or not any(part in request.url for part in ("/queue/join", "/gradio_api/run/")):
            return
        name = request.url.split("/gradio_api/run/")[-1].split("?")[0] if "/gradio_api/run/" in request.url else None
        if name in (None, "predict"):
            try:
                name = names.get(json.loads(request.post_data or "{}").get("fn_index"), "?")
            except ValueError:
                name = "?"
        sent.append({"at": time.perf_counter(), "name": name})

    page.on("request", on_request)
    return sent
