"""The bigram table learned by gradient descent (`lm.teaching.training`) and its tab (`demo.training_tab`)."""

import math

import pytest
import torch

from demo import training_tab
from demo.common import safely
from lm import BigramModel
from lm.core.distribution import OTHER, Distribution, total_variation
from lm.teaching.training import fit_bigram_network, table_nll
from tests.chart_reading import read_chart

TEXT = "the cat sat. the cat ran. the dog sat."


@pytest.fixture(scope="module")
def tiny():
    return BigramModel.from_text(TEXT, device="cpu")


@pytest.fixture(scope="module")
def shakespeare_fit(shakespeare):
    """30 words, 300 steps: well under a second on a CPU."""
    return fit_bigram_network(shakespeare, words=30, steps=300, seed=0)


# ---- the network reaches the counted table ---------------------------------------------------------


def test_the_loss_ends_within_1_percent_of_the_counted_table_and_never_below_it(shakespeare_fit):
    assert shakespeare_fit.table_nll <= shakespeare_fit.losses[-1] * (1 + 1e-6)  # float32 rounding aside
    assert shakespeare_fit.losses[-1] <= 1.01 * shakespeare_fit.table_nll


def test_learned_rows_of_frequent_words_are_within_002_total_variation_of_the_counted_rows(shakespeare_fit):
    frequent = shakespeare_fit.counts.sum(dim=1).argsort(descending=True)[:10].tolist()  # the 10 commonest z
    for z in [(shakespeare_fit.words + [OTHER])[row] for row in frequent]:
        learned, counted = shakespeare_fit.next_word_distribution(z), shakespeare_fit.counted_distribution(z)
        assert total_variation(learned, counted) < 0.02, z


def test_the_loss_falls(shakespeare_fit):
    losses = shakespeare_fit.losses
    assert len(losses) == 300 and all(isinstance(loss, float) for loss in losses)
    tenths = [sum(losses[k : k + 30]) / 30 for k in range(0, 300, 30)]  # Adam may bump a step, not a stretch
    assert tenths == sorted(tenths, reverse=True) and losses[-1] < losses[0] / 1.5


def test_the_same_seed_learns_the_same_weights(tiny):
    first, again = (fit_bigram_network(tiny, words=5, steps=20, seed=3) for _ in range(2))
    assert torch.equal(first.weights, again.weights) and first.losses == again.losses
    assert not torch.equal(first.weights, fit_bigram_network(tiny, words=5, steps=20, seed=4).weights)


# ---- the counted table over the kept words --------------------------------------------------------


def test_table_nll_by_hand(tiny):
    # pairs: <s> the x3 (p = 1), the cat x2 (2/3), the dog (1/3), cat sat, cat ran (1/2 each),
    # dog sat (1), sat </s> x2, ran </s> (1): 12 pairs
    by_hand = -(2 * math.log(2 / 3) + math.log(1 / 3) + 2 * math.log(1 / 2)) / 12
    assert fit_bigram_network(tiny, words=10, steps=1).table_nll == pytest.approx(by_hand, rel=1e-12)


def test_table_nll_equals_the_models_own_conditional_probabilities():
    model = BigramModel.from_text("to be or not to be. that is the question. to be.", device="cpu")
    pairs = model.counts.tocoo()
    words = model.vocab.words
    independent = -sum(
        c * math.log(model.cond_prob(x=words[x], z=words[z])) for z, x, c in zip(pairs.row, pairs.col, pairs.data)
    )
    fit = fit_bigram_network(model, words=len(words), steps=1)  # every word kept: OTHER is empty
    assert fit.table_nll == pytest.approx(independent / model.total, rel=1e-12)
    assert not fit.counts[-1].any() and not fit.counts[:, -1].any()


def test_rare_words_merge_into_other(tiny):
    fit = fit_bigram_network(tiny, words=3, steps=1)
    assert fit.words == ["</s>", "<s>", "the"]  # 3 occurrences each; cat, sat 2; dog, ran 1
    # OTHER -> OTHER: cat sat, cat ran, dog sat; OTHER -> </s>: sat </s> x2, ran </s>
    assert fit.counts[3].tolist() == [3.0, 0.0, 0.0, 3.0]
    counted = fit.counted_distribution("dog")
    assert (counted.prob("</s>"), counted.other) == (0.5, 0.5) and "not one of the 3 kept words" in counted.note
    assert fit.counted_distribution(OTHER).note == ""


def test_distributions_are_float64_on_the_models_device_and_add_up_to_1(tiny):
    fit = fit_bigram_network(tiny, words=4, steps=10)
    for row in (fit.next_word_distribution("the"), fit.counted_distribution("the")):
        assert row.probs.dtype == torch.float64 and row.device == tiny.device
        assert float(row.probs.sum()) + row.other == pytest.approx(1.0)
    assert fit.weights.device == tiny.device


def test_a_row_never_counted_first(tiny):
    fit = fit_bigram_network(tiny, words=10, steps=5)
    assert "never trained" in fit.next_word_distribution("</s>").note
    with pytest.raises(ValueError, match="`z` = '</s>' never comes first"):
        fit.counted_distribution("</s>")


def test_total_variation_by_hand():
    half = Distribution(["a", "b"], torch.tensor([0.5, 0.5], dtype=torch.float64))
    lopsided = Distribution(["a", "c"], torch.tensor([0.75, 0.125], dtype=torch.float64), other=0.125)
    # |0.5 - 0.75| + |0.5 - 0| + |0 - 0.125| + |0 - 0.125| = 1.0, halved
    assert total_variation(half, lopsided) == total_variation(lopsided, half) == 0.5
    assert total_variation(half, half) == 0.0


def test_table_nll_skips_empty_rows():
    assert table_nll(torch.tensor([[1.0, 1.0], [0.0, 0.0]])) == pytest.approx(math.log(2))


# ---- bad arguments are named ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments, named",
    [
        ({"words": 1}, "`words`"),
        ({"words": 10**6}, "`words`"),
        ({"words": "200"}, "`words`"),
        ({"steps": 0}, "`steps`"),
        ({"steps": 2.5}, "`steps`"),
        ({"steps": float("nan")}, "`steps`"),
        ({"seed": -1}, "`seed`"),
    ],
)
def test_bad_arguments_are_named(tiny, arguments, named):
    with pytest.raises(ValueError, match=named):
        fit_bigram_network(tiny, **arguments)


def test_a_z_that_is_not_a_word_is_named(tiny):
    with pytest.raises(ValueError, match="`z`"):
        fit_bigram_network(tiny, words=3, steps=1).next_word_distribution(["the"])


# ---- the tab ---------------------------------------------------------------------------------------


def test_learn_gives_the_curve_both_rows_a_summary_and_no_message(tiny):
    curve, learned, counted, summary, message = training_tab.learn(tiny, 10, 200, "the")
    assert set(curve.series) == {"network", "counted table"} and len(curve) == 200 + 2
    table_line = curve[curve.series == "counted table"]["mean NLL"]
    assert table_line.nunique() == 1 and curve["mean NLL"].min() >= table_line.iloc[0] * (1 - 1e-6)
    (_, learned_bars, learned_rest), (_, counted_bars, counted_rest) = read_chart(learned), read_chart(counted)
    assert [w for w, _, _ in learned_bars] == [w for w, _, _ in counted_bars] == ["cat", "dog"]
    assert [p for _, p, _ in counted_bars] == pytest.approx([2 / 3, 1 / 3]) and counted_rest is None  # nothing else
    assert sum(p for _, p, _ in learned_bars) + (learned_rest or 0) == pytest.approx(1.0)
    top = max(p for _, p, _ in learned_bars + counted_bars)  # one scale for both: the largest bar is full
    for _, p, width in learned_bars + counted_bars:
        assert width == pytest.approx(100 * p / top, abs=0.01)
    assert "200 steps over 7 words" in summary and "total variation" in summary and message == ""


def test_learn_names_a_bad_value_in_the_message(tiny):
    learn_safely = safely(None, None, None, None)(lambda *args: training_tab.learn(tiny, *args))
    assert "`words`" in learn_safely(0, 300, "the")[-1]
    assert "`steps`" in learn_safely(10, None, "the")[-1]
    assert "`z`" in learn_safely(10, 300, None)[-1]
    assert "`z` = '</s>'" in learn_safely(10, 3, "</s>")[-1]


def test_the_tab_is_an_api_endpoint_taking_raw_values(tiny):
    import gradio as gr

    from demo.common import Page, Sessions
    from lm.registry import lineup
    from lm.serving.keyboard import Keyboard

    with gr.Blocks() as demo:
        with gr.Tab("Learned table") as tab:
            training_tab.build(Page(demo, Sessions(Keyboard(lineup(bigram=tiny))), ["the", "cat"], tab))
    (event,) = [fn for fn in demo.fns.values() if fn.api_name == "learn_table"]
    assert event.preprocess is False and len(event.inputs) == 3 and len(event.outputs) == 5
