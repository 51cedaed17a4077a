"""Generating text one word at a time, each word x ~ p(x | everything before it): one loop for both models.

Example:
    >>> from lm import BigramModel
    >>> bigram = BigramModel.from_text("the cat sat.", device="cpu")
    >>> generate_words(bigram.next_token_distribution, "the", 3, temperature=0)
    'cat sat.'
"""

from __future__ import annotations

from typing import Callable

from lm.core.checks import check_whole_number
from lm.core.distribution import Distribution
from lm.core.sampling import nth_seed
from lm.core.tokenize import EOS, cased, join_word

MAX_GENERATED_WORDS = 200  # words one call may add (one "generate" click)


def generate_words(
    next_distribution: Callable[[str], Distribution],
    text: str,
    n_words: int,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int | None = None,
) -> str:
    """`n_words` words drawn one at a time after `text`, each from ``next_distribution(text so far)`` warped
    (`Distribution.sample_word`); a drawn ``</s>`` (the bigram's sentence end) ends the sentence with a full
    stop. Words are cased as a phone keyboard writes them (`lm.serving.keyboard.cased`). Stops early when nothing
    can be drawn. A `seed` makes it reproducible (draw i uses `nth_seed(seed, i)`).
    """
    n_words = check_whole_number(n_words, "n_words", 0, MAX_GENERATED_WORDS)
    context, words = text, []
    for i in range(n_words):
        distribution = next_distribution(context)
        seed_i = nth_seed(seed, i)
        word = distribution.sample_word(temperature, top_k, top_p, seed_i) if len(distribution) else None
        if word is None:
            break
        if word == EOS:
            context += "."
            words[-1:] = [words[-1] + "."] if words else ["."]
            continue
        word = cased(word, context, "")
        context = join_word(context, word)
        words.append(word)
    return " ".join(words)
