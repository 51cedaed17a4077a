"""`demo.views`: what the UI shows, checked without a browser."""

import pytest
import torch

from demo import sampling_tab, tables_tab, views
from lm import Distribution


@pytest.fixture(scope="module")
def distribution():
    return Distribution(["a", "b", "c"], torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64))


def test_chip_labels_fill_three_slots():
    assert views.chip_labels([{"word": "great", "p": 0.63}, {"word": "good", "p": 0.135}]) == [
        "great\n63.0%",
        "good\n13.5%",
        "",
    ]


def test_warped_bars_follow_the_raw_words(distribution):
    frame = views.warped_bar_frame(distribution, temperature=0, top_k=0, top_p=1.0)
    assert frame.values.tolist() == [["a", 1.0], ["b", 0.0], ["c", 0.0]]


def test_marbles_converge_to_the_target(distribution):
    frame, converging, summary = sampling_tab.marbles(distribution, 200_000, 1.0, 0, 1.0, seed=0)
    distances = converging["total variation distance"].tolist()
    assert len(distances) == 6 and distances[-1] < 0.01 and distances[-1] < distances[0]  # N = 10 ... 200,000
    empirical = frame[frame.series == "marbles"].set_index("word").p
    assert empirical["a"] == pytest.approx(0.5, abs=0.01) and "total variation" in summary
    few, _, _ = sampling_tab.marbles(distribution, 10, 1.0, 2, 1.0, seed=0)
    assert few[(few.series == "marbles") & (few.word == "c")].p.item() == 0.0  # top-k = 2 removed "c"


@pytest.mark.parametrize("n", [0, -5, 10**7, 2.5, "many"])
def test_marbles_reject_bad_counts(distribution, n):
    with pytest.raises(ValueError, match="`n`"):
        sampling_tab.marbles(distribution, n, 1.0, 0, 1.0)


def test_joint_table_html_shows_marginals(seed_model):
    page = tables_tab.joint_table_html(seed_model.joint_table(), seed_model)
    assert "0.4000" in page and "0.7000" in page and "0.5000" in page  # p(job, graduated), p(job), p(graduated)


def test_joint_table_marginals_are_over_the_whole_corpus(shakespeare):
    # four columns hold a sliver of each row; the marginal p(z) is over every pair
    table = shakespeare.joint_table(top=4)
    page = tables_tab.joint_table_html(table, shakespeare)
    assert "whole corpus" in page
    for z in table.index:
        assert f"{shakespeare.prev_prob(z):.4f}" in page
    assert any(
        abs(float(table.loc[z].sum()) - shakespeare.prev_prob(z)) > 1e-3 for z in table.index
    )  # not the shown sum


def test_bayes_identity_in_numbers(seed_model):
    text = tables_tab.bayes_identity(seed_model, "graduated", "job")  # the blog's 2x2 table: 4 of 10 pairs are (g, job)
    assert "p(x | z) = p(x, z) / p(z) = 0.400000 / 0.500000 = 0.800000" in text  # 0.4 / (0.4 + 0.1)
    assert f"p(z | x) = p(x | z) p(z) / p(x) = 0.800000 × 0.500000 / 0.700000 = {0.4 / 0.7:.6f}" in text
    assert "p(x | z) p(z) = 0.400000 = p(z | x) p(x) = 0.400000" in text


def test_two_step_pairs_match_the_joint_table(seed_model):
    frame, summary = sampling_tab.two_step_pairs(seed_model, 20_000, seed=0)
    assert len(frame) == 20 and "`('graduated', 'job')`" in summary  # the most likely pair, p = 0.4
    share = float(summary.split("is ")[1].split(" of")[0])
    assert share == pytest.approx(0.4, abs=0.02)


def test_the_picked_words_are_in_the_table_and_outlined(shakespeare):
    # "lord" is not among the 4 most frequent second words; picking it adds its column, p(x, z) from the counts
    table = tables_tab.with_picked(shakespeare.joint_table(top=4), shakespeare, "my", "lord")
    assert "my" in table.index and "lord" in table.columns
    assert table.loc["my", "lord"] == shakespeare.joint_prob(x="lord", z="my")
    page = tables_tab.joint_table_html(table, shakespeare, ("my", "lord"))
    assert "<th class='picked'>lord</th>" in page and "<th class='picked'>my</th>" in page
    unknown = tables_tab.with_picked(shakespeare.joint_table(top=4), shakespeare, "zzzz", "qqqq")
    assert unknown.shape == (4, 4)  # a word the corpus never saw adds nothing (its slice gets a message instead)
