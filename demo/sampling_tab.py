"""The Sampling tab: marbles dropped on a distribution (x ~ p(x | z) at scale) and two-step generation of
pairs, z ~ p(z) then x ~ p(x | z). Temperature, top-k, top-p and the seed are the Keyboard tab's."""

from __future__ import annotations

import functools

import gradio as gr

from demo import charts, views
from demo.common import KEEP, Sessions, safely, sampling_settings, seed_or_none, side_by_side, word_bars
from demo.keyboard_tab import Controls
from lm.core.checks import check_choice, check_word
from lm.core.tokenize import split_partial_word
from lm.serving.keyboard import clean_text

SERIES = ("marbles", "target")  # `views.marbles`'s two series, one chart each
MARBLE_TITLES = ("marbles: how often each word was drawn", "target: the warped distribution")
CONVERGENCE_TITLE = (
    "the more marbles, the closer to the shape: total variation distance (0 = the shape exactly, 1 = none of it)"
)


def drop(sessions: Sessions, source: str, z, context, n, temperature, top_k, top_p, seed, token=None):
    """Marbles and target as bars on one scale, the distance after 10, 100, ... marbles, a summary, no message."""
    settings = sampling_settings(temperature, top_k, top_p, seed)
    keyboard = sessions.keyboard(token)
    if check_choice(source, "source", keyboard.names) == keyboard.learner:  # the table's row of the word z
        distribution = keyboard.distribution(source, [check_word(z, "z")], "")
    else:
        distribution = keyboard.distribution(source, *split_partial_word(clean_text(context)[0]))
    frame, converging, summary = views.marbles(
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
    return (*views.two_step_pairs(sessions.own_counts(token), n, seed_or_none(seed)), "")


def build(demo: gr.Blocks, sessions: Sessions, controls: Controls, z_words: list[str]) -> None:
    """The tab's components and events."""
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
        marble_n = gr.Number(
            value=1000, precision=0, label=f"N marbles (1 to {views.MAX_MARBLES:,})", elem_id="marble-n"
        )
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
        pair_n = gr.Number(value=1000, precision=0, label=f"Pairs (1 to {views.MAX_PAIRS:,})")
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
