"""`Keyboard`: what a suggestion strip needs, from every model in the lineup, for the text typed so far.

No UI here: plain functions and one class the Gradio demo (and its tests) call.

Example:
    >>> from lm import BigramModel
    >>> from lm.registry import lineup
    >>> bigram = BigramModel.from_text("the cat sat. the cat ran. the dog sat.", device="cpu")
    >>> keyboard = Keyboard(lineup(bigram=bigram))
    >>> keyboard.suggest("the c")["bigram"]
    [{'word': 'cat', 'p': 1.0}]
    >>> insert_word("the c", "cat")
    'the cat '
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

from lm.core.checks import check_choice, shown
from lm.core.distribution import OTHER, Distribution, NextWordModel
from lm.core.sampling import check_seed, check_temperature, check_top_k, check_top_p
from lm.core.tokenize import cased, split_partial_word, stable_tail
from lm.registry import MODELS, NamedModel
from lm.transformer.engine import KEYSTROKE, VIEW, Work

MODES = ("most likely", "sampled")
SLOTS = 3  # chips per strip, like a phone keyboard
MAX_CONTEXT_CHARS = 4_000  # only the last characters typed are read as context (the text itself is kept)
CONTEXT_CUT_BLOCK = 1_000  # the cut moves a block at a time, so the models' caches survive typing (`stable_tail`)
SAMPLED_DRAWS = 64  # draws taken to fill the chips in "sampled" mode (first distinct words win)
_UNREADABLE = (  # what the models read as a space (one regex pass each: this is on every keystroke)
    (re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]"), "control characters"),  # Unicode's Cc, but tab and line feed
    (re.compile("[\ud800-\udfff]"), "lone surrogates (half of a character's UTF-16 pair)"),  # Cs: no character
)


@dataclass(frozen=True)
class Settings:
    """How the chips are chosen: the most likely words, or words drawn from the warped distribution."""

    mode: str = "most likely"  # one of MODES
    temperature: float = 1.0  # 0 = greedy
    top_k: int = 0  # 0 = off
    top_p: float = 1.0  # 1 = off
    seed: int | None = None  # None = a fresh draw each time

    def __post_init__(self):
        check_choice(self.mode, "mode", MODES)
        object.__setattr__(self, "temperature", check_temperature(self.temperature))
        object.__setattr__(self, "top_k", check_top_k(self.top_k))
        object.__setattr__(self, "top_p", check_top_p(self.top_p))
        if self.seed is not None:
            object.__setattr__(self, "seed", check_seed(self.seed))

    def updated(self, **changes) -> tuple["Settings", list[str]]:
        """A copy with every valid change applied, and a message for each invalid one (left as it was).

        In "most likely" mode the sampling settings do not apply: they are not checked, and kept.

        Example:
            >>> Settings(mode="sampled", seed=3).updated(seed=-5, top_k=10)
            (Settings(mode='sampled', temperature=1.0, top_k=10, top_p=1.0, seed=3),
             ['`seed` has to be a whole number from 0 to 2**63 - 1, but is -5'])
            >>> Settings().updated(seed=-5)
            (Settings(mode='most likely', temperature=1.0, top_k=0, top_p=1.0, seed=None), [])
        """
        valid, problems = {}, []
        mode = changes.pop("mode", self.mode)
        try:
            valid["mode"] = replace(self, mode=mode).mode
        except ValueError as error:
            problems.append(str(error))
        if valid.get("mode", self.mode) == "sampled":
            for name, value in changes.items():
                try:
                    valid[name] = getattr(replace(self, **{name: value}), name)
                except (ValueError, TypeError) as error:
                    problems.append(str(error))
        return replace(self, **valid), problems


def clean_text(text: str) -> tuple[str, str]:
    """(the text the models read, a message about what was changed, or "").

    Only the last `MAX_CONTEXT_CHARS` characters at most are read, cut as `lm.core.tokenize.stable_tail` does,
    and made `readable`. The user's own text is never changed.

    Example:
        >>> clean_text("a\\x00b")
        ('a b', 'control characters were read as spaces')
        >>> clean_text("x" * 5000 + " hi")[1].startswith("only the last")
        True
    """
    if not isinstance(text, str):
        raise ValueError(f"`text` has to be a string, but is {type(text).__name__}")
    notes = []
    if len(text) > MAX_CONTEXT_CHARS:
        text = stable_tail(text, MAX_CONTEXT_CHARS, CONTEXT_CUT_BLOCK)
        notes.append(f"only the last {len(text):,} characters are read as context")
    text, note = readable(text)
    return text, "; ".join(filter(None, [*notes, note]))


def readable(text: str) -> tuple[str, str]:
    """(`text` with control characters other than line breaks and tabs, and lone surrogates, read as
    spaces; a message saying which were, or ""). The length and every other character stay.

    Example:
        >>> readable("a\\ud800b")[0], readable("a\\x00b\\tc")
        ('a b', ('a b\\tc', 'control characters were read as spaces'))
    """
    if not isinstance(text, str):
        raise ValueError(f"`text` has to be a string, but is {type(text).__name__}")
    notes = []
    for unreadable, what in _UNREADABLE:
        text, found = unreadable.subn(" ", text)
        if found:
            notes.append(f"{what} were read as spaces")
    return text, "; ".join(notes)


def insert_word(text: str, word: str) -> str:
    """`text` with the word being typed completed to `word` (or `word` appended), then a space,
    cased as `cased` says.

    Example:
        >>> insert_word("I hope you're hav", "having"), insert_word("Hello,", "world"), insert_word("Ho", "hope")
        ("I hope you're having ", 'Hello, world ', 'Hope ')
    """
    context, partial = split_partial_word(text)
    word = cased(word, context, partial)
    if not partial and context and not context[-1].isspace():
        context += " "
    return f"{context}{word} "


def _as_chips(pairs, context: str, prefix: str) -> list[dict]:
    """Chips as the strip shows them: each word cased (`cased`), a word shown once (the likelier)."""
    chips = {}
    for word, p in pairs:
        chips.setdefault(cased(word, context, prefix), float(p))
    return [{"word": word, "p": p} for word, p in chips.items()]


def _drawn(distribution: Distribution, settings: Settings) -> list[tuple[str, float]]:
    """Up to `SLOTS` distinct listed words drawn from the warped distribution (in the order first drawn),
    with their warped probabilities; a draw of `OTHER` (a word the model could not name) fills no chip."""
    if len(distribution) == 0:
        return []
    warped = distribution.warp(settings.temperature, settings.top_k, settings.top_p)
    draws = warped.sample(SAMPLED_DRAWS, seed=settings.seed)
    distinct = [word for word in dict.fromkeys(draws) if word != OTHER and warped.prob(word) > 0][:SLOTS]
    return [(word, warped.prob(word)) for word in distinct]


def strip_about(distribution: Distribution, settings: Settings) -> dict:
    """What a strip's numbers are: raw or warped probabilities, and P(no word comes next) (None after a prefix).

    Example:
        >>> import torch
        >>> strip_about(Distribution(["a"], torch.tensor([1.0], dtype=torch.float64), no_word=0.25), Settings())
        {'probabilities': 'raw', 'no_word': 0.25}
    """
    return {"probabilities": "warped" if settings.mode == "sampled" else "raw", "no_word": distribution.no_word}


class Keyboard:
    """Suggestions from a lineup of models (`lm.registry.NamedModel`, one strip each) for the same typed text.

    Every strip reads one distribution per context, p(w | context, a word comes next) (see
    `lm.core.distribution.Distribution`), so a chip, a chart, a marble and the API give one number per word.
    """

    def __init__(self, models: Sequence[NamedModel], prefetcher=None, owner: str | None = None):
        if not models:
            raise ValueError("`models` has to hold at least one model")
        self.lineup = list(models)
        self._by_name: dict[str, NamedModel] = {m.name: m for m in models}
        self.models: dict[str, NextWordModel] = {m.name: m.model for m in models}  # strip name -> model, in order
        self.titles: dict[str, str] = {m.name: m.title for m in models}
        self.prefetcher = prefetcher
        self.owner = owner  # whose page this keyboard answers (`lm.transformer.engine.Work.owner`): its cache

    @property
    def names(self) -> tuple[str, ...]:
        """The strips' names, in the page's order."""
        return tuple(self.models)

    @property
    def learner(self) -> str | None:
        """The name of the model that learns from its user (`lm.counting.personal`), if the lineup has one."""
        return next((name for name in self.models if MODELS[name].learns_from_its_user), None)

    def with_model(self, name: str, model: NextWordModel) -> "Keyboard":
        """This keyboard with strip `name` reading another model (a user's own counts added,
        `lm.counting.personal`), sharing the others and the prefetcher."""
        if model is self._model(name):
            return self
        lineup = [replace(m, model=model) if m.name == name else m for m in self.lineup]
        return Keyboard(lineup, self.prefetcher, self.owner)

    def for_owner(self, owner: str | None) -> "Keyboard":
        """This keyboard answering `owner`'s page (a page's address): the transformer's work for it reads that
        page's cache when the model keeps pages apart (`TransformerModel.pages_apart`)."""
        return self if owner == self.owner else Keyboard(self.lineup, self.prefetcher, owner)

    def distribution(self, model: str, context: str, prefix: str, work: Work | None = None) -> Distribution:
        """The distribution strip `model` shows for a context and typed prefix: p(w | context, a word comes
        next), the one every view reads. A query: it tells no prefetcher anything (only a typist's
        keystroke, `suggest`, does). `work`: what the transformer's passes are (default: a `VIEW` job for
        this keyboard's owner)."""
        work = Work(VIEW, self.owner) if work is None else work
        return self._named(model).doing(work).next_word_distribution(context, prefix)

    def generate_words(self, model: str, context: str, n_words: int, settings: Settings) -> str:
        """`n_words` words from strip `model`'s model, each drawn after everything before it with `settings`'
        warping (one `VIEW` job for this keyboard's owner: see `distribution`).

        Example:
            >>> from lm import BigramModel
            >>> from lm.registry import lineup
            >>> keyboard = Keyboard(lineup(bigram=BigramModel.from_text("the cat sat.", device="cpu")))
            >>> keyboard.generate_words("bigram", "the", 2, Settings(temperature=0))
            'cat sat'
        """
        model_at_work = self._named(model).doing(Work(VIEW, self.owner))
        return model_at_work.generate_words(
            context, n_words, settings.temperature, settings.top_k, settings.top_p, settings.seed
        )

    def _model(self, model: str) -> NextWordModel:
        return self._named(model).model

    def _named(self, model: str) -> NamedModel:
        check_choice(model, "model", tuple(MODELS))
        if model not in self.models:
            raise ValueError(f"this keyboard has no {model}")
        return self._by_name[model]

    def _strip(self, model: str, context: str, prefix: str, settings: Settings, work: Work) -> tuple[list[dict], dict]:
        distribution = self.distribution(model, context, prefix, work)
        if self.prefetcher is not None and self.prefetcher.model is self.models[model]:
            self.prefetcher.hint(context, prefix, self.owner)  # the typist's next keystroke is prepared from here
        pairs = _drawn(distribution, settings) if settings.mode == "sampled" else distribution.top(SLOTS)
        return _as_chips(pairs, context, prefix), strip_about(distribution, settings)

    def suggest(self, text: str, settings: Settings = Settings(), models: tuple[str, ...] | None = None) -> dict:
        """``{<strip name>: [{"word", "p"}, ...] for each strip, "about": {...}, "context", "prefix", "message"}``.

        Chip probabilities are p(w | context, a word comes next), given the prefix when one is typed;
        in "sampled" mode, the warped ones. ``about[strip]`` says which (`strip_about`) and P(no word
        comes next). `models` picks the strips to fill (default: all; one not asked for is empty): a UI
        can then show the fast counting strips without waiting for the transformer.

        Example:
            >>> from lm import BigramModel
            >>> from lm.registry import lineup
            >>> keyboard = Keyboard(lineup(bigram=BigramModel.from_text("the cat sat.", device="cpu")))
            >>> keyboard.suggest("the zz", models=("bigram",))["message"]
            "no word starting with 'zz' is known to the bigram"
        """
        models = self.names if models is None else tuple(models)
        unknown = [name for name in models if name not in self.models]
        if unknown or not models:
            raise ValueError(f"`models` has to name some of {self.names}, but is {models!r}")
        readable, message = clean_text(text)
        context, prefix = split_partial_word(readable)
        result, about = {name: [] for name in self.names}, {}
        keystroke = Work(KEYSTROKE, self.owner)  # the strips' passes go before charts, prefetching and Compare
        for model in models:
            result[model], about[model] = self._strip(model, context, prefix, settings, keystroke)
        if prefix and not any(result.values()):
            asked = "any model" if len(models) > 1 else f"the {models[0]}"
            message = "; ".join(filter(None, [message, f"no word starting with {shown(prefix)} is known to {asked}"]))
        return {**result, "about": about, "context": context, "prefix": prefix, "message": message}

    def explain(self, text: str, models: tuple[str, ...] | None = None) -> dict[str, list[str]]:
        """For each strip, the arithmetic behind its most likely chips' raw probabilities (each model's
        `explain`), read from the distribution the chips come from.

        Example:
            >>> from lm import BigramModel
            >>> from lm.registry import lineup
            >>> keyboard = Keyboard(lineup(bigram=BigramModel.from_text("the cat sat. the dog sat.", device="cpu")))
            >>> keyboard.explain("the ")["bigram"][0]
            'p(cat | z = the, a word comes next) = c(the, cat) / (c(the) - c(the, </s>)) = 1 / (2 - 0) = 50.0%'
        """
        context, prefix = split_partial_word(clean_text(text)[0])
        view, explained = Work(VIEW, self.owner), {}
        for model in self.names if models is None else models:
            if model in self.models:
                at_work = self._named(model).doing(view)
                top = self.distribution(model, context, prefix, view).top(SLOTS)
                explained[model] = [at_work.explain(context, word, prefix) for word, _ in top]
        return explained
