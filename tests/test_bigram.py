"""`BigramModel`: every table checked against hand-worked numbers and independent counts."""

from collections import Counter

import numpy as np
import pytest
from nltk.lm import MLE as NltkMLE
from nltk.lm.preprocessing import padded_everygram_pipeline

from lm import BigramModel
from lm.core.tokenize import BOS, pad, sentences
from lm.counting.corpus import play_files, read_documents
from lm.counting.trigram import TrigramModel
from lm.registry import lineup

TINY = "the cat sat. the cat ran. the dog sat. a dog ran!"


@pytest.fixture(scope="module")
def tiny():
    return BigramModel.from_text(TINY, device="cpu")


# ---- the seed's worked example ---------------------------------------------------------------


@pytest.mark.parametrize(
    "method, args, expected",
    [
        ("joint_prob", {"x": "job", "z": "graduated"}, 0.4),  # 4 of 10 pairs
        ("joint_prob", {"x": "job", "z": "not"}, 0.3),
        ("joint_prob", {"x": "no job", "z": "not"}, 0.2),
        ("joint_prob", {"x": "no job", "z": "graduated"}, 0.1),
        ("prev_prob", {"prev": "graduated"}, 0.5),  # 0.4 + 0.1
        ("prev_prob", {"prev": "not"}, 0.5),
        ("next_prob", {"next": "job"}, 0.7),  # 0.4 + 0.3
        ("next_prob", {"next": "no job"}, 0.3),
        ("cond_prob", {"x": "job", "z": "graduated"}, 0.8),  # 0.4 / 0.5
        ("cond_prob", {"x": "job", "z": "not"}, 0.6),  # 0.3 / 0.5
        ("bayes_prob", {"z": "graduated", "x": "job"}, 0.4 / 0.7),  # 0.8 * 0.5 / 0.7
        ("bayes_prob", {"z": "not", "x": "no job"}, 0.2 / 0.3),
    ],
)
def test_seed_example(seed_model, method, args, expected):
    assert getattr(seed_model, method)(**args) == pytest.approx(expected, rel=1e-12)


def test_a_probability_names_its_outcome_and_condition():
    model = BigramModel.from_pairs([("a", "b")], device="cpu")
    with pytest.raises(TypeError):
        model.cond_prob("b", "a")  # which is the condition? keywords say it: cond_prob(x="b", z="a")


def test_seed_joint_table(seed_model):
    table = seed_model.joint_table()
    assert table.loc["graduated", "job"] == pytest.approx(0.4)
    assert table.values.sum() == pytest.approx(1.0)
    assert table.index.name == "z (previous)" and table.columns.name == "x (next)"


def test_seed_distributions(seed_model):
    assert seed_model.next_word_distribution(["graduated"]).top() == [("job", 0.8), ("no job", pytest.approx(0.2))]
    flipped = seed_model.prev_word_distribution("job")
    assert flipped.prob("graduated") == pytest.approx(0.4 / 0.7)
    assert flipped.prob("not") == pytest.approx(0.3 / 0.7)


# ---- a tiny corpus, by hand -------------------------------------------------------------------
# padded: <s> the cat sat </s> | <s> the cat ran </s> | <s> the dog sat </s> | <s> a dog ran </s>
# 16 pairs; c(<s>) = 4, c(the) = 3, c(cat) = 2, c(dog) = 2, c(the, cat) = 2, c(dog, ran) = 1


@pytest.mark.parametrize(
    "prev, next, expected",
    [
        ("the", "cat", 2 / 3),  # c(the, cat) = 2 of c(the) = 3
        ("the", "dog", 1 / 3),
        ("<s>", "the", 3 / 4),
        ("<s>", "a", 1 / 4),
        ("dog", "ran", 1 / 2),
        ("sat", "</s>", 1.0),
        ("the", "ran", 0.0),  # never seen together
        ("the", "unicorn", 0.0),  # unknown next word
        ("unicorn", "the", 0.0),  # unknown previous word
    ],
)
def test_tiny_conditionals(tiny, prev, next, expected):
    assert tiny.cond_prob(x=next, z=prev) == pytest.approx(expected)


def test_tiny_marginals(tiny):
    assert tiny.total == 16
    assert tiny.prev_prob("<s>") == 4 / 16 and tiny.next_prob("</s>") == 4 / 16
    assert tiny.next_prob("<s>") == 0.0 and tiny.prev_prob("</s>") == 0.0
    assert tiny.joint_prob(x="cat", z="the") == 2 / 16


def test_bayes_flip_by_hand(tiny):
    # p(z = the | x = cat): cat follows only "the" -> 1; p(z = the | x = dog) = c(the, dog) / c(dog) = 1/2
    assert tiny.bayes_prob(z="the", x="cat") == pytest.approx(1.0)
    assert tiny.prev_word_distribution("dog").top() == [("a", 0.5), ("the", 0.5)]


def test_prefix_keeps_matching_words_renormalised(tiny):
    d = tiny.next_word_distribution("the", prefix="c")
    assert d.top() == [("cat", 1.0)]
    assert tiny.next_word_distribution("the", prefix="C").top() == [("cat", 1.0)]  # typed in capitals


def test_prefix_no_continuation_falls_back_to_the_marginal_with_a_note(tiny):
    d = tiny.next_word_distribution("the", prefix="r")  # "the" is never followed by r...
    assert d.top() == [("ran", 1.0)] and "never followed by a word starting with 'r'" in d.note


def test_prefix_that_no_word_has_gives_an_empty_distribution(tiny):
    d = tiny.next_word_distribution("the", prefix="zz")
    assert len(d) == 0 and d.top(3) == []


def test_unknown_previous_word_falls_back_to_the_marginal(tiny):
    d = tiny.next_word_distribution("the unicorn")
    assert "not in the corpus" in d.note
    # 16 pairs, 4 of them end a sentence: p(cat | a word) = 2 / 12, p(no word) = 4 / 16
    assert d.prob("</s>") == 0.0 and d.prob("cat") == pytest.approx(2 / 12) and d.no_word == pytest.approx(4 / 16)
    assert float(d.probs.sum()) == pytest.approx(1.0)


def test_a_next_word_leaves_the_sentence_end_out_and_says_how_often_it_came():
    model = BigramModel.from_text("my lord. my lord. my good lord. my.", device="cpu")
    # row of z = my: c(my, lord) = 2, c(my, good) = 1, c(my, </s>) = 1, c(my) = 4
    assert model.next_token_distribution("my").prob("lord") == pytest.approx(2 / 4)
    words = model.next_word_distribution("my")
    assert words.top() == [("lord", pytest.approx(2 / 3)), ("good", pytest.approx(1 / 3))]  # 2 / (4 - 1)
    assert words.no_word == pytest.approx(1 / 4) and words.other == 0.0
    assert model.top_next_words("my", 2) == words.top(2)
    assert model.next_word_distribution("my", prefix="l").no_word is None  # a typed letter says a word comes


def test_empty_context_and_sentence_end_condition_on_start(tiny):
    for context in ("", "The cat sat. ", ["x", BOS][-1:]):
        assert tiny.next_word_distribution(context).top() == [("the", 0.75), ("a", 0.25)]


def test_distributions_have_no_nan_and_sum_to_one(tiny):
    for context in ["", "the", "dog", "unicorn", "sat."]:
        d = tiny.next_word_distribution(context)
        assert not d.probs.isnan().any() and float(d.probs.sum()) == pytest.approx(1.0)


def test_joint_table_with_words_and_unknowns(tiny):
    table = tiny.joint_table(words=["the", "cat", "zebra"])
    assert table.loc["the", "cat"] == 2 / 16
    assert table.loc["zebra"].sum() == 0 and table["zebra"].sum() == 0


@pytest.mark.parametrize("top", [0, -1, 2.5])
def test_joint_table_rejects_bad_top(tiny, top):
    with pytest.raises(ValueError, match="`top`"):
        tiny.joint_table(top=top)


# ---- independent computations on real text ----------------------------------------------------


@pytest.fixture(scope="module")
def hamlet_sentences():
    return [s for doc in read_documents([play_files()["hamlet"]]) for s in sentences(doc.text)]


def test_counts_equal_a_brute_force_counter(hamlet_sentences):
    model = BigramModel.from_sentences(hamlet_sentences, device="cpu")
    brute = Counter(pair for s in hamlet_sentences for pair in zip(pad(s)[:-1], pad(s)[1:]))
    assert model.total == sum(brute.values())
    assert model.counts.nnz == len(brute)
    for (prev, next), count in brute.most_common(300) + list(brute.items())[-300:]:
        assert model.count(prev, next) == count


def test_fast_text_path_equals_sentence_path(hamlet_sentences):
    text = "\n\n".join(doc.text for doc in read_documents([play_files()["hamlet"]]))
    fast, slow = BigramModel.from_text(text, device="cpu"), BigramModel.from_sentences(hamlet_sentences, device="cpu")
    assert fast.vocab.words == slow.vocab.words
    assert (fast.counts != slow.counts).nnz == 0


def test_conditionals_equal_nltk_mle(hamlet_sentences):
    train, vocab = padded_everygram_pipeline(2, hamlet_sentences)
    nltk_model = NltkMLE(2)
    nltk_model.fit(train, vocab)
    ours = BigramModel.from_sentences(hamlet_sentences, device="cpu")
    for prev in ["<s>", "the", "my", "lord", "to", "ophelia"]:
        for next, p in ours.next_token_distribution([prev]).top(15):  # the table's row, </s> included
            assert p == pytest.approx(nltk_model.score(next, [prev]), rel=1e-12)
        given_a_word = 1 - nltk_model.score("</s>", [prev])  # p(x | z, x is a word) = p(x | z) / (1 - p(</s> | z))
        words = ours.next_word_distribution([prev])
        assert words.no_word == pytest.approx(nltk_model.score("</s>", [prev]), rel=1e-12)
        for next, p in words.top(15):
            assert p == pytest.approx(nltk_model.score(next, [prev]) / given_a_word, rel=1e-12)


def test_bayes_identity_holds_everywhere(tiny, seed_model):
    for model in (tiny, seed_model):
        for prev in model.vocab.words:
            for next in model.vocab.words:
                joint = model.joint_prob(x=next, z=prev)
                assert model.cond_prob(x=next, z=prev) * model.prev_prob(prev) == pytest.approx(joint, abs=1e-15)
                assert model.bayes_prob(z=prev, x=next) * model.next_prob(next) == pytest.approx(joint, abs=1e-15)


def test_ties_are_broken_alphabetically_in_every_path():
    model = BigramModel.from_text("a d. a b. a c. a b.", device="cpu")  # c(a, b) = 2; c, d tied at 1
    expected = [("b", 0.5), ("c", 0.25), ("d", 0.25)]
    assert model.top_next_words("a", 3) == expected == model.next_word_distribution("a").top(3)
    from lm.serving.keyboard import Keyboard

    assert [chip["word"] for chip in Keyboard(lineup(bigram=model)).suggest("a ")["bigram"]] == ["b", "c", "d"]


def test_top_next_words_equals_the_distribution_top(shakespeare):
    for context, prefix in [
        ("good", ""),
        ("I hope you're having a ", ""),
        ("to be or not to", "b"),
        ("xyzzy", ""),
        ("the", "qu"),
    ]:
        fast = shakespeare.top_next_words(context, k=5, prefix=prefix)
        full = shakespeare.next_word_distribution(context, prefix).top(5)
        assert [p for _, p in fast] == pytest.approx([p for _, p in full], rel=1e-12)
        assert [w for w, _ in fast] == [w for w, _ in full]  # the same order, ties included


def test_shakespeare_favourites(shakespeare):
    assert shakespeare.next_word_distribution("my good").top(1)[0][0] == "lord"
    assert shakespeare.next_word_distribution("to be or not to", prefix="b").top(1)[0][0] == "be"
    assert shakespeare.next_word_distribution("", prefix="ham").top(1)[0][0] == "hamlet"


def test_shakespeare_size(shakespeare):
    assert 20_000 < len(shakespeare.vocab) < 30_000
    assert 700_000 < shakespeare.total < 1_000_000
    assert shakespeare.counts.dtype == np.int64 and shakespeare.counts.format == "csr"


# ---- building, saving, caching ------------------------------------------------------------------


def test_empty_inputs_are_refused():
    with pytest.raises(ValueError, match="no words"):
        BigramModel.from_text("... !!! ???", device="cpu")
    with pytest.raises(ValueError, match="`pairs`"):
        BigramModel.from_pairs([], device="cpu")
    with pytest.raises(ValueError, match="no words"):
        BigramModel.from_sentences([[], []], device="cpu")


def test_save_and_load_round_trip(tmp_path, tiny):
    path = tiny.save(tmp_path / "tiny.npz")
    loaded = BigramModel.load(path, device="cpu")
    assert loaded.vocab.words == tiny.vocab.words and (loaded.counts != tiny.counts).nnz == 0
    with np.load(path, allow_pickle=False) as data:  # nothing in it needs pickle
        assert all(data[name].dtype != object for name in data.files)


def test_save_keeps_any_word(tmp_path):
    model = BigramModel.from_pairs([("new\nline", "é"), ("é", "")], device="cpu")
    assert BigramModel.load(model.save(tmp_path / "odd.npz"), device="cpu").vocab.words == model.vocab.words


@pytest.mark.parametrize("damage", [b"", b"not a zip at all", None])
def test_corrupt_files_are_refused_by_name(tmp_path, tiny, damage):
    path = tiny.save(tmp_path / "broken.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage is None else damage)
    with pytest.raises(ValueError, match="broken.npz"):
        BigramModel.load(path, device="cpu")


def test_from_corpus_caches_by_content_and_rebuilds_a_corrupt_cache(tmp_path, private_cache):
    source = tmp_path / "corpus.txt"
    source.write_text("one fish two fish. red fish blue fish.", encoding="utf-8")
    first = BigramModel.from_corpus([source], device="cpu")
    cached = sorted(private_cache.glob("bigram-*.npz"))
    assert cached, "the first build writes a cache file"
    newest = max(cached, key=lambda p: p.stat().st_mtime)
    newest.write_bytes(b"garbage")
    rebuilt = BigramModel.from_corpus([source], device="cpu")
    assert rebuilt.cond_prob(x="fish", z="two") == first.cond_prob(x="fish", z="two") == 1.0
    assert BigramModel.load(newest, device="cpu").total == first.total  # the cache was rewritten
    source.write_text("one fish.", encoding="utf-8")  # new content, new key
    assert BigramModel.from_corpus([source], device="cpu").total == 3


def test_the_explanation_shows_the_counts_behind_the_number(shakespeare):
    # p(lord | my, a word comes next) = c(my, lord) / (c(my) - c(my, </s>))
    c, my, ended = (
        shakespeare.count("my", "lord"),
        int(shakespeare.prev_counts[shakespeare.vocab.id("my")]),
        shakespeare.count("my", "</s>"),
    )
    p = shakespeare.next_word_distribution("Good night, my").prob("lord")
    assert p == pytest.approx(c / (my - ended))
    assert shakespeare.explain("Good night, my", "lord") == (
        "p(lord | z = my, a word comes next) = c(my, lord) / (c(my) - c(my, </s>)) = "
        f"{c:,} / ({my:,} - {ended:,}) = {p:.1%}"
    )
    assert shakespeare.explain("to be or not to", "be", prefix="b").endswith(
        f"= {shakespeare.next_word_distribution('to be or not to', 'b').prob('be'):.1%}"
    )


# ---- the trigram: one word more of context, the same counting ------------------------------------


def test_trigram_conditionals_equal_nltk_order_3_mle(hamlet_sentences):
    train, vocab = padded_everygram_pipeline(3, hamlet_sentences)
    nltk_model = NltkMLE(3)
    nltk_model.fit(train, vocab)
    ours = TrigramModel.from_sentences(hamlet_sentences, device="cpu")
    for condition in [("<s>", "<s>"), ("<s>", "the"), ("my", "lord"), ("to", "be"), ("i", "am"), ("of", "the")]:
        for next, p in ours.next_token_distribution(list(condition)).top(20):  # the slice, </s> included
            assert p == pytest.approx(nltk_model.score(next, list(condition)), rel=1e-12)
        words = ours.next_word_distribution(list(condition))
        assert words.note == ""
        assert words.no_word == pytest.approx(nltk_model.score("</s>", list(condition)), rel=1e-12)
        given_a_word = 1 - words.no_word
        for next, p in words.top(20):
            assert p == pytest.approx(nltk_model.score(next, list(condition)) / given_a_word, rel=1e-12)


def test_trigram_counts_equal_a_brute_force_counter(hamlet_sentences):
    expected = Counter()
    for sentence in hamlet_sentences:
        padded = [BOS, BOS, *sentence, "</s>"]
        expected.update(zip(padded, padded[1:], padded[2:]))
    ours = TrigramModel.from_sentences(hamlet_sentences, device="cpu")
    assert ours.total == sum(expected.values())
    for (z1, z2, x), c in list(expected.items())[::97]:
        assert ours.count(z1, z2, x) == c
    # Summed over z1, the trigram's counts are the bigram's: the back-off table is the same corpus's.
    bigram = BigramModel.from_sentences(hamlet_sentences, device="cpu")
    for z2, x in [("my", "lord"), (BOS, "what"), ("the", "king")]:
        assert sum(c for (a, b, y), c in expected.items() if (b, y) == (z2, x)) == bigram.count(z2, x)


def test_trigram_reads_the_context_the_keyboard_types():
    m = TrigramModel.from_text("to be or not to be. to go. be quick.", device="cpu")
    assert m.condition("Or not to") == ("not", "to")
    assert m.condition("It is done. To") == (BOS, "to")
    assert m.condition("") == (BOS, BOS)
    assert m.next_word_distribution("To").top() == [("be", 0.5), ("go", 0.5)]  # (<s>, to): be once, go once
    assert m.next_word_distribution("or not to").top() == [("be", 1.0)]  # (not, to)
    assert m.next_word_distribution("not to", prefix="g").note.startswith("'not to' was never followed by a word")
    backed_off = m.next_word_distribution("what to")  # never seen: the bigram's p(x | to)
    bigram = BigramModel.from_text("to be or not to be. to go. be quick.", device="cpu")
    assert backed_off.top() == bigram.next_word_distribution("to").top() == [("be", 2 / 3), ("go", 1 / 3)]
    assert "showing the bigram's p(x | to)" in backed_off.note
    generated = TrigramModel.from_text("the cat sat down.", device="cpu").generate_words("the cat", 3, temperature=0)
    assert generated == "sat down."  # z = (cat, sat) -> down, then (sat, down) -> </s>: the sentence ends


def test_trigram_adds_and_multiplies_counts_like_the_bigram():
    a = TrigramModel.from_text("the cat sat. the cat ran.", device="cpu")
    b = TrigramModel.from_text("the cat sat. a dog barked.", device="cpu")
    both = TrigramModel.from_text(["the cat sat. the cat ran.", "the cat sat. a dog barked."], device="cpu")
    pooled = a + b
    for z1, z2, x in [("the", "cat", "sat"), ("the", "cat", "ran"), (BOS, "a", "dog"), ("dog", "barked", "</s>")]:
        assert pooled.count(z1, z2, x) == both.count(z1, z2, x)
    assert pooled.total == both.total
    assert (2 * a).count("the", "cat", "sat") == 2 and (2 * a).cond_prob(x="sat", z=("the", "cat")) == 0.5
    with pytest.raises(ValueError, match="`times`"):
        a * 0
