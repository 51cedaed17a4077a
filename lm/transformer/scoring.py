"""ln p(word | the text before it) for each word of a text, from one pass over the text: how the evaluation
scores the transformer (perplexity), read as the keyboard reads a text (`TransformerModel.context_ids`).

A word's probability is its tokens' log-probs plus ln p(the next token ends the word), as in
`lm.transformer.word_search`; where a token straddles the word's edge, the word search is asked instead.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lm.transformer.word_search import SearchBudget

SCORING = SearchBudget(k=10, batch_size=32, fanout=32, max_steps=8, min_prob=1e-4)  # a word a token straddles


def word_log_probs(tm, text: str, words: list[tuple[str, int]]) -> list[float]:
    """ln p(word | text before it) for each (word, offset where it starts) of `text`: its tokens' log-probs
    plus ln p(the word ends)."""
    encoded = tm.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
    token_logprobs, end_mass = token_scores(tm, ids)
    owner = np.full(len(text) + 1, -1)  # character -> the token that holds it
    for index, (start, end) in enumerate(offsets):
        owner[start:end] = index
    scores = []
    for word, start in words:
        first, last = owner[start], owner[start + len(word) - 1]
        if start and text[start - 1] == " " and first >= 0 and offsets[first][0] == start:
            space = owner[start - 1]  # the token holding the space: the path starts there if it is a bare " "
            first = space if space >= 0 and tm.tokens.texts[ids[space]] == " " else -1
        aligned = first >= 0 and last >= first and offsets[last][1] == start + len(word)
        aligned = aligned and not text[offsets[first][0] : start].strip()
        if aligned:
            scores.append(float(token_logprobs[first : last + 1].sum()) + math.log(max(end_mass[last], 1e-300)))
        else:  # a token straddles the word's edge: ask the word search instead
            result = tm.word_search(text[:start], word, SCORING)
            p = result.words.get(word, 0.0) * result.prefix_mass
            scores.append(math.log(p) if p > 0 else -math.inf)
    return scores


def token_scores(tm, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """For each token of `ids`: ln p(token | the frame and the tokens before it), and p(the token after it
    ends a word), read as the keyboard reads a text (`TransformerModel.context_ids`): after the model's
    frame, from at most `max_context_tokens` of the text's tokens. A long text goes in overlapping chunks,
    each after the frame.
    """
    frame, window = list(tm.context_ids("")), tm.max_context_tokens  # the frame (a model without one raises)
    stride = max(1, window // 2)  # each chunk after the first keeps window - stride tokens of context
    logprob, end = np.zeros(len(ids)), np.zeros(len(ids))
    ends = torch.as_tensor(tm.tokens.ends, device=tm.device)
    position = 0  # the next token whose log-prob is needed
    while position < len(ids):
        start = max(0, position - (window - stride))
        chunk = ids[start : start + window]
        logprobs = torch.log_softmax(tm.logits(frame + chunk).float(), -1)  # row r: after (frame + chunk)[: r + 1]
        stop = start + len(chunk)
        after = torch.arange(position - start, stop - start, device=tm.device) + len(frame)  # row after ids[: j + 1]
        following = torch.tensor(ids[position:stop], device=tm.device)
        logprob[position:stop] = logprobs[after - 1, following].cpu().numpy()
        end[position:stop] = torch.logsumexp(logprobs[after].masked_fill(~ends, float("-inf")), -1).exp().cpu().numpy()
        position = stop
    return logprob, end
