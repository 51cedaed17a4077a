"""Counts add up (`BigramModel.__add__`, `__mul__`), and the bigram learns from its user (`lm.counting.personal`),
one browser session at a time: the numbers, then the served app (tiny models)."""

import itertools

import pytest
from gradio_client import Client

from lm import BigramModel
from lm.counting.personal import MAX_SENTENCES, Learner, Learners
from tests.conftest import http

T1 = "The cat sat on the mat. The dog ran!"
T2 = "A dog sat. The bird sang on the mat? Who's there."


def pairs_of(model):
    return {(z, x) for z, x in itertools.product(model.vocab.words, repeat=2) if model.count(z, x)}


def test_adding_models_adds_every_count():
    a, b = BigramModel.from_text(T1, device="cpu"), BigramModel.from_text(T2, device="cpu")
    pooled = a + b
    for z, x in itertools.product(pooled.vocab.words, repeat=2):
        assert pooled.count(z, x) == a.count(z, x) + b.count(z, x)
    assert pooled.total == a.total + b.total and pairs_of(pooled) == pairs_of(a) | pairs_of(b)


def test_counting_two_texts_apart_and_adding_is_counting_them_together():
    apart = BigramModel.from_text(T1, device="cpu") + BigramModel.from_text(T2, device="cpu")
    together = BigramModel.from_text([T1, T2], device="cpu")  # two documents
    assert apart.vocab.words == together.vocab.words
    assert (apart.counts != together.counts).nnz == 0


def test_a_model_counted_k_times_is_k_models_added():
    m = BigramModel.from_text(T1, device="cpu")
    assert ((3 * m).counts != (m + m + m).counts).nnz == 0 and (m * 3).total == 3 * m.total
    assert (3 * m).cond_prob(x="cat", z="the") == m.cond_prob(x="cat", z="the")  # 2 of 4, either way


@pytest.mark.parametrize("times", [0, -1, 2.5, 10**9])
def test_a_bad_multiplier_is_named(times):
    m = BigramModel.from_text(T1, device="cpu")
    with pytest.raises((ValueError, TypeError), match="times|unsupported"):
        times * m


def test_a_model_adds_only_to_a_model():
    with pytest.raises(TypeError):
        BigramModel.from_text(T1, device="cpu") + 3


# ---- one user's counts ------------------------------------------------------------------------------


def test_each_finished_sentence_is_counted_once_per_time_it_is_written():
    me = Learner(weight=1)
    assert me.read("I love my dog. I love my d") == 1  # the second is still being typed
    assert me.read("I love my dog. I love my dog.") == 1  # now it is finished
    assert me.read("I love my dog. I love my dog. I") == 0  # nothing new
    assert me.read("I love my dog.") == 0  # deleting does not un-count
    assert me.read("I love my dog. I love my dog. I love my dog.") == 2  # written again: counted again
    assert me.sentences == 4 and me.personal.count("my", "dog") == 4 and me.personal.count("<s>", "i") == 4
    me.forget()
    assert me.read("I love my dog. I love my dog. I love my dog.") == 0 and me.personal is None  # on the page
    assert me.read("I love my dog. I love my dog. I love my dog. Hi.") == 1 and me.sentences == 1


def test_the_users_counts_weigh_as_corpus_pairs():
    corpus = BigramModel.from_text("my lord. my lord. my good lord. my dog.", device="cpu")
    me = Learner(weight=10)
    me.read("I love my dog. I love my dog.")
    mine = me.model_with(corpus)
    # p(dog | my) = (c(my, dog) + 10 * yours(my, dog)) / (c(my) + 10 * yours(my)) = (1 + 20) / (4 + 20)
    assert mine.cond_prob(x="dog", z="my") == pytest.approx(21 / 24, abs=1e-15)
    assert corpus.cond_prob(x="dog", z="my") == 0.25
    me.learning = False
    assert me.model_with(corpus) is corpus  # off: the corpus alone (the counts are kept)


def test_learners_are_kept_apart_and_bounded():
    learners = Learners(max_learners=2, idle_before_forgotten=0)
    for token in ("a", "b", "c"):
        learners.start(token).read(f"{token} said hello.")
    assert learners.get("a") is None  # idle longest: forgotten past two
    assert learners.get("b").personal.count("b", "said") == 1 and learners.get("c").personal.count("b", "said") == 0
    learners.stop("b")
    assert learners.get("b") is None and learners.get(None) is None and learners.get(["c"]) is None


def test_a_loop_of_new_learners_cannot_evict_one_in_use():
    learners = Learners(max_learners=2)  # the default wait: IDLE_BEFORE_FORGOTTEN_S
    learners.start("a").read("a said hello.")
    learners.start("b")
    with pytest.raises(ValueError, match="already learns for 2 pages"):
        learners.start("c")
    assert learners.get("a").personal.count("a", "said") == 1 and learners.start("b") is learners.get("b")


def test_a_learner_counts_at_most_max_sentences():
    me = Learner()
    half = MAX_SENTENCES // 2
    assert me.read("a b c. " * half) + me.read("d e f. " * (half + 5)) == MAX_SENTENCES
    assert me.full and me.read("new words here. " * 10) == 0 and me.personal.count("new", "words") == 0
    me.forget()
    assert not me.full and me.read("new words here. " * 11) == 1  # the text read before is read already


# ---- through the served app: another page never sees them --------------------------------------------


def strip(url, text, token=None, written=None):
    data = [text, "most likely", 1.0, 0, 1.0, -1, 1, token, written]
    return http().post(f"{url}keystroke/suggest_bigram", json={"data": data}, timeout=60).json()["data"][0]


def test_a_page_that_learns_sees_its_counts_and_no_other_page_does(tiny_app):
    # the tiny corpus: "the cat sat. the dog ran. a cat ran!": p(cat | the) = p(dog | the) = 1/2
    mine, theirs = Client(tiny_app, verbose=False), Client(tiny_app, verbose=False)
    assert strip(tiny_app, "the ")["chips"] == [{"word": "cat", "p": 0.5}, {"word": "dog", "p": 0.5}]
    token, state, note = None, *mine.predict(True, 100, api_name="/learning")
    token = state["token"]
    assert "each of its pairs as 100 pairs of the corpus" in note
    written = "the dog ran. the dog ran. the "
    answer = strip(tiny_app, "the ", token, written)
    assert answer["chips"][0] == {"word": "dog", "p": pytest.approx(201 / 202)}  # (1 + 2 x 100) / (2 + 2 x 100)
    assert "+ your 2 sentences, each pair ×100" in answer["info"]
    assert mine.predict("the ", api_name="/suggest")[-2]["bigram"][0]["word"] == "dog"  # its other views too
    assert "| dog | 1 | 2 | 50.0% | 99.5% |" in mine.predict("the", api_name="/your_counts")[0]
    table = mine.predict(5, "the", "dog", api_name="/joint_table")[0]
    assert 'title="0.247537"' in table  # p(x = dog, z = the) = (1 + 2 x 100) / (12 + 8 x 100) pairs
    # another page, through the API, the page's route and the tables: the corpus alone
    assert theirs.predict("the ", api_name="/suggest")[-2]["bigram"][0] == {"word": "cat", "p": 0.5}
    assert strip(tiny_app, "the ", None, written)["chips"][0] == {"word": "cat", "p": 0.5}
    assert strip(tiny_app, "the ", "a guessed token", written)["chips"][0] == {"word": "cat", "p": 0.5}
    assert theirs.predict("the", api_name="/your_counts")[0].startswith("Nothing learned yet")
    # forgetting empties them (the text on the page is not learned again); switching off leaves them out
    mine.predict(True, 100, api_name="/forget")
    assert strip(tiny_app, "the ", token, written)["chips"][0] == {"word": "cat", "p": 0.5}
    mine.predict(False, 100, api_name="/learning")
    assert strip(tiny_app, "the ", token, written)["chips"][0] == {"word": "cat", "p": 0.5}  # off: nothing read
