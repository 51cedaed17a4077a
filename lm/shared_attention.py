"""Attention for merged passes: each row attends to its own context's cached keys and values without
a copy of them per row.

A merged pass holds rows of several contexts, several rows per context (a word search expands 8
paths after one context). The standard way, one padded KV cache per row, copies every context's cache
once per row and masks the padding: at 256 tokens of context that copy costs more than the row's
own compute (a pass of 16 rows from 16 contexts took 522 ms, against 185 ms for 16 rows of one
context, `bench/bench_merged_passes.py`). Here the model runs without a cache; this attention function,
registered with transformers as `NAME`, gets only the new tokens' queries, keys and values and adds
each row's context itself:

    scores(row) = [q K_context^T, q K_new^T (causal)] * scale,  p = softmax(scores)
    out(row)    = p_context V_context + p_new V_new

with every context's keys and values copied once per layer (not once per row), the rows of one
context stacked into one matrix product against them, all contexts in one batched product (GQA heads
grouped, never repeated). The arithmetic is attention's own; only the order of the sums
differs from SDPA's, so rows agree with a plain pass to float32 rounding (tested).

Example:
    >>> from lm.loading import load_causal_lm
    >>> tokenizer, model, _ = load_causal_lm(device="cpu", dtype="float32")
    >>> ids = tokenizer.encode("I hope you're having a great")
    >>> context = model(input_ids=torch.tensor([ids[:-1]]), use_cache=True).past_key_values
    >>> layers = [(layer.keys, layer.values) for layer in context.layers]
    >>> shared = SharedContexts([layers], [0], [len(ids) - 1])
    >>> logits = forward_rows(model, torch.tensor([ids[-1:]]), shared, torch.tensor([[0]]))
    >>> plain = model(input_ids=torch.tensor([ids])).logits[:, -1]
    >>> bool((logits[:, 0].softmax(-1) - plain.softmax(-1)).abs().max() < 1e-5)
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward

NAME = "nextword_shared_context"


@dataclass
class SharedContexts:
    """What one merged pass's attention needs besides the new tokens."""

    contexts: list[list[tuple[torch.Tensor, torch.Tensor]]]  # per context, per layer: keys, values (1, kv, L, d)
    owner: list[int]  # row -> its context's index
    cached: list[int]  # per context: its length L
    new_kv: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)  # layer -> the new K, V

    def __post_init__(self):
        slots, seen = [], {}
        for context in self.owner:  # each row's place among its context's rows
            slots.append(seen.get(context, 0))
            seen[context] = slots[-1] + 1
        self.rows_per_context = max(seen.values())
        self.longest = max(self.cached)
        self._owner, self._slot = torch.tensor(self.owner), torch.tensor(slots)
        self._valid = torch.arange(self.longest) < torch.tensor(self.cached)[:, None]  # (G, L)

    def padded(self, layer: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """This layer's context keys and values, each context once, right-padded: (G, kv, L, d) twice, and
        which positions are real (G, L)."""
        keys0, values0 = next(layers[layer] for layers in self.contexts if layers)
        shape = (len(self.contexts), keys0.shape[1], self.longest, keys0.shape[3])
        keys, values = keys0.new_zeros(shape), values0.new_zeros(shape)
        for index, layers in enumerate(self.contexts):
            if self.cached[index]:
                keys[index, :, : self.cached[index]], values[index, :, : self.cached[index]] = (
                    layers[layer][0][0],
                    layers[layer][1][0],
                )
        return keys, values, self._valid.to(device)

    def by_context(self, rows: torch.Tensor) -> torch.Tensor:
        """(B, kv, n, x) per row -> (G, kv, R * n, x): each context's rows stacked (R: the most rows of one)."""
        out = rows.new_zeros(len(self.contexts), self.rows_per_context, *rows.shape[1:])
        out[self._owner, self._slot] = rows
        return out.transpose(1, 2).reshape(len(self.contexts), rows.shape[1], -1, rows.shape[-1])

    def by_row(self, stacked: torch.Tensor, n: int) -> torch.Tensor:
        """The inverse of `by_context`: (G, kv, R * n, x) -> (B, kv, n, x)."""
        groups, kv, _, x = stacked.shape
        return stacked.reshape(groups, kv, self.rows_per_context, n, x).transpose(1, 2)[self._owner, self._slot]


def shared_context_attention(
    module, query, key, value, attention_mask, scaling=None, dropout=0.0, shared_contexts=None, **kwargs
):
    """transformers' attention-function signature; without `shared_contexts` it is plain SDPA."""
    if shared_contexts is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout)
    shared_contexts.new_kv[module.layer_idx] = (key, value)
    rows, heads, width, dim = query.shape  # (B, H, q, d); key, value: (B, kv, q, d)
    kv_heads = key.shape[1]
    n = heads // kv_heads * width  # queries per kv head and row: query head h uses kv head h // (heads / kv)
    scale = dim**-0.5 if scaling is None else scaling
    grouped = query.reshape(rows, kv_heads, n, dim)
    causal = torch.ones(width, width, dtype=torch.bool, device=query.device).tril().repeat(heads // kv_heads, 1)
    scores = ((grouped @ key.transpose(-1, -2)) * scale).masked_fill(~causal, float("-inf"))  # (B, kv, n, q)
    if shared_contexts.longest == 0:
        out = scores.softmax(-1) @ value
    else:
        keys, values, valid = shared_contexts.padded(module.layer_idx, query.device)
        context_scores = (shared_contexts.by_context(grouped) @ keys.transpose(-1, -2)) * scale  # (G, kv, R n, L)
        context_scores = context_scores.masked_fill(~valid[:, None, None, :], float("-inf"))
        probs = torch.cat([shared_contexts.by_row(context_scores, n), scores], dim=-1).softmax(-1)  # (B, kv, n, L+q)
        longest = keys.shape[2]
        from_context = shared_contexts.by_row(shared_contexts.by_context(probs[..., :longest]) @ values, n)
        out = from_context + probs[..., longest:] @ value
    return out.reshape(rows, heads, width, dim).transpose(1, 2).contiguous(), None


AttentionInterface.register(NAME, shared_context_attention)


def forward_rows(model, input_ids: torch.Tensor, shared: SharedContexts, keep: torch.Tensor) -> torch.Tensor:
    """Logits at `keep` (B, 1) for rows `input_ids` (B, q), each after its context in `shared`; the new
    tokens' keys and values land in ``shared.new_kv``. Position ids carry each row's true positions."""
    cached = torch.tensor([shared.cached[owner] for owner in shared.owner], device=input_ids.device)
    positions = cached[:, None] + torch.arange(input_ids.shape[1], device=input_ids.device)
    before = model.config._attn_implementation
    model.config._attn_implementation = NAME
    try:
        with torch.inference_mode():
            output = model(
                input_ids=input_ids,
                position_ids=positions,
                use_cache=False,
                logits_to_keep=keep,
                shared_contexts=shared,
            )
    finally:
        model.config._attn_implementation = before
    return output.logits


def shared_attention_fits(model, tolerance: float = 1e-5) -> bool:
    """Whether `forward_rows` gives `model` the same next-token probabilities as a plain pass, on a probe:
    two contexts of different lengths, rows of one and two tokens (a model whose attention does not go
    through transformers' attention functions, or does more than attention, fails and is not used so).

    Example:
        >>> from lm.loading import load_causal_lm
        >>> shared_attention_fits(load_causal_lm(device="cpu", dtype="float32")[1])
        True
    """
    ids = list(range(5, 11))
    try:
        with torch.inference_mode():
            caches = [model(input_ids=torch.tensor([ids[:n]]), use_cache=True).past_key_values for n in (4, 2)]
            contexts = [[(layer.keys, layer.values) for layer in cache.layers] for cache in caches]
            rows = torch.tensor([[ids[4], ids[4]], [ids[5], ids[4]], [ids[2], ids[3]]])
            shared = SharedContexts(contexts, [0, 0, 1], [4, 2])
            logits = forward_rows(model, rows, shared, torch.tensor([[0], [1], [1]]))[:, 0]
            plain = [ids[:5], ids[:4] + [ids[5], ids[4]], ids[:2] + [ids[2], ids[3]]]
            expected = torch.stack([model(input_ids=torch.tensor([row])).logits[0, -1] for row in plain])
    except Exception:  # an architecture this does not fit
        return False
    return bool((logits.float().softmax(-1) - expected.float().softmax(-1)).abs().max() <= tolerance)
