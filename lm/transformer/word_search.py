"""Whole words from a sub-word model: a best-first search over the token paths that spell them.

For a context c, the separator s before the next word (``" "`` or ``""``) and a word w,

    p(w | c) = sum over token paths t1..tn that spell s + w of
               p(t1..tn | c) * p(the next token ends the word | c, t1..tn)

where t1 starts a word, t2..tn continue it, and "ends the word" means a token that does not begin
with a word character (see `lm.transformer.token_text`). The second factor is what tells "great" from "greater".

The search expands the most probable partial paths first, in batches that share the context's KV
cache, and completes a word at a real word boundary, not at a fixed depth. It stops when the `k`
most likely words are certain (no unexpanded path could still beat the k-th), or when its budget is
spent. Mass it never enumerates: paths pruned by the budget or below `min_prob`, alternative
tokenizations that were not reached, and tokens with no word role. So the probabilities it returns
are exact for the paths it sums, and may add up to less than p(next is a word).

With a typed `prefix` only paths that agree with it are followed, across token boundaries (" wond"
is reached as " wonder" + "ful", " w" + "ond" + "erful", ...), and the result is conditioned on it:
p(w | c, w starts with prefix) = p(w | c) / P(next word starts with prefix | c), case-insensitively.

The search also sums P(a word comes next | c): the mass of every token that can start a word after
the separator (the first step of every path above). `TransformerModel.next_word_distribution`
divides by it, so both models answer p(w | c, a word comes next); the rest, 1 - P(a word comes
next | c), is punctuation, a line break or the end of the text (Pimentel & Meister 2024, "How to
Compute the Probability of a Word", call this the beginning-of-word correction).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Generator

import torch

from lm.core.tokenize import WORD_RE
from lm.transformer.token_text import TokenText


@dataclass(frozen=True)
class SearchBudget:
    """How hard the word search works."""

    k: int = 3  # stop once the k most likely words are certain
    batch_size: int = 16  # partial paths expanded per forward pass
    fanout: int = 16  # children kept per expanded path (the rest only bound what is missed)
    max_steps: int = 8  # forward passes at most
    min_prob: float = 1e-4  # paths less likely than this (relative to the prefix's mass) are not expanded


@dataclass(order=True)
class _Partial:
    neg_prob: float  # heap order: most probable first
    path: tuple[int, ...] = field(compare=False)
    text: str = field(compare=False)  # what the path spells, separator included
    factors: tuple[float, ...] = field(compare=False, default=())  # p(each token | context, the tokens before it)


@dataclass(frozen=True)
class WordPath:
    """One token path that spells a word: p(word) gets prod(factors) * end from it."""

    tokens: tuple[str, ...]  # the tokens' texts, separator included in the first
    factors: tuple[float, ...]  # p(token i | context, tokens before it)
    end: float  # p(the next token ends the word | context, the tokens)


SearchSteps = Generator[list[tuple[int, ...]], torch.Tensor, "WordSearchResult"]
KEYBOARD = SearchBudget(k=3, batch_size=8, fanout=8, max_steps=4, min_prob=1e-3)  # three chips, while typing


@dataclass
class WordSearchResult:
    """Words with p(w | c) (or p(w | c, prefix)), and how the search went."""

    words: dict[str, float]
    prefix_mass: float  # P(next word starts with the prefix | c); 1.0 when there is no prefix
    word_mass: float  # P(a word comes next | c): the mass of the tokens that can start a word after the separator
    certain: bool  # whether the top-k order is final (False: the budget ran out first)
    forward_passes: int
    paths: dict[str, list[WordPath]] = field(default_factory=dict)  # the paths summed into each word


class _Search:
    """One search's state: the frontier of partial paths and the words completed so far."""

    def __init__(self, tokens: TokenText, separator: str, prefix: str, budget: SearchBudget, device):
        self.tokens, self.separator, self.budget = tokens, separator, budget
        self.target = (separator + prefix).lower()  # every path must agree with this
        self.has_prefix = bool(prefix)
        self.frontier: list[_Partial] = []
        self.missed_bound = 0.0  # the most probable child ever left out by the fanout
        self.words: dict[str, float] = defaultdict(float)
        self.paths: dict[str, list[WordPath]] = defaultdict(list)
        self.prefix_mass = 0.0
        on_device = tokens.masks(device)
        self.ends = on_device["ends"]
        self.masks = {True: on_device["after_space" if separator == " " else "bare"], False: on_device["continues"]}

    def _candidates(self, text: str, at_root: bool, device) -> tuple[torch.Tensor, int]:
        """Token ids that may follow a path spelling `text`, and how many of the first ones cover the prefix."""
        remaining = self.target[len(text) :]
        if not remaining or (at_root and remaining == self.separator):
            return torch.nonzero(self.masks[at_root]).squeeze(1), 0  # no constraint left to check
        if at_root:
            covering, inside = self.tokens.compatible_starts(self.separator, remaining)
        else:
            covering, inside = self.tokens.compatible_continuations(remaining)
        ids = torch.as_tensor(list(covering) + list(inside), dtype=torch.long, device=device)
        return ids, len(covering)

    def offer(self, parent: _Partial, logprobs: torch.Tensor, at_root: bool = False):
        """Queue the most probable children of a path, and add the prefix mass they first cover."""
        prob, path, text = -parent.neg_prob, parent.path, parent.text
        candidates, covering = self._candidates(text, at_root, logprobs.device)
        if len(candidates) == 0:
            return
        probs = prob * logprobs[candidates].double().exp()
        if self.has_prefix and covering:
            self.prefix_mass += float(probs[:covering].sum())
        keep = min(self.budget.fanout, len(candidates))
        best, order = torch.topk(probs, min(keep + 1, len(candidates)))
        best, tokens = best.tolist(), candidates[order].tolist()
        if len(best) > keep:
            self.missed_bound = max(self.missed_bound, best[keep])
        for child_prob, token in zip(best[:keep], tokens[:keep]):
            if child_prob > 0:
                factors = parent.factors + (child_prob / prob,)  # p(token | context, path): no tensor op per child
                heapq.heappush(
                    self.frontier, _Partial(-child_prob, path + (token,), text + self.tokens.texts[token], factors)
                )

    def complete(self, partial: _Partial, end_mass: float):
        """Add the path's mass times p(the word ends here) to the word it spells, if it covers the prefix."""
        text = partial.text[len(self.separator) :]
        if len(partial.text) >= len(self.target) and WORD_RE.fullmatch(text.lower()):
            self.words[text] += -partial.neg_prob * end_mass
            self.paths[text].append(
                WordPath(tuple(self.tokens.texts[t] for t in partial.path), partial.factors, end_mass)
            )

    def top_k_is_certain(self) -> bool:
        """Whether no queued or dropped path could still beat the k-th most likely word."""
        bound = max(-self.frontier[0].neg_prob if self.frontier else 0.0, self.missed_bound)
        if len(self.words) < self.budget.k:
            return not self.frontier and self.missed_bound == 0.0
        return heapq.nlargest(self.budget.k, self.words.values())[-1] >= bound


def search_steps(
    root_logprobs: torch.Tensor,
    tokens: TokenText,
    separator: str,
    prefix: str = "",
    budget: SearchBudget = SearchBudget(),
) -> SearchSteps:
    """Find the most likely whole words after a context (see the module docstring for the definition), as
    steps: a generator that yields each batch of token paths to expand, is sent their ``(len(paths), vocab)``
    log-probs, and returns the `WordSearchResult`. The engine (`lm.transformer.engine`) advances many users'
    searches this way, their batches sharing one forward pass (`TransformerModel.word_search`).

    Args:
        root_logprobs: ``(vocab,)`` log p(next token | context).
        tokens: the tokenizer's `TokenText`.
        separator: ``" "`` when the word follows a space (folded into its first token), else ``""``.
        prefix: the part of the word already typed; the result is conditioned on it.
        budget: how many words must be certain, and how much work is allowed.

    Example:
        >>> tokens = TokenText([" a", " ab", "b", "."])  # a tiny vocabulary; "." ends words
        >>> logits = torch.tensor([0.5, 0.25, 0.0, 0.25]).log()
        >>> after = {(0,): torch.tensor([0.0, 0.0, 0.5, 0.5]).log(), (0, 2): torch.tensor([0.0, 0.0, 0.0, 1.0]).log(),
        ...          (1,): torch.tensor([0.0, 0.0, 0.0, 1.0]).log()}
        >>> steps = search_steps(logits, tokens, " ")
        >>> paths = next(steps)
        >>> try:
        ...     while True:
        ...         paths = steps.send(torch.stack([after[path] for path in paths]))  # what a forward pass answers
        ... except StopIteration as done:
        ...     result = done.value
        >>> sorted((word, round(p, 6)) for word, p in result.words.items())  # ab: 0.25 + 0.5 * 0.5 (" a" + "b")
        [('a', 0.25), ('ab', 0.5)]
    """
    search = _Search(tokens, separator, prefix, budget, root_logprobs.device)
    search.offer(_Partial(-1.0, (), ""), root_logprobs, at_root=True)
    passes = 0
    while search.frontier and not search.top_k_is_certain() and passes < budget.max_steps:
        floor = budget.min_prob * (search.prefix_mass if search.has_prefix else 1.0)
        batch = []
        while search.frontier and len(batch) < budget.batch_size and -search.frontier[0].neg_prob >= floor:
            batch.append(heapq.heappop(search.frontier))
        if not batch:
            break
        logprobs = yield [partial.path for partial in batch]
        passes += 1
        end_mass = (logprobs.exp() * search.ends).sum(-1).tolist()
        for partial, row, end in zip(batch, logprobs, end_mass):
            search.complete(partial, end)
            search.offer(partial, row)
    certain = search.top_k_is_certain()
    scale = search.prefix_mass if search.has_prefix else 1.0
    words = {word: p / scale for word, p in search.words.items()} if scale > 0 else {}
    word_mass = float(root_logprobs.double().exp()[search.masks[True]].sum())
    prefix_mass = search.prefix_mass if search.has_prefix else 1.0
    return WordSearchResult(words, prefix_mass, word_mass, certain, passes, dict(search.paths))
