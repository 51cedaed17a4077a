"""The keystroke loop as a person meets it in a real browser (Chromium; see `tests/browser.py`), on tiny
models with the transformer slowed down, so its strip is stale for a while after every key.

- a click applies to the text the chip was computed for: typed letters are never lost or changed;
- strips are fresh or visibly stale, and the page sends nothing once the strips have settled;
- per keystroke only the chips are computed (the charts wait for their panel);
- keyboard habits: focus and caret after a click, Tab, capitals at a sentence start;
- bad settings never freeze the strips and are named once.
"""

from __future__ import annotations

import re
import time

import pytest

from lm.core.tokenize import split_partial_word
from lm.registry import lineup
from lm.serving.keyboard import insert_word
from tests.browser import SCREENSHOTS, open_app, open_tab, poll

SLOW_SECONDS = 0.35  # each transformer strip answer takes at least this long here
BOX = "#keyboard-input textarea"
QUIET_MS = 2_500  # longer than every timer of the page (keyboard.js: CHARTS_PAUSE_MS 500, TAB_WAIT_MS 2000)


class SlowTransformer:
    """A `TransformerModel` whose word searches take at least `SLOW_SECONDS` and fail after "explode" (every
    other call passes through)."""

    def __init__(self, model):
        self._model = model

    def __getattr__(self, name):
        return getattr(self._model, name)

    def working(self, work):  # a handle doing `work` (a keystroke's), as slow
        return SlowTransformer(self._model.working(work))

    def next_word_distribution(self, context, *args, **kwargs):
        time.sleep(SLOW_SECONDS)
        if "explode" in context:
            raise RuntimeError("a failure inside the model")
        return self._model.next_word_distribution(context, *args, **kwargs)


@pytest.fixture(scope="module")
def slow_app(tiny_keyboard):
    from demo.ui import build_demo, launch
    from lm.serving.keyboard import Keyboard
    from tests.many_pages import free_port

    demo = build_demo(
        Keyboard(
            lineup(
                bigram=tiny_keyboard.models["bigram"], transformer=SlowTransformer(tiny_keyboard.models["transformer"])
            )
        )
    )
    port = free_port()
    launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture
def page(slow_app, browser):
    page = open_app(browser, slow_app)
    yield page
    page.close()


def chip_words(page, name: str) -> list[str]:
    return [page.locator(f"#{name}-{i}").inner_text().split("\n")[0].strip() for i in range(3)]


def wait_settled(page, timeout: float = 20_000):
    """Both strips un-dimmed: they answer the text as it is now."""
    page.wait_for_function("() => document.querySelectorAll('.strip.stale').length === 0", timeout=timeout)


def typed_letters_kept(typed: str, result: str) -> bool:
    """Whether `result` keeps every character of `typed`: unchanged, or the word being typed completed
    (its letters kept, up to the case of a completed word) and a space after it."""
    if result == typed:
        return True
    context, partial = split_partial_word(typed)
    return (
        result.startswith(context)
        and result.endswith(" ")
        and result[len(context) :].lower().startswith(partial.lower())
    )


# ---- a click applies to the text it was computed for ------------------------------------------------

QUICK_CLICKS = [  # (settled text, letters typed just before the click, chip clicked)
    ("the ", "c", "bigram-0"),
    ("the ", "d", "bigram-0"),
    ("the c", "a", "bigram-0"),
    ("the ", "x", "bigram-1"),
    ("a ", "c", "transformer-0"),
    ("the ", "dog s", "bigram-0"),
    ("the cat ", "r", "transformer-1"),
    ("the d", "o", "transformer-0"),
    ("we ", "w", "transformer-2"),
    ("the ", "c", "transformer-0"),
]


@pytest.mark.parametrize("settled, quick, chip", QUICK_CLICKS)
def test_a_quick_click_never_loses_typed_text(page, settled, quick, chip):
    box = page.locator(BOX)
    box.fill(settled)
    wait_settled(page)
    box.press_sequentially(quick, delay=15)  # the transformer strip is now stale for SLOW_SECONDS
    page.locator(f"#{chip}").click(force=True)  # at once, whatever it shows (a disabled chip ignores it)
    typed = settled + quick
    page.wait_for_timeout(100)
    assert typed_letters_kept(typed, box.input_value()), (typed, box.input_value())
    wait_settled(page)
    assert typed_letters_kept(typed, box.input_value())


def test_clicking_a_fresh_chip_completes_the_word_and_returns_focus(page):
    box = page.locator(BOX)
    box.fill("the c")
    wait_settled(page)
    assert chip_words(page, "bigram")[0] == "cat"
    page.locator("#bigram-0").click()
    assert box.input_value() == "the cat "
    assert page.evaluate("() => document.activeElement === document.querySelector('#keyboard-input textarea')")
    box.press_sequentially("s", delay=10)  # the next letters go to the textbox
    assert box.input_value() == "the cat s"


def test_a_chip_inserts_at_the_caret(page):
    box = page.locator(BOX)
    box.fill("the  ran")  # two spaces: the caret goes between them
    box.evaluate("(b) => { b.focus(); b.setSelectionRange(4, 4); }")
    wait_settled(page)
    assert chip_words(page, "bigram")[0] == "cat"  # the strips answer the text before the caret
    page.locator("#bigram-0").click()
    assert box.input_value() == "the cat ran"
    assert box.evaluate("(b) => b.selectionStart") == len("the cat ")


@pytest.mark.parametrize(
    "text, word",
    [
        ("I hope you're hav", "having"),
        ("I hope ", "you"),
        ("Hello,", "world"),
        ("", "The"),
        ("Ho", "hope"),
        ("line one\n", "two"),
        ("don'", "don't"),
        ("x", "xylophone"),
        ("Hi. ", "The"),
    ],
)
def test_the_browser_inserts_as_insert_word_does(page, text, word):
    context, _ = split_partial_word(text)
    edit = page.evaluate(
        "([text, context, word]) => window.nextword.completion(text, text.length, context, word)", [text, context, word]
    )
    assert edit["value"] == insert_word(text, word) and edit["caret"] == len(edit["value"])


def test_a_chip_for_an_older_context_does_nothing(page):
    assert page.evaluate("() => window.nextword.completion('the dog ', 8, 'the ', 'cat')") is None
    assert page.evaluate("() => window.nextword.completion('the c.', 6, 'the ', 'cat')") is None
    assert page.evaluate("() => window.nextword.completion('the x', 5, 'the ', 'cat')") is None


# ---- fresh or visibly stale; nothing sent while idle -------------------------------------------------


def test_a_stale_strip_is_dimmed_then_shows_the_current_answer(page, slow_app):
    from gradio_client import Client

    box = page.locator(BOX)
    box.fill("the ")
    wait_settled(page)
    box.press_sequentially("c", delay=10)
    assert page.locator("#transformer-0").evaluate("(chip) => chip.closest('.strip').classList.contains('stale')")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "stale-transformer-strip.png"))
    wait_settled(page)
    truth = next(
        o
        for o in Client(slow_app, verbose=False).predict("the c", api_name="/suggest_transformer")
        if isinstance(o, dict)
    )
    assert chip_words(page, "transformer")[: len(truth["chips"])] == [chip["word"] for chip in truth["chips"]]


@pytest.mark.parametrize("mode", ["most likely", "sampled"])
def test_after_typing_stops_each_strip_gets_at_most_one_request_then_none(page, mode):
    page.get_by_role("radio", name=mode).check()
    wait_settled(page)
    sent = []
    page.on(
        "request",
        lambda request: (
            sent.append((time.perf_counter(), request.url))
            if request.method == "POST" and "gradio_api" in request.url
            else None
        ),
    )
    page.locator(BOX).press_sequentially("the cat sat on the", delay=30)
    stopped = time.perf_counter()
    wait_settled(page)
    after_last_key = [url for at, url in sent if at > stopped]
    assert len(after_last_key) <= 2, after_last_key  # at most one more per strip
    quiet_from = time.perf_counter()
    page.wait_for_timeout(QUIET_MS)  # longer than any timer of the page's (keyboard.js: charts, Tab)
    assert [url for at, url in sent if at > quiet_from] == []
    assert len(sent) < 2 * len("the cat sat on the") + 2  # deferred, never duplicated per key


def test_only_the_chips_are_computed_per_keystroke(page):
    from tests.browser import event_names, watch_requests

    sent = watch_requests(page, event_names(page))
    page.locator(BOX).press_sequentially("the cat", delay=30)
    wait_settled(page)
    assert {request["name"] for request in sent} <= {"suggest_bigram", "suggest_transformer"}, sent
    sent.clear()
    page.locator("#charts").get_by_text("p(next word | context)").click()  # open the chart panel
    poll(page, lambda: sent)
    page.wait_for_timeout(QUIET_MS)  # a second request would have left by now
    assert [r["name"] for r in sent] == ["charts_opened"]  # opening the panel computes the charts, once
    sent.clear()
    page.locator(BOX).press_sequentially(" sat", delay=30)
    wait_settled(page)
    poll(page, lambda: any(r["name"] == "distributions" for r in sent))  # once typing paused
    page.wait_for_timeout(QUIET_MS)
    assert [r["name"] for r in sent].count("distributions") == 1, sent  # once, not per key


def test_a_failing_strip_says_so_and_recovers(page):
    box = page.locator(BOX)
    box.fill("the explode ")
    page.locator("#transformer-message").filter(has_text="something went wrong").wait_for(timeout=20_000)
    assert box.input_value() == "the explode "
    box.fill("the c")
    wait_settled(page)
    assert page.locator("#transformer-message").inner_text().strip() == ""
    assert chip_words(page, "bigram")[0] == "cat"


# ---- keyboard habits ---------------------------------------------------------------------------------


def in_box(page) -> bool:
    return page.evaluate("() => document.activeElement === document.querySelector('#keyboard-input textarea')")


def test_tab_accepts_the_centre_word_and_keeps_the_focus_in_the_box(page):
    box = page.locator(BOX)
    box.fill("the c")
    wait_settled(page)
    centre = chip_words(page, "transformer")[0] or chip_words(page, "bigram")[0]
    box.press("Tab")
    assert box.input_value() == f"the {centre} " and in_box(page)
    box.fill("the zzqx")  # no chip completes this word: Tab inserts nothing, and the focus stays
    wait_settled(page)
    box.press("Tab")
    box.press_sequentially("y", delay=10)  # what is typed after that Tab lands in the box
    assert box.input_value() == "the zzqxy" and in_box(page)
    assert "nothing to insert" in page.locator("#transformer-message .note").inner_text()
    assert "no chip: no likely word starts with 'zzqx'" in page.locator("#transformer-title .info").inner_text()
    box.press("Escape")  # Esc, then Tab: the focus moves on, as usual
    box.press("Tab")
    assert box.input_value() == "the zzqxy" and not in_box(page)


def test_tab_just_after_a_space_waits_for_the_transformer_instead_of_taking_the_bigrams_word(page):
    box = page.locator(BOX)
    box.fill("the cat")
    wait_settled(page)
    box.press_sequentially(" ", delay=10)  # the bigram answers at once, the transformer SLOW_SECONDS later
    box.press("Tab")
    wait_settled(page)
    value = box.input_value()
    assert value.startswith("the cat ") and value.endswith(" ") and len(value) > len("the cat ")
    inserted = value[len("the cat ") : -1]
    box.press("Control+z")  # back to before the insertion, to read the strip that Tab inserted from
    wait_settled(page)
    assert box.input_value() == "the cat "
    assert chip_words(page, "transformer")[0] == inserted  # the transformer's centre word, not the bigram's
    assert chip_words(page, "bigram")[0] != inserted  # (they differ here, so taking the bigram's would fail)


def insert_cat(page):
    """Type "the c" and click the bigram's centre chip: "the cat " (its space added by the insertion)."""
    box = page.locator(BOX)
    box.fill("the c")
    wait_settled(page)
    page.locator("#bigram-0").click()
    assert box.input_value() == "the cat "
    return box


def test_punctuation_after_an_inserted_word_takes_the_place_of_its_space(page):
    box = insert_cat(page)
    box.press_sequentially(".", delay=10)
    assert box.input_value() == "the cat."
    box.press_sequentially(" the", delay=10)  # a space typed by the user is theirs: punctuation keeps it
    wait_settled(page)
    box.press_sequentially(" ,", delay=10)
    assert box.input_value() == "the cat. the ,"


def test_ctrl_z_undoes_an_insertion(page):
    box = insert_cat(page)
    box.press("Control+z")
    assert box.input_value() == "the c"
    wait_settled(page)
    assert chip_words(page, "bigram")[0] == "cat"  # the strips follow the undone text


def test_chips_capitalise_at_a_sentence_start(page):
    box = page.locator(BOX)
    box.fill("the dog ran. ")
    wait_settled(page)
    words = [word for word in chip_words(page, "bigram") if word]
    assert words and all(word[0].isupper() for word in words), words
    page.locator("#bigram-0").click()
    assert box.input_value() == f"the dog ran. {words[0]} "


# ---- bad settings never freeze the strips --------------------------------------------------------------


def test_a_bad_seed_is_ignored_where_unused_and_named_once_where_used(page):
    box, seed = page.locator(BOX), page.get_by_label("Seed (-1 = random)")
    seed.fill("-5")
    seed.press("Enter")
    box.fill("the c")
    wait_settled(page)
    assert chip_words(page, "bigram")[0] == "cat"  # "most likely" uses no seed: nothing to say
    assert page.locator("#settings-message").inner_text().strip() == ""
    page.get_by_role("radio", name="sampled").check()
    message = page.locator("#settings-message")
    message.filter(has_text="seed").wait_for(timeout=10_000)
    assert len(re.findall("seed", message.inner_text())) == 1
    box.fill("the d")
    wait_settled(page)
    assert chip_words(page, "bigram")[0] == "dog"  # still answering, with the last good seed
    assert page.locator(".toast-body").count() == 0


def test_a_value_outside_a_slider_is_clamped_with_one_message(page):
    page.get_by_role("radio", name="sampled").check()
    top_k = page.get_by_label("number input for Top-k (0 = off)")
    top_k.fill("500")
    top_k.press("Enter")
    page.locator("#settings-message").filter(has_text="top_k").wait_for(timeout=10_000)
    assert "50 is used" in page.locator("#settings-message").inner_text()
    page.wait_for_function(
        "() => document.querySelector('input[aria-label=\"number input for Top-k (0 = off)\"]').value === '50'"
    )
    assert "50 is used" in page.locator("#settings-message").inner_text()  # the box shows what is used, and says so
    page.locator(BOX).fill("the c")
    wait_settled(page)
    assert chip_words(page, "bigram")[0] == "cat"
    page.wait_for_timeout(500)
    assert page.locator(".toast-body").count() == 0


def test_the_other_tabs_still_answer(page, slow_app):
    from gradio_client import Client

    open_tab(page, "Sampling")
    page.locator("#marble-n input").fill("137")  # a count no default shows: the summary must be this drop's
    page.get_by_role("button", name="Drop marbles").click()
    page.get_by_text("137 marbles;").first.wait_for(timeout=20_000)  # the summary of this very drop
    assert page.locator("#marbles-chart .bar-row").count() > 0
    assert page.locator("#sampling-message").inner_text().strip() == ""
    open_tab(page, "Keyboard")
    page.locator(BOX).fill("the c")
    wait_settled(page)
    api = Client(slow_app, verbose=False).predict("the c", api_name="/suggest_bigram")[0]
    assert chip_words(page, "bigram")[: len(api["chips"])] == [chip["word"] for chip in api["chips"]]
