"""The Gradio app: layout and wiring only. Every handler calls plain, tested functions in
`lm.keyboard` and `demo.views`, and turns any error into a message (the user's text is never lost)."""

from __future__ import annotations

import functools
import logging
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no phoning home

import gradio as gr  # noqa: E402

from demo import views  # noqa: E402
from lm.corpus import held_out_text  # noqa: E402
from lm.evaluate import evaluate  # noqa: E402
from lm.keyboard import MODELS, MODES, SLOTS, Keyboard, Settings, clean_text, generate_bigram, insert_word, join_word  # noqa: E402
from lm.tokenize import split_partial_word  # noqa: E402
from lm.transformer import SearchBudget  # noqa: E402

log = logging.getLogger(__name__)

CHART_BUDGET = SearchBudget(k=views.CHART_WORDS, batch_size=16, fanout=16, max_steps=2, min_prob=1e-3)
CSS = """
.strip { gap: 6px !important; flex-wrap: nowrap !important; }
.strip > * { min-width: 0 !important; flex: 1 1 0 !important; }
.chip { white-space: pre-line; line-height: 1.15; min-height: 3.2em; border-radius: 999px !important; }
.chip.centre { font-weight: 700; }
.joint-table table { border-collapse: collapse; font-size: 0.85em; }
.joint-table th, .joint-table td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
.joint-table td.marginal { background: #eef; }
#keyboard-input textarea { font-size: 1.15em; }
"""
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


KEEP = object()  # "leave this output as it is" in a fallback
RANDOM_SEED = -1  # the seed box's value for "a fresh random draw each time"
QUEUE_SIZE = 512  # requests waiting in the queue at most (a class of 50 typing at once fits)
KEYSTROKE_CONCURRENCY = 4  # transformer keystrokes served at once, across users (see the events below)
BIGRAM_CONCURRENCY = 16  # bigram keystrokes served at once: table lookups of microseconds
MAX_COMPARE_WORDS = 500  # words one Compare run may evaluate in the app (the command line has no limit)


def _seed(seed):
    return None if seed in (None, "", RANDOM_SEED) else seed


def _settings(mode, temperature, top_k, top_p, seed) -> Settings:
    return Settings(mode or MODES[0], temperature, top_k, top_p, _seed(seed))


def _chip_updates(chips: list[dict]) -> list:
    return [gr.update(value=label or " ", interactive=bool(label)) for label in views.chip_labels(chips)]


def _pick(words: list[str], preferred: str, fallback: int) -> str:
    return preferred if preferred in words else words[min(fallback, len(words) - 1)]


def _also(bigram, word: str) -> list[str]:
    """`word` as an extra choice when the corpus knows it."""
    return [word] if bigram.next_prob(word) > 0 else []


def build_demo(keyboard: Keyboard) -> gr.Blocks:
    """The whole app for a `Keyboard` (its bigram model and transformer)."""
    bigram, transformer = keyboard.bigram, keyboard.transformer
    initial = keyboard.suggest("")  # rendered with the page: chips show before any request
    held_out_sample = held_out_text(MAX_COMPARE_WORDS)

    def suggest(text, mode, temperature, top_k, top_p, seed):
        suggestions = keyboard.suggest(text, _settings(mode, temperature, top_k, top_p, seed))
        chips = {key: suggestions[key] for key in ("bigram", "transformer", "prefix")}  # prefix: which word they complete
        return (*_chip_updates(chips["bigram"]), *_chip_updates(chips["transformer"]), chips, suggestions["message"])

    def suggest_strip(name, text, mode, temperature, top_k, top_p, seed):
        """One strip's chips. The page fills its two strips in separate events, so the bigram's never waits
        for the transformer; notes about the text come with the bigram's (once)."""
        suggestions = keyboard.suggest(text, _settings(mode, temperature, top_k, top_p, seed), models=(name,))
        strip = {"chips": suggestions[name], "prefix": suggestions["prefix"]}  # prefix: which word they complete
        return (*_chip_updates(strip["chips"]), strip, suggestions["message"] if name == "bigram" else "")

    def distributions(text, temperature, top_k, top_p):
        context, prefix = split_partial_word(clean_text(text)[0])
        shown = {"bigram": keyboard.bigram_distribution(context, prefix)}
        shown["transformer"] = transformer.next_word_distribution(context, prefix, CHART_BUDGET)
        frames = []
        for name in ("bigram", "transformer"):
            frames += [views.bar_frame(shown[name]), views.warped_bar_frame(shown[name], temperature, top_k, top_p)]
        return (*frames, "")

    def insert(index, text, strip):
        options = (strip or {}).get("chips", [])
        if index >= len(options):
            return text, ""
        return insert_word(text, options[index]["word"]), ""

    def sample_next(model, text, temperature, top_k, top_p, seed, generated):
        settings = _settings(MODES[1], temperature, top_k, top_p, seed)
        context, prefix = split_partial_word(clean_text(text)[0])
        source = keyboard.bigram_distribution if model == "bigram" else keyboard.transformer_distribution
        word = source(context, prefix).sample(1, settings.temperature, settings.top_k, settings.top_p, settings.seed)
        return join_word(generated or "", f"[{model}] {word[0]}"), ""

    def generate(model, text, n_words, temperature, top_k, top_p, seed, generated):
        settings = _settings(MODES[1], temperature, top_k, top_p, seed)
        if model == "bigram":
            words = generate_bigram(bigram, text, n_words, settings)
        else:
            words = transformer.generate_words(clean_text(text)[0], int(n_words), settings.temperature, settings.top_k, settings.top_p, settings.seed)
        return join_word(generated or "", f"[{model}] {words}"), ""

    with gr.Blocks(title="Next-word demo") as demo:
        gr.Markdown(
            "# Next word: counting vs. a transformer\n"
            "Type below. Both models suggest the next word, *x ~ p(x | context)*: a bigram model counted "
            "from Shakespeare, and a small pretrained transformer. Click a chip to insert it."
        )
        with gr.Tab("Keyboard"):
            text = gr.Textbox(label="Type here", lines=3, elem_id="keyboard-input", autofocus=True,
                              placeholder="I hope you're having a ")
            strips = {}
            for name, title in (("bigram", "Bigram p(x | z)"), ("transformer", "Transformer p(w | context)")):
                gr.Markdown(f"**{title}**")
                with gr.Row(elem_classes="strip"):
                    buttons = {}
                    for index in views.DISPLAY_ORDER:
                        classes = ["chip", "centre"] if index == 0 else ["chip"]
                        label = views.chip_labels(initial[name])[index]
                        buttons[index] = gr.Button(label or " ", elem_id=f"{name}-{index}", elem_classes=classes,
                                                   interactive=bool(label), min_width=0)
                strips[name] = [buttons[i] for i in range(SLOTS)]
            message = gr.Markdown(elem_id="keyboard-message")
            transformer_message = gr.Markdown(elem_id="transformer-message")
            strip_chips = {name: gr.JSON({"chips": initial[name], "prefix": ""}, visible=False, label=f"{name} chips")
                           for name in MODELS}
            chips = gr.JSON({"bigram": initial["bigram"], "transformer": initial["transformer"]}, visible=False, label="suggestions")
            both_strips = gr.Button(visible=False)  # the /suggest API: both strips in one call
            with gr.Row():
                mode = gr.Radio(list(MODES), value=MODES[0], label="Chips show")
                temperature = gr.Slider(0, 2, value=1.0, step=0.05, label="Temperature (0 = greedy)")
                top_k = gr.Slider(0, 50, value=0, step=1, label="Top-k (0 = off)")
                top_p = gr.Slider(0.05, 1, value=1.0, step=0.05, label="Top-p (1 = off)")
                seed = gr.Number(value=RANDOM_SEED, precision=0, label=f"Seed ({RANDOM_SEED} = random)")
            with gr.Row():
                n_words = gr.Slider(1, 50, value=10, step=1, label="Words to generate")
                buttons_row = {}
                for name in ("bigram", "transformer"):
                    buttons_row[name] = (gr.Button(f"Sample next word ({name})"), gr.Button(f"Generate N words ({name})"))
            generated = gr.Textbox(label="Sampled text (x ~ p(x | context), one draw at a time)", lines=3, interactive=False)
            with gr.Accordion("p(next word | context): raw and after temperature / top-k / top-p", open=True):
                with gr.Row():
                    plots = [
                        gr.BarPlot(x="word", y="p", title=title, sort="-y", height=260, y_lim=[0, None], min_width=240)
                        for title in ("Bigram: raw", "Bigram: warped", "Transformer: raw", "Transformer: warped")
                    ]
                refresh = gr.Button("Refresh the charts")
                chart_message = gr.Markdown(elem_id="chart-message")  # its own: a chart must not clear a chip's message

        with gr.Tab("Tables (Bayes)"):
            gr.Markdown("The joint table p(x, z) of previous word z and next word x, counted from the corpus.")
            top_words = [w for w in bigram.joint_table(top=30).index if w not in ("<s>", "</s>")]
            size = gr.Slider(4, 20, value=10, step=1, label="Words in the table")
            joint = gr.HTML(views.joint_table_html(bigram.joint_table(top=10)))
            with gr.Row():
                prev_pick = gr.Dropdown(top_words, value=_pick(top_words, "my", 0), label="Pick z (previous word)")
                next_pick = gr.Dropdown(top_words + _also(bigram, "lord"), value=_pick(top_words + _also(bigram, "lord"), "lord", 1),
                                        label="Pick x (next word)", allow_custom_value=True)
            with gr.Row():
                conditional = gr.BarPlot(x="word", y="p", title="p(x | z): a row of the joint table, renormalised", sort="-y",
                                         height=260, y_lim=[0, None], min_width=320)
                flipped = gr.BarPlot(x="word", y="p", title="p(z | x): Bayes' flip, which words come before x", sort="-y",
                                     height=260, y_lim=[0, None], min_width=320)
            identity = gr.Markdown()
            gr.Markdown("**The seed's example**: graduated / not vs. job / no job, computed by the same code.")
            seed_model = type(bigram).from_pairs(SEED_PAIRS, device=bigram.device)
            gr.HTML(views.joint_table_html(seed_model.joint_table()))
            gr.Markdown(views.bayes_identity(seed_model, "graduated", "job").replace("\n", "  \n"))
            tables_message = gr.Markdown(elem_id="tables-message")

        with gr.Tab("Sampling"):
            gr.Markdown("Drop marbles on the shape: draw N words and watch the histogram approach the target. "
                        "Temperature, top-k, top-p and seed are the ones set on the Keyboard tab.")
            with gr.Row():
                source = gr.Radio(["bigram p(x | z)", "transformer p(x | context)"], value="bigram p(x | z)", label="Distribution")
                marble_z = gr.Dropdown(top_words, value="my" if "my" in top_words else top_words[0], label="z (bigram)")
                marble_context = gr.Textbox(value="I hope you're having a ", label="Context (transformer)")
            with gr.Row():
                marble_n = gr.Number(value=1000, precision=0, label=f"N marbles (1 to {views.MAX_MARBLES:,})")
                marble_button = gr.Button("Drop marbles", variant="primary")
            with gr.Row():
                marble_plot = gr.BarPlot(x="word", y="p", title="marbles: how often each word was drawn", height=280,
                                         y_lim=[0, None], sort="-y", min_width=320)
                target_plot = gr.BarPlot(x="word", y="p", title="target: the warped distribution", height=280,
                                         y_lim=[0, None], sort="-y", min_width=320)
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
            with gr.Row():
                compare_words = gr.Slider(20, MAX_COMPARE_WORDS, value=150, step=10, label="Words to evaluate")
                compare_button = gr.Button("Run the comparison", variant="primary")
            compare_table = gr.Markdown()
            with gr.Row():
                found_plot = gr.LinePlot(x="letters typed", y="share suggested", color="model", height=280, min_width=320,
                                         title="share of words in the strip after typing n letters", y_lim=[0, 1])
                along_plot = gr.LinePlot(x="word position", y="p(true word)", color="model", height=280, min_width=320,
                                         title="p(the word actually typed) along the text")
            gr.Markdown("Where the models disagree most (|log10 of their probability ratio| for the true word):")
            disagreements = gr.Dataframe(headers=views.DISAGREEMENT_COLUMNS, interactive=False, wrap=True)
            compare_message = gr.Markdown(elem_id="compare-message")

        # ---- events -------------------------------------------------------------------------
        settings = [mode, temperature, top_k, top_p, seed]
        chip_outputs = [*strips["bigram"], *strips["transformer"], chips, message]
        suggest_safely = safely(*[KEEP] * (2 * SLOTS + 1))(suggest)
        chart_inputs = [text, temperature, top_k, top_p]
        charts_safely = safely(*[KEEP] * 4)(distributions)
        # Each strip is its own event, so the bigram's chips never queue behind the transformer's forward
        # passes: with a class of 50 typing at once, the bigram strip stays instant while the transformer
        # strip catches up. Transformer keystrokes from many users may run together
        # (KEYSTROKE_CONCURRENCY): tokenizing and Gradio's own work overlap, while the forward passes go
        # one at a time under the ContextStates lock. Within one browser, "always_last" drops stale
        # keystrokes. `change`, not `input`: Gradio 6's textbox sends `input` for key presses only, so a
        # paste (or a chip's insertion) would otherwise keep the old suggestions.
        for name, limit in (("bigram", BIGRAM_CONCURRENCY), ("transformer", KEYSTROKE_CONCURRENCY)):
            strip_safely = safely(*[KEEP] * (SLOTS + 1))(functools.partial(suggest_strip, name))
            strip_outputs = [*strips[name], strip_chips[name], message if name == "bigram" else transformer_message]
            for trigger in (text, *settings):
                trigger.change(strip_safely, [text, *settings], strip_outputs, trigger_mode="always_last",
                               show_progress="hidden", concurrency_limit=limit, concurrency_id=f"{name}-strip",
                               **({"api_name": f"suggest_{name}"} if trigger is text else {"api_visibility": "private"}))
        both_strips.click(suggest_safely, [text, *settings], chip_outputs, api_name="suggest",
                          concurrency_limit=KEYSTROKE_CONCURRENCY, concurrency_id="transformer-strip")
        text.change(charts_safely, chart_inputs, [*plots, chart_message], trigger_mode="always_last", api_name="distributions",
                    show_progress="hidden")
        for control in (temperature, top_k, top_p):
            control.change(charts_safely, chart_inputs, [*plots, chart_message], trigger_mode="always_last", api_visibility="private")
        refresh.click(charts_safely, chart_inputs, [*plots, chart_message], api_name="refresh_charts")
        for name in MODELS:
            for index, button in enumerate(strips[name]):
                button.click(  # the new text's suggestions come from text.change
                    safely(KEEP)(functools.partial(insert, index)), [text, strip_chips[name]], [text, message],
                    api_name=f"insert_{name}_{index}",
                )
            sample_button, generate_button = buttons_row[name]
            sample_button.click(safely(KEEP)(functools.partial(sample_next, name)),
                                [text, temperature, top_k, top_p, seed, generated], [generated, message],
                                api_name=f"sample_{name}")
            generate_button.click(safely(KEEP)(functools.partial(generate, name)),
                                  [text, n_words, temperature, top_k, top_p, seed, generated], [generated, message],
                                  api_name=f"generate_{name}")

        def table(size):
            return views.joint_table_html(bigram.joint_table(top=int(size))), ""

        def slices(prev, next):
            return (views.bar_frame(bigram.next_word_distribution([prev])), views.bar_frame(bigram.prev_word_distribution(next)),
                    views.bayes_identity(bigram, prev, next).replace("\n", "  \n"), "")

        size.change(safely(KEEP)(table), size, [joint, tables_message], api_name="joint_table")
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
            frame, summary = views.marbles(distribution, n, settings.temperature, settings.top_k, settings.top_p, settings.seed)
            by_series = [frame[frame.series == name][["word", "p"]] for name in ("marbles", "target")]
            return (*by_series, summary)

        marble_inputs = [source, marble_z, marble_context, marble_n, temperature, top_k, top_p, seed]
        drop_safely = safely(KEEP, KEEP, KEEP)(lambda *a: (*drop(*a), ""))
        marble_outputs = [marble_plot, target_plot, marble_summary, sampling_message]
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

        compare_button.click(compare, [compare_text, compare_words],
                             [compare_table, found_plot, along_plot, disagreements, compare_message], api_name="compare")
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, share: bool = False, **options):
    """Serve the app: localhost and no public link unless asked.

    Every other event runs one request at a time (default_concurrency_limit=1): charts, sampling and
    comparisons are heavy and would only slow each other down on a small CPU. The queue holds at most
    QUEUE_SIZE waiting requests; past that a user is told the app is busy instead of waiting forever.
    """
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    return demo.launch(server_name=host, server_port=port, share=share, css=CSS, **options)
