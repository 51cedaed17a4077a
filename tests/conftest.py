"""Shared fixtures: models built once per test session."""

import pytest

from lm import BigramModel


@pytest.fixture(scope="session")
def shakespeare():
    """The bigram model of the default corpus (37 plays)."""
    return BigramModel.from_corpus(device="cpu")


@pytest.fixture(scope="session")
def seed_model():
    """The seed's worked example: joint p(job, graduated) = 0.4, p(job, not) = 0.3,
    p(no job, not) = 0.2, p(no job, graduated) = 0.1, as 10 (z, x) pairs."""
    pairs = (
        [("graduated", "job")] * 4
        + [("not", "job")] * 3
        + [("not", "no job")] * 2
        + [("graduated", "no job")] * 1
    )
    return BigramModel.from_pairs(pairs, device="cpu")
