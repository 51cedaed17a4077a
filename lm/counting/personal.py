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
import time
from collections import Counter, OrderedDict

from lm.core.checks import check_whole_number
from lm.core.tokenize import sentences
from lm.counting.bigram import BigramModel

DEFAULT_WEIGHT = 100  # each of the user's pairs counts as this many corpus pairs (a few sentences show)
MAX_WEIGHT = 1_000  # the weight slider's top: a few sentences then outweigh most rows of the corpus
MAX_LEARNERS = 50  # sessions learning at once (a class); past it, one idle for IDLE_BEFORE_FORGOTTEN_S is forgotten
IDLE_BEFORE_FORGOTTEN_S = 600  # a learner used this recently is never forgotten for a new one (a loop cannot evict)
MAX_READ_CHARS = 4_000  # a text is read for sentences up to its last this many characters
MAX_SENTENCES = 1_000  # sentences one learner counts at most (then it stops counting; its counts stay)


class Learner:
    """One user's finished sentences, counted. `read` takes the whole text as it is now: a sentence is
    counted each time it appears more often than in the text read before (typed again, pasted), never
    un-counted when deleted; what is still being typed after the last sentence end is not counted yet.
    At most `MAX_SENTENCES` are counted (`full`): a page cannot grow its model, and the time every
    keystroke of it takes, without bound."""

    def __init__(self, weight: int = DEFAULT_WEIGHT):
        self.weight = check_whole_number(weight, "weight", 1, MAX_WEIGHT)  # corpus pairs one of the user's counts as
        self.learning = True  # off: suggestions read the corpus alone, the counts are kept
        self.personal: BigramModel | None = None  # the user's pairs, None before a first sentence
        self.sentences = 0  # sentences counted
        self._last_read: Counter = Counter()  # the finished sentences of the text read last
        self._combined: tuple | None = None  # (corpus, weight, model): the last `model_with`, reused

    def read(self, text: str) -> int:
        """Count the finished sentences of `text` new since the last read; returns how many."""
        now = Counter(map(tuple, sentences(text[-MAX_READ_CHARS:], finished=True)))
        new = now - self._last_read
        self._last_read = now
        room = MAX_SENTENCES - self.sentences
        if new.total() > room:  # full: the first sentences that fit, none after
            new = Counter(list(new.elements())[:room])
        if new:
            learned = BigramModel.from_sentences(new.elements(), device="cpu")
            self.personal = learned if self.personal is None else self.personal + learned
            self.sentences += new.total()
            self._combined = None
        return new.total()

    @property
    def full(self) -> bool:
        """Whether it has counted `MAX_SENTENCES` and counts no more (until `forget`)."""
        return self.sentences >= MAX_SENTENCES

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
    """The learners of one app, by session token: at most `max_learners`. A new one takes the place of the one
    idle longest only if that one has been idle for `idle_before_forgotten` seconds; otherwise starting it
    fails with a message (so no client can evict the class's learners with a loop of requests). Thread-safe
    (requests of many sessions arrive at once).

    Example:
        >>> learners = Learners()
        >>> learners.get("a") is None, learners.start("a") is learners.get("a"), learners.get("b") is None
        (True, True, True)
    """

    def __init__(self, max_learners: int = MAX_LEARNERS, idle_before_forgotten: float = IDLE_BEFORE_FORGOTTEN_S):
        self.max_learners = max_learners
        self.idle_before_forgotten = idle_before_forgotten
        self._by_token: OrderedDict[str, tuple[Learner, float]] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def get(self, token) -> Learner | None:
        """The learner of `token`, if it learns (None for no token, an unknown or a forgotten one)."""
        with self._lock:
            found = self._by_token.get(token) if isinstance(token, str) else None
            if found is None:
                return None
            self._used(token, found[0])
            return found[0]

    def start(self, token: str) -> Learner:
        """The learner of `token`, made if new. Raises `ValueError` when `max_learners` learn already and none
        of them has been idle for `idle_before_forgotten` seconds (else the one idle longest is forgotten)."""
        with self._lock:
            learner = self._by_token[token][0] if token in self._by_token else None
            if learner is None and len(self._by_token) >= self.max_learners:
                oldest, (_, used) = next(iter(self._by_token.items()))
                if time.monotonic() - used < self.idle_before_forgotten:
                    raise ValueError(
                        f"the app already learns for {self.max_learners} pages, each used in the last "
                        f"{self.idle_before_forgotten / 60:g} minutes; try again later"
                    )
                del self._by_token[oldest]
            learner = learner or Learner()
            self._used(token, learner)
            return learner

    def stop(self, token) -> None:
        """Forget `token`'s counts (the user reset them, or turned learning off)."""
        with self._lock:
            self._by_token.pop(token, None)

    def _used(self, token: str, learner: Learner) -> None:
        self._by_token[token] = (learner, time.monotonic())
        self._by_token.move_to_end(token)
