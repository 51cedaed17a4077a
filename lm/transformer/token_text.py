"""`TokenText`: what each token of a tokenizer spells, and its role in building whole words.

A word (as in `lm.core.tokenize`) is a maximal run of letters and digits with inner apostrophes. Over a
sub-word vocabulary every token is sorted into the roles the word search needs:

- starts a word after a space: ``" great"``, ``" wond"`` (the separator, then word characters), or
  the bare separator ``" "`` when word pieces follow it;
- starts a word with no separator (at the start of a text or a line): ``"Hello"``;
- continues a word: ``"ful"``, ``"'re"`` (word characters, or an apostrophe and word characters);
- ends a word: anything that begins with another character (``" "``, ``","``, ``"\\n"``, special
  tokens); a word is complete when the token after it ends it.

Tokens holding only part of a UTF-8 character, or mixing word and other characters, play no role.

Example:
    >>> text = TokenText([" great", "ful", ",", "Hello", "'re", " (", "a,"])
    >>> text.starts_after_space.tolist(), text.continues.tolist(), text.ends.tolist()
    ([True, False, False, False, False, False, False], [False, True, False, True, True, False, False],
     [True, False, True, False, False, True, False])
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
import torch

from lm.core.tokenize import WORD_CHAR as _WORD_CHAR
from lm.core.vocabulary import prefix_range

_PIECE = re.compile(rf"'?{_WORD_CHAR}(?:{_WORD_CHAR}|')*")  # continues a word
_START = re.compile(rf"{_WORD_CHAR}(?:{_WORD_CHAR}|')*")  # starts one (no leading apostrophe)
_CONTINUES_AT_START = re.compile(rf"{_WORD_CHAR}|'{_WORD_CHAR}")


class _PrefixIndex:
    """Token ids by lower-cased text, to find the tokens compatible with a typed prefix."""

    def __init__(self, texts: list[str], ids: np.ndarray):
        order = sorted(range(len(ids)), key=lambda i: texts[ids[i]].lower())
        self.keys = [texts[ids[i]].lower() for i in order]
        self.ids = np.asarray([ids[i] for i in order], dtype=np.int64)
        self.by_key = defaultdict(list)
        for key, token in zip(self.keys, self.ids.tolist()):
            self.by_key[key].append(token)

    def starting_with(self, prefix: str) -> np.ndarray:
        """Ids of tokens whose text starts with `prefix` (lower-case)."""
        start, stop = prefix_range(self.keys, prefix)
        return self.ids[start:stop]

    def prefixes_of(self, text: str) -> np.ndarray:
        """Ids of tokens whose text is a proper, non-empty prefix of `text` (lower-case)."""
        found = [token for end in range(1, len(text)) for token in self.by_key.get(text[:end], ())]
        return np.asarray(found, dtype=np.int64)

    def compatible(self, remaining: str) -> tuple[np.ndarray, np.ndarray]:
        """Ids of tokens that agree with `remaining` (lower-case): (those covering it, those fitting inside it)."""
        return self.starting_with(remaining), self.prefixes_of(remaining)


class TokenText:
    """The decoded text of every token and its word-building role (boolean arrays over the vocabulary)."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        broken = np.array(["\ufffd" in text for text in texts])
        # " great", or a bare " " that word pieces then follow (tokenizers without a " great" token)
        self.starts_after_space = np.array([t == " " or t[:1] == " " and bool(_START.fullmatch(t[1:])) for t in texts])
        self.starts_bare = np.array([bool(_START.fullmatch(t)) for t in texts]) & ~broken
        self.continues = np.array([bool(_PIECE.fullmatch(t)) for t in texts]) & ~broken
        self.ends = np.array([not _CONTINUES_AT_START.match(t) for t in texts]) & ~broken
        self._starts = {
            " ": _PrefixIndex(texts, np.flatnonzero(self.starts_after_space)),
            "": _PrefixIndex(texts, np.flatnonzero(self.starts_bare)),
        }
        self._continues = _PrefixIndex(texts, np.flatnonzero(self.continues))
        self._on_device: dict[str, dict[str, torch.Tensor]] = {}

    def __len__(self) -> int:
        return len(self.texts)

    @classmethod
    def from_tokenizer(cls, tokenizer, size: int) -> "TokenText":
        """Decode each of the model's `size` token ids the way it reads after a word.

        Each token is decoded after an anchor token and the anchor's text removed, so tokenizers
        that drop a leading space when decoding a lone token (SentencePiece) keep it here. Ids the
        tokenizer does not know (padding rows of the output layer) get no role.
        """
        anchor = tokenizer.encode("a", add_special_tokens=False)[-1:]
        anchor_text = tokenizer.decode(anchor)
        known = min(size, len(tokenizer))
        decoded = tokenizer.batch_decode(
            [anchor + [token] for token in range(known)], clean_up_tokenization_spaces=False
        )
        texts = [text[len(anchor_text) :] if text.startswith(anchor_text) else text for text in decoded]
        return cls(texts + ["\ufffd"] * (size - known))

    def masks(self, device) -> dict[str, torch.Tensor]:
        """The role arrays as boolean tensors on `device`, made once per device (searches run per keystroke)."""
        key = str(device)
        if key not in self._on_device:
            roles = {
                "after_space": self.starts_after_space,
                "bare": self.starts_bare,
                "continues": self.continues,
                "ends": self.ends,
            }
            self._on_device[key] = {name: torch.as_tensor(role, device=device) for name, role in roles.items()}
        return self._on_device[key]

    def compatible_starts(self, separator: str, remaining: str) -> tuple[np.ndarray, np.ndarray]:
        """Word-starting tokens that agree with `remaining`: (those covering it, those fitting inside it)."""
        return self._starts[separator].compatible(remaining.lower())

    def compatible_continuations(self, remaining: str) -> tuple[np.ndarray, np.ndarray]:
        """Word-continuing tokens that agree with `remaining`: (those covering it, those fitting inside it)."""
        return self._continues.compatible(remaining.lower())
