"""Smoothed p(x | z) for scoring text: maximum likelihood, add-k, and interpolated Kneser-Ney.

The tables show maximum likelihood (MLE), which gives 0 to every pair the corpus never saw. To
score new text each smoother here defines p(x | z) over the outcome set X = every vocabulary word
that can come second (all but ``<s>``) plus one ``<UNK>`` slot for words never seen; add-k and
Kneser-Ney sum to 1 over X for every context z, seen or not.

The base class handles unknown words (template method, as in ``nltk.lm``); each smoother writes
only `row`, the whole conditional p(. | z) as a vector over X.

Example:
    >>> from lm.counting.bigram import BigramModel
    >>> m = BigramModel.from_pairs([("a", "b"), ("a", "b"), ("a", "c"), ("b", "a")], device="cpu")
    >>> MLE(m).prob("b", "a"), AddK(m, k=1).prob("b", "a")  # 2/3, (2+1)/(3+1*4)
    (0.666..., 0.428...)
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from lm.core.tokenize import BOS, pad, sentences
from lm.counting.bigram import BigramModel

UNK = "<UNK>"


class Smoothing:
    """p(x | z) for any words x and z of a fitted `BigramModel`; subclasses write `row`."""

    name = "smoothing"

    def __init__(self, model: BigramModel):
        self.model = model
        self.unk = len(model.vocab)  # the <UNK> slot, after every vocabulary id
        self.outcomes = np.ones(len(model.vocab) + 1, dtype=bool)  # X: who may come second
        bos = model.vocab.id(BOS)
        if bos >= 0:
            self.outcomes[bos] = False

    def row(self, z: int) -> np.ndarray:
        """p(x | z) for every x id (and `unk` last); z = -1 for a context never seen."""
        raise NotImplementedError

    def _counts_row(self, z: int) -> np.ndarray:
        """c(z, x) for every x id, with a 0 for `<UNK>`; all zeros for an unknown z."""
        dense = np.zeros(len(self.model.vocab) + 1)
        if z >= 0:
            start, stop = self.model.counts.indptr[z], self.model.counts.indptr[z + 1]
            dense[self.model.counts.indices[start:stop]] = self.model.counts.data[start:stop]
        return dense

    def prob(self, next: str, prev: str) -> float:
        """p(x=next | z=prev); an unknown `next` gets the `<UNK>` slot's probability."""
        x = self.model.vocab.id(next)
        return float(self.row(self.model.vocab.id(prev))[self.unk if x < 0 else x])

    def log_probs(self, text: str | Sequence[Sequence[str]]) -> np.ndarray:
        """ln p(x | z) for every pair of the padded sentences of `text` (``</s>`` included)."""
        sentence_list = sentences(text) if isinstance(text, str) else text
        logs = []
        for sentence in sentence_list:
            padded = self.model.vocab.ids(pad(list(sentence)))
            for z, x in zip(padded[:-1], padded[1:]):
                p = self.row(int(z))[self.unk if x < 0 else x]
                logs.append(math.log(p) if p > 0 else -math.inf)
        return np.array(logs)

    def perplexity(self, text: str | Sequence[Sequence[str]]) -> float:
        """exp(-mean ln p(x | z)) over the padded pairs of `text`; ``inf`` if any pair has p = 0."""
        logs = self.log_probs(text)
        if len(logs) == 0:
            raise ValueError("`text` has no words to score")
        return float(np.exp(-logs.mean()))


class MLE(Smoothing):
    """Maximum likelihood: c(z, x) / c(z), exactly the tables' p(x | z); 0 for unseen z or pairs."""

    name = "mle"

    def row(self, z: int) -> np.ndarray:
        counts = self._counts_row(z)
        total = counts.sum()
        return counts / total if total > 0 else counts


class AddK(Smoothing):
    """Add-k (Lidstone; k = 1 is Laplace): (c(z, x) + k) / (c(z) + k |X|) for x in X."""

    name = "add-k"

    def __init__(self, model: BigramModel, k: float = 1.0):
        super().__init__(model)
        if not isinstance(k, (int, float)) or not k > 0 or not math.isfinite(k):
            raise ValueError(f"`k` has to be a positive number, but is {k!r}")
        self.k = float(k)

    def row(self, z: int) -> np.ndarray:
        counts = (self._counts_row(z) + self.k) * self.outcomes
        return counts / counts.sum()


class KneserNey(Smoothing):
    """Interpolated Kneser-Ney with absolute discount d, recursing to the uniform over X.

        p(x | z)   = max(c(z, x) - d, 0) / c(z)  +  d N1+(z .) / c(z) * p_cont(x)
        p_cont(x)  = max(N1+(. x) - d, 0) / N1+(. .)  +  d |{x: N1+(. x) > 0}| / N1+(. .) / |X|

    N1+(z .) counts the distinct words after z, N1+(. x) the distinct words before x, N1+(. .)
    the distinct pairs. An unseen z gets p_cont(x). Both sum to 1 over X since 0 < d <= 1.
    """

    name = "kneser-ney"

    def __init__(self, model: BigramModel, discount: float = 0.75):
        super().__init__(model)
        if not isinstance(discount, (int, float)) or not 0 < discount <= 1:
            raise ValueError(f"`discount` has to be in (0, 1], but is {discount!r}")
        self.discount = float(discount)
        self.continuation = self._continuation()

    def _continuation(self) -> np.ndarray:
        """p_cont(x): how many different words x follows, discounted and interpolated with uniform."""
        d, counts = self.discount, self.model.counts
        preceders = np.append(np.bincount(counts.indices, minlength=counts.shape[1]), 0).astype(float)
        types = counts.nnz  # N1+(. .)
        uniform = self.outcomes / self.outcomes.sum()
        return np.maximum(preceders - d, 0) / types + d * np.count_nonzero(preceders) / types * uniform

    def row(self, z: int) -> np.ndarray:
        counts = self._counts_row(z)
        total = counts.sum()
        if total == 0:
            return self.continuation
        d = self.discount
        return np.maximum(counts - d, 0) / total + d * np.count_nonzero(counts) / total * self.continuation


SMOOTHINGS = {cls.name: cls for cls in (MLE, AddK, KneserNey)}


def smoothing(model: BigramModel, name: str = "mle", **options) -> Smoothing:
    """The smoother called `name` (``"mle"``, ``"add-k"``, ``"kneser-ney"``) for `model`.

    Example:
        >>> from lm.counting.bigram import BigramModel
        >>> smoothing(BigramModel.from_text("a b. b a.", device="cpu"), "kneser-ney").name
        'kneser-ney'
    """
    if name not in SMOOTHINGS:
        raise ValueError(f"`name` has to be one of {sorted(SMOOTHINGS)}, but is {name!r}")
    return SMOOTHINGS[name](model, **options)
