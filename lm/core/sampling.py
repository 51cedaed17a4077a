"""Temperature, top-k and top-p: the one sampling path shared by both models.

Each step is a small pure function on logits (last dimension = the outcomes), in the order
transformers applies them when sampling: temperature -> top-k -> top-p. None of them changes its
input; each returns a new tensor on the input's device.

Example:
    >>> import torch
    >>> warp(torch.tensor([2.0, 1.0, 0.0]), top_k=2).tolist()  # doctest: +ELLIPSIS
    [0.731..., 0.268..., 0.0]
"""

from __future__ import annotations

import math
import numbers

import torch

from lm.core.checks import is_whole_number, shown

NEG_INF = float("-inf")
MIN_TEMPERATURE = 0.01  # the smallest temperature above 0 (0 = greedy): below it, logits / T overflow to inf - inf
MAX_SEED = 2**63 - 1  # seeds are 0 to MAX_SEED; a draw that needs several seeds counts on from one (`nth_seed`)


def check_temperature(temperature) -> float:
    """Return `temperature` as a float, or raise ``ValueError`` naming it.

    Example:
        >>> check_temperature(0.7)
        0.7
        >>> check_temperature(5e-324)
        Traceback (most recent call last):
        ValueError: `temperature` has to be 0 (greedy) or a finite number from 0.01, but is 5e-324
    """
    is_number = isinstance(temperature, numbers.Real) and not isinstance(temperature, bool)
    if not is_number or not math.isfinite(temperature) or not (temperature == 0 or temperature >= MIN_TEMPERATURE):
        raise ValueError(
            f"`temperature` has to be 0 (greedy) or a finite number from {MIN_TEMPERATURE}, but is {shown(temperature)}"
        )
    return float(temperature)


def check_top_k(top_k) -> int:
    """Return `top_k` as an int (0 = off), or raise ``ValueError`` naming it.

    Example:
        >>> check_top_k(3.0)
        3
    """
    if not is_whole_number(top_k) or top_k < 0:
        raise ValueError(f"`top_k` has to be a non-negative integer (0 = off), but is {shown(top_k)}")
    return int(top_k)


def check_top_p(top_p) -> float:
    """Return `top_p` as a float in (0, 1] (1 = off), or raise ``ValueError`` naming it.

    Example:
        >>> check_top_p(0.9)
        0.9
    """
    if isinstance(top_p, bool) or not isinstance(top_p, numbers.Real) or not 0 < top_p <= 1:
        raise ValueError(f"`top_p` has to be a number in (0, 1] (1 = off), but is {shown(top_p)}")
    return float(top_p)


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Divide logits by `temperature`; 0 means greedy: only the (first) argmax survives.

    Example:
        >>> apply_temperature(torch.tensor([1.0, 3.0, 3.0]), 0).tolist()
        [-inf, 0.0, -inf]
    """
    temperature = check_temperature(temperature)
    if temperature > 0:
        return logits / temperature
    winner = logits.argmax(dim=-1, keepdim=True)
    greedy = torch.full_like(logits, NEG_INF)
    return greedy.scatter(-1, winner, 0.0)


def apply_top_k(logits: torch.Tensor, top_k: int) -> torch.Tensor:
    """Keep the `top_k` largest logits (and any tied with the k-th); 0 means off.

    Example:
        >>> apply_top_k(torch.tensor([1.0, 3.0, 2.0, 2.0]), 2).tolist()
        [-inf, 3.0, 2.0, 2.0]
    """
    top_k = check_top_k(top_k)
    if top_k == 0 or top_k >= logits.size(-1):
        return logits.clone()
    kth_largest = torch.topk(logits, top_k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth_largest, NEG_INF)


def apply_top_p(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of most likely outcomes whose probability reaches `top_p`; 1 means off.

    An outcome is dropped when the total probability of it and of everything less likely is at
    most ``1 - top_p``; the most likely outcome always stays.

    Example:
        >>> apply_top_p(torch.tensor([2.0, 1.5, 1.0]), 0.6).tolist()
        [2.0, 1.5, -inf]
    """
    top_p = check_top_p(top_p)
    if top_p == 1.0:
        return logits.clone()
    ascending, order = torch.sort(logits, dim=-1, descending=False)
    tail_mass = ascending.softmax(dim=-1).cumsum(dim=-1)  # mass of each outcome and all below it
    drop_sorted = tail_mass <= (1 - top_p)
    drop_sorted[..., -1:] = False  # the most likely outcome always stays
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, NEG_INF)


def warp(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Probabilities after temperature -> top-k -> top-p, as transformers' warpers give them.

    Args:
        logits: ``(..., n)`` scores (log-probabilities work too); ``-inf`` marks impossible outcomes.
        temperature: > 0 sharpens (< 1) or flattens (> 1); 0 is greedy (all mass on the argmax).
        top_k: keep only the k most likely outcomes (ties with the k-th kept); 0 = off.
        top_p: keep the most likely outcomes until their mass reaches top_p; 1.0 = off.

    Returns:
        ``(..., n)`` probabilities on the same device, summing to 1 along the last dimension.

    Example:
        >>> warp(torch.tensor([0.0, 0.0]), temperature=0.5).tolist()
        [0.5, 0.5]
    """
    check_temperature(temperature), check_top_k(top_k), check_top_p(top_p)
    warped = apply_temperature(logits, temperature)
    warped = apply_top_k(warped, top_k)
    warped = apply_top_p(warped, top_p)
    return warped.softmax(dim=-1)


def make_generator(seed: int | None, device: torch.device | str) -> torch.Generator:
    """A ``torch.Generator`` on `device`, seeded with `seed` (``None`` = fresh random seed).

    Example:
        >>> make_generator(0, "cpu").initial_seed()
        0
    """
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
        return generator
    generator.manual_seed(check_seed(seed))
    return generator


def check_seed(seed) -> int:
    """Return `seed` as an int from 0 to `MAX_SEED`, or raise ``ValueError`` naming it.

    Example:
        >>> check_seed(7.0)
        7
        >>> check_seed(2**70)
        Traceback (most recent call last):
        ValueError: `seed` has to be a whole number from 0 to 2**63 - 1, but is 1180591620717411303424
    """
    if not is_whole_number(seed) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"`seed` has to be a whole number from 0 to 2**63 - 1, but is {shown(seed)}")
    return int(seed)


def nth_seed(seed: int | None, n: int) -> int | None:
    """The seed of draw `n` of a run seeded with `seed`: counting on from it, wrapping past `MAX_SEED`
    (None stays None: every draw fresh).

    Example:
        >>> nth_seed(5, 2), nth_seed(MAX_SEED, 1), nth_seed(None, 3)
        (7, 0, None)
    """
    return None if seed is None else (seed + n) % (MAX_SEED + 1)


def draw(probs: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Draw `n` indices (with replacement) from the 1-D `probs`, on its device.

    Example:
        >>> draw(torch.tensor([0.0, 1.0]), 3, make_generator(0, "cpu")).tolist()
        [1, 1, 1]
    """
    if not is_whole_number(n) or n < 1:
        raise ValueError(f"`n` has to be a positive integer, but is {n!r}")
    return torch.multinomial(probs, int(n), replacement=True, generator=generator)
