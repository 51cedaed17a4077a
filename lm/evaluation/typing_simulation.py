"""Each model as a suggester and a scorer, and a typist using its suggestion strip.

A `Side` asks any model of the lineup the same three questions (the suggestions after a context and
typed letters, the next-word distribution, and ln p of each word of a text), so `simulate` types a text
against any of them: one more letter at a time until the word is in the strip (`typing_cost`). A model
whose engine merges passes is simulated at many positions at once (`simulate_concurrently`).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Callable

from lm.core.tokenize import WORD_RE

TOP_FOR_AGREEMENT = 10  # words per model in the Jensen-Shannon comparison


def typing_cost(word: str, suggest: Callable[[str], list[str]]) -> tuple[int, int | None]:
    """(keys spent on `word`, letters typed before it was suggested or None), for a suggestion strip.

    `suggest(prefix)` gives the strip's words after typing `prefix`. Selecting costs 1 key and adds
    the space; a word never suggested costs its length + 1.

    Example:
        >>> typing_cost("cat", lambda prefix: ["cat"] if prefix == "c" else ["the"])
        (2, 1)
    """
    target = word.lower()
    for typed in range(len(word) + 1):
        if target in (s.lower() for s in suggest(word[:typed])):
            return typed + 1, typed
    return len(word) + 1, None


# ---- each model as a suggester and a scorer ----------------------------------------------------


@dataclass
class WordSpan:
    """One word of the text and where it starts (the context is the text before it)."""

    word: str
    start: int


def word_spans(text: str) -> list[WordSpan]:
    """The words of `text` with their offsets, case kept (typographic apostrophes become ').

    Example:
        >>> [(s.word, s.start) for s in word_spans("Don\u2019t stop.")]
        [("Don't", 0), ('stop', 6)]
    """
    text = text.replace("\u2019", "'")
    return [WordSpan(m.group(), m.start()) for m in WORD_RE.finditer(text)]


class Side:
    """A model of the lineup as the evaluation uses it: the same questions of every model
    (`lm.core.distribution.NextWordModel`), its name, and ln p of a text's words (the model's own
    `word_log_probs`: smoothed counts, or the transformer's tokens)."""

    def __init__(self, name: str, model):
        self.name, self.model = name, model

    def suggest(self, context: str, prefix: str, k: int) -> list[str]:
        """The strip's `k` words after `context` with `prefix` typed."""
        return [word for word, _ in self.model.top_next_words(context, k, prefix)]

    def next_words(self, context: str, k: int) -> tuple[list[str], dict[str, float]]:
        """(the k suggestions with nothing typed, the top words with p(w | context, a word comes next), case merged)."""
        ranked = self.model.next_word_distribution(context).top(TOP_FOR_AGREEMENT)  # what chips and charts show
        merged: dict[str, float] = {}
        for word, p in ranked:
            merged[word.lower()] = merged.get(word.lower(), 0.0) + p
        return [w for w, _ in ranked[:k]], merged

    def log_probs(self, text: str, spans: list[WordSpan]) -> list[float]:
        """ln p(word | text before it) for each span, as the model scores a text."""
        return self.model.word_log_probs(text, [(span.word, span.start) for span in spans])

    @property
    def merges_passes(self) -> bool:
        """Whether the model's searches share an engine's passes (`lm.transformer.engine`)."""
        engine = getattr(self.model, "engine", None)
        return engine is not None and engine.merge


@dataclass
class Outcome:
    """What one model did at one word position (with nothing typed, and while typing it)."""

    top: list[str]  # the suggestions with nothing typed
    distribution: dict[str, float]  # its top words, for the Jensen-Shannon comparison
    cost: int  # keys spent on the word
    typed: int | None  # letters typed before it was suggested (None: never)


def simulate(side, text: str, spans: list[WordSpan], slots: int) -> list[Outcome]:
    """Type `spans` one after another against `side`'s suggestion strip (see `typing_cost`).

    Example:
        >>> from lm import BigramModel
        >>> side = Side("bigram", BigramModel.from_text("the cat sat. the cat ran. the dog ran.", device="cpu"))
        >>> text = "the dog sat"
        >>> [(o.top[:2], o.cost, o.typed) for o in simulate(side, text, word_spans(text), slots=1)]
        [(['the'], 1, 0), (['cat', 'dog'], 2, 1), (['ran'], 2, 1)]
    """
    outcomes = []
    for span in spans:
        context = text[: span.start]
        top, distribution = side.next_words(context, max(slots, 3))
        cost, typed = typing_cost(
            span.word, lambda prefix: top[:slots] if not prefix else side.suggest(context, prefix, slots)
        )
        outcomes.append(Outcome(top, distribution, cost, typed))
    return outcomes


CHUNK_WORDS = 25  # consecutive words one thread simulates in order (each context extends the last one's cache)
AUTO_WORKERS = 16  # positions simulated at once when the transformer's engine merges passes


class Cancelled(Exception):
    """`simulate_concurrently` stopped because its `progress` callback raised."""


def check_workers(workers) -> None:
    """Raise `ValueError` unless `workers` is ``"auto"`` or a positive integer.

    Example:
        >>> check_workers(0)
        Traceback (most recent call last):
        ...
        ValueError: `workers` has to be a positive integer or 'auto', but is 0
    """
    if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"`workers` has to be a positive integer or 'auto', but is {workers!r}")


def choose_workers(side, workers: int | str = "auto") -> int:
    """Word positions simulated at once: ``"auto"`` is `AUTO_WORKERS` for a transformer whose engine merges
    passes (`lm.transformer.engine`: the positions' searches then share its passes), else 1; always 1 for the bigram
    (its look-ups take microseconds).

    Example:
        >>> from lm import BigramModel
        >>> choose_workers(Side("bigram", BigramModel.from_text("the cat sat.", device="cpu")), "auto")
        1
    """
    check_workers(workers)
    if getattr(side.model, "engine", None) is None:
        return 1
    if workers == "auto":
        return AUTO_WORKERS if side.merges_passes else 1
    return workers


def simulate_concurrently(
    side, text: str, spans: list[WordSpan], slots: int, workers: int, progress=None
) -> list[Outcome]:
    """`simulate` over `workers` threads, each taking chunks of `CHUNK_WORDS` consecutive words; their
    searches meet in the model's engine, which merges them into shared passes. The outcomes equal
    `simulate`'s (a merged row equals the row alone to float32 rounding). If `progress(name, done, total)`
    raises, every thread stops at its next word and `Cancelled` is raised from that error."""
    chunks = queue.SimpleQueue()
    for i in range(0, len(spans), CHUNK_WORDS):
        chunks.put(i)
    outcomes: list[Outcome | None] = [None] * len(spans)
    finished: queue.SimpleQueue = queue.SimpleQueue()  # a word's index, or the error a thread met
    stop = threading.Event()

    def work():
        while not stop.is_set():
            try:
                first = chunks.get_nowait()
            except queue.Empty:
                return
            for i in range(first, min(first + CHUNK_WORDS, len(spans))):
                if stop.is_set():
                    return
                try:
                    [outcomes[i]] = simulate(side, text, [spans[i]], slots)
                except Exception as error:
                    finished.put(error)
                    return
                finished.put(i)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for done in range(1, len(spans) + 1):
            item = finished.get()
            if isinstance(item, Exception):
                raise item
            if progress:
                try:
                    progress(side.name, done, len(spans))
                except Exception as error:
                    raise Cancelled(str(error)) from error
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return outcomes
