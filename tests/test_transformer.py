"""`TransformerModel`: whole-word probabilities checked by brute force on a tiny model, and the
embedded SmolLM2 checked against transformers' own outputs."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lm import TransformerModel
from lm.registry import lineup
from lm.transformer.loading import ModelLoadError
from lm.transformer.prefetch import Prefetcher
from lm.transformer.word_search import SearchBudget
from tests.tiny_lm import save_tiny_model

FLOAT32 = 2e-5  # cached, batched float32 forward passes vs one plain pass: equal to float32 rounding
# Follow every path of up to two tokens: the brute force below is then comparable word for word.
EXHAUSTIVE_TWO_TOKENS = SearchBudget(k=10**6, batch_size=10**6, fanout=10**6, max_steps=2, min_prob=0.0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = save_tiny_model(tmp_path_factory.mktemp("tiny-gpt2"))
    return TransformerModel.from_pretrained(folder, device="cpu", dtype="float32")


# ---- an independent brute force ------------------------------------------------------------


_PLAIN_PASSES = {}


def next_probs(tm, ids):
    """p(next token | ids) from one plain forward pass over the whole sequence (no cache; memoised)."""
    key = (id(tm.model), tuple(ids))
    if key not in _PLAIN_PASSES:
        with torch.no_grad():
            logits = tm.model(input_ids=torch.tensor([list(ids)])).logits[0, -1]
        _PLAIN_PASSES[key] = torch.softmax(logits.double(), -1)
    return _PLAIN_PASSES[key]


def spellings(tm, text, first=True):
    """Every token path that spells `text` exactly: a word-starting token, then continuing ones."""
    role = (
        (tm.tokens.starts_after_space if text.startswith(" ") else tm.tokens.starts_bare)
        if first
        else tm.tokens.continues
    )
    paths = []
    for token, piece in enumerate(tm.tokens.texts):
        if role[token] and piece and text.startswith(piece):
            rest = text[len(piece) :]
            paths += [[token]] if not rest else [[token] + tail for tail in spellings(tm, rest, first=False)]
    return paths


def brute_word_prob(tm, ids, separator, word, max_tokens):
    """sum over spellings of at most `max_tokens` tokens of p(path | context) * p(a word-ending token next)."""
    ends = torch.as_tensor(tm.tokens.ends)
    total = 0.0
    for path in spellings(tm, separator + word):
        if len(path) > max_tokens:
            continue
        p, sequence = 1.0, list(ids)
        for token in path:
            p *= float(next_probs(tm, sequence)[token])
            sequence.append(token)
        total += p * float(next_probs(tm, sequence)[ends].sum())
    return total


def brute_prefix_mass(tm, ids, target, text="", p=1.0, first=True):
    """P(the next word starts with `target`): paths that agree with it until they cover it."""
    role = (
        (tm.tokens.starts_after_space if target.startswith(" ") else tm.tokens.starts_bare)
        if first
        else tm.tokens.continues
    )
    probs, total = next_probs(tm, ids), 0.0
    for token, piece in enumerate(tm.tokens.texts):
        spelled = (text + piece).lower()
        if not role[token] or not piece:
            continue
        if spelled.startswith(target):
            total += p * float(probs[token])
        elif target.startswith(spelled):
            total += brute_prefix_mass(tm, ids + [token], target, spelled, p * float(probs[token]), first=False)
    return total


@pytest.mark.slow
@pytest.mark.parametrize("context", ["the cat sat on the", "what a great ", "we went to the park and", ""])
def test_word_probabilities_equal_brute_force(tiny, context):
    # two passes of an unlimited search complete exactly the spellings of one and two tokens
    ids, separator = tiny._context(context)
    found = tiny.word_search(context, "", EXHAUSTIVE_TWO_TOKENS).words
    for word, p in found.items():
        assert p == pytest.approx(brute_word_prob(tiny, list(ids), separator, word, 2), rel=FLOAT32, abs=1e-12), word
    assert len(found) >= 20


@pytest.mark.slow
@pytest.mark.parametrize("context", ["the cat sat on the", "what a great ", "we went to the park and", ""])
def test_a_word_probability_is_conditioned_on_a_word_coming_next(tiny, context):
    # p(w | c, a word comes next) = p(w | c) / P(the next token starts a word | c), from plain passes
    ids, separator = tiny._context(context)
    starts = torch.as_tensor(tiny.tokens.starts_after_space if separator == " " else tiny.tokens.starts_bare)
    a_word = float(next_probs(tiny, list(ids))[starts].sum())
    distribution = tiny.next_word_distribution(context, "", EXHAUSTIVE_TWO_TOKENS)
    assert distribution.no_word == pytest.approx(1 - a_word, rel=FLOAT32, abs=1e-9)
    for word, p in distribution.top(10):
        assert p == pytest.approx(
            brute_word_prob(tiny, list(ids), separator, word, 2) / a_word, rel=FLOAT32, abs=1e-12
        ), word
    assert float(distribution.probs.sum()) + distribution.other == pytest.approx(1.0, abs=1e-12)
    assert distribution.other >= 0.0


def test_every_view_of_a_context_reads_one_distribution(tiny):
    # the keyboard's chips, its charts' raw bars and the Python API give one number per word
    from demo.views import bar_frame, warped_bar_frame
    from lm import BigramModel
    from lm.serving.keyboard import Keyboard

    keyboard = Keyboard(
        lineup(bigram=BigramModel.from_text("the cat sat. the dog ran.", device="cpu"), transformer=tiny)
    )
    for text in ["the cat sat on the ", "what a gr", "", "we went to the park and "]:
        context, prefix = text[: len(text) - len(text.split(" ")[-1])], text.split(" ")[-1]
        for model in ("bigram", "transformer"):
            distribution = keyboard.distribution(model, context, prefix)
            chips = keyboard.suggest(text, models=(model,))[model]
            bars = dict(bar_frame(distribution).values.tolist())
            warped = dict(warped_bar_frame(distribution, 1.0, 0, 1.0).values.tolist())
            for chip in chips:
                word = next(w for w in distribution.words if w.lower() == chip["word"].lower())
                assert chip["p"] == bars[word] == distribution.prob(word), (text, model, word)
            assert warped == pytest.approx(bars, abs=1e-12)  # warping at the defaults is the identity
            if model == "transformer":
                assert tiny.top_next_words(context, 3, prefix) == distribution.top(3)


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["w", "wo", "gr", "th"])
def test_prefix_completion_equals_brute_force(tiny, prefix):
    context = "the dog sat on the"
    ids, separator = tiny._context(context)
    result = tiny.word_search(context, prefix, EXHAUSTIVE_TWO_TOKENS)
    mass = brute_prefix_mass(tiny, list(ids), (separator + prefix).lower())  # every path covering the prefix
    assert result.prefix_mass == pytest.approx(mass, rel=FLOAT32)
    assert result.words
    for word, p in result.words.items():
        assert word.lower().startswith(prefix)
        expected = brute_word_prob(tiny, list(ids), separator, word, 2) / mass
        assert p == pytest.approx(expected, rel=FLOAT32, abs=1e-12), word


def test_token_distribution_is_the_softmax_of_the_logits(tiny):
    ids = list(tiny.frame) + tiny._encode("the cat sat")  # read after the frame, as every text is
    assert torch.allclose(tiny.next_token_distribution("the cat sat").probs, next_probs(tiny, ids), atol=1e-6)


def test_context_longer_than_the_window_is_cut_from_the_left(tiny):
    long_context = "the cat sat on the mat. " * 200  # far more than the 64 positions
    assert len(tiny.next_word_distribution(long_context)) > 0
    assert len(tiny._context(long_context)[0]) <= tiny.max_context_tokens


def test_typing_at_the_end_of_a_long_text_reruns_only_the_new_tokens(tiny):
    """The context is cut a block at a time (characters, then tokens), so the KV cache survives typing."""
    tm = TransformerModel(tiny.tokenizer, tiny.model, tiny.device)
    widths = []
    forward = tm.engine.runner.forward
    tm.engine.runner.forward = lambda rows: widths.append(max(len(row.tokens) for row in rows)) or forward(rows)
    text = "the cat sat on the mat. " * 100  # longer than the characters and tokens the model reads
    for letter in "and the dog sat on the log and the cat ran":
        text += letter
        tm.top_next_words(text, 3)
    whole_context = [width for width in widths if width >= tm.max_context_tokens // 2]
    assert widths[0] in whole_context  # the first keystroke reads the whole context
    assert len(whole_context) <= 3  # then only when the cut moves a block (once here), not at every keystroke


def test_incremental_contexts_equal_fresh_computation(tiny):
    ids = tuple(tiny._encode("the dog sat on the log and the cat"))
    tiny.states.state(ids[:4])
    incremental = tiny.states.state(ids)  # starts from the cached 4 tokens
    fresh = TransformerModel(tiny.tokenizer, tiny.model, tiny.device).states.state(ids)
    assert torch.allclose(incremental.logprobs, fresh.logprobs, atol=1e-5)


def test_a_typed_word_that_was_expanded_costs_no_forward_pass_and_stays_exact(tiny):
    tm = TransformerModel(tiny.tokenizer, tiny.model, tiny.device)
    base = tm.states.state(tuple(tm._encode("the dog")))
    word = tuple(tm._encode(" sat"))
    child = tuple(tm._encode(" on"))
    tm.states.expand(base, [word])
    extended = tm.states.state(base.ids + word)
    assert extended.pending == word  # no forward pass yet: the word's tokens ride along
    after_child = tm.states.expand(extended, [child])[0]
    assert extended.pending == ()  # the expansion brought the KV cache up to date
    expected = torch.log_softmax(next_probs(tm, list(base.ids + word + child)).log(), -1)
    assert torch.allclose(after_child.double(), expected, atol=1e-5)


def test_log_likelihood_sums_token_log_probs(tiny):
    context, text = list(tiny.frame) + tiny._encode("the cat"), tiny._encode(" sat on the mat")
    expected = 0.0
    for i, token in enumerate(text):
        expected += math.log(float(next_probs(tiny, context + text[:i])[token]))
    assert tiny.log_likelihood(" sat on the mat", "the cat") == pytest.approx(expected, rel=1e-6)


def test_log_likelihood_with_empty_context_conditions_on_the_frame(tiny):
    text = tiny._encode("the cat")
    bos = tiny.tokenizer.bos_token_id
    assert tiny.frame == [bos]  # no chat template: the plain start token
    expected = sum(math.log(float(next_probs(tiny, [bos] + text[:i])[token])) for i, token in enumerate(text))
    assert tiny.log_likelihood("the cat") == pytest.approx(expected, rel=1e-6)


def test_generate_words_goes_through_warp(tiny):
    greedy = tiny.generate_words("the cat sat on the", 3, temperature=0)
    assert greedy == tiny.generate_words("the cat sat on the", 3, top_k=1)
    assert len(greedy.split()) == 3
    assert tiny.generate_words("the", 4, seed=5) == tiny.generate_words("the", 4, seed=5)
    with pytest.raises(ValueError, match="`temperature`"):
        tiny.generate_words("the", 1, temperature=-1)


def test_prefetching_never_changes_the_answers(tiny):
    plain = TransformerModel(tiny.tokenizer, tiny.model, tiny.device)
    warmed = TransformerModel(tiny.tokenizer, tiny.model, tiny.device)
    with Prefetcher(warmed, pause=0) as prefetcher:
        for prefix in ["", "w", "wo"]:
            got = warmed.top_next_words("the dog sat on the ", 3, prefix)
            prefetcher.hint("the dog sat on the ", prefix)
            expected = plain.top_next_words("the dog sat on the ", 3, prefix)
            assert [word for word, _ in got] == [word for word, _ in expected]
            assert [p for _, p in got] == pytest.approx([p for _, p in expected], rel=FLOAT32)
            assert prefetcher.wait_idle(timeout=60)


# ---- loading errors ---------------------------------------------------------------------------


def test_missing_model_folder_is_named(tmp_path):
    with pytest.raises(ModelLoadError, match="missing-model.*embedded"):
        TransformerModel.from_pretrained(str(tmp_path / "missing-model" / "x.gguf"), device="cpu")


def test_a_plain_file_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a model")
    with pytest.raises(ModelLoadError, match="notes.txt"):
        TransformerModel.from_pretrained(path, device="cpu")


def test_corrupt_gguf_is_refused(tmp_path):
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ModelLoadError, match="broken.gguf"):
        TransformerModel.from_pretrained(path, device="cpu")


def test_a_folder_that_is_not_a_causal_lm_is_refused(tmp_path):
    from transformers import T5Config

    T5Config(d_model=8, num_layers=1, num_heads=1, d_kv=8, d_ff=8, vocab_size=10).save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="not a causal language model"):
        TransformerModel.from_pretrained(tmp_path, device="cpu")


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match=str(tmp_path.name)):
        TransformerModel.from_pretrained(tmp_path, device="cpu")


@pytest.mark.slow
def test_a_hub_id_while_offline_says_how_to_use_the_default():
    code = (
        "from lm.transformer.loading import load_causal_lm\n"
        "try:\n    load_causal_lm('gpt2', device='cpu')\nexcept ValueError as e:\n    print(e)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert "'gpt2'" in result.stdout and "embedded" in result.stdout


# ---- the embedded default: SmolLM2-135M-Instruct ------------------------------------------------


@pytest.fixture(scope="module")
def smollm():
    return TransformerModel.from_pretrained(device="cpu", dtype="float32")


def test_default_model_loads_from_the_packaged_gguf(smollm):
    assert type(smollm.model).__name__ == "LlamaForCausalLM"
    assert smollm.tokenizer.decode(smollm.tokenizer.encode(" great")) == " great"


@pytest.mark.parametrize(
    "context, prefix, expected",
    [
        ("I hope you're having a", "", "great"),
        ("I hope you're having a ", "", "great"),
        ("The capital of France is", "", "Paris"),
        ("I hope you're having a ", "wond", "wonderful"),
    ],
)
def test_default_model_favourites(smollm, context, prefix, expected):
    assert smollm.next_word_distribution(context, prefix).top(1)[0][0] == expected
    assert smollm.top_next_words(context, 3, prefix)[0][0] == expected


def test_default_model_word_probability_by_hand(smollm):
    # p(great | c) = p(" great" | c) * p(a word-ending token | c, " great"), from plain forward passes over
    # the chat template's start of a user message, then the text
    ids = smollm.tokenizer.apply_chat_template([{"role": "user", "content": "\ue000"}], tokenize=False)
    ids = smollm.tokenizer.encode(ids.split("\ue000")[0] + "I hope you're having a", add_special_tokens=False)
    assert smollm.tokenizer.decode(ids).endswith("<|im_start|>user\nI hope you're having a")
    great = smollm._encode(" great")
    assert len(great) == 1
    ends = torch.as_tensor(smollm.tokens.ends)
    expected = float(next_probs(smollm, ids)[great[0]]) * float(next_probs(smollm, ids + great)[ends].sum())
    assert smollm.word_search("I hope you're having a").words["great"] == pytest.approx(expected, rel=1e-4)
    # given that a word comes next: divided by the mass of the tokens that start a word after a space
    a_word = float(next_probs(smollm, ids)[torch.as_tensor(smollm.tokens.starts_after_space)].sum())
    distribution = smollm.next_word_distribution("I hope you're having a")
    assert distribution.prob("great") == pytest.approx(expected / a_word, rel=1e-4)
    assert distribution.no_word == pytest.approx(1 - a_word, abs=3 * FLOAT32)  # float32 rounding, 30 tokens deep


def test_default_model_sentence_start_words(smollm):
    # an empty text is the start of a user's message, not a bare start token (after which it wrote "1", "x")
    words = [word for word, _ in smollm.next_word_distribution("").top(5)]
    assert {"I", "I'm", "What", "The", "Can"} & set(words[:3])
    assert all(word[0].isupper() for word in words[:3])


def test_default_token_probabilities_equal_transformers_softmax(smollm):
    ids = list(smollm.frame) + smollm._encode("The capital of France is")
    distribution = smollm.next_token_distribution("The capital of France is")
    assert torch.allclose(distribution.probs, next_probs(smollm, ids), atol=FLOAT32)  # measured: 1.4e-5 at most
    assert distribution.top(1)[0][0] == " Paris"


def test_default_prefix_across_token_boundaries(smollm):
    # " wond" is no token sequence the model would write for "wonderful": completion must heal it
    words = [word for word, _ in smollm.next_word_distribution("I hope you're having a ", "wond").top(5)]
    assert words[0] == "wonderful" and all(word.lower().startswith("wond") for word in words)


def test_sampling_words_is_reproducible_on_the_models_device(smollm):
    distribution = smollm.next_word_distribution("I hope you're having a")
    assert distribution.device == smollm.device
    assert distribution.sample(5, temperature=0.7, top_k=3, seed=1) == distribution.sample(
        5, temperature=0.7, top_k=3, seed=1
    )
    assert set(distribution.sample(200, top_k=1, seed=0)) == {"great"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_default_model_on_the_gpu():
    tm = TransformerModel.from_pretrained(device="cuda")
    distribution = tm.next_word_distribution("I hope you're having a")
    assert distribution.probs.device.type == "cuda" and distribution.top(1)[0][0] == "great"


def test_the_context_cache_keeps_to_its_memory_budget_and_stays_exact(tiny):
    from lm.transformer.context_states import ContextStates

    texts = [f"the {animal} sat on the mat and" for animal in ("cat", "dog", "bird", "fish", "cow")]
    ids = [tuple(tiny._encode(text)) for text in texts]
    one_state = ContextStates(tiny.engine).state(ids[0]).nbytes()
    states = ContextStates(tiny.engine, max_bytes=2 * one_state + one_state // 2)
    first = states.state(ids[0]).logprobs.clone()
    for context in ids[1:]:
        states.state(context)
        assert states.nbytes() <= states.max_bytes
    assert ids[0] not in states._states and ids[-1] in states._states  # the least recent went first
    assert torch.allclose(states.state(ids[0]).logprobs, first, atol=1e-5)  # recomputed, the same


def test_the_explanation_sums_the_searchs_own_paths_to_the_shown_number(tiny):
    # "why this word": the paths the search summed, each a product of token factors and p(the word ends)
    for context, prefix in [("the cat sat on the", ""), ("what a ", "gr"), ("", "")]:
        result = tiny.word_search(context, prefix)
        distribution = tiny.next_word_distribution(context, prefix)
        mass = result.prefix_mass if prefix else result.word_mass
        for word, p in distribution.top(3):
            summed = sum(math.prod(path.factors) * path.end for path in result.paths[word])
            assert summed / mass == pytest.approx(p, rel=1e-9)
            assert tiny.explain(context, word, prefix).endswith(f"= {p:.1%}")
    assert "not among the words" in tiny.explain("the cat sat on the", "zebra")


@pytest.mark.parametrize(
    "text, expected",
    [("Have a nice ", ["day"]), ("Good ", ["day", "morning"]), ("I hope you're having a ", ["great"])],
)
def test_a_typed_text_is_read_as_a_message(smollm, text, expected):
    # inside the chat frame "Have a nice" is followed by " day" (0.74); as bare web text by " way", " cup"
    framed = list(smollm.frame) + smollm._encode(text.rstrip())
    bare = smollm._encode(text.rstrip())
    token_ids = [smollm._encode(" " + word)[0] for word in expected]
    assert all(float(next_probs(smollm, framed)[t]) > float(next_probs(smollm, bare)[t]) for t in token_ids)
    top = [word for word, _ in smollm.next_word_distribution(text).top(len(expected))]
    assert top == expected


def test_compare_scores_the_first_word_as_the_keyboard_suggests_it(smollm):
    # Compare once scored the first word after the bare start token (p(I) = 8.6e-05) while the empty text's
    # chips follow the message frame (I = 9.8 %): both read the frame now
    from lm import BigramModel
    from lm.evaluation.evaluate import evaluate
    from lm.registry import lineup

    bigram = BigramModel.from_text("i hope you are well.", device="cpu")
    report = evaluate("I hope you're well", lineup(bigram=bigram, transformer=smollm), max_words=2)
    first, chips = report["transformer"]["positions"][0], smollm.next_word_distribution("")
    assert first["word"] == "I" and first["top3"] == [word for word, _ in chips.top(3)]
    # Compare's p is p(w | text); a chip's is p(w | text, a word comes next) = p(w | text) / (1 - no_word)
    assert first["p"] == pytest.approx(chips.prob("I") * (1 - chips.no_word), rel=1e-4)


@pytest.mark.parametrize(
    "text, separator",
    [('she said "', ""), ("well-", ""), ("It costs $", ""), ("(", ""), ('He said "no"', " "), ("the cat", " ")],
)
def test_a_word_follows_an_opening_quote_or_a_hyphen_directly(tiny, text, separator):
    assert tiny._context(text)[1] == separator
