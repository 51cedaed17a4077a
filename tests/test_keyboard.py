"""`lm.serving.keyboard`: suggestions, insertion and generation, without any UI."""

import pytest

from lm import BigramModel
from lm.core.tokenize import join_word
from lm.registry import lineup
from lm.serving.keyboard import CONTEXT_CUT_BLOCK, MAX_CONTEXT_CHARS, Keyboard, Settings, clean_text, insert_word
from lm.transformer.engine import KEYSTROKE


@pytest.fixture(scope="module")
def keyboard():
    return Keyboard(
        lineup(bigram=BigramModel.from_text("the cat sat. the cat ran. the dog sat. a dog ran!", device="cpu"))
    )


def test_most_likely_chips_are_exact_conditionals(keyboard):
    # after "the": c(the, cat) = 2, c(the, dog) = 1 of c(the) = 3
    assert keyboard.suggest("the ")["bigram"] == [{"word": "cat", "p": 2 / 3}, {"word": "dog", "p": 1 / 3}]


def test_chips_complete_the_word_being_typed(keyboard):
    result = keyboard.suggest("the d")
    assert result["bigram"] == [{"word": "dog", "p": 1.0}] and result["prefix"] == "d"


def test_sentence_markers_never_become_chips(keyboard):
    words = [chip["word"] for chip in keyboard.suggest("the cat sat ")["bigram"]]
    assert "</s>" not in words and "<s>" not in words


def test_sampled_chips_are_distinct_and_reproducible(keyboard):
    settings = Settings(mode="sampled", temperature=1.5, seed=3)
    first = keyboard.suggest("the ", settings)["bigram"]
    assert first == keyboard.suggest("the ", settings)["bigram"]
    assert len({chip["word"] for chip in first}) == len(first) <= 3


def test_unknown_prefix_gets_a_message(keyboard):
    result = keyboard.suggest("the zq")
    assert result["bigram"] == [] and "'zq'" in result["message"]


@pytest.mark.parametrize(
    "text",
    ["", "   ", "x" * 1_000_000, "🙂🙂 the ", "他们的 ", "שלום ", "e\u0301 ", "the\x00\x07 ca", "?!.,;", "the xyzzy "],
)
def test_bad_input_never_raises(keyboard, text):
    result = keyboard.suggest(text)
    assert set(result) >= {*keyboard.names, "message"}


def test_long_text_is_cut_with_a_message():
    long_text = "a " * MAX_CONTEXT_CHARS
    text, message = clean_text(long_text)
    assert MAX_CONTEXT_CHARS - CONTEXT_CUT_BLOCK <= len(text) <= MAX_CONTEXT_CHARS and long_text.endswith(text)
    assert f"last {len(text):,} characters" in message


def test_the_cut_stays_put_while_typing():
    """Appending a character moves the cut only when a whole block is dropped, so caches survive."""
    text, starts = "the cat sat on the mat " * 400, []
    for letter in "word " * (3 * CONTEXT_CUT_BLOCK // 5):  # 3 blocks' worth of typing
        text += letter
        starts.append(len(text) - len(clean_text(text)[0]))
    moves = sum(a != b for a, b in zip(starts, starts[1:]))
    assert 1 <= moves <= 3  # (cut at text[-MAX_CONTEXT_CHARS:], it would move at every letter)


@pytest.mark.parametrize(
    "arguments, named",
    [
        ({"mode": "random"}, "mode"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_k": -2}, "top_k"),
        ({"top_p": 0}, "top_p"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_settings_validate_by_name(arguments, named):
    with pytest.raises(ValueError, match=f"`{named}`"):
        Settings(**arguments)


@pytest.mark.parametrize(
    "text, word, expected",
    [
        ("I hope you're hav", "having", "I hope you're having "),
        ("I hope ", "you", "I hope you "),
        ("Hello,", "world", "Hello, world "),
        ("", "The", "The "),
        ("Ho", "hope", "Hope "),
        ("line one\n", "two", "line one\ntwo "),
    ],
)
def test_insert_word(text, word, expected):
    assert insert_word(text, word) == expected


def test_join_word():
    assert join_word("Good", "night") == "Good night" and join_word("", "Hi") == "Hi"


def test_generate_bigram_follows_the_chain(keyboard):
    # greedy from "the": cat (2/3), then sat (1/2, tie broken by order), then </s> ends the sentence
    text = keyboard.models["bigram"].generate_words("the", 3, temperature=0)
    assert text.startswith("cat ")
    assert keyboard.models["bigram"].generate_words("the", 5, seed=1) == keyboard.models["bigram"].generate_words(
        "the", 5, seed=1
    )
    with pytest.raises(ValueError, match="`n_words`"):
        keyboard.models["bigram"].generate_words("the", -1)


def test_generated_text_is_cased_like_a_phone_keyboard_writes():
    from lm import BigramModel

    model = BigramModel.from_text("i think. i think. i think.", device="cpu")
    # greedy: <s> -> i -> think -> </s> -> i ...: each sentence starts with a capital, "i" is always "I"
    assert model.generate_words("", 6, temperature=0) == "I think. I think."


def test_one_strip_at_a_time(keyboard):
    bigram_only = keyboard.suggest("the zq", models=("bigram",))
    assert bigram_only["bigram"] == [] and "known to the bigram" in bigram_only["message"]
    assert keyboard.suggest("the c", models=("bigram",))["bigram"] == keyboard.suggest("the c")["bigram"]
    for bad in [(), ("trigram",)]:
        with pytest.raises(ValueError, match="`models`"):
            keyboard.suggest("the c", models=bad)


def test_sentence_starts_are_capitalised_and_typed_case_followed(keyboard):
    # "." ends a sentence: after it the bigram's condition is <s>; c(<s>, the) = 3, c(<s>, a) = 1 of 4
    assert keyboard.suggest("the dog sat. ")["bigram"] == [{"word": "The", "p": 3 / 4}, {"word": "A", "p": 1 / 4}]
    assert keyboard.suggest("")["bigram"][0]["word"] == "The"
    assert keyboard.suggest("the dog sat. t")["bigram"][0]["word"] == "the"  # a typed lower-case letter is kept
    assert keyboard.suggest("the dog sat. T")["bigram"][0]["word"] == "The"


class _BudgetSpy:
    """A stand-in transformer that records the search budget each call asks for."""

    def __init__(self):
        self.budgets, self.works = [], []

    def working(self, work):
        self.works.append(work)
        return self

    def next_word_distribution(self, context, prefix="", budget=None):
        import torch

        from lm import Distribution

        self.budgets.append(budget)
        return Distribution(["cat", "dog"], torch.tensor([0.75, 0.25], dtype=torch.float64))


def test_sampled_transformer_chips_use_the_keyboard_search(keyboard):
    import inspect

    from lm import TransformerModel
    from lm.transformer.word_search import KEYBOARD

    spy = _BudgetSpy()
    chips = Keyboard(lineup(bigram=keyboard.models["bigram"], transformer=spy)).suggest(
        "the ", Settings(mode="sampled", seed=0), models=("transformer",)
    )
    assert spy.budgets == [None] and {chip["word"] for chip in chips["transformer"]} <= {"cat", "dog"}
    assert [work.priority for work in spy.works] == [KEYSTROKE]  # a strip's search goes before every view
    # no budget asked: the model's own, which is the keyboard's search (the one every view reads)
    assert inspect.signature(TransformerModel.next_word_distribution).parameters["budget"].default == KEYBOARD


def test_updated_settings_keep_the_last_good_value_and_name_the_bad_one():
    good = Settings(mode="sampled", top_k=5, seed=1)
    kept, problems = good.updated(seed=-5, top_p=2.0, top_k=7)
    assert kept == Settings(mode="sampled", top_k=7, seed=1)  # the valid change applied, the bad ones left out
    assert [problem.split()[0] for problem in problems] == ["`seed`", "`top_p`"]
    assert Settings().updated(seed=-5, temperature=-1) == (Settings(), [])  # "most likely" uses neither
    assert good.updated(mode="sampled", seed=9)[0].seed == 9


def test_what_is_read_as_a_space_is_exactly_unicodes_control_characters_and_surrogates():
    import unicodedata

    from lm.serving.keyboard import _UNREADABLE

    every = "".join(map(chr, range(0x110000)))
    read_as_space = {ch for pattern, _ in _UNREADABLE for ch in pattern.findall(every)}
    by_category = {ch for ch in every if unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t"}
    assert read_as_space == by_category
