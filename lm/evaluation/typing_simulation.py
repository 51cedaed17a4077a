"""Each model as a suggester and a scorer, and a typist using its suggestion strip.

`BigramSide` and `TransformerSide` answer the same three questions (the suggestions after a context and
typed letters, the next-word distribution, and ln p of each word of a text), so `simulate` types a text
against either: one more letter at a time until the word is in the strip (`typing_cost`). The
transformer's simulation can run many positions at once (`simulate_concurrently`).
"""

from __future__ import annotations

import contextvars
import math
import queue
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from lm.core.tokenize import WORD_RE, last_word
from lm.counting.smoothing import KneserNey
from lm.transformer.word_search import SearchBudget

TOP_FOR_AGREEMENT = 10  # words per model in the Jensen-Shannon comparison
SCORING = SearchBudget(k=10, batch_size=32, fanout=32, max_steps=8, min_prob=1e-4)  # a word a token straddles


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


class _Side:
    """A model as the evaluation uses it: the same questions of either model (`lm.core.distribution.NextWordModel`);
    each side writes only how it scores a text's words (`log_probs`)."""

    name = ""

    def __init__(self, model):
        self.model = model

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


class BigramSide(_Side):
    """The bigram model: probabilities of a text's words from Kneser-Ney (an unseen pair is not impossible)."""

    name = "bigram"

    def __init__(self, model):
        super().__init__(model)
        self.smoother = KneserNey(model)

    def log_probs(self, text: str, spans: list[WordSpan]) -> list[float]:
        return [math.log(self.smoother.prob(s.word.lower(), last_word(text[: s.start]))) for s in spans]


class TransformerSide(_Side):
    """The transformer: probabilities of a text's words from one pass over the text."""

    name = "transformer"

    def log_probs(self, text: str, spans: list[WordSpan]) -> list[float]:
        """ln p(word | text before it) for each span: its tokens' log-probs plus ln p(the word ends)."""
        tm = self.model
        encoded = tm.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
        token_logprobs, end_mass = _token_scores(tm, ids)
        owner = np.full(len(text) + 1, -1)  # character -> the token that holds it
        for index, (start, end) in enumerate(offsets):
            owner[start:end] = index
        scores = []
        for span in spans:
            first, last = owner[span.start], owner[span.start + len(span.word) - 1]
            if span.start and text[span.start - 1] == " " and first >= 0 and offsets[first][0] == span.start:
                space = owner[span.start - 1]  # the token holding the space: the path starts there if it is a bare " "
                first = space if space >= 0 and tm.tokens.texts[ids[space]] == " " else -1
            aligned = first >= 0 and last >= first and offsets[last][1] == span.start + len(span.word)
            aligned = aligned and not text[offsets[first][0] : span.start].strip()
            if aligned:
                scores.append(float(token_logprobs[first : last + 1].sum()) + math.log(max(end_mass[last], 1e-300)))
            else:  # a token straddles the word's edge: ask the word search instead
                result = tm.word_search(text[: span.start], span.word, SCORING)
                p = result.words.get(span.word, 0.0) * result.prefix_mass
                scores.append(math.log(p) if p > 0 else -math.inf)
        return scores


def _token_scores(tm, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """For each token of `ids`: ln p(token | the frame and the tokens before it), and p(the token after it
    ends a word), read as the keyboard reads a text (`TransformerModel.context_ids`): after the model's
    frame, from at most `max_context_tokens` of the text's tokens. A long text goes in overlapping chunks,
    each after the frame.
    """
    frame, window = list(tm.context_ids("")), tm.max_context_tokens  # the frame (a model without one raises)
    stride = max(1, window // 2)  # each chunk after the first keeps window - stride tokens of context
    logprob, end = np.zeros(len(ids)), np.zeros(len(ids))
    ends = torch.as_tensor(tm.tokens.ends, device=tm.device)
    position = 0  # the next token whose log-prob is needed
    while position < len(ids):
        start = max(0, position - (window - stride))
        chunk = ids[start : start + window]
        logprobs = torch.log_softmax(tm.logits(frame + chunk).float(), -1)  # row r: after (frame + chunk)[: r + 1]
        stop = start + len(chunk)
        after = torch.arange(position - start, stop - start, device=tm.device) + len(frame)  # row after ids[: j + 1]
        following = torch.tensor(ids[position:stop], device=tm.device)
        logprob[position:stop] = logprobs[after - 1, following].cpu().numpy()
        end[position:stop] = torch.logsumexp(logprobs[after].masked_fill(~ends, float("-inf")), -1).exp().cpu().numpy()
        position = stop
    return logprob, end


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
        >>> side = BigramSide(BigramModel.from_text("the cat sat. the cat ran. the dog ran.", device="cpu"))
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
        >>> choose_workers(BigramSide(BigramModel.from_text("the cat sat.", device="cpu")), "auto")
        1
    """
    check_workers(workers)
    if not isinstance(side, TransformerSide):
        return 1
    if workers == "auto":
        return AUTO_WORKERS if side.model.engine.merge else 1
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
    context = contextvars.copy_context()  # the caller's priority (`lm.transformer.engine.working_as`) for every thread

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

    threads = [threading.Thread(target=context.copy().run, args=(work,), daemon=True) for _ in range(workers)]
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
