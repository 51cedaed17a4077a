"""A pretrained causal LM read as p(next word | context), exactly, and the engine that runs it.

Owns: loading a model (`loading`), sub-word tokens to whole words (`token_text`, `word_search`), the one
engine that runs every forward pass (`engine`, `shared_attention`), KV-cache reuse (`context_states`,
`prefetch`), and `TransformerModel` (`model`). Imports only `lm.core` below it.
"""
