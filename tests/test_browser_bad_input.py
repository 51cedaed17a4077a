"""Bad input typed and pasted into the real page (Chromium, tiny models): the textbox keeps the
user's text exactly, a message or suggestions come back, Gradio shows no error toast, and the page
keeps answering the next keystroke."""

import re

import pytest
from gradio_client import Client

from tests.browser import open_tab

PASTES = {
    "empty": "",
    "whitespace": "   \n\t ",
    "emoji": "🙂🎉 the ",
    "cjk": "他们的猫 ",
    "right-to-left": "שלום עולם ",
    "combining marks": "e\u0301te\u0301 ",
    "control characters": "the\x07\x1b c",
    "punctuation only": "?!.,;:",
    "unseen word": "the zebraquagga ",
    "prefix no word has": "the zzqx",
    "1 MB paste": "the cat sat. " * 80_000,
}


@pytest.fixture(scope="module")
def client(tiny_app):
    return Client(tiny_app, verbose=False)


@pytest.fixture(scope="module")
def page(tiny_app, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(tiny_app)
    page.locator("#bigram-0").wait_for()
    yield page
    page.close()


def show_no_chips(page):
    """A prefix no word has: every chip empty (so the next answer is seen arriving)."""
    from playwright.sync_api import expect

    page.locator("#keyboard-input textarea").fill("the zzqx")
    expect(page.locator("#bigram-0")).not_to_contain_text("%", timeout=20_000)


def still_serving(page):
    """Typing a fresh text brings the tiny bigram's only completion of "c": cat."""
    from playwright.sync_api import expect

    box = page.locator("#keyboard-input textarea")
    box.fill("the c")
    expect(page.locator("#bigram-0")).to_contain_text("cat", timeout=20_000)
    expect(page.locator(".toast-body")).to_have_count(0)


@pytest.mark.parametrize("text", PASTES.values(), ids=PASTES.keys())
def test_pasted_text_is_kept_and_the_page_keeps_answering(page, client, text):
    from playwright.sync_api import expect

    chips = client.predict(text, api_name="/suggest")[-2]  # what the server answers for this text
    show_no_chips(page)
    box = page.locator("#keyboard-input textarea")
    box.fill(text)
    if chips["bigram"]:  # the page shows the same answer
        expect(page.locator("#bigram-0")).to_contain_text(chips["bigram"][0]["word"], timeout=20_000)
    else:
        page.wait_for_timeout(1000)
        expect(page.locator("#bigram-0")).not_to_contain_text("%")
    assert box.input_value() == text  # not trimmed, cleaned or cut: the user's text is theirs
    expect(page.locator(".toast-body")).to_have_count(0)
    still_serving(page)


def test_a_long_paste_says_how_much_is_read(page):
    from playwright.sync_api import expect

    page.locator("#keyboard-input textarea").fill("the cat sat. " * 80_000)
    expect(page.locator("#bigram-message")).to_contain_text("characters are read", timeout=20_000)
    still_serving(page)


def test_clicking_an_empty_chip_keeps_the_text(page):
    from playwright.sync_api import expect

    box = page.locator("#keyboard-input textarea")
    show_no_chips(page)
    for chip in ("#bigram-0", "#transformer-2"):
        expect(page.locator(chip)).to_be_disabled()
        page.locator(chip).click(force=True)  # a click on it anyway does nothing
    page.wait_for_timeout(500)
    assert box.input_value() == "the zzqx"
    still_serving(page)


@pytest.mark.parametrize("bad", ["-7", "1180591620717411303424"], ids=["negative", "2**70"])
def test_an_impossible_seed_is_named_and_the_text_kept(page, bad):
    from playwright.sync_api import expect

    box = page.locator("#keyboard-input textarea")
    box.fill("the c")
    page.get_by_role("radio", name="sampled").check()  # the mode that uses a seed
    seed = page.get_by_label("Seed (-1 = random)")
    seed.fill(bad)
    seed.press("Enter")
    box.press("End")
    box.press_sequentially("a")
    expect(page.locator("#settings-message")).to_contain_text(re.compile(r"\bseed has to be"), timeout=20_000)
    expect(page.locator("#settings-message")).to_contain_text("from 0 to 2**63 - 1")  # 2**70: past a generator's
    assert box.input_value() == "the ca"
    seed.fill("-1")
    seed.press("Enter")
    expect(page.locator("#settings-message")).not_to_contain_text("seed", timeout=20_000)
    page.get_by_role("radio", name="most likely").check()
    still_serving(page)


def test_half_an_emoji_is_read_as_a_space_and_kept_in_the_box(page):
    from playwright.sync_api import expect

    show_no_chips(page)
    page.evaluate(  # a lone surrogate cannot be typed, but a script or a broken paste can put one there
        """() => { const box = document.querySelector('#keyboard-input textarea');
                   box.value = 'the \\ud83d c'; box.dispatchEvent(new Event('input', {bubbles: true})); }"""
    )
    expect(page.locator("#bigram-message")).to_contain_text("lone surrogates", timeout=20_000)
    expect(page.locator("#bigram-0")).to_contain_text("cat")
    assert page.evaluate("() => document.querySelector('#keyboard-input textarea').value === 'the \\ud83d c'")
    expect(page.locator(".toast-body")).to_have_count(0)
    still_serving(page)


def test_impossible_marble_counts_are_named(page):
    from playwright.sync_api import expect

    open_tab(page, "Sampling")
    count = page.get_by_label("N marbles (1 to 1,000,000)")
    for bad in ("0", "-5", "10000000", "2.5"):
        count.fill(bad)
        page.get_by_role("button", name="Drop marbles").click()
        expect(page.locator("#sampling-message")).to_contain_text(
            re.compile(rf"\bn \(marbles\) has to be .* but is {bad}"), timeout=20_000
        )
        expect(page.locator(".toast-body")).to_have_count(0)
    open_tab(page, "Keyboard")
    still_serving(page)
