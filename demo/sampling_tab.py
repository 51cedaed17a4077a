"""The Sampling tab: marbles dropped on a distribution (x ~ p(x | z) at scale) and two-step generation of
pairs, z ~ p(z) then x ~ p(x | z). Temperature, top-k, top-p and the seed are the Keyboard tab's."""

from __future__ import annotations

import functools
from collections import Counter, defaultdict

import gradio as gr
import numpy as np
import pandas as pd
import torch

from demo import charts, views
from demo.common import KEEP, Page, Sessions, safely, sampling_settings, seed_or_none, side_by_side, word_bars
from lm.core.checks import check_choice, check_whole_number, check_word
from lm.core.distribution import Distribution, total_variation
from lm.core.sampling import nth_seed
from lm.core.tokenize import split_partial_word
from lm.serving.keyboard import clean_text

MAX_MARBLES = 1_000_000  # samples one "drop marbles" click may draw
MAX_PAIRS = 20_000  # pairs one two-step generation may draw
SERIES = ("marbles", "target")  # `marbles`'s two series, one chart each
MARBLE_TITLES = ("marbles: how often each word was drawn", "target: the warped distribution")
CONVERGENCE_TITLE = (
    "the more marbles, the closer to the shape: total variation distance (0 = the shape exactly, 1 = none of it)"
)


# ---- views: plain functions of the models' numbers (no Gradio) -----------------------------------


def _frequencies(draws: list[str]) -> dict[str, float]:
    """How often each outcome was drawn, as a share of the draws."""
    return {word: count / len(draws) for word, count in Counter(draws).items()}


def marbles(distribution: Distribution, n: int, temperature: float, top_k: int, top_p: float, seed=None):
    """Drop `n` marbles: draw n words from the warped distribution and compare counts with the target.

    Returns (frame with word, empirical, target for the most likely words; the total variation distance
    after 10, 100, 1,000, ... and all n marbles, as (N, distance) rows; a summary saying how much of the
    last distance lies in the words not drawn as bars).

    Example:
        >>> import torch
        >>> coin = Distribution(["a", "b"], torch.tensor([0.5, 0.5]))
        >>> _, converging, summary = marbles(coin, 1000, 1.0, 0, 1.0, seed=0)
        >>> converging["marbles"].tolist(), summary.split(";")[0]
        ([10, 100, 1000], '1,000 marbles')
    """
    n = check_whole_number(n, "n", 1, MAX_MARBLES, "marbles")
    warped = distribution.warp(temperature, top_k, top_p)
    draws = warped.sample(n, seed=seed)
    target = dict(warped.outcomes())
    checkpoints = [10**k for k in range(1, 7) if 10**k < n] + [n]
    converging = pd.DataFrame(
        {
            "marbles": checkpoints,
            "total variation distance": [total_variation(_frequencies(draws[:m]), target) for m in checkpoints],
        }
    )
    frequencies = _frequencies(draws)
    words = [word for word, _ in warped.top(views.CHART_WORDS)]  # the ones drawn as bars; the rest is one OTHER row
    drawn = views.with_rest([(word, frequencies.get(word, 0.0)) for word in words])
    wanted = views.with_rest([(word, float(target[word])) for word in words])
    frame = pd.DataFrame(
        [(word, p, "marbles") for word, p in drawn] + [(word, p, "target") for word, p in wanted],
        columns=["word", "p", "series"],
    )
    distance, in_bars = total_variation(frequencies, target), total_variation(frequencies, target, over=words)
    summary = f"{n:,} marbles; total variation distance to the target: {distance:.4f}"
    if distance - in_bars > 1e-4:  # the bars can look right while the undrawn tail is far off
        summary += (
            f": {distance - in_bars:.4f} of it lies in the {len(target) - len(words):,} outcomes not "
            f"drawn as bars (a rare word drawn once is far from its tiny p), {in_bars:.4f} in the bars"
        )
    return frame, converging, summary


def two_step_pairs(model, n: int, seed=None, show: int = 20) -> tuple[pd.DataFrame, str]:
    """Generate n pairs the blog's way: z ~ p(z), then x ~ p(x | z); return the first `show` and a summary.

    Example:
        >>> from lm import BigramModel
        >>> pairs = [("graduated", "job")] * 4 + [("not", "job")] * 3 + [("not", "no job")] * 2
        >>> m = BigramModel.from_pairs(pairs + [("graduated", "no job")], device="cpu")
        >>> frame, summary = two_step_pairs(m, 1000, seed=0)
        >>> list(frame.columns), summary.split(";")[0]
        (['z ~ p(z)', 'x ~ p(x | z)'], '1,000 pairs')
    """
    n = check_whole_number(n, "n", 1, MAX_PAIRS, "pairs")
    prev_ids = np.flatnonzero(model.prev_counts)
    prev_probs = torch.from_numpy(model.prev_counts[prev_ids] / model.total).to(model.device)
    zs = Distribution(model.vocab.words_at(prev_ids), prev_probs).sample(n, seed=seed)
    positions = defaultdict(list)
    for i, z in enumerate(zs):
        positions[z].append(i)
    xs = [""] * n
    for j, (z, where) in enumerate(positions.items()):  # all draws for one z at once: x ~ p(x | z)
        draws = model.next_token_distribution([z]).sample(len(where), seed=nth_seed(seed, j + 1))
        for i, x in zip(where, draws):
            xs[i] = x
    counts = pd.Series(list(zip(zs, xs))).value_counts()
    (top_z, top_x), top_count = counts.index[0], int(counts.iloc[0])
    frame = pd.DataFrame(list(zip(zs, xs))[:show], columns=["z ~ p(z)", "x ~ p(x | z)"])
    return frame, (
        f"{n:,} pairs; the most frequent, `({top_z!r}, {top_x!r})`, is {top_count / n:.4f} of them; "
        f"its p(x, z) = {model.joint_prob(x=top_x, z=top_z):.4f}"
    )


def drop(
    sessions: Sessions,
    request: gr.Request | None,
    source: str,
    z,
    context,
    n,
    temperature,
    top_k,
    top_p,
    seed,
    token=None,
):
    """Marbles and target as bars on one scale, the distance after 10, 100, ... marbles, a summary, no message."""
    settings = sampling_settings(temperature, top_k, top_p, seed)
    keyboard = sessions.keyboard(token, request)
    if check_choice(source, "source", keyboard.names) == keyboard.learner:  # the table's row of the word z
        distribution = keyboard.distribution(source, [check_word(z, "z")], "")
    else:
        distribution = keyboard.distribution(source, *split_partial_word(clean_text(context)[0]))
    frame, converging, summary = marbles(
        distribution, n, settings.temperature, settings.top_k, settings.top_p, settings.seed
    )
    by_series = [frame[frame.series == name][["word", "p"]] for name in SERIES]
    return (*side_by_side(by_series, MARBLE_TITLES), convergence_chart(converging), summary, "")


def convergence_chart(converging) -> str:
    """The distance after 10, 100, 1,000, ... marbles as bars on the scale 0 (the shape exactly) to 1."""
    rows = [(f"{n:,} marbles", d) for n, d in zip(converging["marbles"], converging["total variation distance"])]
    return charts.bar_chart(rows, CONVERGENCE_TITLE, top=1.0, value="{:.4f}".format)


def pairs(sessions: Sessions, n, seed, token=None):
    """The first pairs drawn z ~ p(z), x ~ p(x | z), a summary, and no message."""
    return (*two_step_pairs(sessions.own_counts(token), n, seed_or_none(seed)), "")


def build(page: Page) -> None:
    """The tab's components and events (the sampling controls are the Keyboard tab's, `page.controls`)."""
    demo, sessions, controls, z_words = page.blocks, page.sessions, page.shared, page.z_words
    gr.Markdown(
        "**Sampling a shape generates data.** Drop marbles on the shape: draw N words and watch the "
        "histogram approach the target (the bars below: its distance from the target after the first "
        "10, 100, 1,000, ... marbles). "
        "Temperature, top-k, top-p and seed are the ones set on the Keyboard tab."
    )
    with gr.Row():
        keyboard = sessions.corpus_keyboard
        sources = [(keyboard.titles[name], name) for name in keyboard.names]
        source = gr.Radio(sources, value=keyboard.names[0], label="Distribution", elem_id="marble-source")
        marble_z = gr.Dropdown(
            z_words, value="my" if "my" in z_words else z_words[0], label=f"z ({keyboard.learner})", elem_id="marble-z"
        )
        marble_context = gr.Textbox(value="I hope you're having a ", label="Context (the other models)")
    with gr.Row():
        marble_n = gr.Number(value=1000, precision=0, label=f"N marbles (1 to {MAX_MARBLES:,})", elem_id="marble-n")
        marble_button = gr.Button("Drop marbles", variant="primary")
    with gr.Row(elem_classes="chart-row"):
        marble_plot, target_plot = (word_bars(title, f"{kind}-chart") for title, kind in zip(MARBLE_TITLES, SERIES))
    convergence_plot = gr.HTML(charts.empty_chart(CONVERGENCE_TITLE), elem_classes="chart", elem_id="convergence")
    marble_summary = gr.Markdown()
    sampling_message = gr.Markdown(elem_id="sampling-message")
    gr.Markdown(
        "**Two-step generation**, the way a generative model writes: z ~ p(z), then x ~ p(x | z). "
        "The pairs drawn come out as often as the joint table p(x, z) says."
    )
    with gr.Row():
        pair_n = gr.Number(value=1000, precision=0, label=f"Pairs (1 to {MAX_PAIRS:,})")
        pair_button = gr.Button("Generate pairs")
    pair_table = gr.Dataframe(label="the first 20 pairs", interactive=False)
    pair_summary = gr.Markdown()

    marble_inputs = [
        source,
        marble_z,
        marble_context,
        marble_n,
        controls.temperature,
        controls.top_k,
        controls.top_p,
        controls.seed,
        controls.session,
    ]
    drop_safely = safely(KEEP, KEEP, KEEP, KEEP)(functools.partial(drop, sessions))
    marble_outputs = [marble_plot, target_plot, convergence_plot, marble_summary, sampling_message]
    marble_button.click(drop_safely, marble_inputs, marble_outputs, api_name="marbles", preprocess=False)
    pairs_safely = safely(KEEP, KEEP)(functools.partial(pairs, sessions))
    pair_outputs = [pair_table, pair_summary, sampling_message]
    pair_button.click(
        pairs_safely, [pair_n, controls.seed, controls.session], pair_outputs, api_name="two_step", preprocess=False
    )
    demo.load(drop_safely, marble_inputs, marble_outputs, api_visibility="private", preprocess=False)
    demo.load(
        pairs_safely,
        [pair_n, controls.seed, controls.session],
        pair_outputs,
        api_visibility="private",
        preprocess=False,
    )
