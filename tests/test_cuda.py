"""The CUDA paths (`bench/gpu.sh` runs these on a lent GPU machine; they skip on a machine without one):
the engine's merged rows equal the rows alone on the GPU, and the word search gives the CPU's numbers."""

import pytest
import torch

from lm import TransformerModel
from lm.transformer.engine import Row
from tests.tiny_lm import save_tiny_model

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
MERGED_VS_ALONE = 1e-6  # in probability, float32


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("tiny-cuda"))


@pytest.fixture(scope="module")
def on_gpu(folder):
    tm = TransformerModel.from_pretrained(folder, device="cuda", dtype="float32")
    yield tm
    tm.close()


def test_merged_rows_equal_each_row_alone_on_the_gpu(on_gpu):
    texts = ["the cat", "the dog sat on the log and", "a wonderful day for a walk. we went to the"]
    states = [on_gpu.states.state(on_gpu.context_ids(text)) for text in texts]
    users = [[Row(s.layers, (5,)), Row(s.layers, (17, 40))] for s in states]
    alone = [on_gpu.engine.run(rows) for rows in users]
    merged = on_gpu.engine.run([row for rows in users for row in rows])  # one pass, the same code
    for a, m in zip([result for results in alone for result in results], merged):
        assert a.logprobs.device.type == "cuda"
        assert float((a.logprobs.exp() - m.logprobs.exp()).abs().max()) <= MERGED_VS_ALONE


def test_the_word_search_gives_the_cpus_numbers_on_the_gpu(on_gpu, folder):
    on_cpu = TransformerModel.from_pretrained(folder, device="cpu", dtype="float32")
    try:
        for text in ("the cat sat on the ", "we went to the p", ""):
            gpu, cpu = on_gpu.next_word_distribution(text), on_cpu.next_word_distribution(text)
            assert gpu.probs.device.type == "cuda"
            assert [w for w, _ in gpu.top(3)] == [w for w, _ in cpu.top(3)]
            assert [p for _, p in gpu.top(3)] == pytest.approx([p for _, p in cpu.top(3)], abs=1e-5)
    finally:
        on_cpu.close()
