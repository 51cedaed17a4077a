"""What learning costs (issue 14), on the default corpus, in this process:

1. The bigram strip per keystroke while the page learns from its user (the whole text read for finished
   sentences, then the corpus's counts plus the user's) against the same strip without learning,
   alternating rounds over the same keystrokes of a typed paragraph.
2. Adding a user's counts to the corpus's (`corpus + weight * personal`: once per finished sentence).
3. The table learned by gradient descent (`fit_bigram_network`): time per step at the defaults and at
   1,000 words, on the CPU and on a GPU when there is one.
4. The continuous example: the slice's exact probability and two-step sampling of a million pairs.

    python -m bench.bench_learning
"""

from __future__ import annotations

import statistics
import time

import torch

from bench.common import median_seconds, write_report
from demo.common import Sessions
from demo.keystroke import suggest_strip
from lm import BigramModel, GpaJobDensity, fit_bigram_network
from lm.counting.personal import Learner
from lm.registry import lineup
from lm.serving.keyboard import Keyboard

PARAGRAPH = (
    "I love my dog. My dog loves long walks in the park. We walk every morning and every evening. "
    "The park is green and quiet. I hope you're having a wonderful day. See you tomorrow at the park. "
)
SETTINGS = ("most likely", 1.0, 0, 1.0, -1)


def strip_per_keystroke(corpus: BigramModel, rounds: int = 5) -> dict:
    """Median microseconds per bigram-strip keystroke over the paragraph typed letter by letter, with the
    page learning and without, alternating rounds."""
    keystrokes = [PARAGRAPH[:i] for i in range(1, len(PARAGRAPH) + 1)]
    per_key = {"without learning": [], "learning": []}
    for _ in range(rounds):
        for name in per_key:
            sessions = Sessions(Keyboard(lineup(bigram=corpus)))
            token = "bench" if name == "learning" else None
            if token:
                sessions.learners.start(token)
            start = time.perf_counter()
            for text in keystrokes:
                suggest_strip(sessions, "bigram", text, *SETTINGS, 1, token, text)
            per_key[name].append((time.perf_counter() - start) / len(keystrokes) * 1e6)
    medians = {name: round(statistics.median(times), 1) for name, times in per_key.items()}
    return {
        "keystrokes": len(keystrokes),
        "sentences_learned": PARAGRAPH.count(". "),
        "us_per_keystroke": medians,
        "ratio": round(medians["learning"] / medians["without learning"], 2),
    }


def adding_counts(corpus: BigramModel) -> dict:
    me = Learner()
    me.read(PARAGRAPH)
    seconds = median_seconds(lambda: corpus + me.weight * me.personal, 7)
    return {
        "personal_pairs": me.personal.total,
        "corpus_distinct_pairs": corpus.counts.nnz,
        "ms": round(seconds * 1e3, 1),
    }


def training(corpus: BigramModel, device: str) -> dict:
    found = {}
    for words, steps in ((200, 300), (1000, 300)):
        moved = corpus if device == "cpu" else BigramModel(corpus.vocab, corpus.counts, device)
        fit = fit_bigram_network(moved, words=words, steps=steps, seed=0)
        found[f"{words}_words_{steps}_steps"] = {
            "seconds": round(fit.seconds, 3),
            "ms_per_step": round(fit.seconds / steps * 1e3, 3),
            "final_nll": round(fit.losses[-1], 5),
            "table_nll": round(fit.table_nll, 5),
        }
    return found


def continuous() -> dict:
    d = GpaJobDensity()
    exact = median_seconds(lambda: d.prob_between(3.8, 4.2, 3.5), 21)
    pairs = median_seconds(lambda: d.sample(1_000_000, seed=0, device="cpu"), 5)
    return {"prob_between_us": round(exact * 1e6, 1), "sample_1M_pairs_cpu_ms": round(pairs * 1e3, 1)}


def main() -> None:
    corpus = BigramModel.from_corpus(device="cpu")
    report = {
        "bigram_strip": strip_per_keystroke(corpus),
        "adding_a_users_counts": adding_counts(corpus),
        "training_cpu": training(corpus, "cpu"),
        "continuous": continuous(),
    }
    if torch.cuda.is_available():
        report["training_cuda"] = training(corpus, "cuda")
    write_report("learning", report)


if __name__ == "__main__":
    main()
