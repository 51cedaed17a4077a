"""The bigram learns from its user, as a phone keyboard does: each finished sentence the user writes is
counted into a personal `BigramModel`, and suggestions read the corpus counts plus the personal ones,
each personal pair weighing `weight` corpus pairs (``corpus + weight * personal``, exact counts).

A `Learner` is one user's (one browser session's); `Learners` keeps them apart, keyed by a random token
the session holds, and bounded. Nothing here is written to disk.

Example:
    >>> from lm import BigramModel
    >>> corpus = BigramModel.from_text("my cat. my hat. my cat.", device="cpu")
    >>> me = Learner(weight=3)
    >>> me.read("I love my dog. I love my dog. I lo")  # two finished sentences
    2
    >>> mine = me.model_with(corpus)
    >>> corpus.cond_prob(x="dog", z="my"), mine.count("my", "dog"), mine.cond_prob(x="dog", z="my")
    (0.0, 6, 0.6666666666666666)
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict

from lm.bigram import BigramModel
from lm.checks import check_whole_number
from lm.tokenize import finished_sentences

DEFAULT_WEIGHT = 100  # each of the user's pairs counts as this many corpus pairs (a few sentences show)
MAX_WEIGHT = 1_000  # the weight slider's top: a few sentences then outweigh most rows of the corpus
MAX_LEARNERS = 50  # sessions learning at once (a class); the one idle longest is forgotten past it
MAX_READ_CHARS = 4_000  # a text is read for sentences up to its last this many characters


class Learner:
    """One user's finished sentences, counted. `read` takes the whole text as it is now: a sentence is
    counted each time it appears more often than in the text read before (typed again, pasted), never
    un-counted when deleted; what is still being typed after the last sentence end is not counted yet."""

    def __init__(self, weight: int = DEFAULT_WEIGHT):
        self.weight = check_whole_number(weight, "weight", 1, MAX_WEIGHT)  # corpus pairs one of the user's counts as
        self.learning = True  # off: suggestions read the corpus alone, the counts are kept
        self.personal: BigramModel | None = None  # the user's pairs, None before a first sentence
        self.sentences = 0  # sentences counted
        self._last_read: Counter = Counter()  # the finished sentences of the text read last
        self._combined: tuple | None = None  # (corpus, weight, model): the last `model_with`, reused

    def read(self, text: str) -> int:
        """Count the finished sentences of `text` new since the last read; returns how many."""
        now = Counter(map(tuple, finished_sentences(text[-MAX_READ_CHARS:])))
        new = now - self._last_read
        self._last_read = now
        if new:
            learned = BigramModel.from_sentences(new.elements(), device="cpu")
            self.personal = learned if self.personal is None else self.personal + learned
            self.sentences += new.total()
            self._combined = None
        return new.total()

    def forget(self) -> None:
        """Empty the counts. The sentences of the text read last stay read: only what is written from
        now on is counted (the text still on the page is not learned again)."""
        self.personal, self.sentences, self._combined = None, 0, None

    def model_with(self, corpus: BigramModel) -> BigramModel:
        """``corpus + weight * personal`` while learning (the corpus itself before a first sentence, or
        when learning is off). Built once per change of the counts or the weight, then reused."""
        if self.personal is None or not self.learning:
            return corpus
        if self._combined is None or self._combined[:2] != (corpus, self.weight):
            self._combined = (corpus, self.weight, corpus + self.weight * self.personal)
        return self._combined[2]

    def pairs(self) -> list[tuple[str, str, int]]:
        """The personal counts as (z, x, count), most counted first."""
        if self.personal is None:
            return []
        found = self.personal.counts.tocoo()
        words = self.personal.vocab.words
        pairs = [(words[z], words[x], int(c)) for z, x, c in zip(found.row, found.col, found.data)]
        return sorted(pairs, key=lambda pair: (-pair[2], pair[0], pair[1]))


class Learners:
    """The learners of one app, by session token: at most `MAX_LEARNERS`, the one idle longest forgotten
    first. Thread-safe (requests of many sessions arrive at once).

    Example:
        >>> learners = Learners()
        >>> learners.get("a") is None, learners.start("a") is learners.get("a"), learners.get("b") is None
        (True, True, True)
    """

    def __init__(self, max_learners: int = MAX_LEARNERS):
        self.max_learners = max_learners
        self._by_token: OrderedDict[str, Learner] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token) -> Learner | None:
        """The learner of `token`, if it learns (None for no token, an unknown or a forgotten one)."""
        with self._lock:
            learner = self._by_token.get(token) if isinstance(token, str) else None
            if learner is not None:
                self._by_token.move_to_end(token)
            return learner

    def start(self, token: str) -> Learner:
        """The learner of `token`, made if new (forgetting the one idle longest past `max_learners`)."""
        with self._lock:
            learner = self._by_token.setdefault(token, Learner())
            self._by_token.move_to_end(token)
            while len(self._by_token) > self.max_learners:
                self._by_token.popitem(last=False)
            return learner

    def stop(self, token) -> None:
        """Forget `token`'s counts (the user reset them, or turned learning off)."""
        with self._lock:
            self._by_token.pop(token, None)
