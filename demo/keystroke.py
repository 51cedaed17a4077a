"""The keystroke feature in one place: the request a strip answers (`Keystroke`, named fields, checked once),
its handler (`suggest_strip`), the route the page posts each keystroke to (`keystroke_endpoint`), the
/suggest_<strip> and /suggest APIs that answer the same, and their wiring into the Keyboard tab (`wire`).
The loop itself runs in the page (`keyboard.js`): one request in flight per strip, the latest text next."""

from __future__ import annotations

import functools
import inspect
import json
import math
from dataclasses import dataclass

import gradio as gr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from demo import views
from demo.common import KEEP, QUEUE_SIZE, Page, Sessions, in_a_thread, read_settings, safely
from lm.core.checks import check_whole_number, shown
from lm.registry import MODELS
from lm.serving.keyboard import SLOTS, Settings

KEYSTROKE_CONCURRENCY = 64  # engine strips' keystrokes searched at once, across users: their passes merge
COUNTING_THREADS = 4  # a counting strip's keystrokes answered at once (microseconds; a learning page's read first)
KEYSTROKE_ROUTE = "/keystroke/suggest_{strip}"  # what the page posts each keystroke to (`keystroke_endpoint`)
KEYSTROKE_INPUTS = 7  # text, mode, temperature, top_k, top_p, seed, ticket; then, while learning: token, whole text
KEYSTROKE_LEARNING_INPUTS = 2
MAX_TICKET = 2**53 - 1  # a page's request number at most (the largest whole number JavaScript counts exactly)
MAX_KEYSTROKE_BYTES = 1 << 20  # a keystroke request's body at most (the text before the caret is in it)
BUSY = "⚠️ the app is busy: too many keystrokes are waiting; the chips will catch up"
# API calls of the strips run at once: an engine model's searches merge in the engine (sharing the page's
# KEYSTROKE_CONCURRENCY with /suggest), a counting model's look-ups take microseconds and never wait behind them.
ENGINE_STRIP = {"concurrency_limit": KEYSTROKE_CONCURRENCY, "concurrency_id": "engine-strips"}
COUNTING_STRIP = {"concurrency_limit": None}


# ---- the keystroke route: the page's requests, without Gradio's event processing ----------------------


def keystroke_endpoint(handlers: dict):
    """The Starlette endpoint of KEYSTROKE_ROUTE: ``POST {"data": [text, mode, temperature, top_k, top_p, seed,
    ticket, token, whole text]}`` to ``keystroke/suggest_<strip>`` answers ``{"data": [strip answer, message]}``,
    as the /suggest_<strip> API does (the same handler, `handlers[strip]`). The last two are the page's
    learning token and its whole text while it learns from its user (null otherwise; may be left out). A
    malformed request gets a 4xx with ``{"error": ...}`` naming what was wrong."""

    async def endpoint(request: Request) -> Response:
        strip = request.path_params["strip"]
        if strip not in handlers:
            return JSONResponse({"error": f"no strip named {strip[:40]!r}: {sorted(handlers)}"}, status_code=404)
        body = await request.body()
        if len(body) > MAX_KEYSTROKE_BYTES:
            return JSONResponse({"error": f"the request is over {MAX_KEYSTROKE_BYTES:,} bytes"}, status_code=413)
        try:
            data = json.loads(body, parse_constant=_not_a_number, parse_float=_finite_number)["data"]
            if not isinstance(data, list) or len(data) < KEYSTROKE_INPUTS:
                raise ValueError
        except RecursionError:
            return JSONResponse({"error": "the body's JSON is nested too deep"}, status_code=400)
        except NotANumber as error:
            return JSONResponse({"error": f"the body's JSON holds {error}"}, status_code=400)
        except (ValueError, TypeError, KeyError):
            return JSONResponse(
                {"error": f'the body has to be JSON {{"data": [...]}} with {KEYSTROKE_INPUTS} values'}, status_code=400
            )
        answer = handlers[strip](request, *data[: KEYSTROKE_INPUTS + KEYSTROKE_LEARNING_INPUTS])
        if inspect.isawaitable(answer):
            answer = await answer
        return JSONResponse({"data": list(answer)})

    return endpoint


class NotANumber(ValueError):
    """A number in a request's JSON that no setting can be (NaN, Infinity, 1e400)."""


def _not_a_number(constant: str):
    raise NotANumber(f"{constant}, which is not a number")


def _finite_number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotANumber(f"{shown(text)}, a number past a float's range")
    return value


# ---- the handlers: plain functions of the keyboard and the request's values ---------------------------


def strip_answer(suggestions: dict, name: str, ticket=None) -> dict:
    """What the page draws for one strip: its chips, their labels, and the line saying what the numbers are."""
    chips, about = suggestions[name], suggestions["about"].get(name)
    info = views.strip_info(about) if chips or about is None else views.empty_strip_info(about, suggestions["prefix"])
    return {
        "ticket": ticket,
        "prefix": suggestions["prefix"],
        "chips": chips,
        "labels": views.chip_labels(chips),
        "about": about,
        "info": info,
    }


def _chip_updates(chips: list[dict]) -> list:
    return [gr.update(value=label or " ", interactive=bool(label)) for label in views.chip_labels(chips)]


def suggest(sessions: Sessions, request: gr.Request | None, text, mode, temperature, top_k, top_p, seed, token=None):
    """Every strip in one call (the /suggest API): chip buttons, the chips as JSON, and the message (a
    setting outside its slider is clamped, an invalid one left at its default, and each named).
    `request`: the page's (Gradio passes it), whose cache the transformer reads when pages are kept apart."""
    settings, problems = read_settings(mode, temperature, top_k, top_p, seed, None)
    keyboard = sessions.keyboard(token, request)
    suggestions = keyboard.suggest(text, settings)
    chips = {key: suggestions[key] for key in (*keyboard.names, "prefix", "about")}  # prefix: the word completed
    message = "; ".join(filter(None, [*problems, suggestions["message"]]))
    return (*(update for name in keyboard.names for update in _chip_updates(chips[name])), chips, message)


@dataclass(frozen=True)
class Keystroke:
    """One strip's request, by name: what the page posts at each keystroke (`KEYSTROKE_ROUTE`) and what the
    /suggest_<strip> API takes, read and checked once (`from_values`)."""

    text: object  # the text before the caret (checked by the keyboard, which names what is wrong)
    settings: Settings  # a bad one from an API caller clamped or ignored (`read_settings`)
    ticket: int | None = None  # the page's number for this request, echoed
    token: str | None = None  # the page's learning token, while it learns from its user
    written: str | None = None  # the page's whole text, while it learns

    @classmethod
    def from_values(cls, text, mode, temperature, top_k, top_p, seed, ticket=None, token=None, written=None):
        """The request from its values in the page's order (`KEYSTROKE_INPUTS`, then the learning ones).

        Example:
            >>> Keystroke.from_values("the c", "most likely", 1.0, 0, 1.0, -1, 7).ticket
            7
            >>> Keystroke.from_values("the c", "most likely", 1.0, 0, 1.0, -1, -1)
            Traceback (most recent call last):
            ...
            ValueError: `ticket` (the page's number for this request) has to be a whole number from 0 to ...
        """
        if ticket is not None:
            ticket = check_whole_number(ticket, "ticket", 0, MAX_TICKET, "the page's number for this request")
        settings, _ = read_settings(mode, temperature, top_k, top_p, seed, None)
        return cls(text, settings, ticket, token, written)


def suggest_strip(
    sessions: Sessions,
    name: str,
    request: gr.Request | None,
    text,
    mode,
    temperature,
    top_k,
    top_p,
    seed,
    ticket=None,
    token=None,
    written=None,
):
    """One strip's chips for a `Keystroke` sent as values (the page sends the text before the caret). The
    page fills its strips in separate events, so a counting strip never waits for the transformer; notes
    about the text come with the first strip's (once). While the page learns from its user, the learning
    strip's request carries the whole text, whose finished sentences are counted first (`Sessions.read`)."""
    keystroke = Keystroke.from_values(text, mode, temperature, top_k, top_p, seed, ticket, token, written)
    learns = name == sessions.corpus_keyboard.learner
    if learns:
        sessions.read(keystroke.token, keystroke.written)
    keyboard = sessions.keyboard(keystroke.token, request)
    suggestions = keyboard.suggest(keystroke.text, keystroke.settings, models=(name,))
    answer = strip_answer(suggestions, name, keystroke.ticket)
    if learns:
        learner = sessions.learners.get(keystroke.token)
        answer["info"] = " · ".join(filter(None, [answer["info"], views.learned_short(learner)]))
    return answer, suggestions["message"] if name == sessions.corpus_keyboard.names[0] else ""


# ---- the wiring --------------------------------------------------------------------------------------


def wire(page: Page, strips: dict, initial: dict, settings: list) -> None:
    """The keystroke loop. It runs in the page (demo/keyboard.js): the page posts to KEYSTROKE_ROUTE itself,
    one request in flight per strip, and draws the chips. That route (`keystroke_endpoint`) calls the very
    handlers of the /suggest_<strip> API, without Gradio's event processing (11 ms of CPU per request,
    measured, for a look-up of 0.1 ms). An engine model's searches run KEYSTROKE_CONCURRENCY at once
    (`in_a_thread`), their passes merged by the engine; a counting model's look-ups (microseconds, after a
    learning page's text is read) run in threads of their own, so no strip's work ever holds the server's
    event loop. `preprocess=False`: raw settings reach `read_settings`, which clamps or ignores a bad one."""
    sessions, keyboard, controls = page.sessions, page.sessions.corpus_keyboard, page.shared
    names = keyboard.names
    message = gr.Textbox(visible=False, label="message")  # the strips' notes, for API users
    ticket = gr.Number(value=None, visible=False, label="ticket")  # the page's name for a strip request
    chips = gr.JSON({name: initial[name] for name in names}, visible=False, label="suggestions")
    handlers = {}
    for name in names:
        on_engine = MODELS[name].runs_on_the_engine
        handlers[name] = in_a_thread(  # never on the event loop: a learning page's strip reads its text first
            safely(KEEP)(functools.partial(suggest_strip, sessions, name)),
            KEYSTROKE_CONCURRENCY if on_engine else COUNTING_THREADS,
            QUEUE_SIZE,
            (gr.update(), BUSY),
        )
        strip_chips = gr.JSON(strip_answer(initial, name, 0), visible=False, label=f"{name} chips")
        gr.Button(visible=False).click(  # the /suggest_<strip> API: gradio_client calls, as the page's route
            handlers[name],
            [controls.text, *settings, ticket, controls.session],
            [strip_chips, message],
            api_name=f"suggest_{name}",
            preprocess=False,
            queue=False,
            **(ENGINE_STRIP if on_engine else COUNTING_STRIP),
        )
    page.blocks.routes.append((KEYSTROKE_ROUTE, keystroke_endpoint(handlers), ["POST"]))  # mounted by `launch`
    gr.Button(visible=False).click(  # the /suggest API: every strip in one call
        safely(*[KEEP] * (len(names) * SLOTS + 1))(functools.partial(suggest, sessions)),  # chips, suggestions
        [controls.text, *settings, controls.session],
        [*(chip for name in names for chip in strips[name]), chips, message],
        api_name="suggest",
        preprocess=False,
        **ENGINE_STRIP,
    )
