"""Smoothed conditionals: hand-worked values, and every context sums to 1."""

import math

import numpy as np
import pytest

from lm import MLE, AddK, BigramModel, KneserNey, smoothing
from lm.counting.smoothing import UNK

# pairs: (a, b) x2, (a, c), (b, a), (c, a); vocabulary {a, b, c}, no <s>, so X = {a, b, c, <UNK>}
PAIRS = [("a", "b"), ("a", "b"), ("a", "c"), ("b", "a"), ("c", "a")]


@pytest.fixture(scope="module")
def model():
    return BigramModel.from_pairs(PAIRS, device="cpu")


def test_mle_is_the_table(model):
    assert MLE(model).prob("b", "a") == model.cond_prob(x="b", z="a") == pytest.approx(2 / 3)
    assert MLE(model).prob("zebra", "a") == 0.0


def test_add_k_by_hand(model):
    # (c(a, b) + k) / (c(a) + k |X|) = (2 + 0.5) / (3 + 0.5 * 4)
    assert AddK(model, k=0.5).prob("b", "a") == pytest.approx(2.5 / 5)
    assert AddK(model, k=0.5).prob("zebra", "a") == pytest.approx(0.5 / 5)
    assert AddK(model, k=0.5).prob("a", "never-seen") == pytest.approx(1 / 4)


def test_kneser_ney_by_hand(model):
    d = 0.75
    # N1+(. .) = 4 distinct pairs; N1+(. a) = 2 (b, c), N1+(. b) = 1, N1+(. c) = 1; 3 word types follow something
    uniform = 1 / 4
    p_cont = {
        "a": (2 - d) / 4 + d * 3 / 4 * uniform,
        "b": (1 - d) / 4 + d * 3 / 4 * uniform,
        "c": (1 - d) / 4 + d * 3 / 4 * uniform,
        UNK: d * 3 / 4 * uniform,
    }
    assert sum(p_cont.values()) == pytest.approx(1.0)
    # z = a: c(a) = 3, N1+(a .) = 2 (b, c); p(b | a) = (2 - d) / 3 + d * 2 / 3 * p_cont(b)
    kn = KneserNey(model, discount=d)
    assert kn.prob("b", "a") == pytest.approx((2 - d) / 3 + d * 2 / 3 * p_cont["b"])
    assert kn.prob("a", "a") == pytest.approx(d * 2 / 3 * p_cont["a"])
    assert kn.prob("zebra", "a") == pytest.approx(d * 2 / 3 * p_cont[UNK])
    assert kn.prob("b", "never-seen") == pytest.approx(p_cont["b"])


@pytest.mark.parametrize("make", [lambda m: AddK(m, k=0.1), lambda m: KneserNey(m), lambda m: KneserNey(m, 1.0)])
def test_smoothed_rows_sum_to_one_for_every_context(make, shakespeare):
    smoother = make(shakespeare)
    contexts = [shakespeare.vocab.id(w) for w in ["<s>", "the", "lord", "hamlet", "zounds"]] + [-1]
    contexts += list(range(0, len(shakespeare.vocab), 997))
    for z in contexts:
        row = smoother.row(z)
        assert row.sum() == pytest.approx(1.0, abs=1e-9)
        assert (row >= 0).all() and row[shakespeare.vocab.id("<s>")] == 0.0


def test_perplexity_is_exp_of_minus_mean_log_prob(model):
    kn = KneserNey(model)
    sequence = [["a", "b"], ["c", "zebra"]]
    # padded pairs: (<s>, a) (a, b) (b, </s>) (<s>, c) (c, zebra) (zebra, </s>): <s>, </s> unseen here
    pairs = [("<s>", "a"), ("a", "b"), ("b", "</s>"), ("<s>", "c"), ("c", "zebra"), ("zebra", "</s>")]
    expected = math.exp(-np.mean([math.log(kn.prob(x, z)) for z, x in pairs]))
    assert kn.perplexity(sequence) == pytest.approx(expected)


def test_mle_perplexity_is_infinite_on_unseen_pairs(shakespeare):
    assert MLE(shakespeare).perplexity("the gigabyte") == math.inf
    assert math.isfinite(KneserNey(shakespeare).perplexity("the gigabyte"))


def test_smoothing_factory_and_validation(model):
    assert isinstance(smoothing(model, "add-k", k=2), AddK)
    with pytest.raises(ValueError, match="`name`"):
        smoothing(model, "witten-bell")
    with pytest.raises(ValueError, match="`discount`"):
        KneserNey(model, discount=1.5)
    with pytest.raises(ValueError, match="`k`"):
        AddK(model, k=0)
