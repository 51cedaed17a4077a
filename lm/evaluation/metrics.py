"""The evaluation's metrics, as plain functions of ranks, log-probabilities, key counts and
distributions (see `lm.evaluation.evaluate` for how they are gathered)."""

from __future__ import annotations

import math
import sys
from typing import Sequence

import numpy as np


def recall_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Share of positions whose true word ranked within the first `k` (None = not suggested).

    Example:
        >>> recall_at_k([1, 2, None, 4], 3)
        0.5
    """
    return sum(rank is not None and rank <= k for rank in ranks) / len(ranks) if ranks else 0.0


def perplexity(log_probs: Sequence[float]) -> float:
    """exp(-mean of natural-log probabilities); inf if any probability is 0 or the result is past a float's
    range (one long non-word can have p = 1e-400).

    Example:
        >>> perplexity([math.log(0.5), math.log(0.125)])  # exp(-(ln 1/2 + ln 1/8) / 2) = 4
        4.0
        >>> perplexity([-1000.0])
        inf
    """
    if len(log_probs) == 0:
        raise ValueError("`log_probs` is empty: no words to score")
    mean_surprise = -float(np.mean(log_probs))
    return math.exp(mean_surprise) if mean_surprise < math.log(sys.float_info.max) else math.inf


def keystroke_savings(costs: Sequence[int], words: Sequence[str]) -> float:
    """1 - (keys spent with prediction) / (keys without: each word's length + 1 for the space).

    Example:
        >>> keystroke_savings([1, 4], ["the", "cat"])  # 1 - (1 + 4) / (4 + 4)
        0.375
    """
    without = sum(len(word) + 1 for word in words)
    return 1.0 - sum(costs) / without if without else 0.0


def js_divergence(p: dict[str, float], q: dict[str, float]) -> float:
    """Jensen-Shannon divergence (nats) of two distributions over the union of their words, each renormalised.

    Example:
        >>> disjoint = js_divergence({"a": 1.0}, {"b": 1.0})
        >>> js_divergence({"a": 1.0}, {"a": 2.0}), round(disjoint, 6) == round(math.log(2), 6)
        (0.0, True)
    """
    words = sorted(set(p) | set(q))
    a = np.array([p.get(w, 0.0) for w in words], dtype=float)
    b = np.array([q.get(w, 0.0) for w in words], dtype=float)
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(x):
        keep = x > 0
        return float(np.sum(x[keep] * np.log(x[keep] / m[keep])))

    return 0.5 * kl(a) + 0.5 * kl(b)
