"""Words and sentences: the tokenizer both the bigram model and the word-level transformer use.

A word is a maximal run of letters and digits, with inner apostrophes ("don't", "o'er"), lower-cased.
A sentence ends at ``.``, ``!`` or ``?`` or at a blank line (the end of a speech or paragraph).
Padding follows ``nltk.lm.preprocessing.padded_everygram_pipeline`` for order 2: every sentence
becomes ``<s> w1 ... wn </s>``.

Example:
    >>> sentences("Who's there? Nay, answer me.")
    [["who's", 'there'], ['nay', 'answer', 'me']]
    >>> pad(["nay", "answer"])
    ['<s>', 'nay', 'answer', '</s>']
"""

from __future__ import annotations

import re

BOS = "<s>"  # the start-of-sentence marker, the condition z of a sentence's first word
EOS = "</s>"  # the end-of-sentence marker, the outcome x after a sentence's last word

WORD_CHAR = r"[^\W_]"  # a letter or digit, in any script: what words (and the transformer's word pieces) are made of
WORD = rf"{WORD_CHAR}+(?:'{WORD_CHAR}+)*"
WORD_RE = re.compile(WORD)
SENTENCE_END_RE = re.compile(r"[.!?]+|\n[ \t]*\n")
TOKEN_RE = re.compile(rf"(?P<word>{WORD})|(?P<end>[.!?]|\n[ \t]*\n)")  # a word, or a sentence end
_SPACE_RE = re.compile(r"\s")
_PARTIAL_WORD_RE = re.compile(rf"{WORD}'?\Z")
_PRONOUN_I = re.compile(r"i(?:'[a-z]+)?")
_SENTENCE_START_RE = re.compile(r"(?:\A|[.!?][\"'”’)\]]*)\s*\Z")
TAIL = 256  # characters looked at to find the last word; a longer "word" is cut to its last TAIL


def normalise(text: str) -> str:
    """Lower-case `text` and turn typographic apostrophes into ``'``.

    Example:
        >>> normalise("Don\u2019t")
        "don't"
    """
    return text.lower().replace("\u2019", "'").replace("\u02bc", "'")


def sentences(text: str, finished: bool = False) -> list[list[str]]:
    """The sentences of `text` as lists of words; sentences without words are dropped. `finished`: only
    those ended (a ``.``, ``!``, ``?`` or a blank line after them), since what is typed after the last
    sentence end is still being written.

    Example:
        >>> sentences("Long live the king!  He.")
        [['long', 'live', 'the', 'king'], ['he']]
        >>> sentences("I love my dog. I love my d", finished=True)
        [['i', 'love', 'my', 'dog']]
    """
    parts = SENTENCE_END_RE.split(normalise(text))
    return [found for found in map(WORD_RE.findall, parts[:-1] if finished else parts) if found]


def pad(sentence: list[str]) -> list[str]:
    """``<s>`` + `sentence` + ``</s>``, as nltk's order-2 padding does.

    Example:
        >>> pad(["he"])
        ['<s>', 'he', '</s>']
    """
    return [BOS, *sentence, EOS]


def last_word(context: str) -> str:
    """The condition z for the next word: the context's last word, or ``<s>`` at a sentence start.

    Example:
        >>> last_word("Good night, sweet")
        'sweet'
        >>> last_word("Good night.  ")
        '<s>'
    """
    return last_words(context, 1)[0]


def last_words(context: str, n: int) -> tuple[str, ...]:
    """The condition (z1, ..., zn) for the next word: the context's last `n` words in its current sentence,
    padded with ``<s>`` as a sentence is (``<s> <s> w1 w2 ...`` for n = 2).

    Example:
        >>> last_words("Good night, sweet", 2), last_words("Good night. Sweet", 2), last_words("Good night.", 2)
        (('night', 'sweet'), ('<s>', 'sweet'), ('<s>', '<s>'))
    """
    found: list[str] = []
    for token in TOKEN_RE.finditer(normalise(context[-TAIL:])):
        word = token.group("word")
        found = [*found, word][-n:] if word is not None else []  # a sentence end starts afresh
    return (BOS,) * (n - len(found)) + tuple(found)


def stable_tail(text: str, limit: int, block: int) -> str:
    """The end of `text`, at most `limit` characters, cut where it stays put while text is appended.

    Whole blocks of `block` characters are dropped from the start, then the rest of a word cut in
    two (up to the first whitespace, unless that is more than a block away). So typing at the end
    moves the cut only once every `block` characters; a model's cache of the tail's tokens stays
    valid in between, where cutting at ``text[-limit:]`` would change the first token every time.

    Example:
        >>> stable_tail("one two three four", 10, 4)  # drop 12 characters, then the rest of "three"
        'four'
        >>> stable_tail("one two three four!", 10, 4)  # one more character: the same cut
        'four!'
        >>> stable_tail("one two three four", 12, 4)  # the cut falls between words: nothing more goes
        'three four'
        >>> stable_tail("short", 12, 4)
        'short'
    """
    if limit < 1 or block < 1:
        raise ValueError(f"`limit` and `block` have to be positive, but are {limit!r} and {block!r}")
    excess = len(text) - limit
    if excess <= 0:
        return text
    start = (excess // block + 1) * block
    space = _SPACE_RE.search(text, start - 1, min(len(text), start + block))
    return text[space.end() if space else start :]


def split_partial_word(text: str) -> tuple[str, str]:
    """Split typed `text` into (context, the word being typed), as a keyboard sees it.

    Example:
        >>> split_partial_word("I hope you're hav")
        ("I hope you're ", 'hav')
        >>> split_partial_word("I hope ")
        ('I hope ', '')
    """
    found = _PARTIAL_WORD_RE.search(text, max(0, len(text) - TAIL))
    if found is None:
        return text, ""
    return text[: found.start()], text[found.start() :]


def join_word(text: str, word: str) -> str:
    """`text` followed by `word`, with a space between unless the text already ends in whitespace.

    Example:
        >>> join_word("Good", "night"), join_word("Good ", "night"), join_word("", "Hi")
        ('Good night', 'Good night', 'Hi')
    """
    return f"{text}{word}" if not text or text[-1].isspace() else f"{text} {word}"


def at_sentence_start(context: str) -> bool:
    """Whether the next word starts a sentence: nothing before it, or a ``.``, ``!`` or ``?`` (then
    perhaps closing quotes or brackets) and spaces.

    Example:
        >>> [at_sentence_start(text) for text in ("", "Hi! ", 'He said "no." ', "Hi, ")]
        [True, True, True, False]
    """
    return bool(_SENTENCE_START_RE.search(context))


def cased(word: str, context: str, prefix: str) -> str:
    """`word` as a phone keyboard writes it: capitalised when the first letter typed is a capital, or,
    with nothing typed yet, at a sentence start or for the pronoun "I" (the bigram's corpus is lower-cased);
    otherwise as the model spells it.

    Example:
        >>> cased("hope", "I ", "Ho"), cased("the", "Hi. ", ""), cased("the", "Hi, ", ""), cased("iPhone", "", "i")
        ('Hope', 'The', 'the', 'iPhone')
        >>> cased("i", "and ", ""), cased("i'll", "and ", "")  # the lower-cased corpus's "i" is the pronoun
        ('I', "I'll")
    """
    if prefix[:1].isupper() or (not prefix and (at_sentence_start(context) or _PRONOUN_I.fullmatch(word))):
        return word[:1].upper() + word[1:]
    return word
