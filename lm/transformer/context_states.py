"""`ContextStates`: forward passes that reuse the work done for recent contexts.

Typing changes the context a little at a time. For each recent context (a tuple of token ids) this
keeps a KV cache, the next-token log-probabilities after the context, and the log-probabilities
after every word path already expanded under it. A new context starts from the longest cached
context that is a prefix of it, so a keystroke runs only the tokens that changed.

When the new context is an old one plus a word path that was already expanded (the word just
typed was among the candidates searched), its log-probabilities are already known: the state
then keeps the old KV cache plus those few "pending" tokens, which every later batch recomputes
in front of its rows, so the word boundary costs no forward pass of its own.

The passes themselves run on an `lm.transformer.engine.Engine`, merged with other users' work: `state_steps` and
`expand_steps` are engine jobs (generators that yield the rows they need), `state` and `expand` run
them. The cache's lock is held only while the cache is read or updated, never during a pass.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import torch

from lm.transformer.engine import Engine, Job, Row, Work

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
        """Memory held: the KV cache (counted even where it is shared with another state) and the paths.

        Cheap enough for every eviction check: each path's log-probs is a row of its own (the engine copies
        rows out of their batch, so no row keeps a whole batch alive), and each KV tensor is its own
        concatenation, at most a word path's few tokens longer than it shows."""
        kv = sum(k.nbytes + v.nbytes for k, v in self.layers)
        return kv + (1 + len(self.paths)) * self.logprobs.nbytes


def _common_prefix_length(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class ContextStates:
    """Forward passes of a causal LM over contexts and word paths, with a small LRU cache.

    Example:
        >>> from lm.transformer.loading import load_causal_lm
        >>> tokenizer, model, _ = load_causal_lm(device="cpu", dtype="float32")
        >>> engine = Engine(model)
        >>> state = ContextStates(engine).state(tuple(tokenizer.encode("I hope you're having a")))
        >>> great = tokenizer.encode(" great")[0]
        >>> round(float(state.logprobs[great].exp()), 2)
        0.63
        >>> engine.close()  # its thread stops
    """

    def __init__(
        self, engine: Engine, max_contexts: int = MAX_CONTEXTS, max_paths: int = 1024, max_bytes: int = MAX_CACHE_BYTES
    ):
        self.engine = engine
        self.max_contexts = max_contexts  # contexts kept (each holds its KV cache)
        self.max_paths = max_paths  # word paths kept per context (each holds a vocab-sized vector)
        self.max_bytes = max_bytes  # memory kept across contexts; the least recently used contexts go first
        self._states: OrderedDict[tuple[int, ...], ContextState] = OrderedDict()
        self._lock = threading.Lock()  # held while the cache is read or changed, never during a pass

    @property
    def device(self) -> torch.device:
        return self.engine.device

    def state(self, ids: tuple[int, ...], work: Work | None = None) -> ContextState:
        """The state after context `ids` (at least one token), computed from the best cached prefix, as `work`
        (`lm.transformer.engine.Work`; none: a `VIEW` job of its own)."""
        return self.engine.run_job(self.state_steps(ids), work)

    def state_steps(self, ids: tuple[int, ...]) -> Job:
        """`state` as an engine job (`Engine.run_job`): yields the row it needs, returns the state."""
        if not ids:
            raise ValueError("`ids` must hold at least one token")
        with self._lock:
            if ids in self._states:
                self._states.move_to_end(ids)
                return self._states[ids]
            state = self._extend_known(ids)
            base_length, layers = (0, []) if state else self._best_prefix(ids)
        if state is None:
            [result] = yield [Row(layers, ids[base_length:], keep_kv=True)]
            state = ContextState(ids, result.layers, result.logprobs)
        with self._lock:
            self._states[ids] = state
            self._states.move_to_end(ids)
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

    def _best_prefix(self, ids: tuple[int, ...]) -> tuple[int, list]:
        """(n, the KV cache of the first n tokens of `ids`) from the cached context sharing most of them."""
        base_length, base = 0, None
        for cached in self._states.values():
            length = min(_common_prefix_length(cached.ids, ids), cached.cached, len(ids) - 1)  # run >= 1 token
            if length > base_length:
                base_length, base = length, cached
        layers = [(k[:, :, :base_length], v[:, :, :base_length]) for k, v in base.layers] if base else []
        return base_length, layers

    def expand(self, state: ContextState, paths: list[tuple[int, ...]], work: Work | None = None) -> torch.Tensor:
        """(len(paths), vocab) log-probs of the token after ``context + path``, for non-empty paths, as `work`."""
        return self.engine.run_job(self.expand_steps(state, paths), work)

    def expand_steps(self, state: ContextState, paths: list[tuple[int, ...]]) -> Job:
        """`expand` as an engine job: paths not seen before become rows of one request (merged with other
        users' rows), each the state's pending tokens plus its path, after the state's KV cache."""
        with self._lock:
            known = {path: state.paths[path] for path in paths if path in state.paths}
            missing = list(dict.fromkeys(path for path in paths if path not in known))
            layers, pending = state.layers, state.pending
        if missing:
            rows = [Row(layers, pending + path, keep_kv=bool(pending) and i == 0) for i, path in enumerate(missing)]
            results = yield rows
            known.update(zip(missing, (result.logprobs for result in results)))
            with self._lock:
                if len(state.paths) + len(missing) > self.max_paths:  # full: start afresh
                    state.paths.clear()
                state.paths.update(zip(missing, (result.logprobs for result in results)))
                if pending and state.pending == pending:  # the pending tokens' keys and values are now known
                    end = len(state.ids)
                    state.layers = [(k[:, :, :end], v[:, :, :end]) for k, v in results[0].layers]
                    state.pending = ()
                self._evict(keep=state)
        return torch.stack([known[path] for path in paths])
