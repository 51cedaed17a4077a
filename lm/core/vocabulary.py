"""`Vocabulary`: words <-> ids, sorted so that the words sharing a prefix are one range of ids."""

from __future__ import annotations

import bisect
from typing import Iterable

import numpy as np

_AFTER_EVERY_CHARACTER = "\U0010ffff"


def prefix_range(sorted_keys, prefix: str) -> tuple[int, int]:
    """``(start, stop)``: the keys that start with `prefix` are ``sorted_keys[start:stop]``.

    Example:
        >>> prefix_range(["war", "was", "way", "we"], "wa")
        (0, 3)
    """
    start = bisect.bisect_left(sorted_keys, prefix)
    return start, bisect.bisect_left(sorted_keys, prefix + _AFTER_EVERY_CHARACTER, lo=start)


class Vocabulary:
    """The distinct words of a corpus in sorted order; a word's id is its position.

    Sorting makes keyboard completion a range lookup: the words starting with "wa" are the ids
    ``prefix_range("wa")``.

    Example:
        >>> vocab = Vocabulary(["was", "war", "peace", "war"])
        >>> vocab.words, vocab.id("war"), vocab.id("love")
        (['peace', 'war', 'was'], 1, -1)
        >>> vocab.prefix_range("wa")
        (1, 3)
    """

    def __init__(self, words: Iterable[str]):
        self.words: list[str] = sorted(set(words))
        self._ids = {word: i for i, word in enumerate(self.words)}
        self._array = np.array(self.words, dtype=object)  # for fast lookup of many ids at once

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self._ids

    def id(self, word: str) -> int:
        """The id of `word`, or -1 when it is not in the vocabulary."""
        return self._ids.get(word, -1)

    def ids(self, words: Iterable[str]) -> np.ndarray:
        """The ids of many words at once (-1 for unknown ones)."""
        return np.fromiter((self._ids.get(word, -1) for word in words), dtype=np.int64)

    def words_at(self, ids: np.ndarray) -> list[str]:
        """The words with these ids."""
        return self._array[ids].tolist()

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """``(start, stop)``: the ids of the words that start with `prefix` are ``range(start, stop)``."""
        return prefix_range(self.words, prefix)
