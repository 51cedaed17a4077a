"""What runs next on the engine: pure policy over the waiting requests (no threads, no tensors, no model).

The engine (`lm.transformer.engine`) keeps the queue and runs the passes; each step it asks `next_batch` which
waiting requests share the next pass. The most urgent request always goes (lower `priority` first, then the
job that started first, then arrival); when merging, every next one in that order joins if it `fits` the
pass's limits, and one that does not fit waits for a later pass. A call (a plain function, not rows) runs
alone. nano-vllm's scheduler, for rows instead of sequences.

Example:
    >>> a = Request(priority=0, job=1, order=1, shapes=[Shape(tokens=1, cached=40, context=1)])
    >>> b = Request(priority=2, job=2, order=2, shapes=[Shape(tokens=1, cached=40, context=2)])
    >>> [r.job for r in next_batch([b, a], Limits(merge=True, packed=True))]
    [1, 2]
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_ROWS = 64  # rows merged into one pass at most
MAX_NEW_TOKENS = 192  # rows x the longest row's new tokens, per pass: past ~100 a CPU pass costs ~2 ms per token
MAX_PADDING = 0.5  # padded token slots a merge may add, as a share of the real tokens (padding costs like tokens)
MAX_KV_TOKENS = 4096  # cached contexts copied x the longest, per pass (each layer copies them, padded)
FREE_RIDE = 32  # token slots a pass may hold before less urgent work stops joining it (a CPU pass of 32 costs ~1)


@dataclass(frozen=True)
class Shape:
    """What the policy knows of a row: its new tokens, its cached tokens, and which cached context it reads."""

    tokens: int
    cached: int = 0
    context: int = 0  # rows of one context share its cache (copied once per pass when packed)


@dataclass(order=True)
class Request:
    """A waiting request as the policy sees it (the engine's requests carry these fields and more)."""

    priority: int  # most urgent first
    job: int  # within a priority, the job that started first
    order: int  # then arrival
    shapes: list[Shape] = field(compare=False, default_factory=list)
    is_call: bool = field(compare=False, default=False)  # a plain function: runs alone


@dataclass(frozen=True)
class Limits:
    """A pass's limits, and how the engine runs rows."""

    merge: bool  # merge different requests' rows into one pass
    packed: bool  # rows packed without padding (`lm.transformer.shared_attention`); else padded to the longest
    max_rows: int = MAX_ROWS


def slots(shapes: list[Shape], packed: bool) -> int:
    """Token slots a pass over rows of `shapes` computes: their tokens when packed, else rows x the longest.

    Example:
        >>> slots([Shape(1), Shape(3)], packed=True), slots([Shape(1), Shape(3)], packed=False)
        (4, 6)
    """
    if packed:
        return sum(shape.tokens for shape in shapes)
    return len(shapes) * max((shape.tokens for shape in shapes), default=0)


def fits(taken: list[Shape], first, request, limits: Limits) -> bool:
    """Whether `request` can join a pass whose rows so far are `taken` (its most urgent request `first`)
    within the pass's limits: rows, token slots, padding, KV copies; and less urgent work only while the
    pass is small (`FREE_RIDE`)."""
    shapes = taken + request.shapes
    real = sum(shape.tokens for shape in shapes)
    longest_cached = max(shape.cached for shape in shapes)
    copies = len({shape.context for shape in shapes}) if limits.packed else len(shapes)  # cached contexts copied
    slots_taken = slots(shapes, limits.packed)
    if request.priority > first.priority and slots_taken > FREE_RIDE:
        return False  # less urgent work rides along only while it costs the urgent work almost nothing
    return (
        len(shapes) <= limits.max_rows
        and slots_taken <= max(MAX_NEW_TOKENS, slots(first.shapes, limits.packed))
        and slots_taken <= (1 + MAX_PADDING) * real
        and copies * longest_cached <= MAX_KV_TOKENS
    )


def next_batch(waiting: list, limits: Limits) -> list:
    """The requests of the next pass, most urgent first, taken out of `waiting` (which keeps the rest).

    Example:
        >>> call = Request(priority=0, job=1, order=1, is_call=True)
        >>> rows = Request(priority=0, job=2, order=2, shapes=[Shape(1)])
        >>> queue = [rows, call]
        >>> [r.job for r in next_batch(queue, Limits(merge=True, packed=True))], [r.job for r in queue]
        ([1], [2])
    """
    if not waiting:
        return []
    ordered = sorted(waiting)
    first = ordered[0]
    batch, taken = [first], list(first.shapes)
    if not first.is_call and limits.merge:
        for request in ordered[1:]:  # most urgent first; one that does not fit waits for a later pass
            if not request.is_call and fits(taken, first, request, limits):
                batch.append(request)
                taken += request.shapes
    chosen = {id(request) for request in batch}
    waiting[:] = [request for request in waiting if id(request) not in chosen]
    return batch
