"""`lm.transformer.scheduler`: which waiting requests share the next pass, as a table, with no threads or model."""

import pytest

from lm.transformer.scheduler import FREE_RIDE, MAX_KV_TOKENS, MAX_NEW_TOKENS, Limits, Request, Shape, next_batch

KEYSTROKE, VIEW, PREFETCH, BACKGROUND = range(4)
PACKED = Limits(merge=True, packed=True)


def request(job, priority=KEYSTROKE, tokens=(1,), cached=40, context=None, call=False):
    """A request of one job: a row per entry of `tokens`, each after `cached` tokens of its own context."""
    shapes = [Shape(n, cached, job if context is None else context) for n in tokens]
    return Request(priority, job, job, shapes, is_call=call)


CASES = [  # (what, waiting, limits, jobs in the next pass, jobs left waiting)
    ("the most urgent goes first", [request(2, VIEW), request(1)], PACKED, [1, 2], []),
    ("within a priority, the earlier job", [request(5), request(3), request(4)], PACKED, [3, 4, 5], []),
    ("no merging: one at a time", [request(2), request(1)], Limits(merge=False, packed=True), [1], [2]),
    ("a call runs alone", [request(1, call=True), request(2)], PACKED, [1], [2]),
    ("a call never joins rows", [request(1), request(2, call=True)], PACKED, [1], [2]),
    ("rows up to max_rows", [request(i) for i in range(1, 6)], Limits(True, True, max_rows=3), [1, 2, 3], [4, 5]),
    (
        "new tokens up to MAX_NEW_TOKENS",
        [request(1, tokens=(MAX_NEW_TOKENS - 10,)), request(2, tokens=(20,)), request(3, tokens=(5,))],
        PACKED,
        [1, 3],
        [2],
    ),
    (
        "a first request bigger than the limit still runs",
        [request(1, tokens=(MAX_NEW_TOKENS + 50,)), request(2)],
        PACKED,
        [1],
        [2],
    ),
    (
        "less urgent work rides along only while the pass is small",
        [request(1, tokens=(FREE_RIDE,)), request(2, PREFETCH)],
        PACKED,
        [1],
        [2],
    ),
    ("... and does while it is", [request(1, tokens=(4,)), request(2, BACKGROUND)], PACKED, [1, 2], []),
    (
        "cached contexts copied up to MAX_KV_TOKENS",
        [request(1, cached=MAX_KV_TOKENS // 2), request(2, cached=10), request(3, cached=10)],
        PACKED,
        [1, 2],
        [3],
    ),
    (
        "rows of one context are copied once when packed",
        [request(1, cached=MAX_KV_TOKENS // 2, context=7), request(2, cached=MAX_KV_TOKENS // 2, context=7)],
        PACKED,
        [1, 2],
        [],
    ),
    (
        "padded rows: no more than half again of padding",
        [request(1, tokens=(4,)), request(2, tokens=(1,)), request(3, tokens=(4,))],
        Limits(merge=True, packed=False),
        [1, 3],
        [2],
    ),
    ("nothing waits: nothing runs", [], PACKED, [], []),
]


@pytest.mark.parametrize("what, waiting, limits, runs, stays", CASES, ids=[case[0] for case in CASES])
def test_the_next_pass(what, waiting, limits, runs, stays):
    batch = next_batch(waiting, limits)
    assert [r.job for r in batch] == runs
    assert sorted(r.job for r in waiting) == stays  # what was taken is no longer waiting; the rest is
