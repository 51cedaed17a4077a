"""`lm.core.sampling`: the warpers against transformers' own, validation, and seeded draws."""

import math

import pytest
import torch
from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

from lm.core.sampling import apply_temperature, apply_top_k, apply_top_p, draw, make_generator, warp

NEG_INF = float("-inf")


def transformers_warp(logits, temperature, top_k, top_p):
    """The reference: transformers' warpers in `generate`'s sampling order, then softmax."""
    scores = logits.unsqueeze(0)
    input_ids = torch.zeros((1, 1), dtype=torch.long)
    scores = TemperatureLogitsWarper(temperature)(input_ids, scores)
    if top_k:
        scores = TopKLogitsWarper(top_k)(input_ids, scores)
    if top_p < 1.0:
        scores = TopPLogitsWarper(top_p)(input_ids, scores)
    return scores.softmax(-1).squeeze(0)


def test_top_k_on_a_ramp_keeps_exactly_the_k_largest():
    ramp = torch.arange(10, dtype=torch.float32)  # 0, 1, ..., 9
    kept = apply_top_k(ramp, 3)
    assert torch.isinf(kept[:7]).all() and kept[7:].tolist() == [7.0, 8.0, 9.0]


def test_top_k_keeps_ties_with_the_kth_value():
    logits = torch.tensor([1.0, 3.0, 2.0, 2.0])
    assert apply_top_k(logits, 2).tolist() == [NEG_INF, 3.0, 2.0, 2.0]


def test_top_p_on_a_ramp_drops_the_unlikely_tail():
    # probabilities 0.1, 0.2, 0.3, 0.4: the tail 0.1 + 0.2 = 0.3 <= 1 - 0.7 goes, 0.3 + 0.4 stay
    logits = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64).log()
    kept = apply_top_p(logits, 0.7)
    assert torch.isinf(kept[:2]).all() and torch.isfinite(kept[2:]).all()


def test_top_p_always_keeps_the_most_likely():
    logits = torch.tensor([0.0, 5.0, 1.0])
    assert torch.isfinite(apply_top_p(logits, 1e-9)).tolist() == [False, True, False]


def test_temperature_zero_is_greedy_on_the_first_argmax():
    assert warp(torch.tensor([1.0, 3.0, 3.0, 0.0]), temperature=0).tolist() == [0.0, 1.0, 0.0, 0.0]


def test_temperature_scales_logits():
    assert apply_temperature(torch.tensor([2.0, 4.0]), 2.0).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("temperature", [0.3, 1.0, 1.7])
@pytest.mark.parametrize("top_k", [0, 1, 5, 50])
@pytest.mark.parametrize("top_p", [1.0, 0.9, 0.5, 0.05])
def test_warp_equals_transformers_warpers(temperature, top_k, top_p):
    logits = torch.randn(40, generator=torch.Generator().manual_seed(top_k * 100 + int(top_p * 10)))
    expected = transformers_warp(logits, temperature, top_k, top_p)
    assert torch.equal(warp(logits, temperature, top_k, top_p), expected)


def test_warp_works_on_batches_and_never_changes_its_input():
    logits = torch.randn(3, 20, generator=torch.Generator().manual_seed(0))
    before = logits.clone()
    probs = warp(logits, temperature=0.7, top_k=5, top_p=0.8)
    assert torch.equal(logits, before)
    assert probs.shape == (3, 20) and torch.allclose(probs.sum(-1), torch.ones(3))
    assert ((probs > 0).sum(-1) <= 5).all()


def test_warp_keeps_impossible_outcomes_impossible():
    logits = torch.tensor([NEG_INF, 0.0, 1.0])
    assert warp(logits, temperature=2.0)[0] == 0.0


@pytest.mark.parametrize(
    "arguments, named",
    [
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": float("inf")}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_k": -1}, "top_k"),
        ({"top_k": 2.5}, "top_k"),
        ({"top_k": "3"}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_p": float("nan")}, "top_p"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(arguments, named):
    with pytest.raises(ValueError, match=f"`{named}`"):
        warp(torch.zeros(3), **arguments)


def test_integral_floats_are_accepted_for_top_k():
    assert warp(torch.tensor([0.0, 1.0, 2.0]), top_k=1.0).tolist() == [0.0, 0.0, 1.0]


def test_a_seed_makes_draws_reproducible():
    probs = torch.tensor([0.2, 0.3, 0.5])
    first = draw(probs, 50, make_generator(7, "cpu"))
    again = draw(probs, 50, make_generator(7, "cpu"))
    assert torch.equal(first, again)


def test_draw_frequencies_match_probabilities():
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    n = 200_000
    counts = torch.bincount(draw(probs, n, make_generator(0, "cpu")), minlength=4).double()
    # each frequency is within 5 standard deviations of its probability
    tolerance = 5 * torch.sqrt(probs.double() * (1 - probs.double()) / n)
    assert ((counts / n - probs.double()).abs() < tolerance).all()


@pytest.mark.parametrize("n", [0, -1, 2.5])
def test_draw_rejects_bad_sample_counts(n):
    with pytest.raises(ValueError, match="`n`"):
        draw(torch.tensor([1.0]), n, make_generator(0, "cpu"))


def test_make_generator_rejects_bad_seeds():
    with pytest.raises(ValueError, match="`seed`"):
        make_generator(-3, "cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_warp_and_draw_run_on_the_gpu():
    logits = torch.randn(1000, device="cuda")
    probs = warp(logits, temperature=0.8, top_k=50, top_p=0.9)
    assert probs.device.type == "cuda" and math.isclose(probs.sum().item(), 1.0, rel_tol=1e-5)
    assert draw(probs, 10, make_generator(0, "cuda")).device.type == "cuda"
    expected = transformers_warp(logits.cpu(), 0.8, 50, 0.9)
    assert torch.allclose(probs.cpu(), expected, atol=1e-6)
