"""Models counted from a corpus: explicit tables, exact by construction.

Owns: the corpus (`corpus`), the bigram's joint table p(x, z) and everything derived from it (`bigram`),
smoothing for scoring text (`smoothing`), and the table learning from its user (`personal`). Imports only
`lm.core`: never transformers, the engine or the UI (checked by `.importlinter`).
"""
