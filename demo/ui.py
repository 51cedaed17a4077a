"""The Gradio app: layout and wiring only. Every handler calls plain, tested functions in
`lm.keyboard` and `demo.views`, and turns any error into a message (the user's text is never lost)."""

from __future__ import annotations

import asyncio
import functools
import html
import logging
import os
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no phoning home

import anyio  # noqa: E402
import gradio as gr  # noqa: E402

from demo import views  # noqa: E402
from lm.corpus import held_out_text  # noqa: E402
from lm.evaluate import evaluate  # noqa: E402
from lm.keyboard import (MODELS, MODES, SLOTS, Keyboard, Settings, cased, clean_text, generate_bigram,  # noqa: E402
                         join_word)
from lm.tokenize import split_partial_word  # noqa: E402

log = logging.getLogger(__name__)

CSS = """
.strip { gap: 6px !important; flex-wrap: nowrap !important; }
.strip > * { min-width: 0 !important; flex: 1 1 0 !important; }
.chip { white-space: pre-line; line-height: 1.15; min-height: 3.2em; border-radius: 999px !important;
        transition: opacity 0.08s; }
.chip.centre { font-weight: 700; order: 1; }  /* chip 0, first in the page's order, sits in the centre */
.chip.left { order: 0; }
.chip.right { order: 2; }
.strip.stale .chip { opacity: 0.45; }  /* waiting for the answer to a newer keystroke */
#keyboard-message:has(.note:empty), #transformer-message:has(.note:empty) { display: none; }
.joint-table { overflow-x: auto; max-width: 100%; }  /* a phone scrolls the table sideways */
.joint-table table { border-collapse: collapse; font-size: 0.85em; }
.joint-table th, .joint-table td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
.joint-table td.marginal { background: #eef; color: #1f2937; }  /* dark text on the light cell, also in dark mode */
.joint-table .picked { outline: 2px solid #2563eb; outline-offset: -2px; font-weight: 700; }  /* the picked z and x */
#keyboard-input textarea { font-size: 1.15em; }
.strip-title { margin: 0; }
#compare-table th, #compare-table td { word-break: normal; overflow-wrap: normal; hyphens: none; }
#compare-table table { display: block; overflow-x: auto; }  /* a phone scrolls a wide table instead of breaking words */
.strip-title .info { font-size: 0.85em; opacity: 0.75; }
"""
KEYBOARD_JS = (Path(__file__).parent / "keyboard.js").read_text(encoding="utf-8")
BEFORE_CARET = "(text, ...rest) => [window.nextword ? window.nextword.beforeCaret() : text, ...rest]"
CHIP_PLACES = ("centre", "left", "right")  # where chips 0, 1, 2 sit in a strip (the most likely in the centre)
SEED_PAIRS = [("graduated", "job")] * 4 + [("not", "job")] * 3 + [("not", "no job")] * 2 + [("graduated", "no job")]


def error_message(error: Exception, where: str) -> str:
    """What the user reads when a handler fails: a `ValueError` names the bad input; anything else is logged."""
    if isinstance(error, ValueError):
        return f"⚠️ {error}"
    log.warning("%s failed: %s: %s", where, type(error).__name__, error)
    return f"⚠️ something went wrong ({type(error).__name__}); the app keeps running"


def safely(*fallback):
    """Wrap a handler: an error becomes a message in the last output; the other outputs keep `fallback`."""

    def wrap(handler):
        @functools.wraps(handler)
        def run(*args):
            try:
                return handler(*args)
            except Exception as error:  # never let one request take the app down
                message = error_message(error, getattr(handler, "__name__", repr(handler)))
            return (*[gr.update() if value is KEEP else value for value in fallback], message)

        return run

    return wrap


def in_a_thread(handler, limit: int, waiting_at_most: int, busy: tuple):
    """`handler` as a coroutine that runs it in a worker thread, at most `limit` calls at once across users.

    For events that skip Gradio's queue (one HTTP call, no event stream): calls beyond `limit` wait here,
    on the event loop, holding no thread, so they never starve other events of threads. Past
    `waiting_at_most` waiting calls, a caller gets `busy` (the outputs saying so) at once.
    """
    slots, waiting = asyncio.Semaphore(limit), 0

    @functools.wraps(handler)
    async def run(*args):
        nonlocal waiting
        if waiting >= waiting_at_most:
            return busy
        waiting += 1
        try:
            await slots.acquire()
        finally:
            waiting -= 1
        try:
            return await anyio.to_thread.run_sync(handler, *args)
        finally:
            slots.release()

    return run


KEEP = object()  # "leave this output as it is" in a fallback
RANDOM_SEED = -1  # the seed box's value for "a fresh random draw each time"
QUEUE_SIZE = 512  # requests waiting in the queue at most (a class of 50 typing at once fits)
KEYSTROKE_CONCURRENCY = 4  # transformer keystrokes served at once, across users (see the events below)
BUSY = "⚠️ the app is busy: too many keystrokes are waiting; the chips will catch up"
MAX_COMPARE_WORDS = 500  # words one Compare run may evaluate in the app (the command line has no limit)


SLIDER_RANGES = {"temperature": (0, 2), "top_k": (0, 50), "top_p": (0.05, 1)}  # values outside are clamped


def _seed(seed):
    return None if seed in (None, "", RANDOM_SEED) else seed


def _settings(mode, temperature, top_k, top_p, seed) -> Settings:
    return Settings(mode or MODES[0], temperature, top_k, top_p, _seed(seed))


def _clamped(name: str, value):
    """`value` within its slider's range, and a message if it had to be moved there."""
    low, high = SLIDER_RANGES[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or low <= value <= high:
        return value, None
    inside = min(max(value, low), high)
    return inside, f"`{name}` {value:g} is outside {low:g} to {high:g}; {inside:g} is used"


def read_settings(mode, temperature, top_k, top_p, seed, last_good: Settings | None) -> tuple[Settings, list[str]]:
    """The chips' settings from the controls' raw values: a value outside its slider is clamped, an invalid
    one leaves `last_good`'s in place; a setting the mode does not use is ignored. Returns the settings
    and a message per value that was clamped or left out.

    Example:
        >>> read_settings("sampled", 1.0, 500, 1.0, -5, Settings(seed=7))
        (Settings(mode='sampled', temperature=1.0, top_k=50, top_p=1.0, seed=7), ['`top_k` 500 is outside 0 to 50; 50 is used', '`seed` has to be a non-negative integer or empty, but is -5'])
        >>> read_settings("most likely", 1.0, 500, 1.0, -5, None)[1]
        []
    """
    raw = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
    clamped = {name: _clamped(name, value) for name, value in raw.items()}
    settings, invalid = (last_good or Settings()).updated(mode=mode or MODES[0], seed=_seed(seed),
                                                          **{name: value for name, (value, _) in clamped.items()})
    if settings.mode != "sampled":
        return settings, []
    return settings, [note for _, note in clamped.values() if note] + invalid


def _chip_updates(chips: list[dict]) -> list:
    return [gr.update(value=label or " ", interactive=bool(label)) for label in views.chip_labels(chips)]


def _pick(words: list[str], preferred: str, fallback: int) -> str:
    return preferred if preferred in words else words[min(fallback, len(words) - 1)]


def _also(bigram, word: str) -> list[str]:
    """`word` as an extra choice when the corpus knows it."""
    return [word] if bigram.next_prob(word) > 0 else []


def _bars(frame, top: float | None = None):
    """A bar chart's new data, its bars in the frame's order (most likely first, "(other words)" last);
    `top` fixes the y axis, so charts meant to be compared share one scale."""
    return gr.update(value=frame, sort=list(frame["word"]), **({"y_lim": [0, top]} if top else {}))


def _side_by_side(*frames) -> list:
    """Bar charts of the same words on one y scale (the tallest bar of any of them)."""
    top = max(float(frame["p"].max()) for frame in frames if len(frame)) if any(len(frame) for frame in frames) else None
    return [_bars(frame, top) for frame in frames]


def _continued(text: str, generated: str | None) -> str:
    """What the next sampled word follows: the typed text (as the models read it), then the sampled text."""
    typed = clean_text(text)[0]
    return join_word(typed, generated) if generated else typed


def _strip_answer(suggestions: dict, name: str, ticket=None) -> dict:
    """What the page draws for one strip: its chips, their labels, and the line saying what the numbers are."""
    chips = suggestions[name]
    return {"ticket": ticket, "prefix": suggestions["prefix"], "chips": chips, "labels": views.chip_labels(chips),
            "about": suggestions["about"].get(name), "info": views.strip_info(suggestions["about"].get(name))}


def build_demo(keyboard: Keyboard) -> gr.Blocks:
    """The whole app for a `Keyboard` (its bigram model and transformer)."""
    bigram, transformer = keyboard.bigram, keyboard.transformer
    initial = keyboard.suggest("")  # rendered with the page: chips show before any request
    held_out_sample = held_out_text(MAX_COMPARE_WORDS)

    def suggest(text, mode, temperature, top_k, top_p, seed):
        suggestions = keyboard.suggest(text, _settings(mode, temperature, top_k, top_p, seed))
        chips = {key: suggestions[key] for key in ("bigram", "transformer", "prefix", "about")}  # prefix: which word they complete
        return (*_chip_updates(chips["bigram"]), *_chip_updates(chips["transformer"]), chips, suggestions["message"])

    def suggest_strip(name, text, mode, temperature, top_k, top_p, seed, ticket=None):
        """One strip's chips for `text` (the page sends the text before the caret). The page fills its two
        strips in separate events, so the bigram's never waits for the transformer; notes about the text
        come with the bigram's (once). The page sends the settings `check_settings` last found good; a bad
        one from an API caller is clamped or ignored. `ticket` is echoed: the page's name for this request."""
        settings, _ = read_settings(mode, temperature, top_k, top_p, seed, None)
        suggestions = keyboard.suggest(text, settings, models=(name,))
        return _strip_answer(suggestions, name, ticket), suggestions["message"] if name == "bigram" else ""

    def check_settings(mode, temperature, top_k, top_p, seed, last_good):
        """The settings the strips use from now on (kept, and sent to the page), and one message naming
        what was wrong (or "")."""
        settings, problems = read_settings(mode, temperature, top_k, top_p, seed, last_good)
        return settings, asdict(settings), ("⚠️ " + "; ".join(problems)) if problems else ""

    def distributions(text, temperature, top_k, top_p):
        """The charts read the very distributions the strips show (`Keyboard.distribution`)."""
        context, prefix = split_partial_word(clean_text(text)[0])
        frames = []
        for name in MODELS:
            shown = keyboard.distribution(name, context, prefix)
            frames += _side_by_side(views.bar_frame(shown), views.warped_bar_frame(shown, temperature, top_k, top_p))
        return (*frames, "")

    def sample_next(model, text, temperature, top_k, top_p, seed, generated):
        """One word drawn after the typed text and what was sampled so far: the sampled text grows."""
        settings = _settings(MODES[1], temperature, top_k, top_p, seed)
        context = _continued(text, generated)
        word = keyboard.distribution(model, context, "").sample_word(settings.temperature, settings.top_k,
                                                                      settings.top_p, settings.seed)
        if word is None:
            raise ValueError("no word could be drawn: every draw fell on words the model could not name")
        return join_word(generated or "", cased(word, context, "")), ""

    def generate(model, text, n_words, temperature, top_k, top_p, seed, generated):
        """`n_words` more words, each drawn after everything before it, continuing the sampled text."""
        settings = _settings(MODES[1], temperature, top_k, top_p, seed)
        context = _continued(text, generated)
        if model == "bigram":
            words = generate_bigram(bigram, context, n_words, settings)
        else:
            words = transformer.generate_words(context, int(n_words), settings.temperature, settings.top_k,
                                               settings.top_p, settings.seed)
        return join_word(generated or "", words), ""

    with gr.Blocks(title="Next-word demo") as demo:
        gr.Markdown(
            "# Next word: counting vs. a transformer\n"
            "Type below. Both models suggest the next word, *x ~ p(x | context)*: a bigram model counted "
            "from Shakespeare, and a small pretrained transformer. Click a chip to insert it."
        )
        with gr.Tab("Keyboard"):
            text = gr.Textbox(label="Type here", lines=3, elem_id="keyboard-input", autofocus=True,
                              placeholder="I hope you're having a ")
            gr.Markdown("Click a chip to insert its word at the caret, or press **Tab** for the transformer's "
                        "centre word (the bigram's when the transformer has none). Dimmed chips are waiting "
                        "for your latest keystroke.", elem_id="keyboard-help")
            strips, api_only = {}, {}
            for name, title in (("bigram", "Bigram p(x | z)"), ("transformer", "Transformer p(w | context)")):
                gr.HTML(f"<p class='strip-title'><b>{title}</b><br><span class='info'>"
                        f"{html.escape(views.strip_info(initial['about'].get(name)))}</span></p>", elem_id=f"{name}-title")
                with gr.Row(elem_classes="strip"):
                    labels = views.chip_labels(initial[name])
                    strips[name] = [  # chip 0 first in the page (Tab reaches it first); CSS puts it in the centre
                        gr.Button(label or " ", elem_id=f"{name}-{index}", elem_classes=["chip", CHIP_PLACES[index]],
                                  interactive=bool(label), min_width=0)
                        for index, label in enumerate(labels)
                    ]
                api_only[name] = gr.Button(visible=False)  # the /suggest_<strip> API; the page fetches it itself
            for strip_note in ("keyboard-message", "transformer-message"):  # the strips' notes: keyboard.js writes them
                gr.HTML("<p class='note'></p>", elem_id=strip_note)
            message = gr.Textbox(visible=False, label="message")  # the strips' notes, for API users
            strip_chips = {name: gr.JSON(_strip_answer(initial, name, 0), visible=False, label=f"{name} chips")
                           for name in MODELS}
            ticket = gr.Number(value=None, visible=False, label="ticket")  # the page's name for a strip request
            settings_json = gr.JSON(asdict(Settings()), visible=False, label="settings")  # what keyboard.js sends
            chips = gr.JSON({"bigram": initial["bigram"], "transformer": initial["transformer"]}, visible=False, label="suggestions")
            both_strips = gr.Button(visible=False)  # the /suggest API: both strips in one call
            good_settings = gr.State(Settings())  # the last settings without a mistake: the strips fall back on them
            with gr.Row():
                mode = gr.Radio(list(MODES), value=MODES[0], label="Chips show")
                temperature = gr.Slider(*SLIDER_RANGES["temperature"], value=1.0, step=0.05, label="Temperature (0 = greedy)")
                top_k = gr.Slider(*SLIDER_RANGES["top_k"], value=0, step=1, label="Top-k (0 = off)")
                top_p = gr.Slider(*SLIDER_RANGES["top_p"], value=1.0, step=0.05, label="Top-p (1 = off)")
                seed = gr.Number(value=RANDOM_SEED, precision=0, label=f"Seed ({RANDOM_SEED} = random)")
            settings_message = gr.Markdown(elem_id="settings-message")
            with gr.Row():
                n_words = gr.Slider(1, 50, value=10, step=1, label="Words to generate")
                buttons_row = {}
                for name in ("bigram", "transformer"):
                    buttons_row[name] = (gr.Button(f"Sample next word ({name})"), gr.Button(f"Generate N words ({name})"))
            generated = gr.Textbox(label="Sampled text: it continues what you typed, each word x ~ p(x | everything before it)",
                                   lines=3, interactive=False, elem_id="sampled-text")
            clear_sampled = gr.Button("Clear the sampled text", size="sm", elem_id="clear-sampled")
            generate_message = gr.Markdown(elem_id="generate-message")
            with gr.Accordion("p(next word | context): raw and after temperature / top-k / top-p", open=False,
                              elem_id="charts") as charts:
                with gr.Row():
                    plots = [
                        gr.BarPlot(x="word", y="p", title=title, sort=None, height=300, y_lim=[0, None], min_width=240,
                                   x_label_angle=-45)  # the frame's order: most likely first, other words last
                        for title in ("Bigram: raw", "Bigram: warped", "Transformer: raw", "Transformer: warped")
                    ]
                refresh = gr.Button("Refresh the charts", elem_id="refresh-charts")
                chart_message = gr.Markdown(elem_id="chart-message")  # its own: a chart must not clear a chip's message
            with gr.Accordion("Why these numbers? The arithmetic behind the chips", open=False, elem_id="why"):
                why_button = gr.Button("Explain the chips for the text typed", elem_id="explain-chips")
                why = gr.Markdown(elem_id="why-text")
                why_message = gr.Markdown(elem_id="why-message")

        with gr.Tab("Tables (Bayes)"):
            gr.Markdown("The joint table p(x, z) of previous word z and next word x, counted from the corpus. "
                        "Each sentence is read as `<s>` words `</s>`: `<s>` is the z of a sentence's first word, "
                        "`</s>` the x after its last, so the table also counts how sentences start and end.")
            top_words = [w for w in bigram.joint_table(top=30).index if w not in ("<s>", "</s>")]
            x_words = top_words + _also(bigram, "lord")
            first = (_pick(top_words, "my", 0), _pick(x_words, "lord", 1))  # the picked z and x when the page opens
            size = gr.Slider(4, 20, value=10, step=1, label="Words in the table")
            joint = gr.HTML(views.joint_table_html(views.with_picked(bigram.joint_table(top=10), bigram, *first), bigram, first))
            with gr.Row():
                prev_pick = gr.Dropdown(top_words, value=first[0], label="Pick z (previous word)")
                next_pick = gr.Dropdown(x_words, value=first[1], label="Pick x (next word)", allow_custom_value=True)
            with gr.Row():
                conditional = gr.BarPlot(x="word", y="p", title="p(x | z): a row of the joint table, renormalised", sort=None,
                                         height=300, y_lim=[0, None], min_width=320, x_label_angle=-45)
                flipped = gr.BarPlot(x="word", y="p", title="p(z | x): Bayes' flip, which words come before x", sort=None,
                                     height=300, y_lim=[0, None], min_width=320, x_label_angle=-45)
            identity = gr.Markdown()
            gr.Markdown("**The seed's example**: graduated / not vs. job / no job, computed by the same code.")
            seed_model = type(bigram).from_pairs(SEED_PAIRS, device=bigram.device)
            gr.HTML(views.joint_table_html(seed_model.joint_table(), seed_model))
            gr.Markdown(views.bayes_identity(seed_model, "graduated", "job").replace("\n", "  \n"))
            tables_message = gr.Markdown(elem_id="tables-message")

        with gr.Tab("Sampling"):
            gr.Markdown("Drop marbles on the shape: draw N words and watch the histogram approach the target (the "
                        "line below: its distance from the target after the first 10, 100, 1,000, ... marbles). "
                        "Temperature, top-k, top-p and seed are the ones set on the Keyboard tab.")
            with gr.Row():
                source = gr.Radio(["bigram p(x | z)", "transformer p(x | context)"], value="bigram p(x | z)", label="Distribution")
                marble_z = gr.Dropdown(top_words, value="my" if "my" in top_words else top_words[0], label="z (bigram)")
                marble_context = gr.Textbox(value="I hope you're having a ", label="Context (transformer)")
            with gr.Row():
                marble_n = gr.Number(value=1000, precision=0, label=f"N marbles (1 to {views.MAX_MARBLES:,})")
                marble_button = gr.Button("Drop marbles", variant="primary")
            with gr.Row():
                marble_plot = gr.BarPlot(x="word", y="p", title="marbles: how often each word was drawn", height=300,
                                         y_lim=[0, None], sort=None, min_width=320, x_label_angle=-45)
                target_plot = gr.BarPlot(x="word", y="p", title="target: the warped distribution", height=300,
                                         y_lim=[0, None], sort=None, min_width=320, x_label_angle=-45)
            convergence_plot = gr.LinePlot(x="marbles (log10 N)", y="total variation distance", height=240, y_lim=[0, None],
                                           title="the more marbles, the closer to the shape: distance after 10, 100, 1,000, ... draws")
            marble_summary = gr.Markdown()
            sampling_message = gr.Markdown(elem_id="sampling-message")
            gr.Markdown("Two-step generation: z ~ p(z), then x ~ p(x | z).")
            with gr.Row():
                pair_n = gr.Number(value=1000, precision=0, label=f"Pairs (1 to {views.MAX_PAIRS:,})")
                pair_button = gr.Button("Generate pairs")
            pair_table = gr.Dataframe(label="the first 20 pairs", interactive=False)
            pair_summary = gr.Markdown()

        with gr.Tab("Compare"):
            gr.Markdown(
                "Which model suggests better, and where? Paste a text (or use the held-out play, which the bigram "
                "model never saw) and run both models over it word by word: recall@1 and @3 of the next word with "
                "nothing typed, keystroke savings with a 3-slot strip, and per-word perplexity."
            )
            compare_text = gr.Textbox(label="Text to compare on", lines=6, value=held_out_sample)
            with gr.Row(equal_height=True):
                compare_words = gr.Slider(20, MAX_COMPARE_WORDS, value=150, step=10, label="Words to evaluate",
                                          elem_id="compare-words")
                compare_button = gr.Button("Run the comparison", variant="primary", elem_id="compare-button")
                compare_message = gr.Markdown(elem_id="compare-message")  # progress and messages, beside the button
            compare_table = gr.Markdown(elem_id="compare-table")
            gr.Markdown(views.METRICS_EXPLAINED, elem_id="compare-metrics")
            with gr.Row():
                found_plot = gr.LinePlot(x="letters typed", y="share suggested", color="model", height=280, min_width=320,
                                         title="share of words in the strip after typing n letters", y_lim=[0, 1],
                                         x_axis_format="d")  # whole letters: ticks 0, 1, 2, ...
                along_plot = gr.LinePlot(x="word position", y="p(true word)", color="model", height=280, min_width=320,
                                         title="p(the word actually typed) along the text")
            gr.Markdown("Where the models disagree most about the word actually typed: |log10(p transformer / p bigram)| "
                        "is 1 when one model gave it ten times the other's probability. Both p are the ones perplexity "
                        "uses: the bigram's smoothed by Kneser-Ney (never 0), the transformer's from its tokens.")
            disagreements = gr.Dataframe(headers=views.DISAGREEMENT_COLUMNS, interactive=False, wrap=True)

        # ---- events -------------------------------------------------------------------------
        settings = [mode, temperature, top_k, top_p, seed]
        chip_outputs = [*strips["bigram"], *strips["transformer"], chips, message]
        suggest_safely = safely(*[KEEP] * (2 * SLOTS + 1))(suggest)
        chart_inputs = [text, temperature, top_k, top_p]
        charts_safely = safely(*[KEEP] * 4)(distributions)
        # The keystroke loop runs in the page (demo/keyboard.js): it fetches these two endpoints itself, one
        # request in flight per strip, and draws the chips. Both skip Gradio's queue (queue=False: one HTTP
        # call, no event stream); the transformer's searches run KEYSTROKE_CONCURRENCY at once
        # (`in_a_thread`), the bigram's table look-ups take microseconds. `preprocess=False`: raw settings
        # reach `read_settings`, which clamps or ignores a bad one instead of failing.
        for name in MODELS:
            strip_safely = safely(KEEP)(functools.partial(suggest_strip, name))
            if name == "transformer":
                strip_safely = in_a_thread(strip_safely, KEYSTROKE_CONCURRENCY, QUEUE_SIZE, (gr.update(), BUSY))
            api_only[name].click(strip_safely, [text, *settings, ticket], [strip_chips[name], message],
                                 api_name=f"suggest_{name}", preprocess=False, queue=False)
        both_strips.click(suggest_safely, [text, *settings], chip_outputs, api_name="suggest",
                          concurrency_limit=KEYSTROKE_CONCURRENCY, concurrency_id="transformer-strip")
        gr.on([control.change for control in settings], check_settings, [*settings, good_settings],
              [good_settings, settings_json, settings_message], preprocess=False, queue=False,
              trigger_mode="always_last", show_progress="hidden", api_visibility="private",
              ).then(None, settings_json, js="(checked) => { window.nextword && window.nextword.use(checked); }")
        # The charts cost a second, bigger search: they are computed when their panel opens, on request,
        # and while it is open once typing pauses (keyboard.js clicks the refresh button), never per key.
        charts.expand(charts_safely, chart_inputs, [*plots, chart_message], js=BEFORE_CARET, show_progress="hidden",
                      api_name="charts_opened", api_visibility="private")
        refresh.click(charts_safely, chart_inputs, [*plots, chart_message], js=BEFORE_CARET, api_name="distributions",
                      trigger_mode="always_last", show_progress="hidden")
        why_button.click(safely(KEEP)(lambda text: (views.explanations_markdown(keyboard.explain(text)), "")), text,
                         [why, why_message], js=BEFORE_CARET, api_name="explain", show_progress="hidden")
        demo.load(None, [strip_chips["bigram"], strip_chips["transformer"], settings_json], js=KEYBOARD_JS)
        for name in MODELS:
            sample_button, generate_button = buttons_row[name]
            sample_button.click(safely(KEEP)(functools.partial(sample_next, name)),
                                [text, temperature, top_k, top_p, seed, generated], [generated, generate_message],
                                api_name=f"sample_{name}")
            generate_button.click(safely(KEEP)(functools.partial(generate, name)),
                                  [text, n_words, temperature, top_k, top_p, seed, generated], [generated, generate_message],
                                  api_name=f"generate_{name}")

        clear_sampled.click(lambda: ("", ""), None, [generated, generate_message], api_visibility="private")

        def table(size, prev=None, next=None):
            shown = views.with_picked(bigram.joint_table(top=int(size)), bigram, prev, next)
            return views.joint_table_html(shown, bigram, (prev, next)), ""

        def slices(prev, next):
            if bigram.next_prob(next) == 0:
                raise ValueError(f"x = {next!r} never comes second in the corpus, so p(z | x) = c(z, x) / c(x) "
                                 "is undefined (0 / 0); pick a word from the list")
            return (_bars(views.bar_frame(bigram.next_token_distribution([prev]))),
                    _bars(views.bar_frame(bigram.prev_word_distribution(next))),
                    views.bayes_identity(bigram, prev, next).replace("\n", "  \n"), "")

        size.change(safely(KEEP)(table), [size, prev_pick, next_pick], [joint, tables_message], api_name="joint_table")
        for pick in (prev_pick, next_pick):
            pick.change(safely(KEEP)(table), [size, prev_pick, next_pick], [joint, tables_message], api_visibility="private")
        pick_outputs = [conditional, flipped, identity, tables_message]
        for pick in (prev_pick, next_pick):
            pick.change(safely(KEEP, KEEP, KEEP)(slices), [prev_pick, next_pick], pick_outputs, api_visibility="private")
        demo.load(safely(KEEP, KEEP, KEEP)(slices), [prev_pick, next_pick], pick_outputs, api_name="slices")

        def drop(source_name, z, context, n, temperature, top_k, top_p, seed):
            settings = _settings(MODES[1], temperature, top_k, top_p, seed)
            if source_name.startswith("bigram"):
                distribution = bigram.next_word_distribution([z])
            else:
                distribution = keyboard.transformer_distribution(*split_partial_word(clean_text(context)[0]))
            frame, converging, summary = views.marbles(distribution, n, settings.temperature, settings.top_k,
                                                       settings.top_p, settings.seed)
            by_series = [frame[frame.series == name][["word", "p"]] for name in ("marbles", "target")]
            return (*_side_by_side(*by_series), converging, summary)

        marble_inputs = [source, marble_z, marble_context, marble_n, temperature, top_k, top_p, seed]
        drop_safely = safely(KEEP, KEEP, KEEP, KEEP)(lambda *a: (*drop(*a), ""))
        marble_outputs = [marble_plot, target_plot, convergence_plot, marble_summary, sampling_message]
        marble_button.click(drop_safely, marble_inputs, marble_outputs, api_name="marbles")
        pairs_safely = safely(KEEP, KEEP)(lambda n, s: (*views.two_step_pairs(bigram, n, _seed(s)), ""))
        pair_button.click(pairs_safely, [pair_n, seed], [pair_table, pair_summary, sampling_message], api_name="two_step")
        demo.load(drop_safely, marble_inputs, marble_outputs, api_visibility="private")
        demo.load(pairs_safely, [pair_n, seed], [pair_table, pair_summary, sampling_message], api_visibility="private")

        def compare(text, words, progress=gr.Progress()):  # not `safely`: Gradio passes the progress bar by signature
            try:
                readable = clean_text(text)[0]
                report = evaluate(readable, bigram, transformer, max_words=int(words),
                                  progress=lambda name, done, total: progress(done / total, desc=f"{name}: word {done} of {total}"))
                return (*views.comparison_views(report, readable), "")
            except Exception as error:
                return gr.update(), gr.update(), gr.update(), gr.update(), error_message(error, "compare")

        compare_button.click(lambda: gr.update(interactive=False), None, compare_button, queue=False,
                             api_visibility="private").then(
            compare, [compare_text, compare_words], [compare_table, found_plot, along_plot, disagreements, compare_message],
            api_name="compare", show_progress_on=[compare_message]).then(
            lambda: gr.update(interactive=True), None, compare_button, queue=False, api_visibility="private")
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, share: bool = False, **options):
    """Serve the app: localhost and no public link unless asked.

    Every other event runs one request at a time (default_concurrency_limit=1): charts, sampling and
    comparisons are heavy and would only slow each other down on a small CPU. The queue holds at most
    QUEUE_SIZE waiting requests; past that a user is told the app is busy instead of waiting forever.
    """
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    return demo.launch(server_name=host, server_port=port, share=share, css=CSS, **options)
