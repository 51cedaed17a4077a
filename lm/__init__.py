"""Next-word models and the exact probability math behind them.

A probability is a shape; sampling from it generates data. This package answers one question,
p(next word | context), in two ways that return the same `Distribution` type:

- `BigramModel`: explicit tables counted from a corpus. The joint p(x, z) of previous word z and
  next word x, its marginals p(z) and p(x), the conditional p(x | z) and Bayes' flip p(z | x).
- `TransformerModel`: any Hugging Face causal LM (embedded default: SmolLM2-135M-Instruct), with
  exact whole-word probabilities assembled from its sub-word tokens.
- Learning the distributions from data: `fit_bigram_network` (the table as a one-layer network trained by
  gradient descent), `lm.counting.personal` (the table adding its user's counts), and `GpaJobDensity` (the seed's
  continuous world: a joint density of GPA and months to a job).

Example:
    >>> from lm import BigramModel
    >>> m = BigramModel.from_text("the cat sat. the dog sat.", device="cpu")
    >>> m.next_word_distribution("the").top()
    [('cat', 0.5), ('dog', 0.5)]
    >>> m.next_word_distribution("the").sample(4, temperature=0)
    ['cat', 'cat', 'cat', 'cat']
"""

import importlib

# Each public name and the module that owns it. Nothing is imported until it is asked for, so
# ``import lm.counting.bigram`` loads the counting side alone (no transformers, no engine, no UI).
_OWNERS = {
    "BigramModel": "lm.counting.bigram",
    "TransformerModel": "lm.transformer.model",
    "Distribution": "lm.core.distribution",
    "NextWordModel": "lm.core.distribution",
    "Vocabulary": "lm.core.vocabulary",
    "warp": "lm.core.sampling",
    "MLE": "lm.counting.smoothing",
    "AddK": "lm.counting.smoothing",
    "KneserNey": "lm.counting.smoothing",
    "smoothing": "lm.counting.smoothing",
    "fit_bigram_network": "lm.teaching.training",
    "GpaJobDensity": "lm.teaching.continuous",
}


def __getattr__(name: str):
    """Import a public name from its owning module the first time it is asked for."""
    if name not in _OWNERS:
        raise AttributeError(f"module 'lm' has no attribute {name!r}")
    return getattr(importlib.import_module(_OWNERS[name]), name)


def __dir__():
    return sorted(list(globals()) + list(_OWNERS))


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
