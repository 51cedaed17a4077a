"""`Prefetcher`: use each typist's pauses between keystrokes to expand what their next keystroke will need.

A typist pauses 100-300 ms between keys. After a keystroke's search, the keyboard leaves a hint (the
context and the letters typed); once that typist has paused for `pause` seconds, a background thread

1. prepares the context after the likeliest completion of the current word, so pressing space
   finds the next word's first tokens already expanded,
2. expands more of the word paths that agree with what is typed, so the next letter narrows a
   search whose answers are already cached, and
3. prepares the context after the runner-up completion.

Hints are kept per typist: a new hint replaces the one whose text it continues or cuts (the same
person typing on, or deleting), so a class's hints do not overwrite each other. The work runs on the
model's `lm.transformer.engine.Engine` at `PREFETCH` priority: a keystroke's rows always go first, and a hint is
dropped at the next pass once its typist has typed again, or whenever keystrokes are waiting for the
model (with a class typing there are no pauses to fill). Prefetching only fills caches: what a
search returns is the same with or without it.

Example:
    >>> tm  # TransformerModel.from_pretrained(device="cpu", dtype="float32"), shared by the doctests
    TransformerModel(...)
    >>> with Prefetcher(tm, pause=0) as prefetcher:
    ...     chips = tm.top_next_words("I hope you're having a ", 3)
    ...     prefetcher.hint("I hope you're having a ", "")
    ...     prefetcher.wait_idle(timeout=30)
    True
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from lm.transformer.engine import KEYSTROKE, PREFETCH, Work
from lm.transformer.word_search import SearchBudget

WIDEN = SearchBudget(k=32, batch_size=4, fanout=32, max_steps=3, min_prob=1e-4)  # more paths for this word
PAUSE = 0.2  # seconds without a keystroke before the background starts (8 keys/s leaves 0.125 s between keys)
NEXT_WORD = SearchBudget(k=3, batch_size=8, fanout=8, max_steps=1, min_prob=1e-3)  # the next word's first tokens


MAX_HINTS = 64  # typists' hints kept (the oldest go first)


class _Superseded(Exception):
    """The typist typed again: drop the work for the old hint."""


@dataclass
class _Hint:
    context: str
    prefix: str
    at: float  # time.monotonic() of the keystroke
    owner: str | None = None  # whose keystroke (`lm.transformer.engine.Work.owner`): its cache is the one warmed

    @property
    def text(self) -> str:
        return self.context + self.prefix

    def same_typist(self, other: "_Hint") -> bool:
        """Whether one text continues the other, for the same owner: the same person typing on (or deleting)."""
        return self.owner == other.owner and (self.text.startswith(other.text) or other.text.startswith(self.text))


class Prefetcher:
    """A background thread that warms a `TransformerModel`'s caches for each typist's next keystroke."""

    def __init__(self, model, pause: float = PAUSE, max_hints: int = MAX_HINTS):
        self.model, self.pause, self.max_hints = model, pause, max_hints
        self._hints: list[_Hint] = []  # waiting, oldest first
        self._working: _Hint | None = None
        self._changed = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="word-prefetch", daemon=True)
        self._thread.start()

    def hint(self, context: str, prefix: str, owner: str | None = None) -> None:
        """A typist's keystroke was answered for `context` + `prefix`: warm for their next one, in the cache
        of `owner` (whose keystroke it was, `lm.transformer.engine.Work.owner`)."""
        new = _Hint(context, prefix, time.monotonic(), owner)
        with self._changed:
            self._hints = [hint for hint in self._hints if not hint.same_typist(new)][-(self.max_hints - 1) :]
            self._hints.append(new)
            self._changed.notify()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every hint's work is done; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._hints and self._working is None, timeout)

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        self._thread.join(timeout=5)

    def __enter__(self) -> "Prefetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _next_hint(self) -> _Hint | None:
        """The latest hint whose typist has paused `pause` seconds (waiting for one); None once stopped."""
        with self._changed:
            while not self._stopped:
                now = time.monotonic()
                ready = [hint for hint in self._hints if now - hint.at >= self.pause]
                if ready:
                    self._working = ready[-1]
                    self._hints.remove(self._working)
                    return self._working
                wait = min((self.pause - (now - hint.at) for hint in self._hints), default=None)
                self._changed.wait(wait)
            return None

    def _check(self, working: _Hint) -> None:
        """Before each pass: drop the hint once its typist typed again, or while keystrokes wait for the model
        (with a class typing, the model has no pauses to fill: prefetching would only delay the answers)."""
        with self._changed:
            if self._stopped or any(hint.same_typist(working) for hint in self._hints):
                raise _Superseded
        if self.model.engine.is_waiting(KEYSTROKE):
            raise _Superseded

    def _run(self) -> None:
        while (hint := self._next_hint()) is not None:
            try:
                warming = self.model.working(Work(PREFETCH, hint.owner))  # after keystrokes, in the typist's cache
                self._warm(warming, hint.context, hint.prefix, lambda: self._check(hint))
            except _Superseded:
                pass
            except Exception:  # a prefetch must never take the keyboard down; the foreground will report it
                pass
            finally:
                with self._changed:
                    self._working = None
                    self._changed.notify_all()

    @staticmethod
    def _warm(model, context: str, prefix: str, check) -> None:
        """Prepare the context after the likeliest completion, widen this word's paths, then the runner-up."""
        result = model.word_search(context, prefix, NEXT_WORD, before_each_pass=check)
        likely = [word for word, _ in sorted(result.words.items(), key=lambda item: -item[1])[:2]]
        if likely:
            model.word_search(context + likely[0] + " ", "", NEXT_WORD, before_each_pass=check)
        model.word_search(context, prefix, WIDEN, before_each_pass=check)
        for word in likely[1:]:
            model.word_search(context + word + " ", "", NEXT_WORD, before_each_pass=check)
