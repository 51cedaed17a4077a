"""`TrigramModel`: p(x | z1 z2), counted from the same corpus as the bigram, one word more of context.

The joint table has one row per pair of previous words (z1, z2) and one column per next word x; a row
divided by its sum is p(x | z1 z2) = c(z1, z2, x) / c(z1, z2). Sentences are padded ``<s> <s> ... </s>``
(nltk's order-3 padding: the first word's condition is (``<s>``, ``<s>``)).

A longer condition gives sharper rows (fewer words follow "to be" than follow "be") but sparser ones: most
pairs were seen once or never. Where the pair was never followed by a matching word, the answer backs off
to the bigram's p(x | z2), counted from the same sentences, and says so in the distribution's note. That
gap is the step from counting to learning: a network shares what it learns between similar contexts.

Example:
    >>> m = TrigramModel.from_text("to be or not to be. to go.", device="cpu")
    >>> m.next_word_distribution("not to").top()  # c(not, to, be) = 1 of c(not, to) = 1
    [('be', 1.0)]
    >>> m.next_word_distribution("to").top()  # z = (<s>, to): c(<s>, to, be) = 1, c(<s>, to, go) = 1
    [('be', 0.5), ('go', 0.5)]
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
import torch

from lm.core.checks import check_whole_number
from lm.core.devices import resolve_device
from lm.core.distribution import Distribution
from lm.core.tokenize import BOS, EOS, last_words
from lm.core.vocabulary import Vocabulary
from lm.counting import corpus
from lm.counting.bigram import MAX_TIMES, BigramModel, sentence_stream, word_stream
from lm.counting.counted import CountedModel


def padded_triples(codes: np.ndarray, bos: int, eos: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z1, z2, x) of every triple of a token stream where -1 separates sentences, each sentence padded
    ``<s> <s> ... </s>`` (codes `bos`, `eos`); empty sentences count nothing.

    Example:
        >>> [t.tolist() for t in padded_triples(np.array([0, 1, -1, 2]), bos=8, eos=9)]
        [[8, 8, 0, 8, 8], [8, 0, 1, 8, 2], [0, 1, 9, 2, 9]]
    """
    previous = np.concatenate(([-1], codes[:-1]))
    codes = codes[(codes >= 0) | (previous >= 0)]  # one separator between sentences, none repeated
    codes = codes[np.argmax(codes >= 0) :] if (codes >= 0).any() else codes[:0]
    if len(codes) and codes[-1] < 0:
        codes = codes[:-1]
    widths = np.where(codes < 0, 3, 1)  # a separator becomes </s> <s> <s>
    stream = np.repeat(codes, widths)
    ends = (np.cumsum(widths) - widths)[codes < 0]
    stream[ends], stream[ends + 1], stream[ends + 2] = eos, bos, bos
    stream = np.concatenate(([bos, bos], stream, [eos]))
    z1, z2, x = stream[:-2], stream[1:-1], stream[2:]
    inside = (x != bos) & (z1 != eos)  # no triple reaches across a sentence end
    return z1[inside], z2[inside], x[inside]


class TrigramModel(CountedModel):
    """Trigram counts: one row per condition (z1, z2) seen, one column per next word x.

    `shorter` is the bigram of the same sentences, which a condition never seen backs off to.

    Example:
        >>> m = TrigramModel.from_text("the cat sat. the cat ran. a cat sat.", device="cpu")
        >>> m.count("the", "cat", "sat"), m.cond_prob(x="sat", z=("the", "cat"))
        (1, 0.5)
    """

    def __init__(
        self,
        vocab: Vocabulary,
        conditions: np.ndarray,
        counts: sp.csr_matrix,
        shorter: BigramModel,
        device: str | torch.device = "auto",
    ):
        if counts.shape != (len(conditions), len(vocab)):
            raise ValueError(f"`counts` must be {len(conditions)} x {len(vocab)}, but is {counts.shape}")
        if counts.nnz == 0:
            raise ValueError("`counts` is empty: a trigram model needs at least one word")
        self.vocab = vocab
        self.conditions = conditions  # (H,) sorted codes z1 * V + z2 of the rows
        self.counts = counts  # (H, V) int64 CSR: rows (z1, z2), columns x
        self.total = int(counts.sum())  # the number of triples
        self.shorter = shorter
        self._eos = vocab.id(EOS)
        self.device = resolve_device(device)

    def __repr__(self) -> str:
        return f"TrigramModel({len(self.vocab)} words, {len(self.conditions)} pairs of words, {self.total} triples)"

    # ---- counting -----------------------------------------------------------------------------

    @classmethod
    def from_word_stream(cls, codes: np.ndarray, words: Sequence[str], device="auto") -> "TrigramModel":
        """Count a `word_stream` (codes into `words`, -1 between sentences), as `BigramModel.from_word_stream`."""
        if not (codes >= 0).any():
            raise ValueError("the text has no words: a trigram model needs at least one word")
        vocab = Vocabulary([*words, BOS, EOS])
        ids = np.where(codes >= 0, vocab.ids(words)[codes], -1)  # -1 stays: a sentence end
        z1, z2, x = padded_triples(ids, vocab.id(BOS), vocab.id(EOS))
        return cls._from_triples(vocab, z1, z2, x, BigramModel.from_word_stream(codes, words, device), device)

    @classmethod
    def _from_triples(cls, vocab, z1, z2, x, shorter, device, weights=None) -> "TrigramModel":
        size = len(vocab)
        conditions, rows = np.unique(z1.astype(np.int64) * size + z2, return_inverse=True)
        weights = np.ones(len(x), dtype=np.int64) if weights is None else weights
        counts = sp.csr_matrix((weights, (rows, x)), shape=(len(conditions), size), dtype=np.int64)
        counts.sum_duplicates()
        return cls(vocab, conditions, counts, shorter, device)

    @classmethod
    def from_text(cls, text: str | Iterable[str], device="auto") -> "TrigramModel":
        """Tokenize text as the bigram does (`lm.counting.bigram.word_stream`) and count its triples.

        Example:
            >>> TrigramModel.from_text("Who's there? Nay, answer me.", device="cpu").count("nay", "answer", "me")
            1
        """
        return cls.from_word_stream(*word_stream(text), device)

    @classmethod
    def from_sentences(cls, sentences: Iterable[Sequence[str]], device="auto") -> "TrigramModel":
        """Count pre-tokenized sentences, each padded ``<s> <s> ... </s>`` (words taken as given).

        Example:
            >>> TrigramModel.from_sentences([["the", "cat"]], device="cpu").cond_prob(x="</s>", z=("the", "cat"))
            1.0
        """
        return cls.from_word_stream(*sentence_stream(sentences), device)

    @classmethod
    def from_corpus(cls, paths=None, device="auto") -> "TrigramModel":
        """Count a corpus (default: the Shakespeare plays, see `lm.counting.corpus`), its documents apart."""
        return cls.from_text([doc.text for doc in corpus.read_documents(paths)], device)

    def _triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(z1, z2, x, count) of every distinct triple."""
        coo = self.counts.tocoo()
        z1, z2 = np.divmod(self.conditions[coo.row], len(self.vocab))
        return z1, z2, coo.col, coo.data

    def __add__(self, other: "TrigramModel") -> "TrigramModel":
        """The model of the pooled counts, as `BigramModel.__add__`.

        Example:
            >>> a, b = TrigramModel.from_text("a b c.", device="cpu"), TrigramModel.from_text("a b d.", device="cpu")
            >>> (a + b).cond_prob(x="d", z=("a", "b")), (a + b).shorter.count("a", "b")
            (0.5, 2)
        """
        if not isinstance(other, TrigramModel):
            return NotImplemented
        shorter = self.shorter + other.shorter
        vocab = shorter.vocab
        parts = [
            [vocab.ids(model.vocab.words)[part] for part in model._triples()[:3]] + [model._triples()[3]]
            for model in (self, other)
        ]
        z1, z2, x, weights = (np.concatenate(column) for column in zip(*parts))
        return TrigramModel._from_triples(vocab, z1, z2, x, shorter, self.device, weights)

    def __mul__(self, times: int) -> "TrigramModel":
        """Every triple counted `times` times (a whole number >= 1).

        Example:
            >>> (3 * TrigramModel.from_text("a b c.", device="cpu")).count("a", "b", "c")
            3
        """
        if isinstance(times, bool) or not isinstance(times, int):
            return NotImplemented
        check_whole_number(times, "times", 1, MAX_TIMES)
        return TrigramModel(self.vocab, self.conditions, self.counts * times, self.shorter * times, self.device)

    __rmul__ = __mul__

    # ---- the table ----------------------------------------------------------------------------

    def _row(self, z1: str, z2: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids of x, c(z1, z2, x)) for one condition, ``</s>`` included (empty if never seen)."""
        a, b = self.vocab.id(z1), self.vocab.id(z2)
        if a < 0 or b < 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        row = np.searchsorted(self.conditions, a * len(self.vocab) + b)
        if row == len(self.conditions) or self.conditions[row] != a * len(self.vocab) + b:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        start, stop = self.counts.indptr[row], self.counts.indptr[row + 1]
        return self.counts.indices[start:stop], self.counts.data[start:stop]

    def count(self, z1: str, z2: str, x: str) -> int:
        """c(z1, z2, x): how often x followed the words z1 z2."""
        ids, counts = self._row(z1, z2)
        found = np.flatnonzero(ids == self.vocab.id(x))
        return int(counts[found[0]]) if len(found) else 0

    def cond_prob(self, *, x: str, z: tuple[str, str]) -> float:
        """p(x | z1 z2) = c(z1, z2, x) / c(z1, z2), ``</s>`` counted as an x (0.0 for a pair never seen)."""
        total = self.total_of(z)
        return self.count(*z, x) / total if total else 0.0

    def total_of(self, z: tuple[str, str]) -> int:
        """c(z1, z2): how often the words z1 z2 were followed by anything (``</s>`` included)."""
        return int(self._row(*z)[1].sum())

    # ---- the next-word answer (`lm.core.distribution.NextWordModel`) -----------------------------

    def condition(self, context: str | Sequence[str]) -> tuple[str, str]:
        """(z1, z2) for a context: its last two words in the current sentence, ``<s>``-padded."""
        if isinstance(context, str):
            return last_words(context, 2)
        return tuple([BOS, BOS, *context][-2:])

    def next_word_distribution(self, context: str | Sequence[str], prefix: str = "") -> Distribution:
        """p(x | z1 z2, x is a word) = c(z1, z2, x) / (c(z1, z2) - c(z1, z2, </s>)); with `prefix`, the words
        starting with it, renormalised. ``no_word`` is c(z1, z2, </s>) / c(z1, z2). Where (z1, z2) was never
        followed by a matching word, the bigram's p(x | z2), noted.

        Example:
            >>> m = TrigramModel.from_text("my good lord. my good lady. no good.", device="cpu")
            >>> d = m.next_word_distribution("my good")
            >>> d.top(), d.no_word
            ([('lady', 0.5), ('lord', 0.5)], 0.0)
            >>> m.next_word_distribution("very good").note
            "'very good' was never followed by a word: showing the bigram's p(x | good)"
        """
        z1, z2 = self.condition(context)
        ids, counts, no_word = self._words_only(*self._row(z1, z2), prefix)
        if len(ids):
            return self._distribution(ids, counts, "", no_word)
        starting = f" starting with {prefix!r}" if prefix else ""
        shorter = self.shorter.next_word_distribution([z2], prefix)
        note = f"'{z1} {z2}' was never followed by a word{starting}: showing the bigram's p(x | {z2})"
        return replace(shorter, note="; ".join(filter(None, [note, shorter.note])))

    def top_next_words(self, context: str | Sequence[str], k: int = 3, prefix: str = "") -> list[tuple[str, float]]:
        """``next_word_distribution(context, prefix).top(k)``."""
        return self.next_word_distribution(context, prefix).top(k)

    def next_token_distribution(self, context: str | Sequence[str]) -> Distribution:
        """p(x | z1 z2) over the whole row, ``</s>`` included: c(z1, z2, x) / c(z1, z2). The Tables tab's slice
        and what generation samples; a pair never seen backs off to the bigram's row of z2.

        Example:
            >>> TrigramModel.from_text("to be. to go.", device="cpu").next_token_distribution("to be").top()
            [('</s>', 1.0)]
        """
        z1, z2 = self.condition(context)
        ids, counts = self._row(z1, z2)
        if len(ids):
            return self._distribution(ids, counts)
        shorter = self.shorter.next_token_distribution([z2])
        note = f"'{z1} {z2}' was never seen: showing the bigram's p(x | {z2})"
        return replace(shorter, note="; ".join(filter(None, [note, shorter.note])))

    def explain(self, context: str | Sequence[str], word: str, prefix: str = "") -> str:
        """The arithmetic behind ``next_word_distribution(context, prefix).prob(word)``, from the counts.

        Example:
            >>> print(TrigramModel.from_text("a b c. a b d. a b.", device="cpu").explain("a b", "c"))
            p(c | z = a b, a word comes next) = c(a b c) / (c(a b) - c(a b </s>)) = 1 / (3 - 1) = 50.0%
        """
        z1, z2 = self.condition(context)
        ids, counts, _ = self._words_only(*self._row(z1, z2), prefix)
        if not len(ids):
            note = self.next_word_distribution(context, prefix).note
            return f"{note}: {self.shorter.explain([z2], word, prefix)}"
        x = self.vocab.id(word)
        found = np.flatnonzero(ids == x) if x >= 0 else []
        c, total = (int(counts[found[0]]) if len(found) else 0), int(counts.sum())
        z = f"{z1} {z2}"
        if prefix:
            return (
                f"p({word} | z = {z}, the word starts with {prefix!r}) = c({z} {word}) / "
                f"c({z}, words starting with {prefix!r}) = {c:,} / {total:,} = {c / total:.1%}"
            )
        ended = self.count(z1, z2, EOS)
        return (
            f"p({word} | z = {z}, a word comes next) = c({z} {word}) / (c({z}) - c({z} {EOS})) = "
            f"{c:,} / ({total + ended:,} - {ended:,}) = {c / total:.1%}"
        )

    def smoothed_prob(self, x: str, z: tuple[str, str]) -> float:
        """p(x | z1 z2) for scoring text, never 0: Witten-Bell interpolation with the bigram's Kneser-Ney,
        (c(z1 z2 x) + T p_KN(x | z2)) / (c(z1 z2) + T), T the number of different words seen after z1 z2
        (a pair never seen gives p_KN(x | z2)). It sums to 1 over the outcomes, as p_KN does.

        Example:
            >>> m = TrigramModel.from_text("a b c. a b d. x b c.", device="cpu")
            >>> kn = m.shorter.kneser_ney.prob("c", "b")
            >>> m.smoothed_prob("c", ("a", "b")) == (1 + 2 * kn) / (2 + 2)  # c(a b c) = 1, c(a b) = 2, T = 2
            True
        """
        ids, counts = self._row(*z)
        backoff = self.shorter.kneser_ney.prob(x, z[1])
        if not len(ids):
            return backoff
        found = np.flatnonzero(ids == self.vocab.id(x))
        c = int(counts[found[0]]) if len(found) else 0
        return (c + len(ids) * backoff) / (int(counts.sum()) + len(ids))

    def word_log_probs(self, text: str, words: list[tuple[str, int]]) -> list[float]:
        """ln `smoothed_prob` of each (word, start offset) of `text` after its two words before: perplexity's."""
        return [math.log(self.smoothed_prob(word.lower(), last_words(text[:start], 2))) for word, start in words]
