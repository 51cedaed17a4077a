"""`ModelRunner`: the forward passes of a causal LM over rows, and how attention runs them.

A row is a context's KV cache and the tokens to run after it (`Row`); a pass runs many rows at once and
returns each row's log-probabilities after its last token (and its new KV cache when asked). Rows are
packed, not padded, where `lm.transformer.shared_attention` fits the model: a pass runs exactly its rows'
tokens, each attending to its own context's cache at its true positions. At start the runner measures how
far merging moves a row of a probe and merges different callers' rows only within `MERGED_VS_ALONE`;
models the packing does not fit get per-row padded caches and a mask, merged in float32 only.

The engine (`lm.transformer.engine`) decides which rows share a pass (`lm.transformer.scheduler`) and owns the
threads; this module owns the tensors.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch

from lm.transformer.shared_attention import PackedRows, forward_packed, use_packed_attention

MERGED_VS_ALONE = 1e-5  # how far merging may move a row's probabilities (measured here: ~2e-6 in float32)


@dataclass(frozen=True)
class Row:
    """One row of a pass: a context's KV cache and the tokens to run after it."""

    layers: list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys, values (1, heads, cached, dim); [] = none
    tokens: tuple[int, ...]  # at least one
    keep_kv: bool = False  # also return the KV cache of the context plus these tokens

    @property
    def cached(self) -> int:
        return self.layers[0][0].shape[2] if self.layers else 0


@dataclass
class RowResult:
    logprobs: torch.Tensor  # (vocab,) float32 log p(next token | context, tokens)
    layers: list[tuple[torch.Tensor, torch.Tensor]] | None = None  # (1, heads, cached + len(tokens), dim)


class ModelRunner:
    """The passes of one model. `merge`: may different callers' rows share a pass (``None``: where a merged row
    equals the row alone within `MERGED_VS_ALONE`, measured at start on a probe, or in float32 with padded
    caches)."""

    def __init__(self, model, merge: bool | None = None):
        self.model = model
        moved = use_packed_attention(model) if merge is not False else None  # None: padded, masked caches
        self.merged_vs_alone = moved  # how far merging moved a row of the probe, in probability
        exact = moved is not None and moved <= MERGED_VS_ALONE
        self.merge = (exact or (moved is None and model.dtype == torch.float32)) if merge is None else merge
        self.shared_attention = self.merge and moved is not None  # rows packed into one sequence
        self.passes = 0  # forward passes run, for benchmarks
        self._cache_argument = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"

    @property
    def device(self) -> torch.device:
        return self.model.device

    def forward(self, rows: list[Row]) -> list[RowResult]:
        """One pass over `rows`: each row's log-probs after its last real token (and its KV cache if asked)."""
        if self.shared_attention:
            return self._forward_shared(rows)
        return self._forward_padded(rows)

    def _forward_shared(self, rows: list[Row]) -> list[RowResult]:
        """Rows packed into one sequence, no padding, each after its context's cache, shared, not copied
        (`lm.transformer.shared_attention`)."""
        contexts = {}  # id(layers) -> (index, a row of that context), in order
        for row in rows:
            contexts.setdefault(id(row.layers), (len(contexts), row))
        packed = PackedRows(
            [row.layers for _, row in contexts.values()],
            [row.cached for _, row in contexts.values()],
            row_context=[contexts[id(row.layers)][0] for row in rows],
            row_lengths=[len(row.tokens) for row in rows],
        )
        ids = torch.tensor([token for row in rows for token in row.tokens], device=self.device)  # (N,)
        logprobs = torch.log_softmax(forward_packed(self.model, ids, packed).float(), dim=-1)  # (rows, vocab)
        self.passes += 1
        results = []
        for i, (row, start) in enumerate(zip(rows, packed.starts)):
            layers = None
            if row.keep_kv:
                new = [
                    (k[:, :, start : start + len(row.tokens)], v[:, :, start : start + len(row.tokens)])
                    for k, v in (packed.new_kv[layer] for layer in range(len(packed.new_kv)))
                ]
                layers = [
                    (torch.cat([old[0], k], dim=2), torch.cat([old[1], v], dim=2))
                    if row.layers
                    else (k.clone(), v.clone())
                    for old, (k, v) in zip(row.layers or [None] * len(new), new)
                ]
            results.append(RowResult(logprobs[i].clone(), layers))  # its own copy, not a view of the batch
        return results

    def _forward_padded(self, rows: list[Row]) -> list[RowResult]:
        """One pass with transformers' own attention: cached contexts left-padded to the longest, new tokens
        right-padded, both paddings masked (for models `lm.transformer.shared_attention` does not fit)."""
        from transformers import DynamicCache

        bases = list({id(row.layers): row.layers for row in rows}.values())  # distinct contexts
        longest = max(row.cached for row in rows)
        width = max(len(row.tokens) for row in rows)
        ids = torch.tensor([row.tokens + (row.tokens[-1],) * (width - len(row.tokens)) for row in rows])
        last = torch.tensor([[len(row.tokens) - 1] for row in rows])  # (B, 1)
        options = {}
        if len(bases) == 1:  # one context: its cache serves every row as is (causal attention ignores right pads)
            layers = [(k.expand(len(rows), -1, -1, -1), v.expand(len(rows), -1, -1, -1)) for k, v in bases[0]]
        else:
            layers = self._padded_layers(rows, longest)
            mask = torch.zeros(len(rows), longest + width, dtype=torch.long)  # (B, cached + new)
            for i, row in enumerate(rows):
                mask[i, longest - row.cached : longest + len(row.tokens)] = 1
            positions = torch.tensor([row.cached for row in rows])[:, None] + torch.arange(width)  # (B, new)
            options = {"attention_mask": mask.to(self.device), "position_ids": positions.to(self.device)}
        cache = DynamicCache(ddp_cache_data=layers or None, config=self.model.config)
        with torch.inference_mode():
            output = self.model(
                input_ids=ids.to(self.device),
                use_cache=True,
                logits_to_keep=last.to(self.device),
                **options,
                **{self._cache_argument: cache},
            )
        logprobs = torch.log_softmax(output.logits[:, 0].float(), dim=-1)  # (B, vocab)
        self.passes += 1
        return [  # each row its own copy: a cached row must not keep the whole batch's tensor alive
            RowResult(logprobs[i].clone(), self._row_layers(cache, row, i, longest) if row.keep_kv else None)
            for i, row in enumerate(rows)
        ]

    def _padded_layers(self, rows: list[Row], longest: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer, every row's cached keys and values right-aligned in a zero tensor (B, heads, longest, dim)."""
        if longest == 0:
            return []
        template = next(row.layers for row in rows if row.layers)
        padded = []
        for layer, (k0, v0) in enumerate(template):
            keys = k0.new_zeros(len(rows), k0.shape[1], longest, k0.shape[3])
            values = v0.new_zeros(len(rows), v0.shape[1], longest, v0.shape[3])
            for i, row in enumerate(rows):
                if row.layers:
                    k, v = row.layers[layer]
                    keys[i, :, longest - row.cached :], values[i, :, longest - row.cached :] = k[0], v[0]
            padded.append((keys, values))
        return padded

    @staticmethod
    def _row_layers(cache, row: Row, i: int, longest: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Row `i`'s own context plus its new tokens, cut out of the pass's padded output cache."""
        new = slice(longest, longest + len(row.tokens))
        out = []
        for layer, state in enumerate(cache.layers):
            k, v = state.keys[i : i + 1, :, new].clone(), state.values[i : i + 1, :, new].clone()
            if row.layers:
                k, v = torch.cat([row.layers[layer][0], k], dim=2), torch.cat([row.layers[layer][1], v], dim=2)
            out.append((k, v))
        return out
