"""The seed's continuous example, GPA z and months to a job x: every density checked against scipy's
independent formulas and integrals, and the two-step samples against the analytic marginal."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from lm.teaching.continuous import MAX_SAMPLES, GpaJobDensity

D = GpaJobDensity()
GPA = stats.truncnorm((0 - 3.3) / 0.4, (4 - 3.3) / 0.4, loc=3.3, scale=0.4)  # p(z): the bell cut to [0, 4]
SLICES = [2.0, 2.8, 3.3, 3.5, 4.0]


def rate(z: float) -> float:
    """The slice's rate by hand: the most likely wait is 4 months at GPA 3.5 and halves per GPA point."""
    return (10 - 1) / (4 * 2 ** (-(z - 3.5)))


def wait(z: float):
    """p(x | z) by hand: scipy's Gamma with shape 10 and that rate."""
    return stats.gamma(10, scale=1 / rate(z))


# ---- the densities, point by point --------------------------------------------------------------


def test_the_blogs_number_a_slice_height_of_about_0_3_per_month():
    assert D.conditional(4.0, 3.5) == pytest.approx(0.2965, abs=5e-5)  # = wait(3.5).pdf(4), the slice's peak
    assert D.conditional(4.0, 3.5) == pytest.approx(wait(3.5).pdf(4.0), rel=1e-12)


@pytest.mark.parametrize("z", SLICES)
@pytest.mark.parametrize("x", [0.5, 2.0, 4.0, 9.0, 20.0])
def test_prior_conditional_and_joint_match_scipys_formulas(x, z):
    assert D.prior(z) == pytest.approx(GPA.pdf(z), rel=1e-12)
    assert D.conditional(x, z) == pytest.approx(wait(z).pdf(x), rel=1e-12)
    assert D.joint(x, z) == pytest.approx(GPA.pdf(z) * wait(z).pdf(x), rel=1e-12)


def test_outside_the_gpa_range_every_density_is_zero():
    assert D.prior(-0.1) == D.prior(4.01) == D.joint(4.0, 4.5) == D.conditional(4.0, -1.0) == 0.0
    assert D.prob_between(3.8, 4.2, 5.0) == 0.0 and math.isnan(D.conditional_mean(5.0))
    assert D.conditional(0.0, 3.5) == D.conditional(-2.0, 3.5) == D.conditional(math.inf, 3.5) == 0.0
    assert D.prior(math.inf) == D.prior(-math.inf) == 0.0


def test_numbers_give_floats_and_tensors_broadcast():
    assert isinstance(D.conditional(4, 3.5), float) and isinstance(D.marginal(4), float)
    x, z = torch.linspace(1, 10, 5).unsqueeze(1), torch.tensor([2.5, 3.5, 4.5])  # (5, 1) and (3,)
    grid = D.joint(x, z)
    assert grid.shape == (5, 3) and grid.dtype == torch.float64
    assert grid[4, 1].item() == pytest.approx(D.joint(10.0, 3.5), rel=1e-6) and grid[:, 2].eq(0).all()
    assert D.prob_between(torch.tensor([3.8, 0.0]), 4.2, 3.5).shape == (2,)


# ---- integrals: slices, ranges, the marginal ----------------------------------------------------


@pytest.mark.parametrize("z", SLICES)
def test_every_slice_integrates_to_1(z):
    total, _ = integrate.quad(lambda x: D.conditional(x, z), 0, math.inf, epsabs=1e-12)
    assert total == pytest.approx(1, abs=1e-9)
    x = torch.arange(0.0005, 80, 0.001, dtype=torch.float64)  # a fine midpoint Riemann sum, 1/1000 of a month
    assert float(D.conditional(x, torch.tensor(z)).sum() * 0.001) == pytest.approx(1, abs=1e-9)


def test_the_prior_integrates_to_1_and_the_joint_too():
    assert integrate.quad(D.prior, 0, 4)[0] == pytest.approx(1, abs=1e-12)
    x = torch.arange(0.01, 60, 0.02, dtype=torch.float64).unsqueeze(1)  # (3000, 1) months
    z = torch.arange(0.005, 4, 0.01, dtype=torch.float64)  # (400,) GPAs
    assert float(D.joint(x, z).sum() * 0.02 * 0.01) == pytest.approx(1, abs=1e-5)


@pytest.mark.parametrize("a, b, z", [(3.8, 4.2, 3.5), (0.0, 2.0, 3.0), (5.0, 12.0, 2.5), (1.0, 30.0, 3.9)])
def test_range_probability_equals_a_fine_riemann_sum(a, b, z):
    steps = 200_000
    width = (b - a) / steps
    x = a + width * (torch.arange(steps, dtype=torch.float64) + 0.5)  # midpoints
    riemann = float(D.conditional(x, torch.tensor(z)).sum() * width)
    assert D.prob_between(a, b, z) == pytest.approx(riemann, rel=1e-8)
    assert D.prob_between(a, b, z) == pytest.approx(wait(z).cdf(b) - wait(z).cdf(a), rel=1e-10)


def test_the_blogs_rectangle_is_close_to_the_exact_range_probability():
    rectangle, exact = D.rectangle_between(3.8, 4.2, 3.5), D.prob_between(3.8, 4.2, 3.5)
    assert rectangle == pytest.approx(0.2965 * 0.4, abs=1e-4)  # 0.3 per month x 0.4 months ≈ 0.12
    assert exact == pytest.approx(0.11814, abs=1e-5) and abs(rectangle - exact) < 1e-3
    assert D.prob_between(0, math.inf, 3.5) == pytest.approx(1, abs=1e-12)


@pytest.mark.parametrize("x", [0.3, 1.0, 2.0, 4.0, 6.0, 10.0, 16.0, 24.0, 40.0])
def test_the_marginal_matches_scipys_adaptive_quadrature(x):
    exact, _ = integrate.quad(
        lambda z: GPA.pdf(z) * wait(z).pdf(x), 0, 4, epsabs=0, epsrel=1e-13, points=[3.3], limit=200
    )
    assert D.marginal(x) == pytest.approx(exact, rel=1e-12)


def test_the_marginal_integrates_to_1_and_its_mean_is_the_closed_form():
    assert integrate.quad(D.marginal, 0, math.inf, epsabs=1e-12)[0] == pytest.approx(1, abs=1e-9)
    mean_by_quad, _ = integrate.quad(lambda z: GPA.pdf(z) * wait(z).mean(), 0, 4, epsabs=1e-13)
    assert D.marginal_mean() == pytest.approx(mean_by_quad, rel=1e-10)
    assert D.conditional_mean(3.5) == pytest.approx(10 / 2.25)  # shape / rate


# ---- sampling: the shape generates data ---------------------------------------------------------

N = 200_000


@pytest.fixture(scope="module")
def pairs():
    return D.sample(N, seed=0, device="cpu")


def test_two_step_samples_have_the_marginals_means(pairs):
    z, x = pairs
    assert z.shape == x.shape == (N,) and float(z.min()) >= 0 and float(z.max()) <= 4
    assert abs(float(x.mean()) - D.marginal_mean()) < 4 * float(x.std()) / math.sqrt(N)
    assert abs(float(z.mean()) - GPA.mean()) < 4 * GPA.std() / math.sqrt(N)


def chi_square_p_value(draws: torch.Tensor, probability_of_bin) -> float:
    """Bins of half a month up to 24 months and one for the rest: the chi-square test's p-value."""
    edges = np.arange(0, 24.5, 0.5)
    observed = np.append(np.histogram(draws.numpy(), bins=edges)[0], int((draws >= 24).sum()))
    expected = np.array([probability_of_bin(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])])
    expected = len(draws) * np.append(expected, 1 - expected.sum())
    return float(stats.chisquare(observed, expected).pvalue)


def marginal_of_bin(lo: float, hi: float) -> float:
    x = torch.linspace(lo, hi, 101, dtype=torch.float64)
    return float(integrate.simpson(D.marginal(x).numpy(), x=x.numpy()))


def test_the_histogram_of_two_step_samples_has_the_marginals_shape(pairs):
    _, x = pairs
    assert chi_square_p_value(x, marginal_of_bin) > 1e-3
    edges = torch.arange(0, 24.5, 0.5, dtype=torch.float64)
    heights = torch.histogram(x, bins=edges).hist / (N * 0.5)  # a density: per month
    curve = D.marginal((edges[:-1] + edges[1:]) / 2)
    assert float((heights - curve).abs().max()) < 4 * math.sqrt(float(curve.max()) / (N * 0.5))  # 4 sampling SEs


def test_marbles_on_a_slice_rebuild_its_shape():
    x = D.sample_slice(3.5, N, seed=1, device="cpu")
    assert chi_square_p_value(x, lambda lo, hi: D.prob_between(lo, hi, 3.5)) > 1e-3
    share = float(((x >= 3.8) & (x <= 4.2)).double().mean())
    exact = D.prob_between(3.8, 4.2, 3.5)
    assert abs(share - exact) < 4 * math.sqrt(exact * (1 - exact) / N)


def test_a_seed_repeats_a_draw_and_none_draws_fresh():
    first, again = D.sample(5, seed=7, device="cpu"), D.sample(5, seed=7, device="cpu")
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(D.sample(5, device="cpu")[1], D.sample(5, device="cpu")[1])
    assert torch.equal(D.sample_slice(3.0, 4, seed=3, device="cpu"), D.sample_slice(3.0, 4, seed=3, device="cpu"))


# ---- bad arguments are named --------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, named",
    [
        (lambda: D.conditional("4", 3.5), "`x` has to be a number or a tensor of numbers, but is '4'"),
        (lambda: D.conditional(4.0, None), "`z`"),
        (lambda: D.prior(True), "`z`"),
        (lambda: D.joint(float("nan"), 3.5), "`x` has to be a number, but is (or holds) nan"),
        (lambda: D.marginal(torch.tensor([1.0, math.nan])), "`x`"),
        (lambda: D.marginal([1.0, 2.0]), "`x`"),
        (lambda: D.prob_between(4.2, 3.8, 3.5), "`b` has to be at least `a`"),
        (lambda: D.rectangle_between(1.0, 0.0, 3.5), "`b`"),
        (lambda: D.prob_between(1.0, 2.0, torch.tensor([1j])), "`z`"),
        (lambda: D.joint(torch.ones(2), torch.ones(3)), "do not broadcast"),
        (lambda: D.sample(0), "`n` (samples) has to be a whole number from 1 to 1,000,000, but is 0"),
        (lambda: D.sample(MAX_SAMPLES + 1), "`n`"),
        (lambda: D.sample(2.5), "`n`"),
        (lambda: D.sample(10, seed=-1), "`seed`"),
        (lambda: D.sample(10, device="tpu"), "`device`"),
        (lambda: D.sample_slice(4.5, 10), "`z` has to be a GPA from 0 to 4"),
        (lambda: D.sample_slice(3.5, "10"), "`n` (marbles)"),
        (lambda: GpaJobDensity(gpa_sd=0), "`gpa_sd`"),
        (lambda: GpaJobDensity(steps=1), "`steps`"),
        (lambda: GpaJobDensity(gpa_low=4, gpa_high=3), "`gpa_high`"),
    ],
)
def test_bad_arguments_are_named(call, named):
    with pytest.raises(ValueError) as error:
        call()
    assert named in str(error.value)


# ---- the tab's handlers, called as plain functions ----------------------------------------------


def test_the_slice_handler_draws_both_figures_and_prints_rectangle_and_exact():
    from matplotlib.figure import Figure

    from demo.continuous_tab import density_slice

    joint, slice_, summary, message = density_slice(3.5, 3.8, 4.2)
    assert isinstance(joint, Figure) and isinstance(slice_, Figure) and message == ""
    assert "0.2965 per month x 0.4 months ≈ **0.1186**" in summary and "**0.1181**" in summary
    assert density_slice(1.0, 0, 30)[-1] == ""  # below the slider and past the x axis still draws


def test_the_marble_and_two_step_handlers_draw_and_summarise():
    import matplotlib.pyplot as plt

    from demo.continuous_tab import slice_marbles, two_step_continuous

    figure, summary, message = slice_marbles(3.5, 3.8, 4.2, 2000, 0)
    assert figure.axes and summary.startswith("2,000 marbles at z = 3.50") and message == ""
    figure, summary, message = two_step_continuous(2000, 0)
    assert len(figure.axes) == 2 and summary.startswith("2,000 pairs") and message == ""
    assert two_step_continuous(1, -1)[1].startswith("1 pair,") and slice_marbles(4, 0, 24, 1, None)[-1] == ""
    assert plt.get_fignums() == []  # figures made without pyplot: nothing piles up in its global list


@pytest.mark.parametrize(
    "handler, arguments, named",
    [
        ("density_slice", (None, 3.8, 4.2), "`z` has to be a GPA from 0 to 4, but is None"),
        ("density_slice", (3.5, "3.8", 4.2), "`a`"),
        ("density_slice", (3.5, 4.2, 3.8), "`b` has to be at least `a`"),
        ("density_slice", (9.0, 3.8, 4.2), "`z`"),
        ("slice_marbles", (3.5, 3.8, 4.2, 0, -1), "`n` (marbles)"),
        ("slice_marbles", (3.5, 3.8, 4.2, 10, 2.5), "`seed`"),
        ("slice_marbles", (True, 3.8, 4.2, 10, -1), "`z`"),
        ("two_step_continuous", (MAX_SAMPLES + 1, -1), "`n` (samples)"),
        ("two_step_continuous", ([10], -1), "`n`"),
    ],
)
def test_bad_values_from_the_page_or_the_api_become_a_message(handler, arguments, named):
    import gradio as gr

    from demo import continuous_tab
    from demo.common import KEEP, safely

    outputs = {"density_slice": 3, "slice_marbles": 2, "two_step_continuous": 2}[handler]
    *kept, message = safely(*[KEEP] * outputs)(getattr(continuous_tab, handler))(*arguments)
    assert named in message and message.startswith("⚠️") and all(isinstance(k, dict) for k in kept)
    assert kept == [gr.update()] * outputs


def test_the_tab_names_its_api_and_reads_raw_values():
    import gradio as gr

    from demo import continuous_tab
    from demo.common import Page

    with gr.Blocks() as demo:
        with gr.Tab("Continuous") as tab:
            continuous_tab.build(Page(demo, sessions=None, z_words=[], tab=tab))  # a tab that reads no model
    events = [fn for fn in demo.fns.values() if fn.fn is not None]
    assert {fn.api_name for fn in events} >= {"density_slice", "slice_marbles", "two_step_continuous"}
    assert [fn.name for fn in events if fn.preprocess] == []
