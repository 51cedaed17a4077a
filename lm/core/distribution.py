"""`Distribution`: the one type both models return for p(next word | context)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Protocol

import torch

from lm.core.sampling import draw, make_generator, warp

OTHER = "(other words)"  # the outcome that stands for every word a distribution does not list


@dataclass(frozen=True)
class Distribution:
    """p(next word = w | context, a word comes next): words and their probabilities, on a torch device.

    Both models answer the same question (see `lm.counting.bigram` and `lm.transformer.word_search` for how): given the
    context, and given that the next thing typed is a word (not punctuation, not the end of the
    text), how likely is each word? The listed `probs` and `other`, the mass of words the model could
    not list one by one, add up to 1. `no_word` is the complement of the condition, P(no word comes
    next | context), shown beside the distribution so no mass disappears (``None`` where a typed
    prefix already says a word comes next). `warp` and `sample` treat `other` as one more outcome,
    `OTHER`, so warping at temperature 1, top-k 0, top-p 1 changes nothing.

    Example:
        >>> d = Distribution(["job", "no job"], torch.tensor([0.8, 0.2], dtype=torch.float64))
        >>> d.top(1)
        [('job', 0.8)]
        >>> d.sample(3, temperature=0, seed=0)
        ['job', 'job', 'job']
        >>> Distribution(["for"], torch.tensor([0.75], dtype=torch.float64), other=0.25).outcomes()
        [('for', 0.75), ('(other words)', 0.25)]
    """

    words: list[str]  # the listed outcomes, in any order
    probs: torch.Tensor  # (len(words),) probabilities, on the model's device
    note: str = field(default="", compare=False)  # how it was computed when not the plain rule (a fallback)
    other: float = 0.0  # P(a word not listed | context, a word comes next)
    no_word: float | None = None  # P(no word comes next | context); None when a prefix is typed

    def __post_init__(self):
        if self.probs.dim() != 1 or self.probs.numel() != len(self.words):
            raise ValueError(
                f"`probs` must be 1-D with one entry per word ({len(self.words)}), "
                f"but has shape {tuple(self.probs.shape)}"
            )
        if not 0.0 <= self.other <= 1.0:
            raise ValueError(f"`other` has to be a probability in [0, 1], but is {self.other!r}")

    def __len__(self) -> int:
        return len(self.words)

    @property
    def device(self) -> torch.device:
        return self.probs.device

    def top(self, k: int | None = None) -> list[tuple[str, float]]:
        """The `k` most likely words as ``(word, probability)``, most likely first (all if ``None``); equally
        likely words keep their listed order (alphabetical for both models), so the order is reproducible.

        Example:
            >>> Distribution(["a", "b", "c"], torch.tensor([0.25, 0.5, 0.25])).top()
            [('b', 0.5), ('a', 0.25), ('c', 0.25)]
        """
        k = len(self) if k is None else max(0, min(int(k), len(self)))
        values, indices = torch.sort(self.probs, descending=True, stable=True)
        return [(self.words[i], p) for i, p in zip(indices[:k].tolist(), values[:k].tolist())]

    def prob(self, word: str) -> float:
        """The probability of `word` (0.0 when it is not listed).

        Example:
            >>> Distribution(["a", "b"], torch.tensor([0.25, 0.75])).prob("b")
            0.75
        """
        try:
            return float(self.probs[self.words.index(word)])
        except ValueError:
            return 0.0

    def outcomes(self) -> list[tuple[str, float]]:
        """Every outcome with its probability, most likely first: the listed words, then `OTHER` if it has mass.

        Example:
            >>> Distribution(["a", "b"], torch.tensor([0.5, 0.25]), other=0.25).outcomes()
            [('a', 0.5), ('b', 0.25), ('(other words)', 0.25)]
        """
        return self.top() + ([(OTHER, self.other)] if self.other > 0 else [])

    def _outcome_probs(self) -> torch.Tensor:
        """(len(words) + 1,) the listed probabilities and `other`, as one tensor on the device."""
        return torch.cat([self.probs, self.probs.new_tensor([self.other])])

    def warp(self, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> "Distribution":
        """The distribution after temperature -> top-k -> top-p (see `lm.core.sampling.warp`), with the
        unlisted words' mass warped as one outcome (`other`).

        Example:
            >>> Distribution(["a", "b"], torch.tensor([0.25, 0.75])).warp(temperature=0).top()
            [('b', 1.0), ('a', 0.0)]
            >>> Distribution(["a"], torch.tensor([0.75]), other=0.25).warp(top_k=1).outcomes()
            [('a', 1.0)]
        """
        if len(self) == 0:
            warp(self.probs, temperature, top_k, top_p)  # still validates the arguments
            return self
        warped = warp(self._outcome_probs().log(), temperature, top_k, top_p)
        return Distribution(self.words, warped[:-1], self.note, float(warped[-1]), self.no_word)

    def sample(
        self, n: int = 1, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int | None = None
    ) -> list[str]:
        """Draw `n` outcomes from the warped distribution, on its device; a `seed` makes it reproducible.

        An outcome is a listed word, or `OTHER` (a word the model could not list) when `other` has mass.

        Example:
            >>> Distribution(["a", "b"], torch.tensor([0.0, 1.0])).sample(2, seed=1)
            ['b', 'b']
        """
        warped = self.warp(temperature, top_k, top_p)
        if len(warped) == 0:
            raise ValueError("cannot sample from an empty distribution (no word matched)")
        indices = draw(warped._outcome_probs(), n, make_generator(seed, self.device))
        return [self.words[i] if i < len(self) else OTHER for i in indices.tolist()]

    def sample_word(
        self, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int | None = None, tries: int = 64
    ) -> str | None:
        """One listed word drawn as `sample` draws; a draw of `OTHER` (no word can be named) is drawn again.

        So the word is drawn from the warped distribution given that it is one of the listed words.
        ``None`` when `tries` draws all fell on `OTHER`.

        Example:
            >>> Distribution(["a"], torch.tensor([0.5], dtype=torch.float64), other=0.5).sample_word(seed=0)
            'a'
        """
        return next((word for word in self.sample(tries, temperature, top_k, top_p, seed) if word != OTHER), None)


def total_variation(
    p: "Distribution | Mapping[str, float]", q: "Distribution | Mapping[str, float]", over: Iterable[str] | None = None
) -> float:
    """Half the summed absolute difference over every outcome of either (`OTHER` included), or only over
    the outcomes `over`: 0 for the same distribution, 1 for two with no outcome in common. Takes
    distributions or plain {outcome: probability} mappings (frequencies of draws, say).

    Example:
        >>> a = Distribution(["x", "y"], torch.tensor([0.5, 0.5], dtype=torch.float64))
        >>> total_variation(a, Distribution(["x"], torch.tensor([0.75], dtype=torch.float64), other=0.25))
        0.5
        >>> total_variation({"x": 1.0}, {"x": 0.5, "y": 0.5}), total_variation({"x": 1.0}, {"y": 1.0}, over=["x"])
        (0.5, 0.5)
    """
    mine, theirs = (dict(d.outcomes()) if isinstance(d, Distribution) else d for d in (p, q))
    outcomes = mine.keys() | theirs.keys() if over is None else set(over)
    return 0.5 * sum(abs(mine.get(word, 0.0) - theirs.get(word, 0.0)) for word in outcomes)


class NextWordModel(Protocol):
    """What both models answer (`BigramModel`, `TransformerModel`), so the keyboard, the charts, the
    sampling and the explanations never ask which model they hold."""

    def next_word_distribution(self, context: str, prefix: str = "") -> Distribution:
        """p(next word = w | context, a word comes next), given the typed `prefix` when there is one."""

    def top_next_words(self, context: str, k: int = 3, prefix: str = "") -> list[tuple[str, float]]:
        """``next_word_distribution(context, prefix).top(k)``, found as cheaply as the model can."""

    def explain(self, context: str, word: str, prefix: str = "") -> str:
        """The arithmetic behind `word`'s probability in `next_word_distribution(context, prefix)`."""

    def generate_words(
        self,
        context: str,
        n_words: int,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> str:
        """`n_words` words drawn one at a time after `context` (see `lm.core.generation.generate_words`)."""
