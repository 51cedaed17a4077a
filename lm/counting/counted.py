"""`CountedModel`: what every counting model shares, whatever its condition z (one word, two...).

A counting model answers from rows of counts: a row's words become a `Distribution` (`_distribution`), a
typed prefix keeps the words it starts (`_with_prefix`: the ids are sorted, so that is a slice), ``</s>``
is left out of a next-word question and kept as `no_word` (`_words_only`), and text is generated from the
rows with ``</s>`` included (`generate_words`). `BigramModel` and `TrigramModel` write the rest: how a
context becomes z, and where a row is.
"""

from __future__ import annotations

import numpy as np
import torch

from lm.core.distribution import Distribution
from lm.core.generation import generate_words
from lm.core.tokenize import normalise


class CountedModel:
    """The shared part of the counting models; a subclass sets `vocab`, `device` and `_eos` (the id of ``</s>``,
    -1 when not counted) and writes `next_token_distribution`."""

    def _distribution(
        self, ids: np.ndarray, counts: np.ndarray, note: str = "", no_word: float | None = None
    ) -> Distribution:
        probs = torch.from_numpy(counts / counts.sum()) if len(counts) else torch.zeros(0, dtype=torch.float64)
        return Distribution(self.vocab.words_at(ids), probs.to(self.device), note, no_word=no_word)

    def _with_prefix(self, ids: np.ndarray, counts: np.ndarray, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        """Only the entries whose word starts with `prefix` (`ids` sorted, so this is a slice)."""
        if not prefix:
            return ids, counts
        keep = slice(*np.searchsorted(ids, self.vocab.prefix_range(normalise(prefix))))
        return ids[keep], counts[keep]

    def _words_only(
        self, ids: np.ndarray, counts: np.ndarray, prefix: str
    ) -> tuple[np.ndarray, np.ndarray, float | None]:
        """A row's entries that are words (not ``</s>``) starting with `prefix`, and the row's share of
        ``</s>``, p(no word next) (None with a prefix, or for an empty row)."""
        words = ids != self._eos
        no_word = float(counts[~words].sum() / counts.sum()) if len(counts) and not prefix else None
        return (*self._with_prefix(ids[words], counts[words], prefix), no_word)

    def generate_words(
        self,
        context: str,
        n_words: int,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> str:
        """n words drawn one at a time, x ~ p(x | z) warped (z the model's condition: the last word, or the
        last two), each joining the context; a drawn ``</s>`` ends a sentence.

        Example:
            >>> from lm import BigramModel
            >>> BigramModel.from_text("the cat sat.", device="cpu").generate_words("the", 3, temperature=0)
            'cat sat.'
        """
        return generate_words(self.next_token_distribution, context, n_words, temperature, top_k, top_p, seed)
