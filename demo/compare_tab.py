"""The Compare tab: both models run over one text word by word (`lm.evaluate`), with what each figure
means, where they disagree most, and a progress bar beside the button."""

from __future__ import annotations

import contextvars
import functools
import threading

import gradio as gr

from demo import views
from demo.common import error_message
from lm.corpus import held_out_text
from lm.evaluate import evaluate
from lm.keyboard import Keyboard, clean_text

MAX_COMPARE_WORDS = 500  # words one Compare run may evaluate in the app (the command line has no limit)
POLL_S = 0.5  # how often a running Compare offers Gradio the chance to stop it


class Stopped(Exception):
    """The run was cancelled, or its page went away: the evaluation stops at its next word."""


def _evaluate_in_a_thread(keyboard: Keyboard, text: str, words, progress, stop: threading.Event) -> tuple:
    """Start the evaluation in a thread (with this request's context, so `progress` finds its event);
    it checks `stop` at every word. Returns (the thread, the dict its report or error lands in)."""
    outcome = {}

    def tick(name, done, total):
        if stop.is_set():
            raise Stopped()
        progress(done / total, desc=f"{name}: word {done} of {total}")

    def work():
        try:
            outcome["report"] = evaluate(
                text, keyboard.bigram, keyboard.transformer, max_words=int(words), progress=tick
            )
        except Exception as error:  # reported by the handler, never lost in the thread
            outcome["error"] = error

    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(work,), name="compare", daemon=True)
    thread.start()
    return thread, outcome


def compare(keyboard: Keyboard, text, words, progress=gr.Progress()):
    """The summary table, two plots, the disagreements, and a message.

    A generator: while the evaluation runs (in a thread) it yields "no change" every `POLL_S` seconds, so
    when the run is cancelled or its page closes, Gradio closes it at that yield and the evaluation stops
    at its next word (a plain function would run on to the end, holding the Compare slot). Not wrapped in
    `safely`: Gradio passes the progress bar by this signature, so errors become messages here.
    """
    unchanged = (gr.update(),) * 5
    stop = threading.Event()
    try:
        readable = clean_text(text)[0]
        thread, outcome = _evaluate_in_a_thread(keyboard, readable, words, progress, stop)
        while thread.is_alive():
            thread.join(POLL_S)
            if thread.is_alive():
                yield unchanged  # Gradio stops a cancelled or abandoned run here
        if "error" in outcome:
            raise outcome["error"]
        yield (*views.comparison_views(outcome["report"], readable), "")
    except Exception as error:
        yield (*unchanged[:4], error_message(error, "compare"))
    finally:
        stop.set()  # done, failed, cancelled or abandoned: the thread stops at its next word


def build(keyboard: Keyboard) -> None:
    """The tab's components and events."""
    gr.Markdown(
        "Which model suggests better, and where? Paste a text (or use the held-out play, which the bigram "
        "model never saw) and run both models over it word by word: recall@1 and @3 of the next word with "
        "nothing typed, keystroke savings with a 3-slot strip, and per-word perplexity."
    )
    compare_text = gr.Textbox(label="Text to compare on", lines=6, value=held_out_text(MAX_COMPARE_WORDS))
    with gr.Row(equal_height=True):
        compare_words = gr.Slider(
            20, MAX_COMPARE_WORDS, value=150, step=10, label="Words to evaluate", elem_id="compare-words"
        )
        compare_button = gr.Button("Run the comparison", variant="primary", elem_id="compare-button")
        compare_message = gr.Markdown(elem_id="compare-message")  # progress and messages, beside the button
    compare_table = gr.Markdown(elem_id="compare-table")
    gr.Markdown(views.METRICS_EXPLAINED, elem_id="compare-metrics")
    with gr.Row():
        found_plot = gr.LinePlot(
            x="letters typed",
            y="share suggested",
            color="model",
            height=280,
            min_width=320,
            title="share of words in the strip after typing n letters",
            y_lim=[0, 1],
            x_axis_format="d",
        )  # whole letters: ticks 0, 1, 2, ...
        along_plot = gr.LinePlot(
            x="word position",
            y="p(true word)",
            color="model",
            height=280,
            min_width=320,
            title="p(the word actually typed) along the text",
        )
    gr.Markdown(
        "Where the models disagree most about the word actually typed: |log10(p transformer / p bigram)| "
        "is 1 when one model gave it ten times the other's probability. Both p are the ones perplexity "
        "uses: the bigram's smoothed by Kneser-Ney (never 0), the transformer's from its tokens."
    )
    disagreements = gr.Dataframe(headers=views.DISAGREEMENT_COLUMNS, interactive=False, wrap=True)

    # The button is off while its run is on: one Compare at a time from a page.
    compare_button.click(
        lambda: gr.update(interactive=False), None, compare_button, queue=False, api_visibility="private"
    ).then(
        functools.partial(compare, keyboard),
        [compare_text, compare_words],
        [compare_table, found_plot, along_plot, disagreements, compare_message],
        api_name="compare",
        show_progress_on=[compare_message],
    ).then(lambda: gr.update(interactive=True), None, compare_button, queue=False, api_visibility="private")
