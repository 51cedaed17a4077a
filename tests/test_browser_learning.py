"""The bigram learns from what a user writes, in the real page (Chromium, tiny models): the switch, the
chips moving as sentences are finished, the Tables tab showing the user's counts, and another page
(another browser session) seeing none of it."""

import pytest

from tests.browser import SCREENSHOTS, open_tab

# the tiny corpus: "the cat sat. the dog ran. a cat ran!": after "the", cat and dog are 1/2 each (cat first)
WRITTEN = "the dog ran. the dog ran. the "


def typed(browser, url, width=1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(url)
    page.locator("#bigram-0").wait_for()
    return page


@pytest.mark.parametrize("width", [1280, 400])
def test_the_chips_and_the_table_learn_from_this_page_only(tiny_app, browser, width):
    from playwright.sync_api import expect

    mine = typed(browser, tiny_app, width)
    mine.get_by_label("Learn from what I write (this page only, never saved)").check()
    expect(mine.locator("#learned")).to_contain_text("each sentence you finish", timeout=20_000)
    box = mine.locator("#keyboard-input textarea")
    box.press_sequentially(WRITTEN, delay=20)
    expect(mine.locator("#bigram-0")).to_contain_text("dog", timeout=20_000)  # (1 + 2 x 100) / (2 + 2 x 100)
    expect(mine.locator("#bigram-0")).to_contain_text("99.5%")
    expect(mine.locator("#bigram-title")).to_contain_text("+ your 2 sentences, each pair ×100")
    assert box.input_value() == WRITTEN
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    mine.screenshot(path=SCREENSHOTS / f"learning-keyboard-{width}.png", full_page=True)

    open_tab(mine, "Tables (Bayes)")
    pick_z = mine.get_by_label("Pick z (previous word)")
    pick_z.click()
    pick_z.fill("the")
    pick_z.press("Enter")
    mine.get_by_text("What you wrote: your counts").click()
    mine.get_by_role("button", name="Show the tables with what I wrote").click()
    expect(mine.locator("#your-counts")).to_contain_text("Learned 2 sentences", timeout=20_000)
    expect(mine.locator("#your-counts")).to_contain_text("99.5%")
    mine.screenshot(path=SCREENSHOTS / f"learning-tables-{width}.png", full_page=True)

    theirs = typed(browser, tiny_app, width)  # another browser session, at the same time
    theirs.locator("#keyboard-input textarea").press_sequentially("the ", delay=20)
    expect(theirs.locator("#bigram-0")).to_contain_text("cat", timeout=20_000)
    expect(theirs.locator("#bigram-0")).to_contain_text("50.0%")
    mine.close()
    theirs.close()


def test_forgetting_empties_the_counts(tiny_app, browser):
    from playwright.sync_api import expect

    page = typed(browser, tiny_app)
    page.get_by_label("Learn from what I write (this page only, never saved)").check()
    box = page.locator("#keyboard-input textarea")
    box.press_sequentially(WRITTEN, delay=20)
    expect(page.locator("#bigram-0")).to_contain_text("99.5%", timeout=20_000)
    page.get_by_role("button", name="Forget what I wrote").click()
    box.fill("")
    box.press_sequentially("the ", delay=20)
    expect(page.locator("#bigram-0")).to_contain_text("50.0%", timeout=20_000)
    expect(page.locator("#bigram-title")).to_contain_text("+ your 0 sentences")
    page.close()


def test_the_table_is_learned_in_the_page(tiny_app, browser):
    from playwright.sync_api import expect

    page = typed(browser, tiny_app)
    open_tab(page, "Learned table")
    page.get_by_role("button", name="Learn").click()
    expect(page.locator("#training-summary")).to_contain_text("mean NLL", timeout=30_000)
    expect(page.locator("#training-summary")).to_contain_text("the counted table's")
    expect(page.locator(".toast-body")).to_have_count(0)
    page.close()


def test_the_continuous_tab_draws_its_slice_marbles_and_pairs(tiny_app, browser):
    from playwright.sync_api import expect

    page = typed(browser, tiny_app)
    open_tab(page, "Continuous (GPA)")
    expect(page.locator("#slice-summary")).to_contain_text("0.1181", timeout=30_000)  # P(3.8 <= x <= 4.2 | z = 3.5)
    expect(page.locator("#slice-marbles-summary")).to_contain_text("1,000 marbles", timeout=30_000)
    page.get_by_role("button", name="Draw pairs").click()
    expect(page.locator("#continuous-pairs-summary")).to_contain_text("5,000 pairs", timeout=30_000)
    expect(page.locator(".toast-body")).to_have_count(0)
    page.close()
