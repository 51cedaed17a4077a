"""Attention for merged passes: rows of any length packed into one sequence, each attending to its own
context's cached keys and values and to its own earlier tokens.

A merged pass holds rows of several contexts, several rows per context (a word search's paths after
one context), of different lengths (a keystroke's new context runs a dozen tokens, a path one). The
standard way, one padded KV cache per row and right-padded new tokens, copies every context's cache once
per row and runs the padding through every layer: a pass of one 12-token row and fifty 1-token rows
would cost 612 token slots for 62 tokens. Here the rows' tokens are packed into one sequence of N
tokens, every linear layer runs on exactly those N, position ids carry each token's true position, and
this attention function, registered with transformers as `NAME`, adds each token's context itself:

    scores(t) = [q_t K_context(t)^T, q_t K_own^T] * scale,  p = softmax(scores)
    out(t)    = p_context V_context(t) + p_own V_own

where "own" are the tokens of t's row up to t (a block-diagonal causal mask over the packed sequence).
Every context's keys and values are copied once per layer (not once per row), the tokens of one context
stacked into one matrix product against them, all contexts in one batched product (GQA heads grouped,
never repeated). The arithmetic is attention's own; only the order of the sums differs from SDPA's, so
rows agree with a plain pass to rounding (tested). The others' attention terms are exact zeros, but
the matrix products' rounding still depends on how many rows share them, so a row packed with others
moves by about 2e-6 in probability in float32 (`use_packed_attention` measures it; `lm.transformer.engine` bounds it).

Example:
    >>> from lm.transformer.loading import load_causal_lm
    >>> tokenizer, model, _ = load_causal_lm(device="cpu", dtype="float32")
    >>> ids = tokenizer.encode("I hope you're having a great")
    >>> use_packed_attention(model) < 1e-5              # once (every other pass stays SDPA's); a row moves < 1e-5
    True
    >>> context = model(input_ids=torch.tensor([ids[:-1]]), use_cache=True).past_key_values
    >>> layers = [(layer.keys, layer.values) for layer in context.layers]
    >>> packed = PackedRows([layers], [len(ids) - 1], row_context=[0], row_lengths=[1])
    >>> logits = forward_packed(model, torch.tensor(ids[-1:]), packed)
    >>> plain = model(input_ids=torch.tensor([ids])).logits[:, -1]
    >>> bool((logits.softmax(-1) - plain.softmax(-1)).abs().max() < 1e-5)
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

NAME = "nextword_shared_context"


@dataclass
class PackedRows:
    """What one packed pass's attention needs besides the new tokens: the contexts, and which row (and so
    which context) each packed token belongs to."""

    contexts: list[list[tuple[torch.Tensor, torch.Tensor]]]  # per context, per layer: keys, values (1, kv, L, d)
    cached: list[int]  # per context: its length L
    row_context: list[int]  # per row: its context's index
    row_lengths: list[int]  # per row: its new tokens, packed one row after another
    new_kv: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)  # layer -> the new K, V

    def __post_init__(self):
        lengths = torch.tensor(self.row_lengths)
        self.starts = (torch.cumsum(lengths, 0) - lengths).tolist()  # each row's first packed token
        token_row = torch.repeat_interleave(torch.arange(len(lengths)), lengths)  # (N,)
        self.tokens = len(token_row)
        self.token_context = torch.tensor(self.row_context)[token_row]  # (N,)
        self.positions = (
            torch.tensor(self.cached)[self.token_context]
            + torch.arange(self.tokens)
            - torch.tensor(self.starts)[token_row]
        )  # (N,) each token's true position after its context
        counts, slots = {}, []  # each token's place among its context's tokens
        for context in self.token_context.tolist():
            slots.append(counts.get(context, 0))
            counts[context] = slots[-1] + 1
        self.token_slot = torch.tensor(slots)
        self.per_context = max(counts.values())
        self.longest = max(self.cached)
        self.last = torch.tensor(self.starts) + lengths - 1  # (rows,) each row's last token
        self.own = (token_row[:, None] == token_row[None, :]).tril()  # (N, N) a token sees its row up to itself
        self.valid = (torch.arange(self.longest) < torch.tensor(self.cached)[:, None])[self.token_context]  # (N, L)
        cached = torch.tensor(self.cached)
        first = torch.cumsum(cached, 0) - cached  # each context's first key in the concatenation of all
        within = torch.minimum(torch.arange(self.longest), (cached - 1).clamp(min=0)[:, None])  # (G, L)
        self._gather = (first[:, None] + within).reshape(-1).clamp(max=max(int(cached.sum()) - 1, 0))

    def padded(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This layer's context keys and values, each context once, right-padded: (G, kv, L, d) twice (one
        concatenation and one gather per layer, not a copy per context: a class's pass holds ~50 contexts)."""
        present = [layers[layer] for layers in self.contexts if layers]
        keys = torch.cat([k[0] for k, _ in present], dim=1)  # (kv, sum of L, d)
        values = torch.cat([v[0] for _, v in present], dim=1)
        gather = self._gather.to(keys.device)
        shape = (keys.shape[0], len(self.contexts), self.longest, keys.shape[2])
        return (
            keys[:, gather].reshape(shape).transpose(0, 1),  # positions past a context's end are masked (`valid`)
            values[:, gather].reshape(shape).transpose(0, 1),
        )

    def by_context(self, per_token: torch.Tensor) -> torch.Tensor:
        """(N, kv, g, x) per token -> (G, kv, S * g, x): each context's tokens stacked (S: the most of one)."""
        tokens, kv, groups, x = per_token.shape
        out = per_token.new_zeros(len(self.contexts), self.per_context, kv, groups, x)
        out[self.token_context, self.token_slot] = per_token
        return out.permute(0, 2, 1, 3, 4).reshape(len(self.contexts), kv, self.per_context * groups, x)

    def by_token(self, stacked: torch.Tensor, groups: int) -> torch.Tensor:
        """The inverse of `by_context`: (G, kv, S * g, x) -> (N, kv, g, x)."""
        contexts, kv, _, x = stacked.shape
        unstacked = stacked.reshape(contexts, kv, self.per_context, groups, x).permute(0, 2, 1, 3, 4)
        return unstacked[self.token_context, self.token_slot]


def shared_context_attention(
    module, query, key, value, attention_mask, scaling=None, dropout=0.0, packed_rows=None, **kwargs
):
    """transformers' attention-function signature; without `packed_rows` it is plain SDPA (with SDPA's mask)."""
    if packed_rows is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    packed_rows.new_kv[module.layer_idx] = (key, value)
    _, heads, tokens, dim = query.shape  # (1, H, N, d); key, value: (1, kv, N, d)
    kv_heads = key.shape[1]
    groups = heads // kv_heads  # query head h uses kv head h // groups
    scale = dim**-0.5 if scaling is None else scaling
    q = query[0].reshape(kv_heads, groups, tokens, dim)
    own = (q @ key[0, :, None].transpose(-1, -2)) * scale  # (kv, g, N, N)
    own = own.masked_fill(~packed_rows.own.to(query.device), float("-inf"))
    if packed_rows.longest == 0:
        out = own.softmax(-1) @ value[0, :, None]
    else:
        keys, values = packed_rows.padded(module.layer_idx)
        per_token = q.permute(2, 0, 1, 3)  # (N, kv, g, d)
        context = packed_rows.by_context(per_token) @ keys.transpose(-1, -2) * scale  # (G, kv, S g, L)
        context = packed_rows.by_token(context, groups).permute(1, 2, 0, 3)  # (kv, g, N, L)
        context = context.masked_fill(~packed_rows.valid.to(query.device), float("-inf"))
        # One softmax over [context, own], its two sums taken apart, so a row's context terms are summed in
        # the same lanes whatever the other rows of the pass.
        top = torch.maximum(context.amax(-1, keepdim=True), own.amax(-1, keepdim=True))
        context, own = (context - top).exp(), (own - top).exp()
        total = context.sum(-1, keepdim=True) + own.sum(-1, keepdim=True)  # (kv, g, N, 1)
        from_context = packed_rows.by_context(context.permute(2, 0, 1, 3)) @ values  # (G, kv, S g, d)
        from_context = packed_rows.by_token(from_context, groups).permute(1, 2, 0, 3)  # (kv, g, N, d)
        out = (from_context + own @ value[0, :, None]) / total
    return out.reshape(heads, tokens, dim).transpose(0, 1)[None].contiguous(), None  # (1, N, H, d)


AttentionInterface.register(NAME, shared_context_attention)
AttentionMaskInterface.register(NAME, sdpa_mask)  # every pass that is not packed is SDPA's, mask and all


def forward_packed(model, input_ids: torch.Tensor, packed: PackedRows) -> torch.Tensor:
    """(rows, vocab) logits after each row's last token, for the packed tokens `input_ids` (N,), each row
    after its context in `packed`; the new tokens' keys and values land in ``packed.new_kv``. The model
    must use this attention (`use_packed_attention`)."""
    device = input_ids.device
    with torch.inference_mode():
        output = model(
            input_ids=input_ids[None],
            position_ids=packed.positions.to(device)[None],
            use_cache=False,
            logits_to_keep=packed.last.to(device),
            packed_rows=packed,
        )
    return output.logits[0]


def use_packed_attention(model) -> float | None:
    """Give `model` this attention, once, if it fits, and measure how far merging moves a row.

    The probe: two contexts of different lengths, rows of one and two tokens, packed. They must give the
    probabilities of a plain pass (to 1e-5 in float32; to 0.05 in a 16-bit dtype, whose rounding differs
    with the order of attention's sums), else the model keeps its own attention and this returns None. It
    returns the largest |p packed with the others - p alone| over the rows, which the engine reads before
    merging users' rows (`lm.transformer.engine`). Every pass that is not packed stays SDPA's.

    Example:
        >>> from lm.transformer.loading import load_causal_lm
        >>> use_packed_attention(load_causal_lm(device="cpu", dtype="float32")[1]) < 1e-5
        True
    """
    before = model.config._attn_implementation
    ids = list(range(5, 11))
    rows = [(0, [ids[4]]), (0, [ids[5], ids[4]]), (1, [ids[2], ids[3]])]  # (context, tokens)
    try:
        with torch.inference_mode():
            plain = [ids[:4] + rows[0][1], ids[:4] + rows[1][1], ids[:2] + rows[2][1]]
            expected = torch.stack([model(input_ids=torch.tensor([row])).logits[0, -1] for row in plain]).softmax(-1)
            model.set_attn_implementation(NAME)
            caches = [model(input_ids=torch.tensor([ids[:n]]), use_cache=True).past_key_values for n in (4, 2)]
            contexts = [[(layer.keys, layer.values) for layer in cache.layers] for cache in caches]

            def run(chosen):
                packed = PackedRows(contexts, [4, 2], [c for c, _ in chosen], [len(t) for _, t in chosen])
                tokens = torch.tensor([token for _, t in chosen for token in t], device=model.device)
                return forward_packed(model, tokens, packed).float().softmax(-1)

            merged = run(rows)
            alone = torch.cat([run([row]) for row in rows])
        tolerance = 1e-5 if model.dtype == torch.float32 else 0.05
        if (merged - expected.float()).abs().max() <= tolerance:
            return float((merged - alone).abs().max())
    except Exception:  # an architecture this does not fit
        pass
    model.set_attn_implementation(before)
    return None
