"""`BigramModel`: the joint table p(x, z) of (previous word z, next word x) and what follows from it.

Every number is exact for its definition, derived from one sparse matrix of counts c(z, x)
(rows z, columns x) and its N = sum of all counts:

    p(x, z)   = c(z, x) / N                      the joint table
    p(z)      = sum_x c(z, x) / N                marginal of the first slot (the condition)
    p(x)      = sum_z c(z, x) / N                marginal of the second slot (the outcome)
    p(x | z)  = p(x, z) / p(z)                   a row of the joint table, renormalised
    p(z | x)  = p(x | z) p(z) / p(x)             Bayes' flip: a column, renormalised

Example (the seed's worked example):
    >>> pairs = [("graduated", "job")] * 4 + [("not", "job")] * 3 + [("not", "no job")] * 2 + [("graduated", "no job")]
    >>> m = BigramModel.from_pairs(pairs, device="cpu")
    >>> m.joint_prob(x="job", z="graduated"), m.cond_prob(x="job", z="graduated"), m.next_prob("job")
    (0.4, 0.8, 0.7)
    >>> round(m.bayes_prob(z="graduated", x="job"), 4)  # 0.4 / 0.7
    0.5714
"""

from __future__ import annotations

import functools
import logging
import math
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from lm.core import storage
from lm.core.checks import check_whole_number
from lm.core.devices import resolve_device
from lm.core.distribution import Distribution
from lm.core.tokenize import BOS, EOS, TOKEN_RE, last_word, normalise
from lm.core.vocabulary import Vocabulary
from lm.counting import corpus
from lm.counting.counted import CountedModel

log = logging.getLogger(__name__)

MAX_TIMES = 1_000_000  # `times * model` at most: counts stay far inside int64
FORMAT = "nextword-bigram-v1"  # bump when the file layout or the tokenizer's rules change


def count_pairs(prev_ids: np.ndarray, next_ids: np.ndarray, size: int) -> sp.csr_matrix:
    """The ``size x size`` matrix of pair counts: entry (z, x) = how often ``(z, x)`` occurs.

    Example:
        >>> count_pairs(np.array([0, 0, 1]), np.array([1, 1, 0]), 2).toarray().tolist()
        [[0, 2], [1, 0]]
    """
    codes, counts = np.unique(prev_ids * size + next_ids, return_counts=True)
    rows, cols = np.divmod(codes, size)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=size))))
    return sp.csr_matrix((counts.astype(np.int64), cols, indptr), shape=(size, size))


def word_stream(text: str | Iterable[str]) -> tuple[np.ndarray, list[str]]:
    """(codes, words): the text tokenized with `lm.core.tokenize` rules, each word as its index in `words`
    and -1 between sentences. What every counting model counts.

    Example:
        >>> codes, words = word_stream("The cat. The dog")
        >>> codes.tolist(), words
        ([0, 1, -1, 0, 2], ['the', 'cat', 'dog'])
    """
    texts = [text] if isinstance(text, str) else list(text)
    tokens = [word or end for word, end in TOKEN_RE.findall(normalise("\n\n".join(texts)))]
    codes, uniques = pd.factorize(np.array(tokens, dtype=object))
    is_end = np.array([token[0] in ".!?\n" for token in uniques], dtype=bool)  # ".", "?!", "\n\n"...
    word_code = np.cumsum(~is_end) - 1  # code among the words alone
    return np.where(is_end[codes], -1, word_code[codes]), uniques[~is_end].tolist()


def sentence_stream(sentences: Iterable[Sequence[str]]) -> tuple[np.ndarray, list[str]]:
    """(codes, words) of pre-tokenized sentences (words taken as given), as `word_stream` returns them.

    Example:
        >>> codes, words = sentence_stream([["the", "cat"], ["the"]])
        >>> codes.tolist(), words
        ([0, 1, -1, 0, -1], ['the', 'cat'])
    """
    stream = []
    for sentence in sentences:
        stream.extend(sentence)
        stream.append(None)
    codes, uniques = pd.factorize(np.array(stream, dtype=object))  # None -> -1
    return codes, uniques.tolist()


def _padded_pairs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (z, x) pairs of a token stream where -1 separates sentences.

    ``a b -1 c`` pads to ``<s> a b </s> <s> c </s>``, exactly the pairs of nltk's order-2 padding;
    in the result ``<s>`` is -2 and ``</s>`` is -1.

    Example:
        >>> [pairs.tolist() for pairs in _padded_pairs(np.array([0, 1, -1, 2]))]
        [[-2, 0, 1, -2, 2], [0, 1, -1, 2, -1]]
    """
    stream = np.concatenate(([-1], codes, [-1]))
    prev, next_ = stream[:-1], stream[1:]
    inside = (prev >= 0) | (next_ >= 0)  # drop (boundary, boundary): no empty sentences
    prev, next_ = prev[inside], next_[inside]
    return np.where(prev >= 0, prev, -2), next_


def most_frequent(counts: np.ndarray, top: int) -> np.ndarray:
    """The ids of the `top` largest non-zero counts, largest first (ties by id)."""
    order = np.argsort(-counts, kind="stable")[:top]
    return order[counts[order] > 0]


def _merged(a: Vocabulary, b: Vocabulary) -> Vocabulary:
    """The vocabulary of both: one of them when it holds the other's words (shared, not copied: a user's
    few words added to a corpus's keep the corpus's vocabulary)."""
    if all(word in a for word in b.words):
        return a
    if all(word in b for word in a.words):
        return b
    return Vocabulary([*a.words, *b.words])


class BigramModel(CountedModel):
    """Bigram counts over a vocabulary, with the exact probability tables derived from them.

    Notation: z is the previous word (the condition), x the next word. Sentences are padded
    ``<s> ... </s>``, so ``<s>`` is the z of a first word and ``</s>`` the x after a last word.

    Example:
        >>> m = BigramModel.from_text("the cat sat. the cat ran. the dog sat.", device="cpu")
        >>> m.next_word_distribution("the").top()  # c(the, cat) = 2 of c(the) = 3
        [('cat', 0.666...), ('dog', 0.333...)]
    """

    def __init__(self, vocab: Vocabulary, counts: sp.csr_matrix, device: str | torch.device = "auto"):
        if counts.shape != (len(vocab), len(vocab)):
            raise ValueError(f"`counts` must be {len(vocab)} x {len(vocab)}, but is {counts.shape}")
        self.vocab = vocab
        self.counts = counts  # (V, V) int64 CSR: rows z, columns x
        self.total = int(counts.sum())  # N, the number of pairs
        if self.total <= 0:
            raise ValueError("`counts` is empty: a bigram model needs at least one pair of words")
        self.prev_counts = np.asarray(counts.sum(axis=1)).ravel()  # c(z) = sum_x c(z, x)
        self.next_counts = np.asarray(counts.sum(axis=0)).ravel()  # c(x) = sum_z c(z, x)
        self._eos = vocab.id(EOS)  # -1 for tables counted without sentence markers (`from_pairs`)
        self.device = resolve_device(device)

    def __repr__(self) -> str:
        return f"BigramModel({len(self.vocab)} words, {self.counts.nnz} distinct pairs, {self.total} pairs)"

    # ---- counts add up ------------------------------------------------------------------------

    def __add__(self, other: "BigramModel") -> "BigramModel":
        """The model of the pooled counts: every pair counted in either, over both vocabularies.

        Counting two texts separately and adding is counting them together (as separate documents),
        which is how a corpus too big for one machine is counted: in shards, then summed.

        Example:
            >>> a = BigramModel.from_text("the cat sat.", device="cpu")
            >>> b = BigramModel.from_text("the dog.", device="cpu")
            >>> (a + b).count("the", "cat"), (a + b).count("the", "dog"), (a + b).cond_prob(x="dog", z="the")
            (1, 1, 0.5)
        """
        if not isinstance(other, BigramModel):
            return NotImplemented
        vocab = _merged(self.vocab, other.vocab)
        return BigramModel(vocab, self._counts_over(vocab) + other._counts_over(vocab), self.device)

    def __mul__(self, times: int) -> "BigramModel":
        """Every pair counted `times` times (a whole number >= 1): ``m + m`` is ``2 * m``, and ``w * yours``
        weighs your pairs as `w` pairs each.

        Example:
            >>> m = BigramModel.from_text("the cat.", device="cpu")
            >>> (3 * m).count("the", "cat"), (3 * m).cond_prob(x="cat", z="the")
            (3, 1.0)
        """
        if isinstance(times, bool) or not isinstance(times, int):
            return NotImplemented
        check_whole_number(times, "times", 1, MAX_TIMES)
        return BigramModel(self.vocab, self.counts * times, self.device)

    __rmul__ = __mul__

    def _counts_over(self, vocab: Vocabulary) -> sp.csr_matrix:
        """This model's counts with rows and columns renumbered into `vocab` (which holds all its words)."""
        if vocab is self.vocab:
            return self.counts
        new_id = vocab.ids(self.vocab.words)  # this vocabulary's id -> the merged one's
        rows = np.repeat(new_id, np.diff(self.counts.indptr))
        merged = sp.csr_matrix((self.counts.data, (rows, new_id[self.counts.indices])), shape=(len(vocab),) * 2)
        merged.sum_duplicates()
        return merged

    # ---- building -------------------------------------------------------------------------

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]], device="auto") -> "BigramModel":
        """Count raw ``(z, x)`` pairs as given: no tokenizing, no padding.

        Example:
            >>> BigramModel.from_pairs([("a", "b"), ("a", "c")], device="cpu").cond_prob(x="b", z="a")
            0.5
        """
        pairs = list(pairs)
        if not pairs:
            raise ValueError("`pairs` is empty: give at least one (previous, next) pair")
        vocab = Vocabulary(word for pair in pairs for word in pair)
        prev_ids, next_ids = (vocab.ids(column) for column in zip(*pairs))
        return cls(vocab, count_pairs(prev_ids, next_ids, len(vocab)), device)

    @classmethod
    def from_word_stream(cls, codes: np.ndarray, words: Sequence[str], device) -> "BigramModel":
        """Count a `word_stream`: token codes into `words`, with -1 between sentences; pads every sentence.

        Example:
            >>> BigramModel.from_word_stream(np.array([0, 1, -1, 0]), ["the", "cat"], device="cpu").count("the", "cat")
            1
        """
        if not (codes >= 0).any():
            raise ValueError("the text has no words: a bigram model needs at least one word")
        vocab = Vocabulary([*words, BOS, EOS])
        to_id = np.concatenate((vocab.ids(words), [vocab.id(BOS), vocab.id(EOS)]))  # codes -2, -1 index the end
        prev, next_ = _padded_pairs(codes)
        return cls(vocab, count_pairs(to_id[prev], to_id[next_], len(vocab)), device)

    @classmethod
    def from_sentences(cls, sentences: Iterable[Sequence[str]], device="auto") -> "BigramModel":
        """Count pre-tokenized sentences, each padded ``<s> ... </s>`` (words taken as given).

        Example:
            >>> m = BigramModel.from_sentences([["the", "cat"], ["the", "dog"]], device="cpu")
            >>> m.cond_prob(x="the", z="<s>"), m.cond_prob(x="</s>", z="cat")
            (1.0, 1.0)
        """
        return cls.from_word_stream(*sentence_stream(sentences), device)

    @classmethod
    def from_text(cls, text: str | Iterable[str], device="auto") -> "BigramModel":
        """Tokenize text (one string or several documents) with `lm.core.tokenize` rules and count it.

        Example:
            >>> BigramModel.from_text("Who's there? Nay, answer me.", device="cpu").cond_prob(x="there", z="who's")
            1.0
        """
        return cls.from_word_stream(*word_stream(text), device)

    @classmethod
    def from_corpus(cls, paths=None, device="auto", cache: bool = True) -> "BigramModel":
        """Build from a corpus (default: the Shakespeare plays, see `lm.counting.corpus`), cached on disk.

        The cache file is keyed by the corpus text itself, so editing a file rebuilds it; a corrupt
        cache file is rebuilt with a warning. `paths`: files, folders (recursive) or glob patterns.

        Example:
            >>> m = BigramModel.from_corpus(device="cpu")
            >>> m.next_word_distribution("good").top(1)[0][0]
            'lord'
        """
        documents = corpus.read_documents(paths)
        if not cache:
            return cls.from_text([doc.text for doc in documents], device)
        path = storage.cache_dir() / f"bigram-{storage.content_key([FORMAT, *(d.text for d in documents)])}.npz"
        for leftover in storage.remove_abandoned(path):
            log.warning("removed %s, left half-written by a start that was stopped", leftover)
        if path.exists():
            try:
                return cls.load(path, device)
            except ValueError as error:
                log.warning("rebuilding the bigram cache: %s", error)
        model = cls.from_text([doc.text for doc in documents], device)
        try:
            model.save(path)
        except OSError as error:  # a folder in the way, a read-only or full disk: serve it anyway, uncached
            log.warning(
                "could not write the bigram cache (%s: %s); it is built again at each start",
                type(error).__name__,
                error,
            )
        return model

    # ---- saving ---------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to an ``.npz`` file of plain arrays (atomically; no pickle)."""
        words, word_ends = storage.encode_strings(self.vocab.words)
        return storage.save_arrays(
            path,
            format=np.array(FORMAT),
            words=words,
            word_ends=word_ends,
            data=self.counts.data,
            indices=self.counts.indices,
            indptr=self.counts.indptr,
        )

    @classmethod
    def load(cls, path: str | os.PathLike, device="auto") -> "BigramModel":
        """Read a model written by `save`; raises ``ValueError`` naming the file if it is corrupt."""
        arrays = storage.load_arrays(path, ["format", "words", "word_ends", "data", "indices", "indptr"])
        if str(arrays["format"]) != FORMAT:
            raise ValueError(f"{str(path)!r} is not a {FORMAT} file (it says {str(arrays['format'])!r})")
        try:
            vocab = Vocabulary(storage.decode_strings(arrays["words"], arrays["word_ends"]))
            size = len(vocab)
            counts = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=(size, size))
            counts.check_format(full_check=True)
            if (counts.data <= 0).any():
                raise ValueError("counts must be positive")
        except (ValueError, UnicodeDecodeError, IndexError) as error:
            raise ValueError(f"{str(path)!r} is not a valid bigram model file ({error})") from None
        return cls(vocab, counts, device)

    # ---- probabilities of single events ---------------------------------------------------

    def count(self, prev: str, next: str) -> int:
        """c(z=prev, x=next): how often `next` followed `prev` (0 for unknown words)."""
        z, x = self.vocab.id(prev), self.vocab.id(next)
        if z < 0 or x < 0:
            return 0
        start, stop = self.counts.indptr[z], self.counts.indptr[z + 1]
        found = start + np.searchsorted(self.counts.indices[start:stop], x)
        return int(self.counts.data[found]) if found < stop and self.counts.indices[found] == x else 0

    def joint_prob(self, *, x: str, z: str) -> float:
        """p(x, z) = c(z, x) / N (keyword arguments: x is the next word, z the previous one)."""
        return self.count(z, x) / self.total

    def prev_prob(self, prev: str) -> float:
        """p(z=prev): how often `prev` is the first word of a pair."""
        z = self.vocab.id(prev)
        return float(self.prev_counts[z]) / self.total if z >= 0 else 0.0

    def next_prob(self, next: str) -> float:
        """p(x=next): how often `next` is the second word of a pair."""
        x = self.vocab.id(next)
        return float(self.next_counts[x]) / self.total if x >= 0 else 0.0

    def cond_prob(self, *, x: str, z: str) -> float:
        """p(x | z) = p(x, z) / p(z) = c(z, x) / c(z); 0.0 when z never came first.

        Keyword arguments, so the condition cannot be swapped with the outcome by accident. Computed
        from the counts, so the float is the exact ratio rounded once.
        """
        z_id = self.vocab.id(z)
        return self.count(z, x) / int(self.prev_counts[z_id]) if z_id >= 0 and self.prev_counts[z_id] else 0.0

    def bayes_prob(self, *, z: str, x: str) -> float:
        """p(z | x) = p(x | z) p(z) / p(x) = c(z, x) / c(x), Bayes' flip; 0.0 when x never came second.

        Keyword arguments, as `cond_prob`. Computed from the counts, so the float is the exact ratio rounded once.
        """
        x_id = self.vocab.id(x)
        return self.count(z, x) / int(self.next_counts[x_id]) if x_id >= 0 and self.next_counts[x_id] else 0.0

    # ---- tables and distributions ---------------------------------------------------------

    def joint_table(self, words: Sequence[str] | None = None, top: int = 20) -> pd.DataFrame:
        """The joint table p(x, z) as a DataFrame: rows z (previous), columns x (next).

        With `words`, rows and columns are those words (unknown ones are all zeros); otherwise the
        `top` most likely z by p(z) and the `top` most likely x by p(x).

        Example:
            >>> m = BigramModel.from_pairs([("a", "b")] * 3 + [("b", "a")], device="cpu")
            >>> m.joint_table().values.tolist()  # rows z = a, b; columns x = b, a
            [[0.75, 0.0], [0.0, 0.25]]
        """
        if words is None:
            if isinstance(top, bool) or not isinstance(top, int) or top < 1:
                raise ValueError(f"`top` has to be a positive integer, but is {top!r}")
            rows, cols = (most_frequent(marginal, top) for marginal in (self.prev_counts, self.next_counts))
            row_words, col_words = self.vocab.words_at(rows), self.vocab.words_at(cols)
        else:
            row_words = col_words = list(words)
        rows, cols = self.vocab.ids(row_words), self.vocab.ids(col_words)
        table = np.zeros((len(rows), len(cols)))
        known_rows, known_cols = np.flatnonzero(rows >= 0), np.flatnonzero(cols >= 0)
        table[np.ix_(known_rows, known_cols)] = (
            self.counts[rows[known_rows]][:, cols[known_cols]].toarray() / self.total
        )
        frame = pd.DataFrame(
            table, index=pd.Index(row_words, name="z (previous)"), columns=pd.Index(col_words, name="x (next)")
        )
        return frame

    def _condition(self, context: str | Sequence[str]) -> str:
        """z for a context: the last word of a string (``<s>`` at a sentence start), or of a token list."""
        if isinstance(context, str):
            return last_word(context)
        return context[-1] if len(context) else BOS

    def _row(self, prev: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids of x, c(z, x)) for z = `prev`: the row of the count table, ``</s>`` included (empty if unknown)."""
        z = self.vocab.id(prev)
        start, stop = (self.counts.indptr[z], self.counts.indptr[z + 1]) if z >= 0 else (0, 0)
        return self.counts.indices[start:stop], self.counts.data[start:stop]

    def _marginal(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids of x, c(x)) for every x that ever came second, ``</s>`` included: the fallback row."""
        seen = np.flatnonzero(self.next_counts)
        return seen, self.next_counts[seen]

    def _next_counts(self, context, prefix: str) -> tuple[np.ndarray, np.ndarray, str, float | None]:
        """(ids of x, c(z, x), note, p(no word next | z)) for the context's z: the row without ``</s>``,
        restricted to `prefix`. The one place the sentence end is left out of a next-word question."""
        prev = self._condition(context)
        row_ids, row_counts = self._row(prev)
        ids, counts, no_word = self._words_only(row_ids, row_counts, prefix)
        if len(ids):
            return ids, counts, "", no_word
        if self.vocab.id(prev) < 0:
            reason = "is not in the corpus"
        elif not (row_ids != self._eos).any():
            reason = "was never followed by a word"
        else:
            reason = f"was never followed by a word starting with {prefix!r}"
        ids, counts, no_word = self._words_only(*self._marginal(), prefix)
        return ids, counts, f"{prev!r} {reason}: showing p(x), how often each word comes second", no_word

    def next_word_distribution(self, context: str | Sequence[str], prefix: str = "") -> Distribution:
        """p(x | z, x is a word) for z = the context's last word: the row of z without ``</s>``, renormalised,
        c(z, x) / (c(z) - c(z, </s>)); with `prefix`, only the words starting with it, renormalised.

        ``no_word`` is c(z, </s>) / c(z): how often a sentence ended after z instead. Falls back to the
        marginal p(x) (noted in ``Distribution.note``) when z is unknown or was never followed by a
        matching word; an empty context or one ending a sentence uses z = ``<s>``. May be empty.

        Example:
            >>> m = BigramModel.from_text("the war. the way. the peace. the.", device="cpu")
            >>> m.next_word_distribution("the", prefix="wa").top()
            [('war', 0.5), ('way', 0.5)]
            >>> d = m.next_word_distribution("the")  # c(the, </s>) = 1 of c(the) = 4
            >>> d.prob("war"), d.no_word
            (0.333..., 0.25)
        """
        ids, counts, note, no_word = self._next_counts(context, prefix)
        return self._distribution(ids, counts, note, no_word)

    def next_token_distribution(self, context: str | Sequence[str]) -> Distribution:
        """p(x | z) over every x of z's row of the joint table, ``</s>`` included: c(z, x) / c(z).

        What the Tables tab shows and what generation samples from (``</s>`` ends a sentence).
        Falls back to the marginal p(x) when z was never first in a pair.

        Example:
            >>> BigramModel.from_text("the war. the.", device="cpu").next_token_distribution("the").top()
            [('</s>', 0.5), ('war', 0.5)]
        """
        prev = self._condition(context)
        ids, counts = self._row(prev)
        if len(ids):
            return self._distribution(ids, counts)
        return self._distribution(*self._marginal(), f"{prev!r} was never first in a pair: showing p(x)")

    def top_next_words(self, context: str | Sequence[str], k: int = 3, prefix: str = "") -> list[tuple[str, float]]:
        """The same numbers as ``next_word_distribution(context, prefix).top(k)``, without building it.

        This is the keyboard's per-keystroke path; ties are broken alphabetically.

        Example:
            >>> BigramModel.from_text("a b. a c. a b.", device="cpu").top_next_words("a", k=1)
            [('b', 0.666...)]
        """
        ids, counts, _, _ = self._next_counts(context, prefix)
        total = counts.sum()
        if len(ids) > k > 0:
            best = np.argpartition(-counts, k - 1)[:k]
            ids, counts = ids[best], counts[best]
        order = np.lexsort((ids, -counts))[:k]
        return [
            (word, count / int(total)) for word, count in zip(self.vocab.words_at(ids[order]), counts[order].tolist())
        ]

    def explain(self, context: str | Sequence[str], word: str, prefix: str = "") -> str:
        """The arithmetic behind ``next_word_distribution(context, prefix).prob(word)``, from the counts.

        Example:
            >>> m = BigramModel.from_text("my lord. my lord. my good lord. my.", device="cpu")
            >>> print(m.explain("my", "lord"))
            p(lord | z = my, a word comes next) = c(my, lord) / (c(my) - c(my, </s>)) = 2 / (4 - 1) = 66.7%
        """
        prev = self._condition(context)
        ids, counts, note, _ = self._next_counts(context, prefix)
        x = self.vocab.id(word)
        found = np.flatnonzero(ids == x) if x >= 0 else []
        c, total = (int(counts[found[0]]) if len(found) else 0), int(counts.sum())
        p = f"{c / total:.1%}" if total else "undefined (no word matches)"
        if note:
            starting = f" starting with {prefix!r}" if prefix else ""
            return f"{note}: p({word}) = c({word} second) / c(words second{starting}) = {c:,} / {total:,} = {p}"
        if prefix:
            return (
                f"p({word} | z = {prev}, the word starts with {prefix!r}) = c({prev}, {word}) / "
                f"c({prev}, words starting with {prefix!r}) = {c:,} / {total:,} = {p}"
            )
        ended = self.count(prev, EOS)
        return (
            f"p({word} | z = {prev}, a word comes next) = c({prev}, {word}) / (c({prev}) - c({prev}, {EOS})) = "
            f"{c:,} / ({total + ended:,} - {ended:,}) = {p}"
        )

    def word_log_probs(self, text: str, words: list[tuple[str, int]]) -> list[float]:
        """ln p(word | the word before it) for each (word, start offset) of `text`, smoothed by interpolated
        Kneser-Ney (`lm.counting.smoothing`), so an unseen pair is not impossible: what perplexity reads.

        Example:
            >>> m = BigramModel.from_text("the cat sat. the dog sat.", device="cpu")
            >>> [round(lp, 2) for lp in m.word_log_probs("the cat", [("the", 0), ("cat", 4)])]
            [-0.39, -1.45]
        """
        return [math.log(self.kneser_ney.prob(word.lower(), last_word(text[:start]))) for word, start in words]

    @functools.cached_property
    def kneser_ney(self):
        """This model's counts smoothed by interpolated Kneser-Ney (`lm.counting.smoothing.KneserNey`)."""
        from lm.counting.smoothing import KneserNey  # smoothing reads a BigramModel: imported when first needed

        return KneserNey(self)

    def prev_word_distribution(self, next: str) -> Distribution:
        """p(z | x=next), Bayes' flip: which words come before `next` (a column, renormalised).

        Each value is c(z, x) / c(x), which equals p(x | z) p(z) / p(x). Empty if `next` is unknown.

        Example:
            >>> BigramModel.from_text("the cat. a cat. the dog.", device="cpu").prev_word_distribution("cat").top()
            [('a', 0.5), ('the', 0.5)]
        """
        x = self.vocab.id(next)
        if x < 0 or self.next_counts[x] == 0:
            return self._distribution(np.zeros(0, dtype=np.int64), np.zeros(0), f"{next!r} never comes second")
        column = self.counts[:, [x]].tocoo()
        return self._distribution(column.row, column.data.astype(np.float64))
