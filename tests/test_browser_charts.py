"""Every bar chart, as drawn in a real browser (Chromium, tiny models), after several successive changes:
each bar's rendered length against the probability it stands for, computed here from the models.

Gradio 6's `BarPlot` once drew the previous answer's heights under the new answer's axis and order; the
charts are now plain HTML (`demo.charts`), and these tests read the rendered boxes, not the data sent.
"""

from __future__ import annotations

import pytest

from lm.core.distribution import OTHER
from tests.browser import open_app, open_tab

READ_CHART = """chart => ({
    title: chart.querySelector('.chart-title')?.textContent ?? '',
    bars: [...chart.querySelectorAll('.bar')].map(bar => ({
        word: bar.dataset.word, p: Number(bar.dataset.p),
        drawn: bar.getBoundingClientRect().width / bar.parentElement.getBoundingClientRect().width,
    })),
    rest: chart.querySelector('.chart-rest') ? Number(chart.querySelector('.chart-rest').dataset.p) : null,
})"""
PIXEL = 0.01  # a bar's drawn length may be off by rounding to pixels: 1 % of its track


def drawn(page, chart_id: str) -> dict:
    return page.locator(f"#{chart_id} .word-chart").evaluate(READ_CHART)


def wait_for_title(page, chart_id: str, text: str) -> dict:
    page.locator(f"#{chart_id} .chart-title", has_text=text).wait_for(timeout=30_000)
    page.wait_for_timeout(100)  # a frame for the layout
    return drawn(page, chart_id)


def assert_drawn_to_scale(chart: dict, top: float | None = None):
    """Each bar is as long as its p over the chart's scale (its largest word, or `top`)."""
    top = top or max(bar["p"] for bar in chart["bars"])
    for bar in chart["bars"]:
        assert bar["drawn"] == pytest.approx(bar["p"] / top, abs=PIXEL), (chart["title"], bar)


def assert_is_distribution(chart: dict, expected: dict[str, float]):
    """The chart shows the most likely words of `expected` (word -> p), in order, and their rest."""
    shown = {bar["word"]: bar["p"] for bar in chart["bars"]}
    likeliest = sorted(expected.items(), key=lambda item: -item[1])[: len(shown)]
    assert shown == pytest.approx(dict(likeliest), abs=1e-12), chart["title"]
    rest = chart["rest"] or 0.0
    assert sum(shown.values()) + rest == pytest.approx(1.0, abs=1e-9)


def pick(page, dropdown_id: str, word: str):
    box = page.locator(f"#{dropdown_id} input")
    box.click()
    box.fill(word)
    page.get_by_role("option", name=word, exact=True).click()


@pytest.fixture
def page(tiny_app, browser):
    page = open_app(browser, tiny_app)
    yield page
    page.close()


def row(bigram, z: str) -> dict[str, float]:
    """p(x | z) for every x, from the counts (an independent path: not the distributions the page reads)."""
    return {
        x: bigram.count(z, x) / bigram.prev_counts[bigram.vocab.id(z)] for x in bigram.vocab.words if bigram.count(z, x)
    }


def column(bigram, x: str) -> dict[str, float]:
    """p(z | x) for every z, from the counts."""
    total = sum(bigram.count(z, x) for z in bigram.vocab.words)
    return {z: bigram.count(z, x) / total for z in bigram.vocab.words if bigram.count(z, x)}


def test_the_tables_charts_follow_every_pick(page, tiny_keyboard):
    bigram = tiny_keyboard.models["bigram"]
    open_tab(page, "Tables (Bayes)")
    for z in ("the", "a", "cat", "the"):  # each pick redraws; the last goes back to the first
        pick(page, "pick-z", z)
        chart = wait_for_title(page, "conditional-chart", f"z = {z}")
        assert_is_distribution(chart, row(bigram, z))
        assert_drawn_to_scale(chart)
    for x in ("cat", "ran", "sat"):
        pick(page, "pick-x", x)
        chart = wait_for_title(page, "flipped-chart", f"x = {x}")
        assert_is_distribution(chart, column(bigram, x))
        assert_drawn_to_scale(chart)
    assert "z = the" in page.locator("#bayes-identity").inner_text()


def set_number(page, elem_id: str, value: int):
    box = page.locator(f"#{elem_id} input")
    box.fill(str(value))
    box.press("Enter")


def test_the_marbles_charts_follow_every_drop(page, tiny_keyboard):
    bigram = tiny_keyboard.models["bigram"]
    open_tab(page, "Sampling")
    pick(page, "marble-z", "the")
    expected = row(bigram, "the")
    for n in (10, 1000, 10):  # 10 marbles, then 1,000, then 10 again: each drop draws its own counts
        set_number(page, "marble-n", n)
        page.get_by_role("button", name="Drop marbles").click()
        page.get_by_text(f"{n:,} marbles; total variation").wait_for(timeout=30_000)
        page.wait_for_timeout(100)
        marbles, target = drawn(page, "marbles-chart"), drawn(page, "target-chart")
        assert_is_distribution(target, expected)
        top = max(bar["p"] for bar in marbles["bars"] + target["bars"])  # one scale for both
        assert_drawn_to_scale(marbles, top)
        assert_drawn_to_scale(target, top)
        assert all(round(bar["p"] * n, 9) == int(round(bar["p"] * n)) for bar in marbles["bars"])  # counts of n
        assert [bar["word"] for bar in marbles["bars"]] == [bar["word"] for bar in target["bars"]]
        distances = drawn(page, "convergence")["bars"]
        assert distances[-1]["word"] == f"{n:,} marbles" and all(0 <= bar["p"] <= 1 for bar in distances)
        assert_drawn_to_scale(drawn(page, "convergence"), 1.0)  # the distance's scale: 0 to 1
    page.locator("#marble-source").get_by_text("Transformer p(w | context)").click()
    page.get_by_role("button", name="Drop marbles").click()
    tiny = tiny_keyboard.models["transformer"].next_word_distribution("I hope you're having a ")
    page.wait_for_function(
        "word => document.querySelector('#target-chart .bar')?.dataset.word === word", arg=tiny.top(1)[0][0]
    )
    target = drawn(page, "target-chart")
    assert [bar["word"] for bar in target["bars"]] == [word for word, _ in tiny.top(len(target["bars"]))]


def test_the_learned_tables_charts_follow_every_learn(page, tiny_keyboard):
    bigram = tiny_keyboard.models["bigram"]
    open_tab(page, "Learned table")
    for z in ("the", "a", "cat"):
        pick(page, "learn-z", z)
        page.get_by_role("button", name="Learn").click()
        page.locator("#training-summary", has_text=f"p(x | z = {z})").wait_for(timeout=60_000)
        page.wait_for_timeout(100)
        learned, counted = drawn(page, "learned-chart"), drawn(page, "counted-chart")
        assert_is_distribution(counted, row(bigram, z))  # every word of this tiny corpus is kept
        top = max(bar["p"] for bar in learned["bars"] + counted["bars"])
        assert_drawn_to_scale(learned, top)
        assert_drawn_to_scale(counted, top)
        assert [bar["word"] for bar in learned["bars"]] == [bar["word"] for bar in counted["bars"]]


def test_the_keyboards_charts_follow_the_text_as_it_is_typed(page, tiny_keyboard):
    from lm.core.tokenize import split_partial_word

    page.locator("#charts").get_by_text("p(next word | context)").click()
    box = page.locator("#keyboard-input textarea")
    for text in ("the ", "the cat ", "a c"):  # typed on: each pause redraws the four charts
        box.fill(text)
        context, prefix = split_partial_word(text)
        for name, model in (
            ("bigram", tiny_keyboard.models["bigram"]),
            ("transformer", tiny_keyboard.models["transformer"]),
        ):
            expected = model.next_word_distribution(context, prefix)
            first = expected.top(1)[0][0]
            page.wait_for_function(
                "([id, word]) => document.querySelector(`#${id} .bar`)?.dataset.word === word",
                arg=[f"{name}-raw-chart", first],
                timeout=30_000,
            )
            raw, warped = drawn(page, f"{name}-raw-chart"), drawn(page, f"{name}-warped-chart")
            shown = {bar["word"]: bar["p"] for bar in raw["bars"]}
            assert shown == pytest.approx(dict(expected.top(len(shown))), abs=1e-12), (text, name)
            assert raw["rest"] is None or raw["rest"] == pytest.approx(1 - sum(shown.values()), abs=1e-9)
            top = max(bar["p"] for bar in raw["bars"] + warped["bars"])
            assert_drawn_to_scale(raw, top)
            assert_drawn_to_scale(warped, top)
        chip = page.locator("#bigram-0").inner_text().split("\n")
        bars = {bar["word"].lower(): bar["p"] for bar in drawn(page, "bigram-raw-chart")["bars"]}
        assert f"{bars[chip[0].lower()]:.1%}" == chip[1]  # the chip's number is the bar's
    assert OTHER not in {bar["word"] for bar in drawn(page, "bigram-raw-chart")["bars"]}  # stated apart, not drawn
