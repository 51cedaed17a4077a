"""Many users at once (a small version of bench/bench_load.py): no errors, no mixed-up replies."""

from tests.many_pages import keystroke_texts, run_users


def test_keystroke_texts_grow_one_letter_at_a_time():
    texts = keystroke_texts(0, 3)
    assert [t.rsplit(" ", 1)[-1] for t in texts] == ["w", "wo", "won"]


def test_ten_pages_typing_at_once_all_get_their_own_answers(tiny_app):
    report = run_users(tiny_app, users=10, requests=5, timeout=240)
    assert report["errors"] == 0, report["error_examples"]
    assert report["bigram"]["count"] == report["transformer"]["count"] == 50  # closed loop: one answer per key
    for strip in ("bigram", "transformer"):
        assert report[strip]["fresh_after_key"]["count"] == 50


def test_pages_typing_at_a_pace_are_told_how_stale_their_chips_were(tiny_app):
    report = run_users(tiny_app, users=5, requests=6, keys_per_s=20, timeout=240)
    assert report["errors"] == 0, report["error_examples"]
    for strip in ("bigram", "transformer"):
        assert report[strip]["fresh_after_key"]["count"] >= 1 and 0 <= report[strip]["stale_share"] <= 1
