"""Next-word models and the exact probability math behind them.

A probability is a shape; sampling from it generates data. This package answers one question,
p(next word | context), in two ways that return the same `Distribution` type:

- `BigramModel`: explicit tables counted from a corpus. The joint p(x, z) of previous word z and
  next word x, its marginals p(z) and p(x), the conditional p(x | z) and Bayes' flip p(z | x).
- `TransformerModel`: any Hugging Face causal LM (embedded default: SmolLM2-135M-Instruct), with
  exact whole-word probabilities assembled from its sub-word tokens.
- Learning the distributions from data: `fit_bigram_network` (the table as a one-layer network trained by
  gradient descent), `lm.personal` (the table adding its user's counts), and `GpaJobDensity` (the seed's
  continuous world: a joint density of GPA and months to a job).

Example:
    >>> from lm import BigramModel
    >>> m = BigramModel.from_text("the cat sat. the dog sat.", device="cpu")
    >>> m.next_word_distribution("the").top()
    [('cat', 0.5), ('dog', 0.5)]
    >>> m.next_word_distribution("the").sample(4, temperature=0)
    ['cat', 'cat', 'cat', 'cat']
"""

from lm.bigram import BigramModel
from lm.continuous import GpaJobDensity
from lm.distribution import Distribution, NextWordModel
from lm.sampling import warp
from lm.smoothing import MLE, AddK, KneserNey, smoothing
from lm.training import fit_bigram_network
from lm.vocabulary import Vocabulary


def __getattr__(name: str):
    """`TransformerModel` is imported when first asked for: it brings transformers and the engine, which
    the counting side (``import lm.bigram``) never needs."""
    if name == "TransformerModel":
        from lm.transformer import TransformerModel

        return TransformerModel
    raise AttributeError(f"module 'lm' has no attribute {name!r}")


__all__ = [
    "BigramModel",
    "TransformerModel",
    "Distribution",
    "NextWordModel",
    "Vocabulary",
    "warp",
    "MLE",
    "AddK",
    "KneserNey",
    "smoothing",
    "fit_bigram_network",
    "GpaJobDensity",
]
