"""Every model the demo can offer, in one place: its name, its title, and how it is built.

The keyboard's strips, the charts, "why these numbers", sampling, Compare and the evaluation take a
lineup, a list of `NamedModel` (name, title, model), and never name a model themselves. Adding a model is
one module (it answers `lm.core.distribution.NextWordModel`) and one line in `MODELS`.

Example:
    >>> from lm import BigramModel
    >>> [(m.name, m.title) for m in lineup(bigram=BigramModel.from_text("the cat.", device="cpu"))]
    [('bigram', 'Bigram p(x | z)')]
    >>> check_model_names("bigram,trigram,transformer")
    ('bigram', 'trigram', 'transformer')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from lm.core.distribution import NextWordModel


@dataclass(frozen=True)
class LoadOptions:
    """What the command line says about the models (`app.py`, `lm.evaluation.evaluate`)."""

    corpus: Sequence[str] | None = None  # the counting models' corpus: files, folders, globs (None: the plays)
    model: str | None = None  # the transformer: a hub id, folder or .gguf (None: the embedded SmolLM2)
    device: str = "auto"
    dtype: str = "auto"


@dataclass(frozen=True)
class ModelKind:
    """One entry of the registry."""

    title: str  # how the page names it: the question it answers
    load: Callable[[LoadOptions], NextWordModel]
    learns_from_its_user: bool = False  # its counts take the user's writing (`lm.counting.personal`)
    runs_on_the_engine: bool = False  # its passes are merged by `lm.transformer.engine` (a prefetcher helps)
    condition_words: int | None = None  # a counting model's z: how many previous words (None: the whole context)


@dataclass(frozen=True)
class NamedModel:
    """A model as the demo shows it: the name its strip, API and charts use, and its title."""

    name: str
    title: str
    model: NextWordModel

    def doing(self, work) -> NextWordModel:
        """The model doing `work` (`lm.transformer.engine.Work`: its priority, whom it is for): a handle made by
        ``working(work)`` for a model that runs on the engine; a counting model, which answers at once, as is.

        Example:
            >>> from lm import BigramModel
            >>> [bigram] = lineup(bigram=BigramModel.from_text("the cat.", device="cpu"))
            >>> bigram.doing(None) is bigram.model
            True
        """
        return self.model.working(work) if MODELS[self.name].runs_on_the_engine else self.model


def _bigram(options: LoadOptions) -> NextWordModel:
    from lm.counting.bigram import BigramModel

    return BigramModel.from_corpus(options.corpus, device=options.device)


def _trigram(options: LoadOptions) -> NextWordModel:
    from lm.counting.corpus import read_documents
    from lm.counting.trigram import TrigramModel

    return TrigramModel.from_text([doc.text for doc in read_documents(options.corpus)], device=options.device)


def _transformer(options: LoadOptions) -> NextWordModel:
    from lm.transformer.model import TransformerModel

    return TransformerModel.from_pretrained(options.model, device=options.device, dtype=options.dtype)


MODELS: dict[str, ModelKind] = {  # the strips' order on the page
    "bigram": ModelKind("Bigram p(x | z)", _bigram, learns_from_its_user=True, condition_words=1),
    "trigram": ModelKind("Trigram p(x | z1 z2)", _trigram, condition_words=2),
    "transformer": ModelKind("Transformer p(w | context)", _transformer, runs_on_the_engine=True),
}
DEFAULT_MODELS = ("bigram", "transformer")


def check_model_names(names: str | Sequence[str]) -> tuple[str, ...]:
    """Model names from a comma-separated list (or a sequence), each known, each once, in the registry's order.

    Example:
        >>> check_model_names("transformer, bigram")
        ('bigram', 'transformer')
        >>> check_model_names("bigram,unigram")
        Traceback (most recent call last):
        ...
        ValueError: `models` names 'unigram', which is not one of bigram, trigram, transformer
    """
    listed = [name.strip() for name in names.split(",")] if isinstance(names, str) else list(names)
    for name in listed:
        if name not in MODELS:
            raise ValueError(f"`models` names {name!r}, which is not one of {', '.join(MODELS)}")
    if not listed:
        raise ValueError(f"`models` has to name at least one of {', '.join(MODELS)}")
    return tuple(name for name in MODELS if name in listed)


def lineup(**models: NextWordModel) -> list[NamedModel]:
    """The models given by name, titled and in the registry's order."""
    names = check_model_names(list(models))
    return [NamedModel(name, MODELS[name].title, models[name]) for name in names]


def load(names: Sequence[str], options: LoadOptions = LoadOptions()) -> list[NamedModel]:
    """Build each named model (`check_model_names`) with `options`."""
    return lineup(**{name: MODELS[name].load(options) for name in check_model_names(names)})
