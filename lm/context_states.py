"""`ContextStates`: forward passes that reuse the work done for recent contexts.

Typing changes the context a little at a time. For each recent context (a tuple of token ids) this
keeps a KV cache, the next-token log-probabilities after the context, and the log-probabilities
after every word path already expanded under it. A new context starts from the longest cached
context that is a prefix of it, so a keystroke runs only the tokens that changed.

When the new context is an old one plus a word path that was already expanded (the word just
typed was among the candidates searched), its log-probabilities are already known: the state
then keeps the old KV cache plus those few "pending" tokens, which every later batch recomputes
in front of its rows, so the word boundary costs no forward pass of its own.
"""

from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import torch

MAX_PENDING = 8  # pending tokens a state may carry before its KV cache is brought up to date
MAX_CONTEXTS = 64  # contexts kept: one per user of a class typing at once, so users do not evict each other
MAX_CACHE_BYTES = 1 << 30  # KV caches plus path log-probabilities kept across contexts (least recent go first)


@dataclass
class ContextState:
    """The model's view after one context: its KV cache and next-token log-probabilities."""

    ids: tuple[int, ...]
    layers: list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys, values (1, heads, cached, dim)
    logprobs: torch.Tensor  # (vocab,) float32 log p(next token | context)
    pending: tuple[int, ...] = ()  # the last tokens of `ids`, not in `layers`: run in front of every row
    paths: dict[tuple[int, ...], torch.Tensor] = field(default_factory=dict)  # word path -> (vocab,) log-probs

    @property
    def cached(self) -> int:
        """How many leading tokens of `ids` the KV cache holds."""
        return len(self.ids) - len(self.pending)

    def nbytes(self) -> int:
        """Memory held: the KV cache (counted even where it is shared with another state) and the paths."""
        kv = sum(k.nbytes + v.nbytes for k, v in self.layers)
        return kv + len(self.paths) * self.logprobs.nbytes


def _common_prefix_length(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class ContextStates:
    """Batched forward passes of a causal LM over contexts and word paths, with a small LRU cache.

    Example:
        >>> from lm.loading import load_causal_lm
        >>> tokenizer, model, _ = load_causal_lm(device="cpu", dtype="float32")
        >>> states = ContextStates(model)
        >>> state = states.state(tuple(tokenizer.encode("I hope you're having a")))
        >>> great = tokenizer.encode(" great")[0]
        >>> round(float(state.logprobs[great].exp()), 2)
        0.63
    """

    def __init__(
        self, model, max_contexts: int = MAX_CONTEXTS, max_paths: int = 1024, max_bytes: int = MAX_CACHE_BYTES
    ):
        self.model = model
        self.max_contexts = max_contexts  # contexts kept (each holds its KV cache)
        self.max_paths = max_paths  # word paths kept per context (each holds a vocab-sized vector)
        self.max_bytes = max_bytes  # memory kept across contexts; the least recently used contexts go first
        self._states: OrderedDict[tuple[int, ...], ContextState] = OrderedDict()
        self._lock = threading.RLock()  # one forward pass or cache update at a time, across threads
        self._cache_argument = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"

    @property
    def device(self) -> torch.device:
        return self.model.device

    def _forward(self, input_ids: torch.Tensor, layers, keep: torch.Tensor | int):
        """One forward pass over `input_ids` (B, T) after the cached `layers`; returns (log-probs, output cache)."""
        from transformers import DynamicCache

        batch = input_ids.shape[0]
        cache = DynamicCache(
            ddp_cache_data=[(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in layers] or None,
            config=self.model.config,
        )
        with torch.inference_mode():
            output = self.model(
                input_ids=input_ids, use_cache=True, logits_to_keep=keep, **{self._cache_argument: cache}
            )
        logprobs = torch.log_softmax(output.logits.float(), dim=-1)
        return logprobs, cache

    def state(self, ids: tuple[int, ...]) -> ContextState:
        """The state after context `ids` (at least one token), computed from the best cached prefix."""
        if not ids:
            raise ValueError("`ids` must hold at least one token")
        with self._lock:
            return self._state(ids)

    def _state(self, ids: tuple[int, ...]) -> ContextState:
        if ids in self._states:
            self._states.move_to_end(ids)
            return self._states[ids]
        state = self._extend_known(ids) or self._run(ids)
        self._states[ids] = state
        self._evict(keep=state)
        return state

    def nbytes(self) -> int:
        """Memory the cache holds now (see `ContextState.nbytes`)."""
        with self._lock:
            return sum(state.nbytes() for state in self._states.values())

    def _evict(self, keep: ContextState):
        """Drop the least recently used contexts (never `keep`) until the count and memory limits hold."""
        sizes = {ids: state.nbytes() for ids, state in self._states.items()}
        for ids in list(self._states):
            if len(self._states) <= self.max_contexts and sum(sizes.values()) <= self.max_bytes:
                return
            if self._states[ids] is not keep:
                del self._states[ids], sizes[ids]

    def _extend_known(self, ids: tuple[int, ...]) -> ContextState | None:
        """A state for `ids` = a cached context + an already expanded word path, with no forward pass."""
        for base in reversed(self._states.values()):
            extra = ids[len(base.ids) :]
            if ids[: len(base.ids)] == base.ids and extra in base.paths and len(base.pending + extra) <= MAX_PENDING:
                return ContextState(ids, base.layers, base.paths[extra], base.pending + extra)
        return None

    def _run(self, ids: tuple[int, ...]) -> ContextState:
        """A state for `ids` from a forward pass over what the longest cached prefix lacks."""
        base_length, base = 0, None
        for cached in self._states.values():
            length = min(_common_prefix_length(cached.ids, ids), cached.cached, len(ids) - 1)  # run >= 1 token
            if length > base_length:
                base_length, base = length, cached
        layers = [(k[:, :, :base_length], v[:, :, :base_length]) for k, v in base.layers] if base else []
        new = torch.tensor([ids[base_length:]], device=self.device)
        logprobs, cache = self._forward(new, layers, keep=1)
        return ContextState(ids, [(layer.keys, layer.values) for layer in cache.layers], logprobs[0, -1])

    def expand(self, state: ContextState, paths: list[tuple[int, ...]]) -> torch.Tensor:
        """(len(paths), vocab) log-probs of the token after ``context + path``, for non-empty paths.

        Paths not seen before run in one batched pass: each row is its path right-padded (causal
        attention means padding after a row's last token cannot change it), and only each row's
        last real position is projected onto the vocabulary.
        """
        with self._lock:
            return self._expand(state, paths)

    def _expand(self, state: ContextState, paths: list[tuple[int, ...]]) -> torch.Tensor:
        self._expand_missing(state, paths)
        return torch.stack([state.paths[path] for path in paths])

    def _expand_missing(self, state: ContextState, paths: list[tuple[int, ...]]):
        missing = list(dict.fromkeys(path for path in paths if path not in state.paths))
        if missing:
            if len(state.paths) + len(missing) > self.max_paths:  # full: start afresh, keeping what is asked for
                state.paths.clear()
                missing = list(dict.fromkeys(paths))
            full = [state.pending + path for path in missing]
            width = max(map(len, full))
            rows = torch.tensor([row + (row[-1],) * (width - len(row)) for row in full], device=self.device)
            last = torch.tensor([[len(row) - 1] for row in full], device=self.device)
            logprobs, cache = self._forward(rows, state.layers, keep=last)
            state.paths.update(zip(missing, logprobs[:, 0]))
            self._evict(keep=state)
            if state.pending:  # the pending tokens' keys and values are now known: keep them, once
                end = len(state.ids)
                state.layers = [
                    (layer.keys[:1, :, :end].clone(), layer.values[:1, :, :end].clone()) for layer in cache.layers
                ]
                state.pending = ()
