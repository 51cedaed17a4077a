"""`Engine`: the one place that runs work on a causal LM, in order, from many threads at once.

Every forward pass of the app goes through an engine. Work arrives as *jobs* (`run_job`: a keystroke's word
search, a chart's, a prefetch, an evaluation's positions), generators that yield the *rows* they need next
(the KV cache of a context they already have, and the tokens to run after it) and are sent the rows'
log-probabilities. The engine is three parts, as nano-vllm's is:

- the queue and its threads (this module): the engine's thread runs pass after pass; a second thread, the
  jobs' thread, advances the jobs (their Python) while a pass computes, and the engine's thread advances
  them itself when nothing else waits;
- the policy (`lm.transformer.scheduler`): which waiting requests share the next pass, by priority, within
  the pass's limits; pure, tested as a table;
- the runner (`lm.transformer.runner`): the passes themselves, rows packed (or padded) into one forward.

A CPU runs 64 one-token rows in about twice the time of 16 (measured here: 268 against 124 ms), so a class
typing at once shares a few passes. Merged rows must not change a user's numbers: the runner measures how
far merging moves a row and merges only within `lm.transformer.runner.MERGED_VS_ALONE`.

A pass calls torch about 3,000 times, taking Python's lock back after each call, so any other thread
running Python slows it: a 50-row pass took 0.50 s alone and 2.21 s beside one busy Python thread at a
0.5 ms switch interval, 1.14 s at 0.1 ms (`bench/bench_gil.py`). Under a class's load the server's own
Python (the event loop, the handlers, the jobs' thread) is that thread; see the README's "Serving a class".

Every request carries its `Work`: its priority (`KEYSTROKE` first, then `VIEW`, `PREFETCH`, `BACKGROUND`;
within one, the job that started first) and whom it is for. Nothing ambient decides where work goes: a
caller that gives no `Work` runs at `VIEW`, as a job of its own.

Example:
    >>> from lm.transformer.loading import load_causal_lm
    >>> tokenizer, model, _ = load_causal_lm(device="cpu", dtype="float32")
    >>> engine = Engine(model)
    >>> [result] = engine.run([Row([], tuple(tokenizer.encode("I hope you're having a")))])
    >>> great = tokenizer.encode(" great")[0]
    >>> round(float(result.logprobs[great].exp()), 2)
    0.63
    >>> engine.close()
"""

from __future__ import annotations

import atexit
import itertools
import threading
import weakref
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable, Generator

import torch

from lm.transformer.runner import ModelRunner, Row, RowResult
from lm.transformer.scheduler import MAX_ROWS, Limits, Shape, next_batch

KEYSTROKE, VIEW, PREFETCH, BACKGROUND = range(4)  # priorities, most urgent first
PRIORITY_NAMES = {KEYSTROKE: "keystroke", VIEW: "view", PREFETCH: "prefetch", BACKGROUND: "background"}

_jobs = itertools.count()


@dataclass(frozen=True)
class Work:
    """What a piece of work on the model is: how urgent (`priority`), whom it is for (`owner`, a page's
    address: the cache it reads, when the model keeps pages apart), and which job it belongs to (`job`:
    within a priority, the passes of the job that started first go first, so a search that has begun
    finishes before later keystrokes' searches start). Every request to an `Engine` carries one; a
    `lm.transformer.model.TransformerModel` handle made by ``working(work)`` gives it to all its calls.

    Example:
        >>> keystroke = Work(KEYSTROKE, owner="10.0.0.7")
        >>> keystroke.priority == KEYSTROKE, keystroke.job < Work(KEYSTROKE).job
        (True, True)
        >>> Work(7)
        Traceback (most recent call last):
        ...
        ValueError: `priority` has to be one of [0, 1, 2, 3], but is 7
    """

    priority: int = VIEW
    owner: str | None = None
    job: int = field(default_factory=lambda: next(_jobs))

    def __post_init__(self):
        if isinstance(self.priority, bool) or self.priority not in PRIORITY_NAMES:
            raise ValueError(f"`priority` has to be one of {sorted(PRIORITY_NAMES)}, but is {self.priority!r}")


@dataclass(order=True)
class _Request:
    priority: int
    job: int  # the job's number (`Work.job`): earlier jobs first
    order: int
    rows: list[Row] = field(compare=False)
    future: Future = field(compare=False)
    call: Callable[[], object] | None = field(compare=False, default=None)  # a plain function to run instead
    steps: Generator | None = field(compare=False, default=None)  # the job these rows are for (`run_job`)
    shapes: list[Shape] = field(compare=False, default_factory=list)  # what the scheduler weighs of the rows

    def needs(self, rows: list[Row]) -> None:
        """The rows this request waits to run, and their shapes for the scheduler (`lm.transformer.scheduler`)."""
        self.rows = list(rows)
        self.shapes = [Shape(len(row.tokens), row.cached, id(row.layers)) for row in self.rows]

    @property
    def is_call(self) -> bool:
        return self.call is not None


Job = Generator[list[Row], list[RowResult], object]  # yields the rows it needs, gets their results, returns


def _close_at_exit(engine_ref) -> None:
    engine = engine_ref()
    if engine is not None:
        engine.close()


class Engine:
    """The queue and the threads in front of a model's passes (see the module docstring).

    `merge`: merge different callers' rows into one pass (``None``: where the runner measures it safe,
    `lm.transformer.runner.ModelRunner`). With ``merge=False`` it runs one caller's rows at a time, in
    priority order.
    """

    def __init__(self, model, merge: bool | None = None, max_rows: int = MAX_ROWS):
        self.runner = ModelRunner(model, merge)  # the passes and how attention runs them
        self.max_rows = max_rows
        self._waiting: list[_Request] = []  # rows and calls (`lm.transformer.scheduler` picks the next pass's)
        self._ready: list[tuple[_Request, list[RowResult] | None]] = []  # jobs to advance: (request, results)
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="lm-engine", daemon=True)
        self._jobs_thread = threading.Thread(target=self._advance_jobs, name="lm-engine-jobs", daemon=True)
        self._thread.start()
        self._jobs_thread.start()
        atexit.register(_close_at_exit, weakref.ref(self))  # never killed inside a pass when Python exits

    @property
    def model(self):
        return self.runner.model

    @property
    def merge(self) -> bool:
        """Whether different callers' rows share a pass (`ModelRunner.merge`)."""
        return self.runner.merge

    @property
    def passes(self) -> int:
        """Forward passes run so far (for benchmarks and tests)."""
        return self.runner.passes

    @property
    def limits(self) -> Limits:
        """What the scheduler may put in one pass, as this engine runs rows."""
        return Limits(merge=self.merge, packed=self.runner.shared_attention, max_rows=self.max_rows)

    @property
    def device(self) -> torch.device:
        return self.model.device

    def run(self, rows: list[Row], work: Work | None = None) -> list[RowResult]:
        """Run `rows` (with other callers' rows, when they fit) and return their results, in order.

        Blocks until done; raises what the pass raised. No `work`: a `VIEW` job of its own.
        """
        if not rows or any(not row.tokens for row in rows):
            raise ValueError("`rows` has to hold at least one row, each with at least one token")
        return self._submit(work, rows=rows).result()

    def run_job(self, steps: Job, work: Work | None = None):
        """Run a job on the engine's thread and return what it returns.

        A job is a generator: it yields the rows it needs next (``[]`` for none) and is sent their results.
        Its Python runs on the jobs' thread (or on the engine's, when nothing else waits), so many users'
        searches advance one after another there while their rows share each pass: no thread per search
        competes with the passes for Python's lock. Blocks until done; raises what the job raised.
        """
        return self._submit(work, steps=steps).result()

    def call(self, function: Callable[[], object], work: Work | None = None):
        """Run `function()` on the engine's thread, in priority order, alone (for passes that are not rows:
        scoring a whole text). Blocks; returns what it returns."""
        return self._submit(work, call=function).result()

    def close(self) -> None:
        """Stop the thread; work still waiting fails with `RuntimeError`."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join(timeout=5)
        self._jobs_thread.join(timeout=5)

    def waiting(self) -> dict[str, int]:
        """Requests waiting now, by priority name (rows, calls and jobs between steps)."""
        with self._changed:
            counts = {name: 0 for name in PRIORITY_NAMES.values()}
            for request in [*self._waiting, *(request for request, _ in self._ready)]:
                counts[PRIORITY_NAMES[request.priority]] += 1
            return counts

    def is_waiting(self, priority: int) -> bool:
        """Whether work of `priority` or more urgent is waiting for a pass."""
        with self._changed:
            return any(request.priority <= priority for request in self._waiting)

    def _submit(self, work: Work | None, rows=(), call=None, steps=None) -> Future:
        work = Work() if work is None else work
        if not isinstance(work, Work):
            raise ValueError(f"`work` has to be a `Work`, but is {type(work).__name__}")
        request = _Request(work.priority, work.job, next(self._order), [], Future(), call, steps)
        request.needs(rows)
        with self._changed:
            if self._closed:
                raise RuntimeError("the engine is closed")
            if steps is not None:
                self._ready.append((request, None))  # started by the jobs' thread
            else:
                self._waiting.append(request)
            self._changed.notify_all()
        return request.future

    # ---- the engine's thread ---------------------------------------------------------------

    def _serve(self) -> None:
        """The engine's thread: run the most urgent batch of waiting rows, again and again."""
        while True:
            with self._changed:
                while not self._waiting and not self._closed:
                    self._changed.wait()
                if self._closed:
                    self._fail_everything()
                    return
            batch = self._next_batch()
            if batch:
                self._run_batch(batch)

    def _advance_jobs(self) -> None:
        """The jobs' thread: advance every job whose rows came back while other rows wait for a pass (and
        every new job). One thread for all jobs, beside the passes: while a pass computes (torch releases
        Python's lock), the searches' Python runs here (measured: 30 % of the engine's time when it ran on
        the engine's own thread, in series). With nothing else waiting, the engine's thread advances the
        jobs itself, sparing a lone typist the hand-over between threads."""
        while True:
            with self._changed:
                while not self._ready and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                ready, self._ready = self._ready, []
            for request, results in ready:
                self._advance(request, results)

    def _advance(self, request: _Request, results: list[RowResult] | None) -> None:
        """Send a job its rows' results (None: start it); queue the rows it needs next, or finish it."""
        try:
            rows = request.steps.send(results)
            while not rows:  # needs no pass this step
                rows = request.steps.send([])
        except StopIteration as done:
            request.future.set_result(done.value)
            return
        except BaseException as error:  # the caller gets the error; the engine keeps serving
            request.future.set_exception(error)
            return
        request.needs(rows)
        with self._changed:
            if self._closed:
                request.steps.close()
                request.future.set_exception(RuntimeError("the engine is closed"))
                return
            self._waiting.append(request)
            self._changed.notify_all()

    def _run_batch(self, batch: list[_Request]) -> None:
        if batch[0].call is not None:
            try:
                batch[0].future.set_result(batch[0].call())
            except BaseException as error:
                batch[0].future.set_exception(error)
            return
        try:
            results = self.runner.forward([row for request in batch for row in request.rows])
        except BaseException as error:  # the callers get the error; the engine keeps serving
            for request in batch:
                if request.steps is not None:
                    request.steps.close()
                request.future.set_exception(error)
            return
        start, inline = 0, []
        with self._changed:
            busy = bool(self._waiting)  # more rows wait: hand the jobs over and run the next pass meanwhile
        for request in batch:
            mine, start = results[start : start + len(request.rows)], start + len(request.rows)
            if request.steps is None:
                request.future.set_result(mine)
            elif busy:
                with self._changed:
                    self._ready.append((request, mine))
                    self._changed.notify_all()
            else:
                inline.append((request, mine))
        for request, mine in inline:  # nothing else to run: advance them here, with no hand-over
            self._advance(request, mine)

    def _fail_everything(self) -> None:
        for request in [*self._waiting, *(request for request, _ in self._ready)]:
            if request.steps is not None:
                request.steps.close()
            request.future.set_exception(RuntimeError("the engine is closed"))
        self._waiting.clear()
        self._ready.clear()

    def _next_batch(self) -> list[_Request]:
        """The next pass's requests, as the scheduler's policy picks them (`lm.transformer.scheduler.next_batch`)."""
        with self._changed:
            return next_batch(self._waiting, self.limits)
