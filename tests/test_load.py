"""Many users at once (a small version of bench/bench_load.py): no errors, no mixed-up replies."""

from bench.load import keystroke_texts, run_users


def test_keystroke_texts_grow_one_letter_at_a_time():
    texts = keystroke_texts(0, 3)
    assert [t.rsplit(" ", 1)[-1] for t in texts] == ["w", "wo", "won"]


def test_ten_users_typing_at_once_all_get_their_own_answers(tiny_app):
    report = run_users(tiny_app, users=10, requests=5, timeout=240)
    assert report["errors"] == 0, report["error_examples"]
    assert report["bigram"]["answered"] == report["transformer"]["answered"] == 50
