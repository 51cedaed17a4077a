"""Any number of models: a lineup of bigram, trigram and transformer served as one app (tiny models), every
strip, chart, explanation and sampling source reading the registry's lineup, and the trigram's slice in the
Tables tab. The numbers are checked against the models themselves."""

import json
import subprocess
import sys

import pytest
from gradio_client import Client

from lm import BigramModel
from lm.counting.trigram import TrigramModel
from lm.registry import DEFAULT_MODELS, MODELS, check_model_names, lineup
from lm.serving.keyboard import SLOTS, Keyboard
from tests.conftest import call, served

TEXT = "to be or not to be. to go. the cat sat. the dog ran. a cat ran!"
SETTINGS = ["most likely", 1.0, 0, 1.0, -1]


@pytest.fixture(scope="module")
def three(tiny_keyboard):
    """A keyboard of three strips: the tiny test's bigram, a trigram of the same text, the tiny transformer."""
    return Keyboard(
        lineup(
            bigram=BigramModel.from_text(TEXT, device="cpu"),
            trigram=TrigramModel.from_text(TEXT, device="cpu"),
            transformer=tiny_keyboard.models["transformer"],
        )
    )


@pytest.fixture(scope="module")
def url(three):
    with served(three) as url:
        yield url


@pytest.fixture(scope="module")
def client(url):
    return Client(url, verbose=False)


def outputs(url: str, api: str, data: list) -> list:
    """Every output of one call, as the page receives them (gradio_client leaves out the buttons)."""
    stream = call(url, api, data)
    return json.loads(stream.split("event: complete\ndata: ", 1)[1].splitlines()[0])


def test_the_registry_orders_checks_and_names_models():
    assert check_model_names("transformer,trigram,bigram") == ("bigram", "trigram", "transformer")
    assert DEFAULT_MODELS == ("bigram", "transformer")
    for bad in ("", "bigram,unigram", "gpt"):
        with pytest.raises(ValueError, match="`models`"):
            check_model_names(bad)
    assert [m.name for m in lineup(trigram=TrigramModel.from_text("a b c.", device="cpu"))] == ["trigram"]


def test_each_strip_answers_its_own_models_numbers(client, three):
    for name, model in three.models.items():
        answer, message = client.predict("to be or not to ", *SETTINGS, 1, None, api_name=f"/suggest_{name}")
        expected = model.next_word_distribution("to be or not to ", "").top(SLOTS)
        assert [chip["word"].lower() for chip in answer["chips"]] == [word for word, _ in expected]
        assert [chip["p"] for chip in answer["chips"]] == pytest.approx([p for _, p in expected], rel=1e-12)
    trigram = three.suggest("or not to ")["trigram"]
    assert trigram == [{"word": "be", "p": 1.0}]  # (not, to) -> be, always; the bigram's row of "to" is wider
    assert len(three.suggest("or not to ")["bigram"]) == 2


def test_the_whole_page_takes_every_strip(url, client, three):
    *buttons, chips, message = outputs(url, "suggest", ["to ", *SETTINGS, None])
    assert len(buttons) == len(three.names) * SLOTS  # a chip button per slot per strip
    assert [b["value"].split("\n")[0].lower() for b in buttons[SLOTS : 2 * SLOTS]][:1] == ["be"]  # the trigram's
    assert set(three.names) <= set(chips)
    charts = client.predict("to ", 1.0, 0, 1.0, None, api_name="/distributions")
    assert len(charts) == 2 * len(three.names) + 1  # raw and warped per strip, then the message
    for name, raw in zip(three.names, charts[0:-1:2]):
        top_word = three.distribution(name, "to", "").top(1)[0][0]
        assert f'data-word="{top_word}"' in raw and name.capitalize() in raw
    why = client.predict("to ", None, api_name="/explain")[0]
    assert all(f"**{name}**" in why for name in three.names)


def test_a_failing_chart_or_strip_keeps_every_output_and_names_the_problem(url, client, three):
    charts = client.predict(["not", "text"], 1.0, 0, 1.0, None, api_name="/distributions")
    assert len(charts) == 2 * len(three.names) + 1 and "`text`" in charts[-1]
    whole = outputs(url, "suggest", [["not", "text"], *SETTINGS, None])
    assert len(whole) == len(three.names) * SLOTS + 2 and "`text`" in whole[-1]


def test_sampling_and_generation_take_any_strip(client, three):
    for name in three.names:
        summary = client.predict(name, "to", "to ", 100, 1.0, 0, 1.0, 3, None, api_name="/marbles")[3]
        assert summary.startswith("100 marbles")
        text, message = client.predict("to ", 5, 1.0, 0, 1.0, 3, "", None, api_name=f"/generate_{name}")
        assert message == "" and text
    assert "`source`" in client.predict("unigram", "to", "to ", 10, 1.0, 0, 1.0, 3, None, api_name="/marbles")[-1]


def test_the_tables_tab_shows_the_trigram_slice_beside_the_bigram_row(client, three):
    longer, shorter, why, message = client.predict("Or not to", api_name="/trigram_slice")
    assert message == "" and "z = not to" in longer and "z = to" in shorter
    assert 'data-word="be"' in longer and 'data-p="1.0"' in longer  # c(not, to, be) = 1 of c(not, to) = 1
    assert "sharper" in why and "'not to' was seen 1 times" in why
    unseen = client.predict("zebra to", api_name="/trigram_slice")
    assert "never seen" in unseen[0] and "never seen" in unseen[2]
    assert "`words`" in client.predict("", api_name="/trigram_slice")[-1]


@pytest.mark.slow
def test_the_app_offers_the_trigram_from_the_command_line(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    probe = (
        "import app; args = app.parse_args(['--models', 'bigram,trigram', '--corpus', %r]);"
        "k = app.load(args); print(k.names, k.titles['trigram'])" % str(corpus)
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "('bigram', 'trigram') Trigram p(x | z1 z2)" in done.stdout
    refused = subprocess.run(
        [sys.executable, "app.py", "--models", "trigram,transformer"], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "`--models` has to include bigram" in refused.stderr
    assert MODELS["bigram"].learns_from_its_user


# ---- the page: three strips typed into, one change after another ---------------------------------


def test_the_page_draws_every_strip_for_each_successive_text_and_inserts_from_any(browser, url, three):
    from tests.browser import open_app, open_tab

    page = open_app(browser, url)
    box = page.locator("#keyboard-input textarea")
    try:
        for typed in ["to ", "to be or not to ", "to be or not to b", "to be or not ", "the cat "]:
            box.fill("")
            box.press_sequentially(typed, delay=5)
            page.wait_for_function("() => document.querySelectorAll('.strip.stale').length === 0", timeout=20_000)
            expected = three.suggest(typed)
            for name in three.names:
                shown = [page.locator(f"#{name}-{i}").inner_text().split("\n")[0].strip() for i in range(SLOTS)]
                assert shown[: len(expected[name])] == [chip["word"] for chip in expected[name]], (typed, name)
        box.fill("")
        box.press_sequentially("or not to ", delay=5)
        page.wait_for_function("() => document.querySelectorAll('.strip.stale').length === 0", timeout=20_000)
        page.locator("#trigram-0").click()  # (not, to) -> be
        assert box.input_value() == "or not to be "
        open_tab(page, "Tables (Bayes)")
        z = page.locator("#trigram-z textarea, #trigram-z input").first
        z.fill("not to")
        page.locator("#trigram-show").click()
        page.locator("#trigram-slice-chart").filter(has_text="z = not to").wait_for(timeout=20_000)
        assert "be" in page.locator("#trigram-slice-chart").inner_text()
        z.fill("zebra to")
        page.locator("#trigram-show").click()
        page.locator("#trigram-why").filter(has_text="never seen").wait_for(timeout=20_000)
    finally:
        page.close()
