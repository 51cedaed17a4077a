"""Bigram benchmark: build, top-10 queries and cache loads, against Counter and nltk.lm in one run.

python -m bench.bench_bigram [--nltk-repeats 2]
"""

from __future__ import annotations

import argparse
import random
import tempfile
from collections import Counter, defaultdict

from nltk.lm import MLE as NltkMLE
from nltk.lm.preprocessing import padded_everygram_pipeline

from bench.common import median_seconds, per_call_seconds, write_report
from lm import BigramModel
from lm.core.tokenize import pad, sentences
from lm.counting import corpus


def build_ours():
    return BigramModel.from_text([doc.text for doc in corpus.read_documents()], device="cpu")


def build_counter():
    """Baseline: the same reading and tokenizing, counting padded pairs with collections.Counter."""
    pairs = Counter()
    for doc in corpus.read_documents():
        for sentence in sentences(doc.text):
            padded = pad(sentence)
            pairs.update(zip(padded[:-1], padded[1:]))
    return pairs


def build_nltk():
    """Baseline: nltk.lm's MLE(2) fitted on the same sentences."""
    text = [s for doc in corpus.read_documents() for s in sentences(doc.text)]
    model = NltkMLE(2)
    model.fit(*padded_everygram_pipeline(2, text))
    return model


def counter_rows(pairs: Counter) -> dict:
    rows = defaultdict(Counter)
    for (prev, next), count in pairs.items():
        rows[prev][next] = count
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--nltk-repeats", type=int, default=2)
    args = parser.parse_args()

    model = build_ours()
    build = {
        "ours_s": median_seconds(build_ours, args.repeats),
        "counter_s": median_seconds(build_counter, args.repeats),
        "nltk_s": median_seconds(build_nltk, args.nltk_repeats),
    }
    build["speedup_vs_counter"] = build["counter_s"] / build["ours_s"]
    build["speedup_vs_nltk"] = build["nltk_s"] / build["ours_s"]

    # contexts drawn as a typist meets them: by p(z)
    rng = random.Random(0)
    words = [w for w in model.vocab.words if model.prev_prob(w) > 0]
    contexts = rng.choices(words, weights=[model.prev_prob(w) for w in words], k=2000)
    rows, nltk_model = counter_rows(build_counter()), build_nltk()
    query = {
        "contexts": len(contexts),
        "ours_top_next_words_us": 1e6 * per_call_seconds(lambda z: model.top_next_words([z], 10), contexts),
        "ours_distribution_top_us": 1e6
        * per_call_seconds(lambda z: model.next_word_distribution([z]).top(10), contexts),
        "ours_string_context_us": 1e6
        * per_call_seconds(lambda z: model.top_next_words(f"and then the {z}", 10), contexts),
        "counter_most_common_us": 1e6 * per_call_seconds(lambda z: rows[z].most_common(10), contexts),
        "nltk_most_common_us": 1e6 * per_call_seconds(lambda z: nltk_model.counts[[z]].most_common(10), contexts),
    }
    query["speedup_vs_nltk"] = query["nltk_most_common_us"] / query["ours_top_next_words_us"]

    with tempfile.TemporaryDirectory() as folder:
        path = model.save(f"{folder}/model.npz")
        BigramModel.from_corpus(device="cpu")  # make sure the default cache exists
        load = {
            "from_corpus_cached_s": median_seconds(lambda: BigramModel.from_corpus(device="cpu"), args.repeats),
            "load_file_s": median_seconds(lambda: BigramModel.load(path, device="cpu"), args.repeats),
            "build_s": build["ours_s"],
        }
        load["file_bytes"] = path.stat().st_size
    matrix_bytes = model.counts.data.nbytes + model.counts.indices.nbytes + model.counts.indptr.nbytes
    memory = {
        "vocabulary": len(model.vocab),
        "distinct_pairs": int(model.counts.nnz),
        "pairs": model.total,
        "count_matrix_bytes": matrix_bytes,
        "bytes_per_distinct_pair": matrix_bytes / model.counts.nnz,
        "dense_float32_table_bytes": 4 * len(model.vocab) ** 2,
    }
    write_report("bigram", {"build": build, "top10_query": query, "load": load, "memory": memory})


if __name__ == "__main__":
    main()
