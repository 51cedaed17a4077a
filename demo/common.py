"""What every tab's wiring uses: errors turned into messages, keystrokes run in threads, chart updates,
and the reading of the sampling controls (a bad value is clamped or named, never a crash)."""

from __future__ import annotations

import functools
import inspect
import logging
import secrets
import typing
from dataclasses import dataclass

import anyio
import gradio as gr

from demo import charts
from lm.core.checks import check_in_float_range
from lm.counting.personal import Learners
from lm.serving.keyboard import MODES, Keyboard, Settings

log = logging.getLogger(__name__)

KEEP = object()  # "leave this output as it is" in a fallback
QUEUE_SIZE = 512  # requests waiting in the queue at most (a class of 50 typing at once fits)
RANDOM_SEED = -1  # the seed box's value for "a fresh random draw each time"
SLIDER_RANGES = {"temperature": (0, 2), "top_k": (0, 50), "top_p": (0.05, 1)}  # values outside are clamped
MAX_MESSAGE_CHARS = 500  # an error message (and its log line) at most; values in it are cut shorter (`lm.core.checks`)
BEFORE_CARET = "(text, ...rest) => [window.nextword ? window.nextword.beforeCaret() : text, ...rest]"


def new_token() -> str:
    """A browser session's name for its learner: random, so no session can guess another's."""
    return secrets.token_urlsafe(16)


class Sessions:
    """The models as each browser session sees them: the corpus's, or, while its user lets the lineup's
    learning model (`Keyboard.learner`, the bigram) learn from what they write, the corpus's counts plus
    theirs (`lm.counting.personal`). A session is named by its token (`new_token`, kept in the page's
    `gr.State` and forgotten with it); no token, the corpus's.

    Example:
        >>> from lm import BigramModel
        >>> from lm.registry import lineup
        >>> sessions = Sessions(Keyboard(lineup(bigram=BigramModel.from_text("my cat.", device="cpu"))))
        >>> _ = sessions.learners.start("me")
        >>> sessions.read("me", "My dog. "), sessions.read("them", "My dog. ")
        (True, False)
        >>> sessions.own_counts("me").count("my", "dog"), sessions.own_counts("them").count("my", "dog")
        (100, 0)
    """

    def __init__(self, keyboard: Keyboard, learners: Learners | None = None):
        self.corpus_keyboard = keyboard
        self.learners = learners or Learners()

    def read(self, token, written) -> bool:
        """Session `token`'s learner reads its whole text, `written`, if it is learning: True if it read."""
        learner = self.learners.get(token)
        if learner is None or not learner.learning or not isinstance(written, str):
            return False
        learner.read(written)
        return True

    def own_counts(self, token):
        """The learning model as session `token` reads it: the corpus's counts, plus its own while it learns."""
        corpus = self.corpus_keyboard.models[self.corpus_keyboard.learner]
        learner = self.learners.get(token)
        return corpus if learner is None else learner.model_with(corpus)

    def keyboard(self, token, request=None) -> Keyboard:
        """The keyboard session `token` types on (a query: nothing is learned here, see `read`), answering the
        page that sent `request` (`owner`: its cache, when the transformer keeps pages apart)."""
        keyboard = self.corpus_keyboard.for_owner(owner(request))
        if keyboard.learner is None or self.learners.get(token) is None:
            return keyboard
        return keyboard.with_model(keyboard.learner, self.own_counts(token))


def owner(request) -> str | None:
    """Whose page sent `request` (a `gr.Request`, or the keystroke route's Starlette request): its address,
    or None. The transformer's work for a page reads that page's cache when pages are kept apart
    (``--private-pages``, `lm.transformer.model.TransformerModel.pages_apart`)."""
    client = getattr(request, "client", None) if request is not None else None
    return client.host if client is not None else None


@dataclass
class Controls:
    """The Keyboard tab's controls that other tabs read too."""

    text: gr.Textbox
    temperature: gr.Slider
    top_k: gr.Slider
    top_p: gr.Slider
    seed: gr.Number
    session: gr.State  # the page's token: which user's counts the bigram adds (`Sessions`)


@dataclass
class Page:
    """What every tab's builder gets, the one signature of them all, ``build(page)``: the Blocks being built
    (a tab adds its HTTP routes and CSS rules to `blocks.routes` and `blocks.css_rules`), the tab itself
    (`tab`, for events on opening it), each session's models (`sessions`), and what the tabs share: the
    words offered as z, and the Keyboard tab's controls (it fills `controls`; the tabs after it read them).
    """

    blocks: gr.Blocks
    sessions: Sessions
    z_words: list[str]
    tab: gr.Tab | None = None
    controls: Controls | None = None

    @property
    def shared(self) -> Controls:
        """The Keyboard tab's controls, for a tab built after it."""
        if self.controls is None:
            raise ValueError("the Keyboard tab has to be built first: this tab reads its controls")
        return self.controls


def error_message(error: Exception, where: str) -> str:
    """What the user reads when a handler fails, and one line in the log: a `ValueError` names the bad
    input; anything else is reported by its type. Either is cut to `MAX_MESSAGE_CHARS`, so a huge
    value sent to the API never fills the log or the reply.

    Example:
        >>> error_message(ValueError("`n` has to be a whole number, but is " + "9" * 500), "drop")[-28:]
        '999… (537 characters in all)'
    """
    if isinstance(error, ValueError):
        message = _cut(str(error))
        log.warning("rejected input to %s: %s", where, message.replace("\n", " "))
        return f"⚠️ {message}"
    log.warning("%s failed: %s: %s", where, type(error).__name__, _cut(str(error)).replace("\n", " "))
    return f"⚠️ something went wrong ({type(error).__name__}); the app keeps running"


def _cut(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return f"{message[:MAX_MESSAGE_CHARS]}… ({len(message):,} characters in all)"


def handler_name(handler) -> str:
    """A handler's name for the log: its function's, with the words bound to it (a model's name).

    Example:
        >>> handler_name(functools.partial(error_message, "bigram"))
        'error_message (bigram)'
    """
    words = []
    while isinstance(handler, functools.partial):
        words = [arg for arg in handler.args if isinstance(arg, str)] + words
        handler = handler.func
    name = getattr(handler, "__name__", type(handler).__name__)
    return f"{name} ({', '.join(words)})" if words else name


def safely(*fallback):
    """Wrap a handler: an error becomes a message in the last output; the other outputs keep `fallback`.
    An integer past a float's range in any argument is named before the handler runs (`check_in_float_range`)."""

    def wrap(handler):
        names = list(inspect.signature(handler).parameters)  # to name an argument no number can hold

        @functools.wraps(handler)
        def run(*args):
            try:
                for name, value in zip(names, args):
                    check_in_float_range(value, name)
                return handler(*args)
            except Exception as error:  # never let one request take the app down
                message = error_message(error, handler_name(handler))
            return (*[gr.update() if value is KEEP else value for value in fallback], message)

        run.__annotations__ = type_hints(handler)  # Gradio passes a `gr.Request` to a parameter typed so
        return run

    return wrap


def type_hints(handler) -> dict:
    """The evaluated type hints of the function under a handler's `functools.partial`s. Gradio reads a
    handler's hints to pass it the page's `gr.Request`; a wrapper (`safely`, `in_a_thread`) keeps them.

    Example:
        >>> def handler(sessions, request: gr.Request, text): ...
        >>> type_hints(functools.partial(handler, "sessions"))["request"] is gr.Request
        True
    """
    while isinstance(handler, functools.partial):
        handler = handler.func
    return typing.get_type_hints(handler)


def in_a_thread(handler, limit: int, waiting_at_most: int, busy: tuple):
    """`handler` as a coroutine that runs it in a worker thread, at most `limit` calls at once across users.

    For events that skip Gradio's queue (one HTTP call, no event stream). The calls get threads of their
    own (a `CapacityLimiter` of `limit`), so while they wait for the model they never hold the threads
    other events run in (the bigram's strip answers in microseconds and must not wait behind them).
    Calls beyond `limit` wait on the event loop, holding no thread; past `waiting_at_most` waiting
    calls, a caller gets `busy` (the outputs saying so) at once.
    """
    threads, waiting = anyio.CapacityLimiter(limit), 0

    @functools.wraps(handler)
    async def run(*args):
        nonlocal waiting
        if waiting >= waiting_at_most + limit:
            return busy
        waiting += 1
        try:
            return await anyio.to_thread.run_sync(handler, *args, limiter=threads)
        finally:
            waiting -= 1

    return run


def word_bars(title: str, elem_id: str | None = None) -> gr.HTML:
    """An empty bar chart of p per word (`demo.charts`): `bars` fills it, its bars in the frame's order.
    Charts side by side sit in a ``gr.Row(elem_classes="chart-row")``, which a phone stacks."""
    return gr.HTML(charts.empty_chart(title), elem_classes="chart", elem_id=elem_id)


def bars(frame, title: str, top: float | None = None) -> str:
    """A bar chart's new drawing, its bars in the frame's order (most likely first, "(other words)" stated
    apart); `top` fixes the scale, so charts meant to be compared share one."""
    return charts.bar_chart(zip(frame["word"], frame["p"]), title, top)


def side_by_side(frames, titles) -> list[str]:
    """Bar charts of the same words on one scale (the largest word's value in any of them)."""
    top = charts.words_top(*(list(zip(frame["word"], frame["p"])) for frame in frames))
    return [bars(frame, title, top) for frame, title in zip(frames, titles)]


# ---- the sampling controls ----------------------------------------------------------------------


def seed_or_none(seed):
    """The seed box's value as `Settings` wants it: None for "random"."""
    return None if seed in (None, "", RANDOM_SEED) else seed


def sampling_settings(temperature, top_k, top_p, seed) -> Settings:
    """The settings a draw uses (sampling, generation, marbles): the controls as they are, checked."""
    return Settings(MODES[1], temperature, top_k, top_p, seed_or_none(seed))


def clamped(name: str, value):
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
        (Settings(mode='sampled', temperature=1.0, top_k=50, top_p=1.0, seed=7),
         ['`top_k` 500 is outside 0 to 50; 50 is used',
          '`seed` has to be a whole number from 0 to 2**63 - 1, but is -5'])
        >>> read_settings("most likely", 1.0, 500, 1.0, -5, None)[1]
        []
    """
    raw = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
    clamped_values = {name: clamped(name, value) for name, value in raw.items()}
    settings, invalid = (last_good or Settings()).updated(
        mode=mode or MODES[0], seed=seed_or_none(seed), **{name: value for name, (value, _) in clamped_values.items()}
    )
    if settings.mode != "sampled":
        return settings, invalid  # only the mode was checked: the sampling settings do not apply
    return settings, [note for _, note in clamped_values.values() if note] + invalid
