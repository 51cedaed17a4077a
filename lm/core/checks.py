"""Checks of arguments that come from outside (a caller, a form, an API request): each returns the value
in the type the code wants, or raises ``ValueError`` naming the argument, what it may be, and what it
was (a long value cut, so a 10 MB value never lands whole in a message or a log)."""

from __future__ import annotations

import math
import numbers
import sys
from typing import Sequence

MAX_SHOWN_CHARS = 80  # a value's repr in a message at most
MAX_WORD_CHARS = 100  # a word picked or typed as z or x at most (the corpus's longest is far shorter)


def shown(value) -> str:
    """`value`'s repr for a message, cut to `MAX_SHOWN_CHARS` characters with its full length after it.

    Example:
        >>> shown("abc"), shown("x" * 1000)[-30:]
        ("'abc'", 'xxx… (1,002 characters in all)')
    """
    text = repr(value)
    if len(text) <= MAX_SHOWN_CHARS:
        return text
    return f"{text[:MAX_SHOWN_CHARS]}… ({len(text):,} characters in all)"


def is_whole_number(value) -> bool:
    """True for finite integral numbers (3, 3.0), False for anything else (2.5, "3", True, nan).

    Example:
        >>> is_whole_number(3.0), is_whole_number(2.5), is_whole_number("3")
        (True, False, False)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return isinstance(value, numbers.Integral) or (math.isfinite(value) and float(value).is_integer())


def check_whole_number(value, name: str, low: int, high: int, what: str = "") -> int:
    """`value` as an int from `low` to `high`, or ``ValueError`` naming `name` (and `what` it counts).

    Example:
        >>> check_whole_number(3.0, "n", 1, 10)
        3
        >>> check_whole_number(float("nan"), "n", 1, 1000, "marbles")
        Traceback (most recent call last):
        ValueError: `n` (marbles) has to be a whole number from 1 to 1,000, but is nan
    """
    if not is_whole_number(value) or not low <= value <= high:
        label = f"`{name}`" + (f" ({what})" if what else "")
        raise ValueError(f"{label} has to be a whole number from {low:,} to {high:,}, but is {shown(value)}")
    return int(value)


def check_in_float_range(value, name: str):
    """`value`, or ``ValueError`` naming `name` when it is an integer too large for any number the app computes
    with (past a float's range, where converting it would raise `OverflowError`).

    Example:
        >>> check_in_float_range(10**400, "temperature")
        Traceback (most recent call last):
        ValueError: `temperature` has to be a number a float can hold, but is an integer past 1.8e+308
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
        raise ValueError(
            f"`{name}` has to be a number a float can hold, but is an integer past {sys.float_info.max:.2g}"
        )
    return value


def check_choice(value, name: str, choices: Sequence[str]):
    """`value` when it is one of `choices`, else ``ValueError`` naming `name` and the choices.

    Example:
        >>> check_choice("sampled", "mode", ("most likely", "sampled"))
        'sampled'
        >>> check_choice(None, "mode", ("most likely", "sampled"))
        Traceback (most recent call last):
        ValueError: `mode` has to be one of 'most likely', 'sampled', but is None
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` has to be one of {', '.join(map(repr, choices))}, but is {shown(value)}")
    return value


def check_word(value, name: str) -> str:
    """`value` when it is a string (a word picked from a list, or typed) of at most `MAX_WORD_CHARS` characters,
    else ``ValueError`` naming `name`.

    Example:
        >>> check_word(["cat"], "next")
        Traceback (most recent call last):
        ValueError: `next` has to be a word (a string), but is a list: ['cat']
    """
    if not isinstance(value, str):
        raise ValueError(f"`{name}` has to be a word (a string), but is a {type(value).__name__}: {shown(value)}")
    if len(value) > MAX_WORD_CHARS:
        raise ValueError(f"`{name}` has to be a word of at most {MAX_WORD_CHARS} characters, but is {shown(value)}")
    return value
