"""The Compare tab in a real browser (tiny models): the button waits for its run, the progress sits beside
it, and the figures explain themselves."""

import pytest

from tests.browser import SCREENSHOTS, open_tab


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
