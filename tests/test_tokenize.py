"""`lm.core.tokenize`: words, sentences and nltk-compatible padding."""

import pytest
from nltk.lm.preprocessing import padded_everygram_pipeline

from lm.core.tokenize import BOS, last_word, pad, sentences, split_partial_word


def words(text: str) -> list[str]:
    """Every word of `text`, sentence ends ignored."""
    return [word for sentence in sentences(text) for word in sentence]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Don't stop", ["don't", "stop"]),
        ("o'er the hills", ["o'er", "the", "hills"]),
        ("Don\u2019t", ["don't"]),  # typographic apostrophe
        ("'Tis now struck twelve", ["tis", "now", "struck", "twelve"]),  # no leading apostrophe
        ("R2 and 42", ["r2", "and", "42"]),  # digits are word characters
        ("Café naïve", ["café", "naïve"]),
        ("snake_case", ["snake", "case"]),
        ("", []),
        ("... !!", []),
    ],
)
def test_words(text, expected):
    assert words(text) == expected


def test_sentences_end_at_punctuation_and_blank_lines():
    text = "Who's there?\nNay, answer me: stand\n\nLong live the king!...He."
    assert sentences(text) == [
        ["who's", "there"],
        ["nay", "answer", "me", "stand"],
        ["long", "live", "the", "king"],
        ["he"],
    ]


def test_padding_matches_nltk_padded_everygram_pipeline():
    text = [["a", "b", "c"], ["d"]]
    train, _ = padded_everygram_pipeline(2, text)
    nltk_bigrams = [gram for sentence in train for gram in sentence if len(gram) == 2]
    ours = [pair for sentence in text for pair in zip(pad(sentence)[:-1], pad(sentence)[1:])]
    assert ours == nltk_bigrams


@pytest.mark.parametrize(
    "context, expected",
    [
        ("", BOS),
        ("Good night, sweet", "sweet"),
        ("Good night, sweet ", "sweet"),
        ("Good night.", BOS),
        ("Good night. ", BOS),
        ("one\n\n", BOS),
        ("You'RE", "you're"),
        ("x" * 1000 + " end", "end"),
    ],
)
def test_last_word(context, expected):
    assert last_word(context) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I hope you're hav", ("I hope you're ", "hav")),
        ("I hope ", ("I hope ", "")),
        ("don'", ("", "don'")),
        ("", ("", "")),
        ("end.", ("end.", "")),
    ],
)
def test_split_partial_word(text, expected):
    assert split_partial_word(text) == expected
