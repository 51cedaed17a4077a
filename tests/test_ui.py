"""The app end to end: served by Gradio, called through gradio_client, and driven in a real browser.

Browser tests need Debian's Chromium (see `tests/browser.py`).
Screenshots of every tab at desktop and phone width land in `artifacts/screenshots/` (git-ignored).
"""

import json
import re
import socket
import time

import pytest

from demo.ui import build_demo, launch
from lm import BigramModel, TransformerModel
from lm.registry import lineup
from lm.serving.keyboard import Keyboard
from lm.transformer.prefetch import Prefetcher
from tests.browser import SCREENSHOTS, open_tab
from tests.chart_reading import read_chart


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    transformer = TransformerModel.from_pretrained()
    keyboard = Keyboard(lineup(bigram=BigramModel.from_corpus(), transformer=transformer), Prefetcher(transformer))
    demo = build_demo(keyboard)
    port = free_port()
    launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()
    keyboard.prefetcher.stop()


def test_suggest_endpoint_returns_both_models(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    outputs = client.predict("I hope you're having a ", api_name="/suggest")
    chips = next(output for output in outputs if isinstance(output, dict))
    assert chips["transformer"][0]["word"] == "great"
    assert 0 < chips["transformer"][0]["p"] <= 1
    assert len(chips["bigram"]) == 3 and all(0 < chip["p"] <= 1 for chip in chips["bigram"])


def test_strip_and_chart_endpoints_stay_for_api_users(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    for name in ("bigram", "transformer"):
        strip = client.predict("I hope you're having a ", api_name=f"/suggest_{name}")[0]
        assert strip["prefix"] == "" and len(strip["chips"]) == 3 and len(strip["labels"]) == 3
    charts = client.predict("I hope you're having a ", 1.0, 0, 1.0, api_name="/distributions")
    assert len(charts) == 5 and charts[-1] == "" and "great" in str(charts[2])  # the transformer's raw bars


@pytest.mark.parametrize("text", ["", "🙂" * 50, "\x00\x01\x02", "a" * 200_000, "?!?"])
def test_bad_input_through_the_api_gives_a_message_not_an_error(app_url, text):
    from gradio_client import Client

    chips, message = Client(app_url, verbose=False).predict(text, api_name="/suggest")
    assert not message.startswith("⚠️"), message  # a note about the text at most, never a handler's error
    assert set(chips) >= {"bigram", "transformer", "prefix", "about"}  # the strips were computed
    assert all(0 < chip["p"] <= 1 for name in ("bigram", "transformer") for chip in chips[name])
    assert Client(app_url, verbose=False).predict("the ", api_name="/suggest")  # and keeps serving


def test_compare_endpoint_runs_both_models(app_url):
    from gradio_client import Client

    outputs = Client(app_url, verbose=False).predict(
        "I hope you are having a great day. Thanks!", 20, api_name="/compare"
    )
    assert "recall@3" in outputs[0] and outputs[-1] == ""


def test_typing_shows_chips_and_clicking_inserts_the_word(app_url, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    opened = time.perf_counter()
    page.goto(app_url)
    box = page.locator("#keyboard-input textarea")
    expect(page.locator("#bigram-0")).not_to_have_text(" ", timeout=15_000)  # first suggestions on load
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # measured, not asserted: timings do not belong in tests
    (SCREENSHOTS.parent / "first-suggestions.json").write_text(json.dumps({"seconds": time.perf_counter() - opened}))
    box.press_sequentially("I hope you're having a ", delay=40)
    expect(page.locator("#transformer-0")).to_contain_text("great", timeout=30_000)
    page.locator("#transformer-0").click()
    expect(box).to_have_value("I hope you're having a great ", timeout=10_000)
    expect(page.locator("#transformer-0")).not_to_contain_text("great", timeout=30_000)  # refreshed for the next word
    page.close()


@pytest.mark.parametrize("width, height", [(1280, 900), (400, 900)])
def test_screenshots_of_every_tab(app_url, browser, width, height):
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(app_url)
    page.locator("#keyboard-input textarea").press_sequentially("I hope you're having a wond", delay=20)
    expect(page.locator("#transformer-0")).to_contain_text("wonderful", timeout=30_000)
    page.screenshot(path=str(SCREENSHOTS / f"keyboard-{width}.png"), full_page=True)
    for tab, shown in TAB_CONTENT.items():  # each tab is screenshot once what it computes is drawn
        open_tab(page, tab)
        if tab == "Learned table":
            page.get_by_role("button", name="Learn", exact=True).click()
        for selector, text in shown:
            expect(page.locator(selector).first).to_contain_text(text, timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / f"{tab.split()[0].lower()}-{width}.png"), full_page=True)
    page.close()


TAB_CONTENT = {  # what each tab draws from the models once opened: (selector, text it must hold)
    "Tables (Bayes)": [("#bayes-identity", "p(z | x) = p(x | z) p(z) / p(x)"), ("#conditional-chart .bar-row", "%")],
    "Sampling": [("#marbles-chart .bar-row", "%"), ("#convergence .bar-row", "marbles")],
    "Compare": [("#compare-button", "Run the comparison")],
    "Learned table": [("#training-summary", "NLL"), ("#learned-chart .bar-row", "%")],
    "Continuous (GPA)": [("#slice-summary", "P("), ("#slice-marbles-summary", "marbles")],
}


def test_the_page_shows_one_number_per_word_and_explains_it(app_url, browser):
    # after "Good night, my lord " the bigram's "of" once read 5.8 % on its chip and 7.6 % in the chart
    from gradio_client import Client
    from playwright.sync_api import expect

    text = "Good night, my lord "
    client = Client(app_url, verbose=False)
    api = {name: client.predict(text, api_name=f"/suggest_{name}")[0] for name in ("bigram", "transformer")}
    charts = client.predict(text, 1.0, 0, 1.0, api_name="/distributions")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app_url)
    page.locator("#keyboard-input textarea").press_sequentially(text, delay=20)
    for index, name in enumerate(("bigram", "transformer")):
        chip = api[name]["chips"][0]
        expect(page.locator(f"#{name}-0")).to_have_text(f"{chip['word']}\n{chip['p']:.1%}", timeout=30_000)
        _, bars, rest = read_chart(charts[2 * index])
        raw_bars = {word.lower(): p for word, p, _ in bars}
        assert raw_bars[chip["word"].lower()] == pytest.approx(chip["p"], abs=1e-12)  # the chip's number
        assert (rest or 0.0) >= 0 and sum(p for _, p, _ in bars) + (rest or 0.0) == pytest.approx(1.0)
        expect(page.locator(f"#{name}-title .info")).to_contain_text(
            f"no word next (punctuation, end): {api[name]['about']['no_word']:.1%}"
        )
    page.locator("#why").get_by_text("Why these numbers?").click()
    page.locator("#explain-chips").click()
    for name in ("bigram", "transformer"):
        expect(page.locator("#why-text")).to_contain_text(f"= {api[name]['chips'][0]['p']:.1%}", timeout=30_000)
    expect(page.locator("#why-text")).to_contain_text("c(lord, of) / (c(lord) - c(lord, </s>))")
    page.screenshot(path=str(SCREENSHOTS / "why-1280.png"), full_page=True)
    page.close()


def _luminance(css_colour: str) -> float:
    red, green, blue = (float(part) / 255 for part in re.findall(r"[\d.]+", css_colour)[:3])
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("theme, width", [("light", 1280), ("dark", 1280), ("dark", 400), ("light", 400)])
def test_tables_tab_reads_in_both_themes_and_scrolls_on_a_phone(app_url, browser, theme, width):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{app_url}?__theme={theme}")
    page.locator("#keyboard-input textarea").wait_for()  # the page is drawn: its tabs are there
    open_tab(page, "Tables (Bayes)")
    marginal = page.locator(".joint-table td.marginal").first
    expect(marginal).to_be_visible(timeout=15_000)
    colours = marginal.evaluate("cell => [getComputedStyle(cell).color, getComputedStyle(cell).backgroundColor]")
    light, dark = sorted((_luminance(colour) for colour in colours), reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 4.5, colours  # WCAG AA contrast between the text and its cell
    expect(page.locator(".joint-table th.picked", has_text="lord")).to_have_count(1)
    if width == 400:
        table = page.locator(".joint-table").last  # the corpus's table (the blog's 2x2 comes first)
        assert table.evaluate("t => t.scrollWidth > t.clientWidth && getComputedStyle(t).overflowX === 'auto'")
    page.screenshot(path=str(SCREENSHOTS / f"tables-{theme}-{width}.png"), full_page=True)
    page.close()
