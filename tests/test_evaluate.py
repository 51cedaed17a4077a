"""`lm.evaluation.evaluate`: the metrics by hand, and the report on a tiny model."""

import json
import math

import numpy as np
import pytest
import torch

from lm import BigramModel, TransformerModel
from lm.evaluation.evaluate import evaluate, main, summary_table
from lm.evaluation.metrics import js_divergence, keystroke_savings, perplexity, recall_at_k
from lm.evaluation.typing_simulation import typing_cost, word_spans
from lm.registry import lineup
from lm.transformer.scoring import token_scores
from lm.transformer.word_search import SearchBudget
from tests.tiny_lm import save_tiny_model


def test_recall_at_k_by_hand():
    ranks = [1, 3, None, 2, 5]
    assert recall_at_k(ranks, 1) == 1 / 5 and recall_at_k(ranks, 3) == 3 / 5 and recall_at_k([], 3) == 0.0


def test_perplexity_is_exp_of_minus_mean_log_prob():
    probs = [0.5, 0.25, 0.125, 0.1]
    expected = math.exp(-sum(math.log(p) for p in probs) / len(probs))
    assert perplexity([math.log(p) for p in probs]) == pytest.approx(expected)
    assert perplexity([math.log(0.5), -math.inf]) == math.inf
    with pytest.raises(ValueError, match="`log_probs`"):
        perplexity([])


def test_js_divergence_identical_is_zero_and_disjoint_is_ln2():
    assert js_divergence({"a": 0.3, "b": 0.7}, {"a": 0.3, "b": 0.7}) == pytest.approx(0.0, abs=1e-12)
    assert js_divergence({"a": 0.3, "b": 0.7}, {"c": 0.5, "d": 0.5}) == pytest.approx(math.log(2))
    assert 0 < js_divergence({"a": 0.9, "b": 0.1}, {"a": 0.1, "b": 0.9}) < math.log(2)


def test_keystroke_savings_on_a_tiny_vocabulary_by_hand():
    # A strip of 2 slots showing the first words of the ranked vocabulary [the, dot, cat, car] that
    # start with what is typed. Words typed: "the cat car dog".
    #   the: in the strip (the, dot) with nothing typed -> 0 letters + 1 select = 1 key  (4 without)
    #   cat: not in (the, dot); after "c": (cat, car)   -> 1 letter + 1 select  = 2 keys (4 without)
    #   car: after "c" too                              -> 2 keys                       (4 without)
    #   dog: "", "d", "do" show dot, "dog" shows nothing -> typed: 3 letters + space = 4 (4 without)
    # KSR = 1 - (1 + 2 + 2 + 4) / 16 = 7 / 16
    def strip(prefix):
        return [w for w in ["the", "dot", "cat", "car"] if w.startswith(prefix)][:2]

    words = ["the", "cat", "car", "dog"]
    costs = [typing_cost(word, strip)[0] for word in words]
    assert costs == [1, 2, 2, 4]
    assert keystroke_savings(costs, words) == pytest.approx(7 / 16)
    assert typing_cost("cat", lambda prefix: ["The", "Cat"]) == (1, 0)  # compared case-insensitively


def test_word_spans_keep_case_and_offsets():
    assert [(s.word, s.start) for s in word_spans("Hello, World! It's 2pm.")] == [
        ("Hello", 0),
        ("World", 7),
        ("It's", 14),
        ("2pm", 19),
    ]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = save_tiny_model(tmp_path_factory.mktemp("tiny-eval"))
    transformer = TransformerModel.from_pretrained(folder, device="cpu", dtype="float32")
    bigram = BigramModel.from_text("the cat sat on the mat. the dog sat on the log. a wonderful day.", device="cpu")
    return bigram, transformer


def test_token_scores_equal_plain_forward_passes_after_the_frame_even_in_windows(models):
    _, tm = models
    ids = tm._encode("the cat sat on the mat. " * 12)
    window, frame = tm.max_context_tokens, list(tm.frame)
    assert len(ids) > window and frame == [tm.tokenizer.bos_token_id]  # several windows; no chat template: BOS
    logprob, end = token_scores(tm, ids)
    ends = torch.as_tensor(tm.tokens.ends)

    def plain(context):  # p(next token | frame + context), one plain forward pass
        with torch.no_grad():
            return torch.softmax(tm.model(input_ids=torch.tensor([frame + context])).logits[0, -1].double(), -1)

    for i in [0, 1, 5, window - 1]:  # within the first window: after the frame and the text so far
        assert logprob[i] == pytest.approx(math.log(float(plain(ids[:i])[ids[i]])), abs=1e-4)
        assert end[i] == pytest.approx(float(plain(ids[: i + 1])[ends].sum()), abs=1e-5)
    stride = window // 2  # the second chunk starts `stride` tokens in, after the frame again
    i = window + 3
    assert logprob[i] == pytest.approx(math.log(float(plain(ids[stride:i])[ids[i]])), abs=1e-4)
    assert np.isfinite(logprob).all() and ((end > 0) & (end <= 1)).all()


def test_transformer_word_probability_matches_the_word_search(models):
    bigram, tm = models
    text = "the cat sat on the mat"
    report = evaluate(text, lineup(bigram=bigram, transformer=tm))
    everything = SearchBudget(k=10**6, batch_size=10**6, fanout=10**6, max_steps=3, min_prob=0.0)
    for position, span in zip(report["transformer"]["positions"], word_spans(text), strict=True):  # the first too
        result = tm.word_search(text[: span.start], span.word, everything)
        searched = result.words.get(span.word, 0.0) * result.prefix_mass  # every spelling of up to 3 tokens
        assert 0 < position["p"] <= searched * (1 + 2e-5)  # the text's own (canonical) tokens are one of them


def test_a_text_longer_than_the_vocabulary_is_scored_by_token_ids_not_positions(models):
    # the bare-space check once read the vocabulary at a token's *position*: past 300 tokens (the tiny
    # vocabulary's size) that was an IndexError, before it silently checked the wrong token
    bigram, tm = models
    text = " ".join(["the cat sat on the mat.", "we went to the park and the dogs ran."] * 20)
    assert len(tm.tokenizer.encode(text)) > len(tm.tokens)
    report = evaluate(text, lineup(bigram=bigram, transformer=tm))
    assert all(0 < position["p"] <= 1 for position in report["transformer"]["positions"])


def test_report_has_every_metric_and_position(models, tmp_path):
    bigram, tm = models
    text = "The cat sat on the mat. A wonderful day!"
    report = evaluate(text, lineup(bigram=bigram, transformer=tm), slots=3)
    for name in ("bigram", "transformer"):
        side = report[name]
        assert set(side) >= {"perplexity", "top1_accuracy", "top3_accuracy", "keystroke_savings", "words", "seconds"}
        assert side["words"] == 9 == len(side["positions"])
        assert 0 <= side["top1_accuracy"] <= side["top3_accuracy"] <= 1
        assert math.isfinite(side["perplexity"]) and side["perplexity"] > 1
        assert -1 < side["keystroke_savings"] < 1
    bigram_side = report["bigram"]
    # independent: Kneser-Ney probabilities of each word given the previous one
    from lm.counting.smoothing import KneserNey

    kn = KneserNey(bigram)
    previous = ["<s>", "the", "cat", "sat", "on", "the", "<s>", "a", "wonderful"]
    words = ["the", "cat", "sat", "on", "the", "mat", "a", "wonderful", "day"]
    expected = math.exp(-np.mean([math.log(kn.prob(x, z)) for z, x in zip(previous, words)]))
    assert bigram_side["perplexity"] == pytest.approx(expected)
    assert 0 <= report["agreement"]["bigram vs transformer"]["top3_share_a_word"] <= 1
    assert "recall@3" in summary_table(report)


def test_simulating_many_positions_at_once_gives_the_same_report(models, monkeypatch):
    """The engine merges the positions' searches into shared passes; the figures stay those of one
    position after another."""
    bigram, tm = models
    monkeypatch.setattr("lm.evaluation.typing_simulation.CHUNK_WORDS", 4)  # several chunks, simulated at once
    text = "The cat sat on the mat. The dog sat on the log, and a wonderful day it was."
    one, two = (
        evaluate(text, lineup(bigram=bigram, transformer=tm), workers=1),
        evaluate(text, lineup(bigram=bigram, transformer=tm), workers=4),
    )
    assert one["transformer"]["workers"] == 1 and two["transformer"]["workers"] == 4
    for a, b in zip(one["transformer"]["positions"], two["transformer"]["positions"]):
        assert (a["word"], a["rank"], a["letters_typed"], a["top3"]) == (
            b["word"],
            b["rank"],
            b["letters_typed"],
            b["top3"],
        )
    assert one["transformer"]["keystroke_savings"] == two["transformer"]["keystroke_savings"]
    assert one["agreement"]["bigram vs transformer"]["mean_js_divergence_nats"] == pytest.approx(
        two["agreement"]["bigram vs transformer"]["mean_js_divergence_nats"], abs=1e-5
    )


def test_bad_arguments(models):
    bigram, tm = models
    with pytest.raises(ValueError, match="`text`"):
        evaluate("   ", lineup(bigram=bigram, transformer=tm))
    with pytest.raises(ValueError, match="`slots`"):
        evaluate("the cat", lineup(bigram=bigram, transformer=tm), slots=0)
    with pytest.raises(ValueError, match="`workers`"):
        evaluate("the cat", lineup(bigram=bigram, transformer=tm), workers=0)


def test_command_line_writes_json_and_markdown(models, tmp_path, monkeypatch):
    bigram, tm = models
    text_file = tmp_path / "text.txt"
    text_file.write_text("the cat sat on the mat.", encoding="utf-8")
    monkeypatch.setattr("lm.BigramModel.from_corpus", classmethod(lambda cls, *a, **k: bigram))
    monkeypatch.setattr("lm.TransformerModel.from_pretrained", classmethod(lambda cls, *a, **k: tm))
    out, table = tmp_path / "report.json", tmp_path / "report.md"
    assert (
        main(
            [
                "--text",
                str(text_file),
                "--json",
                str(out),
                "--markdown",
                str(table),
                "--plots",
                str(tmp_path / "plots"),
                "--workers",
                "1",
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["bigram"]["words"] == 6 and "transformer" in report and "agreement" in report
    assert (tmp_path / "plots" / "found_within.png").stat().st_size > 1000
    assert main(["--text", str(tmp_path / "missing.txt")]) == 2


def test_a_run_is_bounded_by_its_letters_as_well_as_its_words(models):
    bigram, tm = models
    report = evaluate("the cat sat on the mat", lineup(bigram=bigram, transformer=tm), max_letters=10)
    assert report["words"] == ["the", "cat", "sat"] and report["letters"] == 9  # with "on": 3 + 3 + 3 + 2 > 10
    with pytest.raises(ValueError, match="longer than the 2 letters"):
        evaluate("the cat", lineup(bigram=bigram, transformer=tm), max_letters=2)


def test_a_divergence_of_zero_prints_as_zero_not_nan():
    side = {key: 0.5 for key in ("perplexity", "top1_accuracy", "top3_accuracy", "keystroke_savings", "seconds")}
    agreement = {"top3_share_a_word": 1.0, "top3_mean_overlap": 3.0, "mean_js_divergence_nats": 0.0}
    table = summary_table(
        {
            "models": ["bigram", "transformer"],
            "bigram": side,
            "transformer": side,
            "agreement": {"bigram vs transformer": agreement},
            "slots": 3,
            "words": ["a"],
        }
    )
    assert "divergence 0.000 nats" in table
