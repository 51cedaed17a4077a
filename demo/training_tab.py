"""The Learned table tab: the bigram table learned by gradient descent (`lm.teaching.training`). Press Learn and
the loss curve falls toward the counted table's line; the learned row p(x | z) stands beside the counted one."""

from __future__ import annotations

import functools

import gradio as gr
import pandas as pd

from demo.common import KEEP, Page, safely, side_by_side, word_bars
from lm.core.checks import check_word
from lm.core.distribution import OTHER, Distribution, total_variation
from lm.teaching.training import MAX_STEPS, MAX_WORDS, fit_bigram_network

CHART_WORDS = 10  # bars per chart: the counted row's most likely words, then one bar for the rest
WORDS_RANGE = (2, MAX_WORDS)  # the sliders' ranges, which the API keeps to as well (`fit_bigram_network`)
STEPS_RANGE = (1, MAX_STEPS)
SERIES = ("network", "counted table")
ROW_TITLES = ("network: the learned p(x | z), softmax(W[z])", "counted table: p(x | z) = c(z, x) / c(z)")


def loss_curve(fit) -> pd.DataFrame:
    """The mean NLL at each step ("network") and the table's flat line ("counted table"), one row a point.

    Example:
        >>> from lm import BigramModel
        >>> from lm.teaching.training import fit_bigram_network
        >>> fit = fit_bigram_network(BigramModel.from_text("a b. a c.", device="cpu"), words=5, steps=3)
        >>> loss_curve(fit).groupby("series").size().to_dict()
        {'counted table': 2, 'network': 3}
    """
    steps = list(range(1, len(fit.losses) + 1))
    return pd.DataFrame(
        {
            "step": steps + [steps[0], steps[-1]],
            "mean NLL": fit.losses + [fit.table_nll] * 2,
            "series": [SERIES[0]] * len(steps) + [SERIES[1]] * 2,
        }
    )


def row_frames(learned: Distribution, counted: Distribution, top: int = CHART_WORDS) -> list[pd.DataFrame]:
    """The two rows as (word, p) bars over the same words: the counted row's `top` most likely (of those it
    counted), then one `OTHER` bar for the rest of each row (the words not shown and the merged ones), so
    each adds up to 1."""
    shown = [word for word, p in counted.top(top) if p > 0]
    frames = []
    for row in (learned, counted):
        probs = [row.prob(word) for word in shown]
        frames.append(pd.DataFrame({"word": [*shown, OTHER], "p": [*probs, max(0.0, 1.0 - sum(probs))]}))
    return frames


def learn(bigram, words, steps, z):
    """Train the network on `bigram`'s pairs: the loss curve, the learned and counted rows of z as bars
    on one scale, a one-line summary, and no message."""
    z = check_word(z, "z")
    fit = fit_bigram_network(bigram, words, steps)
    learned, counted = fit.next_word_distribution(z), fit.counted_distribution(z)
    gap = fit.losses[-1] / fit.table_nll - 1
    summary = (
        f"{len(fit.losses):,} steps over {len(fit.words):,} words + {OTHER} in {fit.seconds:.2f} s "
        f"({fit.seconds / len(fit.losses) * 1e3:.2f} ms a step, {fit.device.type}): mean NLL "
        f"{fit.losses[-1]:.4f}, the counted table's {fit.table_nll:.4f} ({gap:+.2%}); total variation between "
        f"the learned and counted p(x | z = {z}): {total_variation(learned, counted):.4f}"
    )
    if learned.note:
        summary += f". Note: {learned.note}"
    return loss_curve(fit), *side_by_side(row_frames(learned, counted), ROW_TITLES), summary, ""


def build(page: Page) -> None:
    """The tab's components and events: the corpus's bigram table learned, a z's row beside the counted one."""
    bigram, z_words = page.sessions.own_counts(None), page.z_words
    gr.Markdown(
        "**We don't know these distributions: we learn them.** Here the bigram table is learned by gradient "
        "descent instead of counted. Keep the N most frequent words (every other word becomes "
        f"one word, {OTHER}); a network of one layer reads z as a one-hot vector, so its logits are the row "
        "W[z] of a weight matrix, and softmax turns them into p(x | z). Training lowers the mean negative "
        "log-likelihood (NLL) of the corpus pairs, -mean log p(x | z). The counted table is the best any "
        "such network can do: its own mean NLL is the line the loss falls toward."
    )
    with gr.Row():
        words = gr.Slider(*WORDS_RANGE, value=200, step=1, label="N most frequent words")
        steps = gr.Slider(*STEPS_RANGE, value=300, step=1, label="Gradient descent steps (Adam)")
        z = gr.Dropdown(
            z_words, value="my" if "my" in z_words else z_words[0], label="z (previous word)", elem_id="learn-z"
        )
        learn_button = gr.Button("Learn", variant="primary")
    curve = gr.LinePlot(
        x="step",
        y="mean NLL",
        color="series",
        height=280,
        title="mean NLL per step, down to the table's",
    )
    with gr.Row(elem_classes="chart-row"):
        learned_plot, counted_plot = (
            word_bars(title, f"{kind}-chart") for title, kind in zip(ROW_TITLES, ("learned", "counted"))
        )
    summary = gr.Markdown(elem_id="training-summary")
    training_message = gr.Markdown(elem_id="training-message")

    learn_safely = safely(KEEP, KEEP, KEEP, KEEP)(functools.partial(learn, bigram))
    learn_button.click(
        learn_safely,
        [words, steps, z],
        [curve, learned_plot, counted_plot, summary, training_message],
        api_name="learn_table",
        preprocess=False,
    )
