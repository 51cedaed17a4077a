"""The Continuous (GPA) tab: the blog's continuous example, the joint density p(x, z) of months to a job x
and GPA z (`lm.teaching.continuous.GpaJobDensity`).

A heatmap of p(x, z) with the slice at z in red; the slice p(x | z) with a range [a, b] shaded and its
probability, exact and as the blog's rectangle; marbles dropped on the slice; two-step samples
z ~ p(z), x ~ p(x | z) against the marginal p(x). Figures are `matplotlib.figure.Figure` objects made
without pyplot, so no global figure list grows; the handlers are plain functions, tested without a browser.
"""

from __future__ import annotations

import math
import numbers

import gradio as gr
import numpy as np
import torch
from matplotlib.figure import Figure

from demo.common import KEEP, RANDOM_SEED, Page, safely, seed_or_none
from lm.core.checks import shown
from lm.teaching.continuous import MAX_SAMPLES, GpaJobDensity

DENSITY = GpaJobDensity()
X_MAX = 24.0  # months shown on every x axis (the rest of the mass is counted, not drawn)
Z_LOW = 2.0  # lowest GPA on the heatmap and the slider: p(z < 2) is under 0.1%
BINS = 48  # histogram bars over 0 to X_MAX: half a month each
SCATTER_POINTS = 3_000  # pairs drawn as dots; every pair goes into the histogram
CURVE = "tab:red"


def _gpa(z) -> float:
    """`z` as a float inside the GPA range, or ``ValueError`` naming it."""
    low, high = DENSITY.gpa_low, DENSITY.gpa_high
    if isinstance(z, bool) or not isinstance(z, numbers.Real) or not low <= z <= high:
        raise ValueError(f"`z` has to be a GPA from {low:g} to {high:g}, but is {shown(z)}")
    return float(z)


def _months() -> torch.Tensor:
    return torch.linspace(0, X_MAX, 481, dtype=torch.float64)  # (481,): every 0.05 months


# ---- figures ------------------------------------------------------------------------------------


def joint_figure(z: float) -> Figure:
    """The heatmap of p(x, z), months across and GPA up, with the slice at `z` as a red line."""
    x = torch.linspace(0, X_MAX, 241, dtype=torch.float64)  # (241,)
    gpas = torch.linspace(min(Z_LOW, z), DENSITY.gpa_high, 161, dtype=torch.float64)  # (161,)
    joint = DENSITY.joint(x.unsqueeze(0), gpas.unsqueeze(1))  # (161, 241): rows z, columns x
    figure = Figure(figsize=(6, 3.6), layout="constrained")
    axes = figure.subplots()
    mesh = axes.pcolormesh(x.numpy(), gpas.numpy(), joint.numpy(), shading="auto", cmap="viridis")
    figure.colorbar(mesh, ax=axes, label="p(x, z)")
    axes.axhline(z, color=CURVE, linewidth=2, label=f"slice z = {z:.2f}")
    axes.set(xlabel="x: months to a job", ylabel="z: GPA", title="the joint density p(x, z)")
    axes.legend(loc="upper right")
    return figure


def slice_figure(z: float, a: float, b: float) -> Figure:
    """The slice p(x | z) in red, the area over [a, b] shaded, the blog's rectangle dashed over it."""
    x = _months()
    curve = DENSITY.conditional(x, torch.tensor(z))
    figure = Figure(figsize=(6, 3.6), layout="constrained")
    axes = figure.subplots()
    axes.plot(x.numpy(), curve.numpy(), color=CURVE, linewidth=2, label=f"p(x | z = {z:.2f})")
    low, high = max(a, 0.0), min(b, X_MAX)
    if low < high:
        inside = torch.linspace(low, high, 200, dtype=torch.float64)
        area = DENSITY.conditional(inside, torch.tensor(z))
        exact = DENSITY.prob_between(a, b, z)
        axes.fill_between(
            inside.numpy(), area.numpy(), color=CURVE, alpha=0.3, label=f"P({a:g} ≤ x ≤ {b:g}) = {exact:.4f}"
        )
    if 0 <= a < b <= X_MAX:
        height = DENSITY.conditional((a + b) / 2, z)
        axes.plot([a, a, b, b], [0, height, height, 0], "k--", linewidth=1, label="rectangle: height x width")
    axes.set(xlabel="x: months to a job", ylabel="per month", title=f"the slice at GPA {z:.2f}", xlim=(0, X_MAX))
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper right")
    return figure


def histogram_figure(draws: torch.Tensor, x: torch.Tensor, curve: torch.Tensor, label: str, title: str) -> Figure:
    """`draws` as a density histogram (bars of area = their share) under the `curve` they come from."""
    figure = Figure(figsize=(6, 3.6), layout="constrained")
    axes = figure.subplots()
    _histogram(axes, draws, x, curve, label)
    axes.set(title=title)
    return figure


def _histogram(axes, draws: torch.Tensor, x: torch.Tensor, curve: torch.Tensor, label: str) -> None:
    counts, edges = np.histogram(draws.cpu().numpy(), bins=BINS, range=(0, X_MAX))
    heights = counts / (len(draws) * (edges[1] - edges[0]))  # per month: comparable with the density
    axes.bar(edges[:-1], heights, width=np.diff(edges), align="edge", alpha=0.5, label=f"{len(draws):,} draws")
    axes.plot(x.numpy(), curve.numpy(), color=CURVE, linewidth=2, label=label)
    axes.set(xlabel="x: months to a job", ylabel="per month", xlim=(0, X_MAX))
    axes.legend(loc="upper right")


def pairs_figure(z: torch.Tensor, x: torch.Tensor) -> Figure:
    """Above: the first pairs as dots (x, z). Below: every x as a histogram under the marginal p(x)."""
    figure = Figure(figsize=(6, 6.6), layout="constrained")  # one above the other: it reads on a phone too
    left, right = figure.subplots(2, 1)
    shown_pairs = min(len(x), SCATTER_POINTS)
    left.scatter(x[:shown_pairs].cpu().numpy(), z[:shown_pairs].cpu().numpy(), s=4, alpha=0.4)
    left.set(
        xlabel="x ~ p(x | z): months",
        ylabel="z ~ p(z): GPA",
        xlim=(0, X_MAX),
        ylim=(Z_LOW, DENSITY.gpa_high),
        title=f"the first {shown_pairs:,} pairs (x, z)",
    )
    months = _months()
    _histogram(right, x, months, DENSITY.marginal(months), "p(x): the marginal")
    right.set(title="every x against p(x) = ∫ p(x | z) p(z) dz")
    return figure


# ---- handlers: the tab's events, plain functions ------------------------------------------------


def density_slice(z, a, b):
    """The heatmap with the slice at z, the slice with [a, b] shaded, the range's probability, no message."""
    z = _gpa(z)
    exact, rectangle = DENSITY.prob_between(a, b, z), DENSITY.rectangle_between(a, b, z)
    height, width = DENSITY.conditional((a + b) / 2, z), b - a
    summary = (
        f"p(z = {z:.2f}) = {DENSITY.prior(z):.4f} per GPA point; the slice p(x | z = {z:.2f}) has mean "
        f"{DENSITY.conditional_mean(z):.2f} months.  \n"
        f"P({a:g} ≤ x ≤ {b:g} | z = {z:.2f}): the blog's rectangle, p(x = {(a + b) / 2:g} | z) x width = "
        f"{height:.4f} per month x {width:g} months ≈ **{rectangle:.4f}**; exact (the Gamma's CDF) "
        f"**{exact:.4f}**."
    )
    return joint_figure(z), slice_figure(z, a, b), summary, ""


def slice_marbles(z, a, b, n, seed):
    """`n` marbles x ~ p(x | z) as a histogram under the slice, how many landed in [a, b], no message."""
    z = _gpa(z)
    exact = DENSITY.prob_between(a, b, z)  # checks a and b before any drawing
    draws = DENSITY.sample_slice(z, n, seed=seed_or_none(seed))
    months = _months()
    curve = DENSITY.conditional(months, torch.tensor(z))
    n = len(draws)
    figure = histogram_figure(draws, months, curve, f"p(x | z = {z:.2f})", f"{n:,} marbles dropped on the slice")
    share = float(((draws >= a) & (draws <= b)).double().mean())
    error = math.sqrt(exact * (1 - exact) / n)
    summary = (
        f"{n:,} marble{'s' * (n != 1)} at z = {z:.2f}: mean {float(draws.mean()):.3f} months (the slice's: "
        f"{DENSITY.conditional_mean(z):.3f}); {share:.4f} of them landed in [{a:g}, {b:g}] "
        f"(exact {exact:.4f} ± {error:.4f}, one standard error)."
    )
    return figure, summary, ""


def two_step_continuous(n, seed):
    """`n` pairs z ~ p(z), x ~ p(x | z): a scatter and the histogram of x under p(x), a summary, no message."""
    z, x = DENSITY.sample(n, seed=seed_or_none(seed))
    n = len(x)
    error = float(x.std()) / math.sqrt(n) if n > 1 else math.nan
    summary = (
        f"{n:,} pair{'s' * (n != 1)}, each z ~ p(z) then x ~ p(x | z): mean x {float(x.mean()):.3f} months against "
        f"E[x] = {DENSITY.marginal_mean():.3f} (± {error:.3f}, one standard error); mean z {float(z.mean()):.3f}."
    )
    return pairs_figure(z, x), summary, ""


# ---- layout -------------------------------------------------------------------------------------


def build(page: Page) -> None:
    """The tab's components and events (drawn when the tab opens, `page.tab`)."""
    tab = page.tab
    gr.Markdown(
        "**A probability is a shape, also for a continuous quantity** (the blog's continuous example). "
        "A student's GPA *z* follows a bell curve centred at 3.3, *p(z)*; "
        "the months to a job *x* follow *p(x | z)*, a shape that moves left as the GPA rises. Together they "
        "make the joint density *p(x, z) = p(x | z) p(z)*, a surface. Fix *z* and you cut a **slice** "
        "(red): *p(x | z)*, a density in *per month*. At GPA 3.5 it is about 0.3 per month at *x* = 4, so "
        "a wait between 3.8 and 4.2 months has probability about **0.3 per month x 0.4 months ≈ 0.12**; "
        "the exact value integrates the slice."
    )
    with gr.Row():
        z = gr.Slider(Z_LOW, DENSITY.gpa_high, value=3.5, step=0.05, label="z: GPA (the red slice)")
        a = gr.Slider(0, X_MAX, value=3.8, step=0.1, label="a: from (months)")
        b = gr.Slider(0, X_MAX, value=4.2, step=0.1, label="b: to (months)")
    with gr.Row():
        joint_plot = gr.Plot(label="p(x, z)", show_label=False, min_width=360)  # a phone stacks the two
        slice_plot = gr.Plot(label="p(x | z)", show_label=False, min_width=360)
    slice_summary = gr.Markdown(elem_id="slice-summary")
    message = gr.Markdown(elem_id="continuous-message")
    gr.Markdown("Drop marbles on the slice: draw N waits x ~ p(x | z) and watch their histogram take its shape.")
    with gr.Row():
        marble_n = gr.Number(value=1000, precision=0, label=f"N marbles (1 to {MAX_SAMPLES:,})")
        seed = gr.Number(value=RANDOM_SEED, precision=0, label="Seed (-1 = random)")
        marble_button = gr.Button("Drop marbles", variant="primary")
    marble_plot = gr.Plot(label="marbles on the slice", show_label=False)
    marble_summary = gr.Markdown(elem_id="slice-marbles-summary")
    gr.Markdown("Two-step sampling: z ~ p(z), then x ~ p(x | z). The x's alone follow the marginal p(x).")
    with gr.Row():
        pair_n = gr.Number(value=5000, precision=0, label=f"Pairs (1 to {MAX_SAMPLES:,})")
        pair_button = gr.Button("Draw pairs")
    pair_plot = gr.Plot(label="two-step samples", show_label=False)
    pair_summary = gr.Markdown(elem_id="continuous-pairs-summary")

    slice_safely = safely(KEEP, KEEP, KEEP)(density_slice)
    slice_outputs = [joint_plot, slice_plot, slice_summary, message]
    gr.on(
        [z.change, a.change, b.change],
        slice_safely,
        [z, a, b],
        slice_outputs,
        api_name="density_slice",
        preprocess=False,
        trigger_mode="always_last",
    )
    marbles_safely = safely(KEEP, KEEP)(slice_marbles)
    marble_inputs, marble_outputs = [z, a, b, marble_n, seed], [marble_plot, marble_summary, message]
    marble_button.click(marbles_safely, marble_inputs, marble_outputs, api_name="slice_marbles", preprocess=False)
    pairs_safely = safely(KEEP, KEEP)(two_step_continuous)
    pair_outputs = [pair_plot, pair_summary, message]
    pair_button.click(pairs_safely, [pair_n, seed], pair_outputs, api_name="two_step_continuous", preprocess=False)
    # drawn when the tab is opened, not when the page loads: a class opening the app spends no CPU on it
    tab.select(slice_safely, [z, a, b], slice_outputs, api_visibility="private", preprocess=False)
    tab.select(marbles_safely, marble_inputs, marble_outputs, api_visibility="private", preprocess=False)
    tab.select(pairs_safely, [pair_n, seed], pair_outputs, api_visibility="private", preprocess=False)
