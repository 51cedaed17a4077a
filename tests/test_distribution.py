"""`Distribution`: top, filtering, warping and sampling over words."""

import pytest
import torch

from lm import Distribution


def make(words_and_probs):
    words, probs = zip(*words_and_probs)
    return Distribution(list(words), torch.tensor(probs, dtype=torch.float64))


def test_top_is_sorted_and_cut_at_k():
    d = make([("a", 0.1), ("b", 0.6), ("c", 0.3)])
    assert d.top(2) == [("b", 0.6), ("c", 0.3)]
    assert d.top(10) == [("b", 0.6), ("c", 0.3), ("a", 0.1)]
    assert d.top(0) == []


def test_prob_of_listed_and_unlisted_words():
    d = make([("a", 0.25), ("b", 0.75)])
    assert d.prob("b") == 0.75 and d.prob("zebra") == 0.0


def test_other_words_are_one_outcome_so_warping_at_the_defaults_changes_nothing():
    from lm.core.distribution import OTHER

    d = Distribution(["for", "to"], torch.tensor([0.5, 0.2], dtype=torch.float64), other=0.3, no_word=0.4)
    assert d.outcomes() == [("for", 0.5), ("to", 0.2), (OTHER, 0.3)]  # the listed words, then the rest
    assert [p for _, p in d.warp().outcomes()] == pytest.approx([0.5, 0.2, 0.3], abs=1e-12)
    # top-k 2 keeps "for" (0.5) and the other words (0.3): 0.5 / 0.8 and 0.3 / 0.8
    assert d.warp(top_k=2).outcomes() == [("for", pytest.approx(0.625)), ("to", 0.0), (OTHER, pytest.approx(0.375))]
    draws = d.sample(4000, seed=0)
    assert draws.count(OTHER) / 4000 == pytest.approx(0.3, abs=0.03)
    assert d.sample_word(seed=0) in {"for", "to"} and d.warp().no_word == 0.4


def test_warp_uses_the_shared_warp_function():
    d = make([("a", 0.5), ("b", 0.3), ("c", 0.2)])
    assert d.warp(top_k=1).top() == [("a", 1.0), ("b", 0.0), ("c", 0.0)]
    sharpened = d.warp(temperature=0.5)
    # temperature 0.5 squares the probabilities before renormalising: 0.25 / 0.38
    assert sharpened.prob("a") == pytest.approx(0.25 / 0.38)


def test_warp_renormalises_a_distribution_that_sums_to_less_than_one():
    d = make([("a", 0.3), ("b", 0.1)])  # the rest of the mass was not enumerated
    assert d.warp().prob("a") == pytest.approx(0.75)


def test_sample_is_reproducible_and_follows_the_warped_probabilities():
    d = make([("a", 0.5), ("b", 0.3), ("c", 0.2)])
    draws = d.sample(20_000, top_k=2, seed=3)
    assert draws == d.sample(20_000, top_k=2, seed=3)
    assert "c" not in draws  # top-k = 2 removed it
    assert draws.count("a") / len(draws) == pytest.approx(0.5 / 0.8, abs=0.02)


def test_sampling_an_empty_distribution_says_why():
    empty = Distribution([], torch.zeros(0, dtype=torch.float64))
    assert empty.top(3) == []
    with pytest.raises(ValueError, match="empty"):
        empty.sample()


def test_probs_must_match_words():
    with pytest.raises(ValueError, match="`probs`"):
        Distribution(["a", "b"], torch.tensor([1.0]))


def test_bad_sampling_arguments_are_named():
    d = make([("a", 1.0)])
    with pytest.raises(ValueError, match="`temperature`"):
        d.sample(temperature=-1)
    with pytest.raises(ValueError, match="`n`"):
        d.sample(0)
