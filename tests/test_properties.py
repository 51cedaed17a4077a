"""Property tests: the sampling path and the bigram tables hold their laws for any input."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lm import BigramModel, Distribution, KneserNey
from lm.core.sampling import warp

finite_logits = st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=40)
temperatures = st.one_of(st.just(0.0), st.floats(0.05, 10.0))
top_ks = st.integers(0, 50)
top_ps = st.floats(0.01, 1.0)


@given(finite_logits, temperatures, top_ks, top_ps)
@settings(max_examples=200, deadline=None)
def test_warp_gives_a_distribution(values, temperature, top_k, top_p):
    logits = torch.tensor(values, dtype=torch.float64)
    probs = warp(logits, temperature, top_k, top_p)
    assert torch.isfinite(probs).all() and (probs >= 0).all()
    assert float(probs.sum()) == pytest.approx(1.0, abs=1e-9)
    if top_k:
        kth = torch.sort(logits, descending=True).values[min(top_k, len(values)) - 1]
        assert int((probs > 0).sum()) <= int((logits >= kth).sum())  # at most k, plus ties with the k-th


@given(finite_logits, temperatures, top_ks, top_ps, st.integers(0, 2**31 - 1))
@settings(max_examples=100, deadline=None)
def test_sampling_never_draws_an_impossible_word(values, temperature, top_k, top_p, seed):
    probs = torch.softmax(torch.tensor(values, dtype=torch.float64), -1)
    d = Distribution([f"w{i}" for i in range(len(values))], probs)
    warped = d.warp(temperature, top_k, top_p)
    for word in d.sample(20, temperature, top_k, top_p, seed):
        assert warped.prob(word) > 0


words = st.sampled_from(["a", "b", "c", "d", "e"])


@given(st.lists(st.tuples(words, words), min_size=1, max_size=60))
@settings(max_examples=100, deadline=None)
def test_bayes_identity_on_random_corpora(pairs):
    m = BigramModel.from_pairs(pairs, device="cpu")
    for z in m.vocab.words:
        assert sum(m.cond_prob(x=x, z=z) for x in m.vocab.words) == pytest.approx(1.0 if m.prev_prob(z) else 0.0)
        for x in m.vocab.words:
            joint = m.joint_prob(x=x, z=z)
            assert m.cond_prob(x=x, z=z) * m.prev_prob(z) == pytest.approx(joint, abs=1e-15)
            assert m.bayes_prob(z=z, x=x) * m.next_prob(x) == pytest.approx(joint, abs=1e-15)
    assert float(np.sum(m.joint_table(top=10).values)) == pytest.approx(1.0)


@given(st.lists(st.lists(words, min_size=1, max_size=8), min_size=1, max_size=20), st.floats(0.1, 1.0))
@settings(max_examples=60, deadline=None)
def test_kneser_ney_sums_to_one_for_every_context(sentences, discount):
    m = BigramModel.from_sentences(sentences, device="cpu")
    kn = KneserNey(m, discount)
    for z in [-1, *range(len(m.vocab))]:
        row = kn.row(z)
        assert (row >= 0).all() and math.isclose(row.sum(), 1.0, abs_tol=1e-9)


@given(st.text(max_size=200), st.text(max_size=5))
@settings(max_examples=200, deadline=None)
def test_bigram_distribution_never_fails_on_any_text(context, prefix):
    m = BigramModel.from_text("the cat sat. the dog ran. a cat ran!", device="cpu")
    d = m.next_word_distribution(context, prefix)
    assert torch.isfinite(d.probs).all()
    assert len(d) == 0 or float(d.probs.sum()) == pytest.approx(1.0)
