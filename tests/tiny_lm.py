"""A tiny GPT-2-style model and byte-level BPE tokenizer, built offline for tests.

`save_tiny_model(folder)` trains a tokenizer with the `tokenizers` library on a small text,
creates a 2-layer GPT-2 with random (seeded) weights, and saves both with `save_pretrained`, so
tests load it through the real `TransformerModel.from_pretrained(folder)` path.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

TRAINING_TEXT = (
    "the cat sat on the mat. the dog sat on the log. a wonderful day for a walk. "
    "we went to the park and the dogs ran. what a great great day it was. "
    "they're happy and you're here. the greater good wins. wonder and wander. "
) * 20


def save_tiny_model(folder: Path, vocab_size: int = 300, positions: int = 64, seed: int = 0) -> Path:
    """Write a tiny tokenizer + GPT-2 into `folder` and return it."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([TRAINING_TEXT], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(fast),
        n_positions=positions,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    model = GPT2LMHeadModel(config)
    with torch.no_grad():  # a peakier output layer, so distributions are not near-uniform
        model.lm_head.weight.mul_(8.0)
    model.save_pretrained(folder, safe_serialization=True)
    fast.save_pretrained(folder)
    return folder
