"""The Compare tab in a real browser (tiny models): the button waits for its run, the progress sits beside
it, and the figures explain themselves."""

import time

import pytest

from tests.browser import SCREENSHOTS, open_tab
from tests.conftest import served


@pytest.mark.parametrize("width", [1280, 400])
def test_compare_disables_its_button_while_running_and_explains_each_metric(tiny_app, browser, width):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(tiny_app)
    page.locator("#keyboard-input textarea").wait_for()
    open_tab(page, "Compare")
    words = page.locator("#compare-words input[type=number]")
    words.fill("20")
    words.press("Enter")
    page.locator("#compare-button").click()
    expect(page.locator("#compare-button")).to_be_disabled(timeout=5_000)  # one run at a time from this page
    expect(page.locator("#compare-table table")).to_be_visible(timeout=120_000)
    expect(page.locator("#compare-button")).to_be_enabled(timeout=10_000)  # enabled again once the run is done
    expect(page.locator("#compare-message")).not_to_contain_text("⚠️")
    for metric in ("perplexity (per word)", "recall@1 / recall@3", "keystroke savings", "Jensen-Shannon divergence"):
        expect(page.locator("#compare-metrics")).to_contain_text(metric)
    header = page.locator("#compare-table th", has_text="transformer")
    lines = header.evaluate(
        "th => { const r = document.createRange(); r.selectNodeContents(th); return r.getClientRects().length; }"
    )
    assert lines == 1  # "transformer" stays one word on one line (a phone scrolls the table instead)
    page.screenshot(path=str(SCREENSHOTS / f"compare-{width}.png"), full_page=True)
    page.close()


class CountingTransformer:
    """A `TransformerModel` whose keyboard searches are counted and slowed, to watch a Compare run's work."""

    def __init__(self, model, counted: list[int] | None = None):
        self._model, self._counted = model, counted if counted is not None else [0]  # shared with its handles

    @property
    def calls(self) -> int:
        return self._counted[0]

    def __getattr__(self, name):
        return getattr(self._model, name)

    def working(self, work):  # a handle doing `work` (a Compare run's), counted with this one
        return CountingTransformer(self._model.working(work), self._counted)

    def top_next_words(self, *args, **kwargs):
        self._counted[0] += 1
        time.sleep(0.05)
        return self._model.top_next_words(*args, **kwargs)


@pytest.fixture
def counting_app(tiny_keyboard):
    from lm.registry import lineup
    from lm.serving.keyboard import Keyboard

    counting = CountingTransformer(tiny_keyboard.models["transformer"])
    with served(Keyboard(lineup(bigram=tiny_keyboard.models["bigram"], transformer=counting))) as url:
        yield url, counting


def _work_goes_on(counting, seconds: float) -> bool:
    before = counting.calls
    time.sleep(seconds)
    return counting.calls > before


def _work_stops(counting, within: float = 10.0) -> bool:
    """Whether the work stops (a second without a call) within `within` seconds: polled, not slept."""
    deadline = time.time() + within
    while time.time() < deadline:
        if not _work_goes_on(counting, 1.0):
            return True
    return False


def test_a_cancelled_compare_stops_its_work(counting_app):
    from gradio_client import Client

    url, counting = counting_app
    job = Client(url, verbose=False).submit("the cat sat on the mat. " * 40, 200, api_name="/compare")
    deadline = time.time() + 60
    while counting.calls < 5 and time.time() < deadline:  # the transformer's typing simulation is under way
        time.sleep(0.1)
    assert _work_goes_on(counting, 1.0)
    job.cancel()
    assert _work_stops(counting)  # at the handler's next yield (every POLL_S), the evaluation's next word
    assert not _work_goes_on(counting, 1.0)  # stopped, not running on in its thread


def test_one_page_cannot_queue_a_second_compare_but_another_page_can_run_one(counting_app):
    from gradio_client import Client

    from demo.compare_tab import ALREADY_RUNNING

    url, counting = counting_app
    page = Client(url, verbose=False)
    first = page.submit("the cat sat on the mat. " * 40, 200, api_name="/compare")
    deadline = time.time() + 60
    while counting.calls < 5 and time.time() < deadline:
        time.sleep(0.1)
    assert page.predict("the dog ran", 20, api_name="/compare")[-1] == ALREADY_RUNNING  # told at once
    other = Client(url, verbose=False).predict("the dog ran on the log", 20, api_name="/compare")
    assert other[-1] == "" and "recall@3" in other[0]  # another page's run is not held up behind the first
    first.cancel()
    assert _work_stops(counting)
    assert "recall@3" in page.predict("the dog ran", 20, api_name="/compare")[0]  # free again after the cancel


def test_a_long_text_is_compared_from_its_start(tiny_keyboard):
    # clean_text keeps a keystroke's *last* 4,000 characters; Compare once read those, then said "the first N words"
    from demo.compare_tab import compare

    start, end = "the cat sat on the mat. " * 20, "we went to the park and the dogs ran. " * 120
    assert len(end) > 4_000  # the last 4,000 characters hold no "cat"
    *_, (summary, _, along, disagreements, message) = compare(tiny_keyboard, start + end, 20)
    assert message == "" and "20 words" in summary and len(along) == 2 * 20
    assert "cat" in disagreements and "park" not in disagreements and "dogs" not in disagreements
