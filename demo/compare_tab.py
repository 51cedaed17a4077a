"""The Compare tab: every model of the lineup run over one text word by word (`lm.evaluation.evaluate`), with
what each figure means, where each pair disagrees most, and a progress bar beside the button."""

from __future__ import annotations

import contextvars
import html
import math
import threading

import gradio as gr
import pandas as pd

from demo.common import Page, error_message
from lm.core.checks import check_whole_number
from lm.counting.corpus import held_out_text
from lm.evaluation.evaluate import evaluate
from lm.serving.keyboard import Keyboard, cased, readable

MAX_COMPARE_WORDS = 500  # words one Compare run may evaluate in the app (the command line has no limit)
MAX_COMPARE_LETTERS = 3_000  # letters of those words at most: the simulation types each word letter by letter
MAX_COMPARE_CHARS = 50_000  # characters read from the start of the text: far more than those letters need
COMPARE_CONCURRENCY = 4  # runs at once across users: their passes merge in the engine, behind every keystroke
DISAGREEMENTS_SHOWN = 10  # rows of each pair's "where they disagree most"
POLL_S = 0.5  # how often a running Compare offers Gradio the chance to stop it
ALREADY_RUNNING = "⚠️ a comparison is already running for this page: wait for it, or cancel it first"


# ---- views: plain functions of the models' numbers (no Gradio) -----------------------------------


def disagreement_columns(one: str, other: str) -> list[str]:
    """The columns of the table of where two models disagree most."""
    return ["|log10 ratio|", "context", "word", f"p {one}", f"p {other}", f"{one} top 3", f"{other} top 3"]


METRICS_EXPLAINED = """\
- **perplexity (per word)**: how surprised the model is by each actual word, as "a choice among N equally
  likely words"; lower is better. From each model's probability of the word typed (the counting models'
  smoothed, so a pair never seen is not impossible).
- **recall@1 / recall@3**: how often the actual next word was the centre chip / among the three chips, with
  nothing of it typed yet.
- **keystroke savings**: the share of key presses saved by clicking a chip as soon as the word appears in the
  strip (each word costs its letters plus a space without help).
- **Jensen-Shannon divergence**: how different two models' next-word distributions are, from 0 (the same)
  to ln 2 = 0.693 nats (no word in common), averaged over the positions; one line per pair of models.
"""


def table_html(frame: pd.DataFrame) -> str:
    """A frame as an HTML table that a phone scrolls sideways (its headers and words stay whole), every
    cell escaped.

    Example:
        >>> table_html(pd.DataFrame({"word": ["<b>"]}))[-56:]
        '<tbody><tr><td>&lt;b&gt;</td></tr></tbody></table></div>'
    """
    head = "".join(f"<th>{html.escape(str(column))}</th>" for column in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<div class='wide-table'><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"


def comparison_views(report: dict, text: str) -> tuple[str, pd.DataFrame, pd.DataFrame, str]:
    """What the Compare tab shows for an `lm.evaluation.evaluate` report: the summary table, the share of words
    suggested by letters typed, p(true word) along the text, and, for every pair of models, where they
    disagree most (HTML)."""
    from lm.evaluation.evaluate import summary_table

    models = report["models"]
    found = pd.DataFrame(
        [(int(k), share, name) for name in models for k, share in report[name]["found_within"].items()],
        columns=["letters typed", "share suggested", "model"],
    )
    along = pd.DataFrame(
        [(i, p["p"], name) for name in models for i, p in enumerate(report[name]["positions"])],
        columns=["word position", "p(true word)", "model"],
    )
    tables = [
        f"<p><b>{html.escape(one)} vs {html.escape(other)}</b></p>" + disagreements(report, text, one, other)
        for i, one in enumerate(models)
        for other in models[i + 1 :]
    ]
    return summary_table(report), found, along, "".join(tables)


def disagreements(report: dict, text: str, one: str, other: str) -> str:
    """Where models `one` and `other` disagree most about the word actually typed, as an HTML table:
    |log10(p other / p one)|, 1 when one gave the word ten times the other's probability."""
    from lm.evaluation.typing_simulation import word_spans

    spans = word_spans(text)
    gaps = []
    for i, (a, b) in enumerate(zip(report[one]["positions"], report[other]["positions"])):
        gap = math.log10(max(b["p"], 1e-300)) - math.log10(max(a["p"], 1e-300))
        before = text[max(0, spans[i].start - 40) : spans[i].start].replace("\n", " ")
        gaps.append(
            (
                round(abs(gap), 2),
                "…" + before,
                spans[i].word,
                f"{a['p']:.3g}",
                f"{b['p']:.3g}",
                ", ".join(cased(word, text[: spans[i].start], "") for word in a["top3"]),  # as the chips write them
                ", ".join(cased(word, text[: spans[i].start], "") for word in b["top3"]),
            )
        )
    worst = sorted(gaps, key=lambda row: -row[0])[:DISAGREEMENTS_SHOWN]
    return table_html(pd.DataFrame(worst, columns=disagreement_columns(one, other)))


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
                text,
                keyboard.lineup,
                max_words=words,
                progress=tick,
                workers="auto",
                max_letters=MAX_COMPARE_LETTERS,
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
        if not isinstance(text, str):
            raise ValueError(f"`text` has to be a string, but is {type(text).__name__}")
        start, _ = readable(text[:MAX_COMPARE_CHARS])  # a comparison reads the text from its start
        words = check_whole_number(words, "words", 1, MAX_COMPARE_WORDS, "to evaluate")
        thread, outcome = _evaluate_in_a_thread(keyboard, start, words, progress, stop)
        while thread.is_alive():
            thread.join(POLL_S)
            if thread.is_alive():
                yield unchanged  # Gradio stops a cancelled or abandoned run here
        if "error" in outcome:
            raise outcome["error"]
        yield (*comparison_views(outcome["report"], start), letters_note(outcome["report"], words))
    except Exception as error:
        yield (*unchanged[:4], error_message(error, "compare"))
    finally:
        stop.set()  # done, failed, cancelled or abandoned: the thread stops at its next word


def letters_note(report: dict, words) -> str:
    """A note when the run read fewer words than asked because of `MAX_COMPARE_LETTERS` ("" otherwise)."""
    read = len(report["words"])
    if read >= int(words) or report["letters"] + 20 < MAX_COMPARE_LETTERS:
        return ""
    return f"compared the first {read} words: a run reads at most {MAX_COMPARE_LETTERS:,} letters"


class Comparisons:
    """The Compare event's handler: `compare`, at most one run per page (browser session) at a time; a
    second request from the same page is told so at once, instead of queueing behind the first."""

    def __init__(self, keyboard: Keyboard):
        self.keyboard = keyboard
        self._running: set[str | None] = set()  # the sessions with a run under way
        self._lock = threading.Lock()

    def run(self, text, words, request: gr.Request, progress=gr.Progress()):
        session = getattr(request, "session_hash", None)
        with self._lock:
            busy = session in self._running
            self._running.add(session)
        if busy:
            yield (*(gr.update(),) * 4, ALREADY_RUNNING)
            return
        try:
            yield from compare(self.keyboard, text, words, progress)
        finally:  # done, failed, cancelled or abandoned
            with self._lock:
                self._running.discard(session)


def build(page: Page) -> None:
    """The tab's components and events: every model of the lineup compared on one text."""
    keyboard = page.sessions.corpus_keyboard
    gr.Markdown(
        "**Counting against a transformer: which suggests better, and where?** "
        "Paste a text (or use the held-out play, which the counting "
        "models never saw) and run every model over it word by word: recall@1 and @3 of the next word with "
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
    gr.Markdown(METRICS_EXPLAINED, elem_id="compare-metrics")
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
        "Where each pair of models disagrees most about the word actually typed: |log10(p one / p other)| "
        "is 1 when one model gave it ten times the other's probability. Every p is the one perplexity "
        "uses: a counting model's smoothed (never 0), the transformer's from its tokens."
    )
    disagreements = gr.HTML(elem_id="compare-disagreements")

    # The button is off while its run is on: one Compare at a time from a page.
    compare_button.click(
        lambda: gr.update(interactive=False), None, compare_button, queue=False, api_visibility="private"
    ).then(
        Comparisons(keyboard).run,  # a bound method: Gradio sees a generator and the request it asks for
        [compare_text, compare_words],
        [compare_table, found_plot, along_plot, disagreements, compare_message],
        api_name="compare",
        preprocess=False,
        show_progress_on=[compare_message],
        concurrency_limit=COMPARE_CONCURRENCY,
        concurrency_id="compare",
    ).then(lambda: gr.update(interactive=True), None, compare_button, queue=False, api_visibility="private")
