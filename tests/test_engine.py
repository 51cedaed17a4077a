"""`lm.transformer.engine`: rows merged across callers equal rows run alone, urgent work goes first, and the
model's users (word search, evaluation) get the same answers through it."""

import copy
import threading
from contextlib import contextmanager

import pytest
import torch

from lm import TransformerModel
from lm.transformer.engine import (
    BACKGROUND,
    KEYSTROKE,
    PREFETCH,
    VIEW,
    Engine,
    Row,
    Work,
)
from lm.transformer.runner import MERGED_VS_ALONE
from tests.tiny_lm import save_tiny_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = save_tiny_model(tmp_path_factory.mktemp("tiny-engine"))
    return TransformerModel.from_pretrained(folder, device="cpu", dtype="float32")


@contextmanager
def held(engine: Engine):
    """The engine busy until the block ends, so that work submitted meanwhile waits together."""
    release, started = threading.Event(), threading.Event()

    def hold():
        started.set()
        release.wait()

    busy = threading.Thread(target=engine.call, args=(hold,), daemon=True)
    busy.start()
    started.wait(timeout=30)
    try:
        yield
    finally:
        release.set()
        busy.join(timeout=30)


def run_at_once(engine: Engine, requests: list[tuple[list[Row], int]]) -> tuple[list, list[int]]:
    """Submit every (rows, priority) while the engine is held; return their results and the finishing order."""
    results, finished, threads = [None] * len(requests), [], []
    lock = threading.Lock()

    def submit(i, rows, priority):
        results[i] = engine.run(rows, Work(priority))
        with lock:
            finished.append(i)

    with held(engine):
        for i, (rows, priority) in enumerate(requests):
            threads.append(threading.Thread(target=submit, args=(i, rows, priority)))
            threads[-1].start()
        while sum(engine.waiting().values()) < len(requests):  # all queued behind the held pass
            threading.Event().wait(0.01)
    for thread in threads:
        thread.join(timeout=60)
    return results, finished


@pytest.fixture(params=["shared contexts", "padded caches"])
def attention(request, tiny):
    """Both ways a merged pass attends to the rows' contexts (`lm.transformer.shared_attention`, and the fallback)."""
    tiny.engine.runner.shared_attention = request.param == "shared contexts"
    yield request.param
    tiny.engine.runner.shared_attention = True


def test_rows_merged_across_users_equal_each_row_alone(tiny, attention):
    # four users: contexts of different lengths (so the caches are padded), paths of different lengths
    texts = ["the cat", "the dog sat on the log and", "a wonderful day for a walk. we went to the", "they"]
    states = [tiny.states.state(tuple(tiny._encode(text))) for text in texts]
    paths = [[(5,), (17, 40)], [(60,)], [(33, 2), (80,), (12,)], [(101, 7)]]  # padding within the engine's bound
    requests = [[Row(s.layers, path) for path in user_paths] for s, user_paths in zip(states, paths)]
    alone = [tiny.engine.run(rows) for rows in requests]
    passes = tiny.engine.passes
    merged, _ = run_at_once(tiny.engine, [(rows, KEYSTROKE) for rows in requests])
    assert tiny.engine.passes == passes + 1  # one pass served all four users
    for user_alone, user_merged in zip(alone, merged):
        for a, m in zip(user_alone, user_merged):
            assert (a.logprobs.exp() - m.logprobs.exp()).abs().max() <= MERGED_VS_ALONE


def test_merged_rows_equal_a_plain_pass_over_the_whole_sequence(tiny, attention):
    ids = tiny._encode("the dog sat on the log and the cat")
    state = tiny.states.state(tuple(ids[:5]))
    other = tiny.states.state(tuple(tiny._encode("a")))
    results, _ = run_at_once(
        tiny.engine, [([Row(state.layers, tuple(ids[5:]))], KEYSTROKE), ([Row(other.layers, (9,))], KEYSTROKE)]
    )
    [mine] = results[0]
    plain = torch.log_softmax(tiny.logits(ids)[-1].float(), -1)
    assert (mine.logprobs.exp() - plain.exp()).abs().max() <= MERGED_VS_ALONE


def test_a_keystroke_is_served_before_queued_background_work(tiny):
    state = tiny.states.state(tuple(tiny._encode("the cat sat on the")))
    evaluation = [Row(state.layers, (token,)) for token in range(40)]  # too big to ride along with a keystroke
    prefetch = [Row(state.layers, (token, token)) for token in range(20)]
    keystroke = [Row(state.layers, (3,))]
    _, finished = run_at_once(tiny.engine, [(evaluation, BACKGROUND), (prefetch, PREFETCH), (keystroke, KEYSTROKE)])
    assert finished == [2, 1, 0]  # submitted last, served first


def test_under_overload_every_typist_is_served_in_turn(tiny):
    """Twelve typists' rows and a pass that holds two: each pass takes the earliest waiting, so the first to
    ask is answered first and nobody waits behind someone who asked later."""
    narrow = Engine(tiny.model, max_rows=2)
    try:
        state = tiny.states.state(tuple(tiny._encode("the cat sat on the")))
        answered_in_pass = {}
        with held(narrow):
            futures = [narrow._submit(Work(KEYSTROKE), rows=[Row(state.layers, (token,))]) for token in range(12)]
            for i, future in enumerate(futures):
                future.add_done_callback(lambda _, i=i: answered_in_pass.setdefault(i, narrow.passes))
        for future in futures:
            assert future.result(timeout=60)[0].logprobs is not None
        passes = [answered_in_pass[i] for i in range(12)]
        assert passes == [1 + i // 2 for i in range(12)]  # two typists a pass, in the order they asked
    finally:
        narrow.close()


def test_a_failing_pass_fails_its_callers_and_the_engine_keeps_serving(tiny):
    with pytest.raises(ValueError, match="`rows`"):
        tiny.engine.run([])
    with pytest.raises(ZeroDivisionError):
        tiny.engine.call(lambda: 1 / 0)
    [result] = tiny.engine.run([Row([], (1, 2))])
    assert result.logprobs.shape == (tiny.model.config.vocab_size,)


def test_work_is_checked_and_each_new_one_is_a_later_job():
    first, second = Work(KEYSTROKE), Work(KEYSTROKE)
    assert first.job < second.job and Work().priority == VIEW and Work(owner="a").owner == "a"
    for bad in (7, -1, True, "keystroke"):
        with pytest.raises(ValueError, match="`priority`"):
            Work(bad)


def test_a_request_without_its_work_is_refused(tiny):
    with pytest.raises(ValueError, match="`work`"):
        tiny.engine.run([Row([], (1, 2))], KEYSTROKE)  # a bare priority is not a `Work`


def test_background_work_keeps_its_own_cache_and_never_evicts_the_typists(tiny):
    """The handle carries its work: a plain thread (no context copied) running it still runs in the background
    cache, at BACKGROUND priority, and the typists' cache is left as it was."""
    tm = TransformerModel(tiny.tokenizer, tiny.model, tiny.device)
    tm.next_word_distribution("the cat sat on the")  # a typist's context
    typists = list(tm.states._states)
    background = tm.working(Work(BACKGROUND))
    seen_priorities = []
    submit = tm.engine._submit

    def watched(work, **request):
        seen_priorities.append(work.priority)
        return submit(work, **request)

    tm.engine._submit = watched

    def evaluate():
        for i in range(tm.states.max_contexts + 5):  # more contexts than the typists' cache holds
            background.next_word_distribution(f"the dog {'ran ' * (i % 7)}and {i}")

    thread = threading.Thread(target=evaluate)
    thread.start()
    thread.join(timeout=120)
    assert list(tm.states._states) == typists and len(tm.background_states._states) > 0
    assert seen_priorities and set(seen_priorities) == {BACKGROUND}
    assert tm.work is None  # the model itself is unchanged: its own calls are VIEW work
    tm.close()


def test_an_engine_merges_only_where_merging_leaves_a_row_as_it_was(tiny):
    assert tiny.engine.merge and tiny.engine.runner.merged_vs_alone <= MERGED_VS_ALONE
    half = Engine(copy.deepcopy(tiny.model).to(torch.bfloat16))
    try:  # measured at start on this machine's bfloat16 arithmetic: merged only if it stays within the bound
        assert half.merge == (
            half.runner.merged_vs_alone is not None and half.runner.merged_vs_alone <= MERGED_VS_ALONE
        )
    finally:
        half.close()


def test_a_cached_row_holds_only_its_own_memory(tiny):
    """A path's log-probs are one row of a batch; as a view they would keep the whole batch alive, and the
    cache's memory bound would count a fraction of what it holds."""
    tm = TransformerModel(tiny.tokenizer, tiny.model, tiny.device)
    tm.next_word_distribution("the cat sat on the")
    rows = [row for state in tm.states._states.values() for row in state.paths.values()]
    assert len(rows) > 1
    assert all(row.untyped_storage().nbytes() == row.nbytes for row in rows)
    tm.close()


def test_every_launch_loads_one_dtype_whoever_it_serves():
    import app

    for argv in ([], ["--host", "0.0.0.0"]):  # one user at home, a class: the same numbers
        assert app.parse_args(argv).dtype == "auto"
    assert app.parse_args(["--host", "0.0.0.0", "--dtype", "bfloat16"]).dtype == "bfloat16"
