"""The Gradio app: the page, built from one module per tab, and how it is served.

Each tab's module (`demo.keyboard_tab`, `demo.tables_tab`, `demo.sampling_tab`, `demo.compare_tab`)
holds its layout, its events and its handlers: module-level functions that take the models explicitly
and call plain, tested functions in `lm` and `demo.views`. Any error becomes a message; the user's text
is never lost.
"""

from __future__ import annotations

import logging
import sys

import gradio as gr
from starlette.middleware import Middleware

from demo import compare_tab, continuous_tab, keyboard_tab, sampling_tab, tables_tab, training_tab
from demo.common import QUEUE_SIZE, Page, Sessions
from demo.serving import RequestGuard, proxy_names, served_names, share_the_queue
from lm.serving.keyboard import Keyboard

log = logging.getLogger(__name__)

MAX_INPUT_DEPTH = 8  # lists inside an input value at most (no input of the app nests; Gradio walks them all)
MAX_SESSIONS = 1_000  # Gradio sessions kept (each page, each API call; ~0.45 MB each), the least recent dropped
SWITCH_INTERVAL_S = 0.0001  # how long a Python thread may hold the GIL while another waits (Python's default: 5 ms)
CSS = """
.strip { gap: 6px !important; flex-wrap: nowrap !important; }
.strip > * { min-width: 0 !important; flex: 1 1 0 !important; }
.chip { white-space: pre-line; line-height: 1.15; min-height: 3.2em; border-radius: 999px !important;
        overflow-wrap: anywhere; overflow: hidden;  /* a long word breaks inside its chip, never over the next */
        transition: opacity 0.08s; }
.chip.centre { font-weight: 700; order: 1; border: 2px solid var(--color-accent) !important; }  /* chip 0: the
   most likely, first in the page's order (Tab reaches it first), sits in the centre, marked as Tab's word */
.chip.long { font-size: 0.8em; }  /* a long word (keyboard.js marks it) */
.chip.left { order: 0; }
.chip.right { order: 2; }
.strip.stale .chip { opacity: 0.45; }  /* waiting for the answer to a newer keystroke */
.joint-table { overflow-x: auto; max-width: 100%; }  /* a phone scrolls the table sideways */
.joint-table table { border-collapse: collapse; font-size: 0.85em; }
.joint-table th, .joint-table td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
.joint-table td.marginal { background: #eef; color: #1f2937; }  /* dark text on the light cell, also in dark mode */
.joint-table .picked { outline: 2px solid #2563eb; outline-offset: -2px; font-weight: 700; }  /* the picked z and x */
#keyboard-input textarea { font-size: 1.15em; }
.strip-title { margin: 0; }
#compare-table th, #compare-table td, #your-counts th, #your-counts td {
  word-break: normal; overflow-wrap: normal; hyphens: none; }
#compare-table table, #your-counts table { display: block; overflow-x: auto; }  /* a phone scrolls, words stay whole */
.strip-title .info { font-size: 0.85em; opacity: 0.75; }
.wide-table { overflow-x: auto; max-width: 100%; }  /* a phone scrolls the table; headers and words stay whole */
.wide-table table { border-collapse: collapse; font-size: 0.9em; }
.wide-table th, .wide-table td { border: 1px solid var(--border-color-primary); padding: 3px 6px; white-space: nowrap; }
.chart-row { flex-wrap: wrap !important; }  /* charts side by side: one a line on a phone */
.chart-row > * { flex: 1 1 260px !important; min-width: 260px !important; }
/* Tabs: Gradio measures every tab in a hidden copy and folds those that do not fit behind "...". Measured
   narrow, they all fit, and the tab list wraps onto a second line instead (a phone sees every tab). */
.tab-wrapper { height: auto !important; padding-bottom: 0 !important; }
.tab-wrapper .tab-container[role=tablist] { flex-wrap: wrap; height: auto !important; row-gap: 2px; }
.tab-wrapper .tab-container.visually-hidden button { padding: 0 !important; margin: 0 !important;
                                                     font-size: 1px !important; min-width: 0 !important; }
.overflow-menu > button::after { content: " more tabs"; font-size: 0.85em; }  /* if any still folds away */
.word-chart { font-size: 0.9em; padding: 4px 0; }  /* demo/charts.py: one row a word, lengths to scale */
.word-chart .chart-title { font-weight: 600; margin: 0 0 6px; }
.word-chart .bar-row { display: grid; grid-template-columns: minmax(3.5em, 8.5em) minmax(0, 1fr) 4.6em;
                       align-items: center; gap: 6px; margin: 2px 0; }
.word-chart .bar-word { text-align: right; overflow-wrap: anywhere; line-height: 1.1; }
.word-chart .bar-track { height: 1.1em; background: var(--border-color-primary); border-radius: 2px; }
.word-chart .bar { display: block; height: 100%; background: var(--color-accent); border-radius: 2px; }
.word-chart .bar-value { font-variant-numeric: tabular-nums; }
.word-chart .chart-rest, .word-chart .chart-empty { margin: 6px 0 0; opacity: 0.8; }
"""


class DemoBlocks(gr.Blocks):
    """The page's Blocks. Its events take raw values (``preprocess=False``: the handlers check each one
    and name what was wrong); Gradio itself checks only that a request carries a value per input, and
    here a request short of values gets one line saying so instead of a traceback in the log.

    `routes` are the HTTP routes a tab serves beside Gradio's events (path, endpoint, methods), added by
    the tab's builder (`demo.common.Page`); `launch` mounts them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.routes: list[tuple[str, object, list[str]]] = []
        self.css_rules: list[str] = []  # rules that name the lineup's elements (`launch` adds them to CSS)

    async def preprocess_data(self, block_fn, inputs, state, explicit_call: bool = False):
        """Gradio's preprocessing, after which the session keeps no copy of the inputs: Gradio stores each
        session's last input values for deep links (refused here, `demo.serving.UNUSED_ROUTES`), so every
        new session that sent an 11 MB text held it until `MAX_SESSIONS` newer ones pushed it out."""
        processed = await super().preprocess_data(block_fn, inputs, state, explicit_call)
        if state is not None:
            for block in block_fn.inputs:
                config = state.config_values.get(block._id)
                if not block.stateful and config and "props" in config:
                    config["props"]["value"] = None
        return processed

    def validate_inputs(self, block_fn, inputs):
        route = f"/{block_fn.api_name or block_fn.name}"
        message = None
        if len(inputs) < len(block_fn.inputs):
            sent = [block for block in block_fn.inputs if not block.stateful]  # a page's state is the server's
            message = f"{route} takes {len(sent)} values, but got {len(inputs)}"
        else:
            problems = ((i, input_problem(value)) for i, value in enumerate(inputs))
            i, problem = next(((i, problem) for i, problem in problems if problem), (None, None))
            if problem:
                message = f"{route}: value {i + 1} {problem}"
        if message is not None:
            log.warning("rejected a request: %s", message)
            raise gr.Error(message, print_exception=False)


def input_problem(value) -> str | None:
    """What is wrong with an input value that no handler of the app could take, or None: a file reference
    as Gradio reads one (a dict with a ``path``, which Gradio would copy into its cache before any handler
    runs; the app takes no files), or lists and dicts nested deeper than `MAX_INPUT_DEPTH`.

    Example:
        >>> input_problem({"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}), input_problem("the c")
        ("is a file reference (a dict with a 'path'), and the app takes no files", None)
    """
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_INPUT_DEPTH:
            return f"nests lists or dicts over {MAX_INPUT_DEPTH} deep"
        if isinstance(item, dict):
            if "path" in item:
                return "is a file reference (a dict with a 'path'), and the app takes no files"
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return None


# The Keyboard first (the tabs after it read its controls), then the order of the blog the demo follows
# ("From Bayes' Formula to Generative Models"): a conditional and its flip, a shape (discrete, then
# continuous), marbles and two-step generation, and the table learned; then the models compared.
TABS = (
    ("Keyboard", keyboard_tab),
    ("Tables (Bayes)", tables_tab),
    ("Continuous (GPA)", continuous_tab),
    ("Sampling", sampling_tab),
    ("Learned table", training_tab),
    ("Compare", compare_tab),
)


def build_demo(keyboard: Keyboard) -> gr.Blocks:
    """The whole app for a `Keyboard` (its lineup of models, `lm.registry`)."""
    if keyboard.learner is None:
        raise ValueError(
            "the lineup has to hold a model with a table (the bigram): the tabs after the Keyboard teach it"
        )
    titles = ", ".join(f"*{keyboard.titles[name]}*" for name in keyboard.names)
    with DemoBlocks(title="Next-word demo") as demo:
        gr.Markdown(
            "# Next word: counting vs. a transformer\n"
            f"Type below. Every model suggests the next word, *x ~ p(x | context)*: {titles}. Counting models "
            "read Shakespeare; the transformer is a small pretrained one. The tabs after the Keyboard follow the "
            "blog *From Bayes' Formula to Generative Models*, one idea each.",
            elem_id="intro",
        )
        sessions = Sessions(keyboard)  # each page's own counts, while it learns from its user
        page = Page(demo, sessions, tables_tab.z_words(sessions.own_counts(None)))
        for title, tab_module in TABS:
            with gr.Tab(title) as tab:
                page.tab = tab
                tab_module.build(page)
    return demo


def launch(
    demo: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    allowed_hosts: tuple[str, ...] = (),
    **options,
):
    """Serve the app: localhost and no public link unless asked.

    Requests pass `demo.serving.RequestGuard` first: addressed to a name the app is served as (`host`,
    `allowed_hosts`, this machine's names when serving a network: no DNS rebinding), from the app's own
    pages, not for file uploads (the app takes none), and of a bounded size. Gradio's monitoring page
    and run history are off: the app uses neither.

    The page's keystroke requests go to `demo.keystroke.KEYSTROKE_ROUTE`, which the Keyboard tab adds
    to `DemoBlocks.routes`; they are added to the server here. Every
    other event runs one request at a time (default_concurrency_limit=1): charts, sampling and
    comparisons are heavy and would only slow each other down on a small CPU. The queue holds at most
    QUEUE_SIZE waiting requests, and shares them out (`demo.serving.share_the_queue`: per endpoint and per
    client address); past that a user is told the app is busy instead of waiting forever.
    """
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    share_the_queue(demo._queue)  # Gradio has no public hook for who may join its queue
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    block = not options.pop("prevent_thread_lock", False)
    quiet = options.pop("quiet", False)  # Gradio's own lines name its Python options (share=True), not ours
    guard = Middleware(
        RequestGuard, names=served_names(host, allowed_hosts, share), proxies=proxy_names(allowed_hosts, share)
    )
    launched = demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        css="\n".join([CSS, *demo.css_rules]),
        prevent_thread_lock=True,
        enable_monitoring=False,
        state_session_capacity=MAX_SESSIONS,
        run_history=False,
        footer_links=["api", "gradio", "settings"],
        app_kwargs={"middleware": [guard]},
        quiet=True,
        **options,
    )
    if not quiet:
        shared = f" and at {demo.share_url}" if share and demo.share_url else ""
        print(f"serving on {demo.local_url}{shared} (Ctrl+C stops; --share adds a public link)", flush=True)
    for path, endpoint, methods in demo.routes:  # the tabs' own routes (the keystroke route)
        demo.app.add_route(path, endpoint, methods)
    if block:
        demo.block_thread()
    return launched
