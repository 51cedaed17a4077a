"""`Distribution`: the one type both models return for p(next word | context)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from lm.sampling import draw, make_generator, warp


@dataclass(frozen=True)
class Distribution:
    """Words and their probabilities, on a torch device.

    `probs` sums to 1, or to less where a model could not enumerate every outcome (its docstring
    says which mass is missing). `warp` and `sample` work on the listed words only, so they
    renormalise over them.

    Example:
        >>> d = Distribution(["job", "no job"], torch.tensor([0.8, 0.2], dtype=torch.float64))
        >>> d.top(1)
        [('job', 0.8)]
        >>> d.sample(3, temperature=0, seed=0)
        ['job', 'job', 'job']
    """

    words: list[str]  # the outcomes, in any order
    probs: torch.Tensor  # (len(words),) probabilities, on the model's device
    note: str = field(default="", compare=False)  # how it was computed when not the plain rule (a fallback)

    def __post_init__(self):
        if self.probs.dim() != 1 or self.probs.numel() != len(self.words):
            raise ValueError(
                f"`probs` must be 1-D with one entry per word ({len(self.words)}), but has shape {tuple(self.probs.shape)}"
            )

    def __len__(self) -> int:
        return len(self.words)

    @property
    def device(self) -> torch.device:
        return self.probs.device

    def top(self, k: int | None = None) -> list[tuple[str, float]]:
        """The `k` most likely words as ``(word, probability)``, most likely first (all if ``None``).

        Example:
            >>> Distribution(["a", "b"], torch.tensor([0.25, 0.75])).top()
            [('b', 0.75), ('a', 0.25)]
        """
        k = len(self) if k is None else max(0, min(int(k), len(self)))
        values, indices = torch.topk(self.probs, k)
        return [(self.words[i], p) for i, p in zip(indices.tolist(), values.tolist())]

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

    def where(self, keep: Callable[[str], bool], note: str | None = None) -> "Distribution":
        """Only the words for which `keep(word)` is true, renormalised to sum to 1.

        Example:
            >>> Distribution(["war", "was", "peace"], torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)).where(lambda w: w.startswith("wa")).top()
            [('was', 0.6), ('war', 0.4...)]
        """
        kept = [i for i, word in enumerate(self.words) if keep(word)]
        probs = self.probs[torch.tensor(kept, dtype=torch.long, device=self.device)]
        total = probs.sum()
        if total > 0:
            probs = probs / total
        return Distribution([self.words[i] for i in kept], probs, self.note if note is None else note)

    def warp(self, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> "Distribution":
        """The distribution after temperature -> top-k -> top-p (see `lm.sampling.warp`).

        Example:
            >>> Distribution(["a", "b"], torch.tensor([0.25, 0.75])).warp(temperature=0).top()
            [('b', 1.0), ('a', 0.0)]
        """
        if len(self) == 0:
            warp(self.probs, temperature, top_k, top_p)  # still validates the arguments
            return self
        return Distribution(self.words, warp(self.probs.log(), temperature, top_k, top_p), self.note)

    def sample(
        self, n: int = 1, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int | None = None
    ) -> list[str]:
        """Draw `n` words from the warped distribution, on its device; a `seed` makes it reproducible.

        Example:
            >>> Distribution(["a", "b"], torch.tensor([0.0, 1.0])).sample(2, seed=1)
            ['b', 'b']
        """
        warped = self.warp(temperature, top_k, top_p)
        if len(warped) == 0:
            raise ValueError("cannot sample from an empty distribution (no word matched)")
        indices = draw(warped.probs, n, make_generator(seed, self.device))
        return [self.words[i] for i in indices.tolist()]
