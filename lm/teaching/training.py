"""The bigram table, learned by gradient descent: a one-layer network that reaches the counted table.

As in makemore's bigram lesson, but over words. Keep the N most frequent words and map every other
word to one word, `OTHER`; call the N + 1 of them the outcomes. Then

    one_hot(z) (N + 1,) -> logits = one_hot(z) @ W = W[z] (N + 1,) -> softmax -> p(x | z)

with W an (N + 1) x (N + 1) matrix of weights, trained to lower the mean negative log-likelihood
(NLL) of the corpus pairs, -1/P sum_i log p(x_i | z_i) over its P pairs (z_i, x_i).

Training on every pair at once (full batch) is exact and fast in the weighted form: a pair that
occurs C[z, x] times adds C[z, x] equal terms, so

    mean NLL = -sum_{z, x} C[z, x] log softmax(W[z])[x] / sum C

which is one pass over every pair, computed from the (N + 1) x (N + 1) count matrix C instead of
the P pairs (the logits of every z at once are W itself). Its minimum is the counted table: for
each z the best row is softmax(W[z]) = C[z] / sum_x C[z, x], so no network beats the table's own
mean NLL (`BigramNetworkFit.table_nll`); it only reaches it in the limit (a pair never counted
needs a logit of -inf), so the loss stays above it.

The optimizer is Adam. Plain gradient descent (makemore's choice) moves each row z in proportion
to p(z), so the rows of rare words barely move: on the Shakespeare model with the default settings,
300 steps of it at learning rates 10, 50 (makemore's) and 200 left the loss 17 % or more above the
table. Adam scales each weight's step by its own gradient's size, and reaches the table to 0.01 % in
300 steps at `LEARNING_RATE` (the loss may rise for a step or two early on, then falls).

How long a step takes, with the default 200 words and with 1,000, is measured by `bench/bench_learning.py`
(figures in `bench/results/learning.json`, quoted in the README). A busy CPU can make it many times slower
(torch's threads wait for each other).

Example:
    >>> from lm import BigramModel
    >>> m = BigramModel.from_text("the cat sat. the cat ran. the dog sat.", device="cpu")
    >>> fit = fit_bigram_network(m, words=10, steps=300)
    >>> round(fit.table_nll, 4)  # (2 log 3/2 + log 3 + 2 log 2) / 12 pairs: the "the" and "cat" rows
    0.2747
    >>> round(fit.losses[0], 2), round(fit.losses[-1], 4)  # from the random start down to the table
    (2.11, 0.275)
    >>> fit.next_word_distribution("the").top(2)  # the counted row: c(the, cat) = 2 of 3, c(the, dog) = 1
    [('cat', 0.666...), ('dog', 0.333...)]
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from lm.core.checks import check_whole_number, check_word
from lm.core.distribution import OTHER, Distribution
from lm.core.sampling import make_generator
from lm.counting.bigram import BigramModel, most_frequent

MAX_WORDS = 1000  # words the network keeps at most: 1001 x 1001 weights (`bench/results/learning.json`: ms a step)
MAX_STEPS = 2000  # steps one fit may take at most: with MAX_WORDS, about 7 s on that CPU
LEARNING_RATE = 0.3  # Adam's; from a random start the default fit is within 0.01 % of the table in 300 steps


# ---- the data: the count matrix of the kept words ------------------------------------------------


def kept_words(model: BigramModel, words: int) -> np.ndarray:
    """The ids of the `words` most frequent words, in vocabulary (alphabetical) order.

    A word's frequency is how often it occurs: max(c(w first), c(w second)). For a word in a padded
    sentence the two are equal (every word has a word or marker on each side); the sentence markers
    occur once a sentence each, ``<s>`` only first and ``</s>`` only second. So the markers are kept
    as ordinary words when they are that frequent: ``<s>`` a condition z, ``</s>`` an outcome x.
    Ties go to the word first in the vocabulary.

    Example:
        >>> m = BigramModel.from_text("the cat sat. the cat ran. the dog sat.", device="cpu")
        >>> m.vocab.words_at(kept_words(m, 4))  # the, <s>, </s> 3 times each; cat 2, before sat 2
        ['</s>', '<s>', 'cat', 'the']
    """
    return np.sort(most_frequent(np.maximum(model.prev_counts, model.next_counts), words))


def merged_counts(model: BigramModel, kept: np.ndarray) -> torch.Tensor:
    """(N + 1, N + 1) float64 pair counts C[z, x] over the `kept` ids in order, every other word merged
    into row and column N (`OTHER`).

    Example:
        >>> m = BigramModel.from_text("the cat sat. the cat ran. the dog sat.", device="cpu")
        >>> merged_counts(m, kept_words(m, 3)).tolist()  # rows z, columns x: </s>, <s>, the, OTHER
        [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0], [0.0, 0.0, 0.0, 3.0], [3.0, 0.0, 0.0, 3.0]]
    """
    size = len(kept) + 1
    outcome = np.full(len(model.vocab), size - 1)  # vocabulary id -> outcome: kept words 0..N-1, the rest N
    outcome[kept] = np.arange(len(kept))
    pairs = model.counts.tocoo()
    merged = sp.coo_matrix((pairs.data, (outcome[pairs.row], outcome[pairs.col])), shape=(size, size))
    return torch.from_numpy(merged.toarray().astype(np.float64))  # duplicates summed: the merged words' counts


def table_nll(counts: torch.Tensor) -> float:
    """The counted table's own mean NLL: -sum C log(C / rowsum) / sum C, with 0 log 0 = 0.

    The lowest mean NLL any row-wise p(x | z) can have on these pairs, so the floor of the training loss.

    Example:
        >>> table_nll(torch.tensor([[3.0, 1.0], [0.0, 2.0]]))  # -(3 log 3/4 + log 1/4 + 2 log 1) / 6
        0.3748...
    """
    rows = counts.sum(dim=1, keepdim=True)
    logp = torch.where(counts > 0, (counts / rows.clamp(min=1)).log(), 0.0)  # rows with no counts add nothing
    return float(-(counts * logp).sum() / counts.sum())


# ---- the network and its training ----------------------------------------------------------------


def train(counts: torch.Tensor, steps: int, seed: int, device: torch.device) -> tuple[torch.Tensor, list[float]]:
    """W trained by `steps` full-batch Adam steps on the weighted mean NLL of `counts`, on `device`;
    returns W (float32) and the mean NLL at each step (before that step's update).

    W starts as seeded standard normal numbers drawn on the CPU, so every device starts from the same W.
    """
    size = counts.shape[0]
    start = torch.randn(size, size, generator=make_generator(seed, "cpu"))  # (N + 1, N + 1), makemore's start
    weights = start.to(device).requires_grad_()
    share = (counts / counts.sum()).to(device, torch.float32)  # (N + 1, N + 1): each pair's share of all pairs
    optimizer = torch.optim.Adam([weights], lr=LEARNING_RATE)
    losses = []
    for _ in range(steps):
        loss = -(share * torch.log_softmax(weights, dim=1)).sum()  # logits of every z at once: W itself
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())  # kept on the device: no wait for the GPU inside the loop
    return weights.detach(), torch.stack(losses).tolist()


@dataclass(frozen=True)
class BigramNetworkFit:
    """A trained one-layer bigram network beside the counted table it learns, over the same outcomes.

    The outcomes are `words` (in that order, index 0..N-1) and `OTHER` (index N), both as conditions z
    and as outcomes x. A z that is not one of `words` reads the row of `OTHER`.
    """

    words: list[str]  # the N kept words, in vocabulary order
    counts: torch.Tensor  # (N + 1, N + 1) float64 pair counts C[z, x], `OTHER` last, on the device
    weights: torch.Tensor  # (N + 1, N + 1) float32 learned W: row z holds the logits of every x
    losses: list[float]  # the mean NLL at each step, before its update
    table_nll: float  # the counted table's mean NLL on the same pairs: the floor of `losses`
    seconds: float  # how long training took

    @property
    def device(self) -> torch.device:
        return self.weights.device

    def _row(self, z) -> tuple[int, str]:
        """The row index of z and, when it is not z's own row, a note saying whose row it is."""
        z = check_word(z, "z")
        found = bisect.bisect_left(self.words, z)
        if found < len(self.words) and self.words[found] == z:
            return found, ""
        if z == OTHER:
            return len(self.words), ""
        return len(self.words), f"{z!r} is not one of the {len(self.words)} kept words: the row of {OTHER!r}"

    def _as_distribution(self, probs: torch.Tensor, note: str) -> Distribution:
        """(N + 1,) probabilities as a `Distribution`: the kept words listed, `OTHER`'s share as `other`."""
        return Distribution(self.words, probs[:-1], note, other=float(probs[-1]))

    def next_word_distribution(self, z: str) -> Distribution:
        """The learned p(x | z) = softmax(W[z]) over the N + 1 outcomes, ``</s>`` and `OTHER` included,
        float64 on the device. A z never counted first (``</s>``) keeps its random starting row, noted.

        Example:
            >>> m = BigramModel.from_text("the cat sat. the cat ran. the dog sat.", device="cpu")
            >>> d = fit_bigram_network(m, words=3, steps=300).next_word_distribution("cat")
            >>> d.note, round(d.prob("</s>"), 2), round(d.other, 2)  # OTHER: cat, sat, ran, dog
            ("'cat' is not one of the 3 kept words: the row of '(other words)'", 0.5, 0.5)
        """
        row, note = self._row(z)
        if not self.counts[row].any():
            note = f"{z!r} never comes first in the counted pairs: its row was never trained (the random start)"
        return self._as_distribution(torch.softmax(self.weights[row].double(), dim=0), note)

    def counted_distribution(self, z: str) -> Distribution:
        """The counted p(x | z) = C[z, x] / sum_x C[z, x] over the same N + 1 outcomes, float64 on the device.

        Example:
            >>> m = BigramModel.from_text("the cat sat. the cat ran. the dog sat.", device="cpu")
            >>> fit_bigram_network(m, words=3, steps=1).counted_distribution("<s>").top(1)  # c(<s>, the) = 3 of 3
            [('the', 1.0)]
        """
        row, note = self._row(z)
        counts = self.counts[row]
        if not counts.any():
            raise ValueError(f"`z` = {z!r} never comes first in the counted pairs, so p(x | z) is undefined (0 / 0)")
        return self._as_distribution(counts / counts.sum(), note)


def fit_bigram_network(model: BigramModel, words: int = 200, steps: int = 300, seed: int = 0) -> BigramNetworkFit:
    """Train the one-layer bigram network on `model`'s pairs over its `words` most frequent words (all
    of them when it has fewer; `kept_words` says how the markers count), for `steps` full-batch Adam
    steps from a start seeded by `seed`, on the model's device (the GPU when it was loaded there).

    Example:
        >>> m = BigramModel.from_text("the cat sat. the cat ran. the dog sat.", device="cpu")
        >>> fit = fit_bigram_network(m, words=10, steps=300, seed=1)
        >>> fit.words, len(fit.losses)
        (['</s>', '<s>', 'cat', 'dog', 'ran', 'sat', 'the'], 300)
        >>> fit.losses[-1] > fit.table_nll  # above the floor, but only just
        True
    """
    words = check_whole_number(words, "words", 2, MAX_WORDS, "the most frequent words kept")
    steps = check_whole_number(steps, "steps", 1, MAX_STEPS, "gradient descent steps")
    kept = kept_words(model, words)
    counts = merged_counts(model, kept)
    started = time.perf_counter()
    weights, losses = train(counts, steps, seed, model.device)  # `losses` comes back once the device is done
    seconds = time.perf_counter() - started
    return BigramNetworkFit(
        model.vocab.words_at(kept), counts.to(model.device), weights, losses, table_nll(counts), seconds
    )
