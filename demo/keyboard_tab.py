"""The Keyboard tab: the text box, a suggestion strip per model, the sampling controls, learning from the
user, sampled text, the charts and the "why these numbers" panel. The keystroke loop runs in the page
(`keyboard.js`); what answers it is `demo.keystroke`."""

from __future__ import annotations

import functools
import html
from dataclasses import asdict
from pathlib import Path

import gradio as gr

from demo import keystroke, views
from demo.common import (
    BEFORE_CARET,
    KEEP,
    RANDOM_SEED,
    SLIDER_RANGES,
    Controls,
    Page,
    Sessions,
    clamped,
    new_token,
    read_settings,
    safely,
    sampling_settings,
    side_by_side,
    word_bars,
)
from lm.core.checks import check_whole_number, shown
from lm.core.tokenize import join_word, split_partial_word
from lm.counting.personal import DEFAULT_WEIGHT, MAX_READ_CHARS, MAX_WEIGHT
from lm.serving.keyboard import MODES, Keyboard, Settings, cased, clean_text, readable

KEYBOARD_JS = (Path(__file__).parent / "keyboard.js").read_text(encoding="utf-8")
CHIP_PLACES = ("centre", "left", "right")  # where chips 0, 1, 2 sit in a strip (the most likely in the centre)
VIEWS = {"concurrency_limit": 8, "concurrency_id": "model-views"}  # charts, explanations, sampling: merged, at VIEW
CHART_KINDS = ("raw", "warped")  # each model's two charts


def chart_titles(name: str) -> tuple[str, str]:
    """The titles of strip `name`'s two charts.

    Example:
        >>> chart_titles("bigram")
        ('Bigram: raw', 'Bigram: warped')
    """
    return tuple(f"{name.capitalize()}: {kind}" for kind in CHART_KINDS)


# ---- handlers: plain functions of the keyboard and the controls' values ------------------------------


def check_settings(mode, temperature, top_k, top_p, seed, last_good):
    """The settings the strips use from now on (kept, and sent to the page), one message naming what was
    wrong (or ""), and the three sliders: one typed outside its range shows the value used instead."""
    settings, problems = read_settings(mode, temperature, top_k, top_p, seed, last_good)
    moved = [clamped(name, value) for name, value in (("temperature", temperature), ("top_k", top_k), ("top_p", top_p))]
    sliders = [gr.update(value=inside) if note else gr.update() for inside, note in moved]
    return settings, asdict(settings), ("⚠️ " + "; ".join(problems)) if problems else "", *sliders


def distributions(sessions: Sessions, request: gr.Request | None, text, temperature, top_k, top_p, token=None):
    """The charts (raw and warped for each model), read from the very distributions the strips show."""
    context, prefix = split_partial_word(clean_text(text)[0])
    keyboard, frames = sessions.keyboard(token, request), []
    for name in keyboard.names:
        shown = keyboard.distribution(name, context, prefix)
        raw, warped = views.bar_frame(shown), views.warped_bar_frame(shown, temperature, top_k, top_p)
        frames += side_by_side((raw, warped), chart_titles(name))
    return (*frames, "")


def explain_chips(sessions: Sessions, request: gr.Request | None, text, token=None):
    """The "why these numbers" panel for the text typed, and no message."""
    return views.explanations_markdown(sessions.keyboard(token, request).explain(text)), ""


def continued(text: str, generated: str | None) -> str:
    """What the next sampled word follows: the typed text (as the models read it), then the sampled text."""
    typed = clean_text(text)[0]
    if generated is not None and not isinstance(generated, str):
        raise ValueError(f"`generated` (the text sampled so far) has to be a string, but is {shown(generated)}")
    return join_word(typed, readable(generated)[0]) if generated else typed


def sample_next(
    sessions: Sessions,
    model: str,
    request: gr.Request | None,
    text,
    temperature,
    top_k,
    top_p,
    seed,
    generated,
    token=None,
):
    """One word drawn after the typed text and what was sampled so far: the sampled text grows."""
    settings = sampling_settings(temperature, top_k, top_p, seed)
    context = continued(text, generated)
    word = (
        sessions.keyboard(token, request)
        .distribution(model, context, "")
        .sample_word(settings.temperature, settings.top_k, settings.top_p, settings.seed)
    )
    if word is None:
        raise ValueError("no word could be drawn: every draw fell on words the model could not name")
    return join_word(generated or "", cased(word, context, "")), ""


def generate(
    sessions: Sessions,
    model: str,
    request: gr.Request | None,
    text,
    n_words,
    temperature,
    top_k,
    top_p,
    seed,
    generated,
    token=None,
):
    """`n_words` more words, each drawn after everything before it, continuing the sampled text."""
    settings = sampling_settings(temperature, top_k, top_p, seed)
    words = sessions.keyboard(token, request).generate_words(model, continued(text, generated), n_words, settings)
    return join_word(generated or "", words), ""


def set_learning(sessions: Sessions, learning, weight, token):
    """Learning from this page's writing on or off, each of its pairs counting as `weight` corpus pairs:
    what the page's script needs (its token while learning, so the bigram strip reads its counts) and a note.
    Turned off, the counts are kept (turned on again, they count again); `forget_writing` empties them.
    The page gets its token the first time it learns (`new_token`), kept in its `gr.State`."""
    if not isinstance(learning, bool):
        raise ValueError(f"`learning` has to be true or false, but is {shown(learning)}")
    weight = check_whole_number(weight, "weight", 1, MAX_WEIGHT)
    token = token if isinstance(token, str) else new_token() if learning else None
    learner = sessions.learners.start(token) if learning else sessions.learners.get(token)
    if learner is not None:
        learner.learning, learner.weight = learning, weight
    page = {"token": token if learning else None, "read_chars": MAX_READ_CHARS}  # the page sends no more
    return token, page, views.learned_note(learner)


def forget_writing(sessions: Sessions, learning, weight, token):
    """Empty this page's counts (and go on learning, or not, as the switch says): what is on the page now
    is not learned again, what is written from now on is."""
    learner = sessions.learners.get(token)
    if learner is not None:
        learner.forget()
    return set_learning(sessions, learning, weight, token)


# ---- layout and events ----------------------------------------------------------------------------


def tab_order(keyboard: Keyboard) -> list[str]:
    """The strips whose centre word Tab inserts, in the order tried: the last strip first (the registry puts
    the transformer last), then the one before it when it has none.

    Example:
        >>> from lm import BigramModel
        >>> from lm.registry import lineup
        >>> bigram = BigramModel.from_text("a b.", device="cpu")
        >>> tab_order(Keyboard(lineup(bigram=bigram, trigram=bigram)))
        ['trigram', 'bigram']
    """
    return list(reversed(keyboard.names))


def tab_help(keyboard: Keyboard) -> str:
    """The line under the strips saying how to insert a word."""
    first, *then = tab_order(keyboard)
    fallback = f" (the {then[0]}'s when the {first} has none)" if then else ""
    return (
        f"Click a chip to insert its word at the caret, or press **Tab** for the {first}'s centre word, the "
        f"outlined chip, the most likely{fallback}. Dimmed chips are waiting for your latest keystroke. "
        "**Ctrl+Z** undoes an insertion; **Esc** then **Tab** leaves the box."
    )


def lineup_for_the_page(keyboard: Keyboard, initial: dict) -> dict:
    """What keyboard.js starts from: the strips in order, their first answers, Tab's order, the learning strip."""
    return {
        "names": list(keyboard.names),
        "answers": {name: keystroke.strip_answer(initial, name, 0) for name in keyboard.names},
        "tab": tab_order(keyboard),
        "learns": keyboard.learner,
    }


def _strip(name: str, title: str, initial: dict) -> list[gr.Button]:
    """A strip's title line and its three chips (chip 0 first in the page, so Tab reaches it first; CSS
    puts it in the centre)."""
    gr.HTML(
        f"<p class='strip-title'><b>{title}</b><br><span class='info'>"
        f"{html.escape(views.strip_info(initial['about'].get(name)))}</span></p>",
        elem_id=f"{name}-title",
    )
    with gr.Row(elem_classes="strip"):
        return [
            gr.Button(
                label or " ",
                elem_id=f"{name}-{index}",
                elem_classes=["chip", CHIP_PLACES[index]],
                interactive=bool(label),
                min_width=0,
            )
            for index, label in enumerate(views.chip_labels(initial[name]))
        ]


def build(page: Page) -> None:
    """The tab's components, in the page's order, then their events. Fills `page.controls` (the text box and
    sampling controls the tabs after it read) and adds the keystroke route to `page.blocks.routes`."""
    sessions, keyboard = page.sessions, page.sessions.corpus_keyboard
    initial = keyboard.suggest("")  # rendered with the page: chips show before any request
    text = gr.Textbox(
        label="Type here", lines=3, elem_id="keyboard-input", autofocus=True, placeholder="I hope you're having a "
    )
    strips = {name: _strip(name, keyboard.titles[name], initial) for name in keyboard.names}  # under the box
    gr.Markdown(tab_help(keyboard), elem_id="keyboard-help")
    for name in keyboard.names:  # the strips' notes: keyboard.js writes them
        gr.HTML("<p class='note'></p>", elem_id=f"{name}-message")
    # a strip's note takes no room while empty (by id: a class in `:has()` made every keystroke's restyle
    # slower in Chromium, measured by bench/bench_browser.py)
    notes = ", ".join(f"#{name}-message:has(.note:empty)" for name in keyboard.names)
    page.blocks.css_rules.append(f"{notes} {{ display: none; }}")
    settings = _sampling_controls()
    session = gr.State(None, delete_callback=sessions.learners.stop)  # the page's token once it learns
    page.controls = Controls(text, *settings[1:], session)
    settings_json = _wire_settings(settings)
    keystroke.wire(page, strips, initial, settings)
    page_lineup = gr.JSON(lineup_for_the_page(keyboard, initial), visible=False, label="strips")  # keyboard.js's
    page.blocks.load(None, [page_lineup, settings_json], js=KEYBOARD_JS)  # the page's keystroke loop starts
    _learning(page)
    _sampling(page)
    _charts(page)
    _why(page)


def _sampling_controls() -> list:
    """The chips' mode and the sampling controls (mode, temperature, top-k, top-p, seed), and their message."""
    with gr.Row():
        controls = [
            gr.Radio(list(MODES), value=MODES[0], label="Chips show"),
            gr.Slider(*SLIDER_RANGES["temperature"], value=1.0, step=0.05, label="Temperature (0 = greedy)"),
            gr.Slider(*SLIDER_RANGES["top_k"], value=0, step=1, label="Top-k (0 = off)"),
            gr.Slider(*SLIDER_RANGES["top_p"], value=1.0, step=0.05, label="Top-p (1 = off)"),
            gr.Number(value=RANDOM_SEED, precision=0, label=f"Seed ({RANDOM_SEED} = random)"),
        ]
    return controls


def _wire_settings(settings: list) -> gr.JSON:
    """Each change of a sampling control checked (`check_settings`) and sent to the page; returns the JSON
    the page reads them from."""
    mode, temperature, top_k, top_p, seed = settings
    settings_message = gr.Markdown(elem_id="settings-message")
    settings_json = gr.JSON(asdict(Settings()), visible=False, label="settings")  # what keyboard.js sends
    good_settings = gr.State(Settings())  # the last settings without a mistake: the strips fall back on them
    gr.on(
        [control.input for control in settings],  # a person's change, not the clamped value shown back
        check_settings,
        [*settings, good_settings],
        [good_settings, settings_json, settings_message, temperature, top_k, top_p],
        preprocess=False,
        queue=False,
        trigger_mode="always_last",
        show_progress="hidden",
        api_visibility="private",
    ).then(None, settings_json, js="(checked) => { window.nextword && window.nextword.use(checked); }")
    return settings_json


def _learning(page: Page) -> None:
    """Learning from what the user writes: on and off, its weight, forgetting; the page is told (keyboard.js)."""
    with gr.Row():
        learning = gr.Checkbox(False, label="Learn from what I write (this page only, never saved)", elem_id="learn")
        weight = gr.Slider(
            1, MAX_WEIGHT, value=DEFAULT_WEIGHT, step=1, label="Each pair you write counts as this many corpus pairs"
        )
        forget_button = gr.Button("Forget what I wrote", size="sm", elem_id="forget", scale=0, min_width=180)
    learned = gr.Markdown(elem_id="learned")
    learning_json = gr.JSON(visible=False, label="learning")  # what keyboard.js sends while learning
    learn_to_page = "(state) => { window.nextword && window.nextword.learn(state); }"
    session = page.shared.session
    for triggers, handler, api_name in (
        ([learning.change, weight.release], set_learning, "learning"),
        ([forget_button.click], forget_writing, "forget"),
    ):
        gr.on(
            triggers,
            safely(KEEP, KEEP)(functools.partial(handler, page.sessions)),
            [learning, weight, session],
            [session, learning_json, learned],
            api_name=api_name,
            preprocess=False,
            queue=False,
        ).then(None, learning_json, js=learn_to_page)


def _sampling(page: Page) -> None:
    """Each model's "sample next word" and "generate N words", continuing the typed text in a box of its own."""
    controls = page.shared
    with gr.Row():
        n_words = gr.Slider(1, 50, value=10, step=1, label="Words to generate")
        buttons = {
            name: (gr.Button(f"Sample next word ({name})"), gr.Button(f"Generate N words ({name})"))
            for name in page.sessions.corpus_keyboard.names
        }
    generated = gr.Textbox(
        label="Sampled text: it continues what you typed, each word x ~ p(x | everything before it)",
        lines=3,
        interactive=False,
        elem_id="sampled-text",
    )
    clear_sampled = gr.Button("Clear the sampled text", size="sm", elem_id="clear-sampled")
    generate_message = gr.Markdown(elem_id="generate-message")
    draw = [controls.temperature, controls.top_k, controls.top_p, controls.seed, generated, controls.session]
    for name, (sample_button, generate_button) in buttons.items():
        for button, handler, inputs, api_name in (
            (sample_button, sample_next, [controls.text, *draw], f"sample_{name}"),
            (generate_button, generate, [controls.text, n_words, *draw], f"generate_{name}"),
        ):
            button.click(
                safely(KEEP)(functools.partial(handler, page.sessions, name)),
                inputs,
                [generated, generate_message],
                api_name=api_name,
                **VIEWS,
                preprocess=False,
            )
    clear_sampled.click(lambda: ("", ""), None, [generated, generate_message], api_visibility="private")


def _charts(page: Page) -> None:
    """Each model's raw and warped p(next word) as bars. They cost a second search: computed when their
    panel opens, on request, and while it is open once typing pauses (keyboard.js clicks the refresh
    button), never per key."""
    controls, names = page.shared, page.sessions.corpus_keyboard.names
    with gr.Accordion(
        "p(next word | context): raw and after temperature / top-k / top-p", open=False, elem_id="charts"
    ) as charts:
        with gr.Row(elem_classes="chart-row"):
            plots = [
                word_bars(title, f"{name}-{kind}-chart")  # the frame's order: most likely first, other words apart
                for name in names
                for title, kind in zip(chart_titles(name), CHART_KINDS)
            ]
        refresh = gr.Button("Refresh the charts", elem_id="refresh-charts")
        chart_message = gr.Markdown(elem_id="chart-message")  # its own: a chart must not clear a chip's message
    charts_safely = safely(*[KEEP] * len(plots))(functools.partial(distributions, page.sessions))
    inputs = [controls.text, controls.temperature, controls.top_k, controls.top_p, controls.session]
    for trigger, options in (
        (charts.expand, {"api_name": "charts_opened", "api_visibility": "private"}),
        (refresh.click, {"api_name": "distributions", "trigger_mode": "always_last"}),
    ):
        trigger(
            charts_safely,
            inputs,
            [*plots, chart_message],
            js=BEFORE_CARET,
            show_progress="hidden",
            preprocess=False,
            **VIEWS,
            **options,
        )


def _why(page: Page) -> None:
    """The "why these numbers" panel: the arithmetic behind the chips, on request."""
    with gr.Accordion("Why these numbers? The arithmetic behind the chips", open=False, elem_id="why"):
        why_button = gr.Button("Explain the chips for the text typed", elem_id="explain-chips")
        why = gr.Markdown(elem_id="why-text")
        why_message = gr.Markdown(elem_id="why-message")
    why_button.click(
        safely(KEEP)(functools.partial(explain_chips, page.sessions)),
        [page.shared.text, page.shared.session],
        [why, why_message],
        js=BEFORE_CARET,
        api_name="explain",
        **VIEWS,
        preprocess=False,
        show_progress="hidden",
    )
