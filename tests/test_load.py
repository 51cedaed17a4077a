"""Many users at once (a small version of bench/bench_load.py): no errors, no mixed-up replies."""

import pytest

from bench.load import free_port, keystroke_texts, run_users
from demo.ui import build_demo, launch
from lm import BigramModel, TransformerModel
from lm.keyboard import Keyboard
from tests.tiny_lm import save_tiny_model


def test_keystroke_texts_grow_one_letter_at_a_time():
    texts = keystroke_texts(0, 3)
    assert [t.rsplit(" ", 1)[-1] for t in texts] == ["w", "wo", "won"]


@pytest.fixture(scope="module")
def tiny_app(tmp_path_factory):
    transformer = TransformerModel.from_pretrained(save_tiny_model(tmp_path_factory.mktemp("tiny-load")), device="cpu")
    demo = build_demo(Keyboard(BigramModel.from_text("I hope you have a wonderful morning.", device="cpu"), transformer))
    port = free_port()
    launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_ten_users_typing_at_once_all_get_their_own_answers(tiny_app):
    report = run_users(tiny_app, users=10, requests=5, timeout=240)
    assert report["errors"] == 0, report["error_examples"]
    assert report["answered"] == 50
