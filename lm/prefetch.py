"""`Prefetcher`: use the pauses between keystrokes to expand what the next keystroke will need.

A forward pass costs about the same for 1 row as for 16 on a CPU (reading the weights dominates),
and a typist pauses 100-300 ms between keys. After each keystroke's search (run inside
`foreground`) a background thread, one batched pass at a time,

1. prepares the context after the likeliest completion of the current word, so pressing space
   finds the next word's first tokens already expanded,
2. expands more of the word paths that agree with what is typed, so the next letter narrows a
   search whose answers are already cached, and
3. prepares the context after the runner-up completion.

A keystroke's own search runs inside `foreground`, which stops the background work at its next
pass and keeps it paused until the search is done, so a keystroke waits for at most one background
pass. The background starts only once typing has paused for `pause` seconds: during a burst of keys
its passes would only compete for the CPU with the keystrokes' own searches (and, on a laptop, with
the browser drawing the chips). Prefetching only fills caches: what a search returns is the same with
or without it.

Example:
    >>> from lm import TransformerModel
    >>> tm = TransformerModel.from_pretrained(device="cpu", dtype="float32")
    >>> with Prefetcher(tm) as prefetcher:
    ...     with prefetcher.foreground("I hope you're having a ", ""):
    ...         chips = tm.top_next_words("I hope you're having a ", 3)
    ...     prefetcher.wait_idle(timeout=30)
    True
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from lm.word_search import SearchBudget

WIDEN = SearchBudget(k=32, batch_size=4, fanout=32, max_steps=3, min_prob=1e-4)  # more paths for this word
PAUSE = 0.2  # seconds without a keystroke before the background starts (8 keys/s leaves 0.125 s between keys)
NEXT_WORD = SearchBudget(k=3, batch_size=8, fanout=8, max_steps=1, min_prob=1e-3)  # the next word's first tokens


class _Superseded(Exception):
    """A newer hint arrived: drop the work for the old one."""


class Prefetcher:
    """A background thread that warms a `TransformerModel`'s caches for the next keystroke."""

    def __init__(self, model, pause: float = PAUSE):
        self.model, self.pause = model, pause
        self._hint: tuple[str, str] | None = None
        self._generation = 0
        self._changed = threading.Condition()
        self._idle = threading.Event()
        self._idle.set()
        self._stopped = False
        self._busy = 0  # keystroke searches running now; the background waits for them
        self._thread = threading.Thread(target=self._run, name="word-prefetch", daemon=True)
        self._thread.start()

    @contextmanager
    def foreground(self, context: str, prefix: str):
        """Run a keystroke's search: background work pauses, then warms for `context` + `prefix`."""
        with self._changed:
            self._busy += 1
            self._generation += 1
            self._idle.clear()
        try:
            yield
        finally:
            with self._changed:
                self._busy -= 1
                self._hint = (context, prefix)
                self._changed.notify()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the work for the latest hint is done; False on timeout."""
        return self._idle.wait(timeout)

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify()
        self._thread.join(timeout=5)

    def __enter__(self) -> "Prefetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _next_hint(self):
        with self._changed:
            while (self._hint is None or self._busy) and not self._stopped:
                if self._hint is None and not self._busy:
                    self._idle.set()
                self._changed.wait()
            hint, generation, self._hint = self._hint, self._generation, None
            return hint, generation

    def _check(self, generation: int) -> None:
        if self._stopped or self._busy or generation != self._generation:
            raise _Superseded

    def _run(self) -> None:
        while True:
            hint, generation = self._next_hint()
            with self._changed:  # wait for a pause in the typing; a new keystroke supersedes this hint
                self._changed.wait_for(lambda: self._stopped or generation != self._generation, timeout=self.pause)
            if self._stopped:
                return
            try:
                self._warm(*hint, lambda: self._check(generation))
            except _Superseded:
                continue
            except Exception:  # a prefetch must never take the keyboard down; the foreground will report it
                pass

    def _warm(self, context: str, prefix: str, check) -> None:
        """Prepare the context after the likeliest completion, widen this word's paths, then the runner-up."""
        result = self.model.word_search(context, prefix, NEXT_WORD, before_each_pass=check)
        likely = [word for word, _ in sorted(result.words.items(), key=lambda item: -item[1])[:2]]
        if likely:
            self.model.word_search(context + likely[0] + " ", "", NEXT_WORD, before_each_pass=check)
        self.model.word_search(context, prefix, WIDEN, before_each_pass=check)
        for word in likely[1:]:
            self.model.word_search(context + word + " ", "", NEXT_WORD, before_each_pass=check)
