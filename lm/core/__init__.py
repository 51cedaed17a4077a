"""The ground floor every model stands on: words, ids, one distribution type and how to sample it.

Owns: argument checks (`checks`), the device (`devices`), words and sentences (`tokenize`), word <-> id
(`vocabulary`), the `Distribution` every model returns (`distribution`), temperature / top-k / top-p
(`sampling`), text one word at a time for any model (`generation`), and the cache folder (`storage`).
Imports nothing else from `lm`: the contract in `.importlinter` keeps it so.
"""
