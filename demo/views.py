"""Plain functions that turn model outputs into what the UI shows: tables, HTML, chart data.

Nothing here imports Gradio, so every view is tested without a browser.
"""

from __future__ import annotations

import pandas as pd

from lm.core.distribution import OTHER, Distribution
from lm.counting.personal import MAX_SENTENCES
from lm.serving.keyboard import SLOTS

CHART_WORDS = 10  # bars per chart


def chip_labels(chips: list[dict]) -> list[str]:
    """Labels for the `SLOTS` chips, most likely first: the word and its probability beneath.

    Example:
        >>> chip_labels([{"word": "great", "p": 0.6296}])
        ['great\\n63.0%', '', '']
    """
    labels = [f"{chip['word']}\n{chip['p']:.1%}" for chip in chips[:SLOTS]]
    return labels + [""] * (SLOTS - len(labels))


def with_rest(pairs: list[tuple[str, float]], total: float = 1.0) -> list[tuple[str, float]]:
    """`pairs` and one `OTHER` bar for the mass they leave out of `total`, when there is any."""
    rest = total - sum(p for _, p in pairs)
    return pairs + ([(OTHER, rest)] if rest > 1e-12 else [])


def bar_frame(distribution: Distribution, top: int = CHART_WORDS) -> pd.DataFrame:
    """The `top` most likely words as a two-column frame (word, p), most likely first, then one
    `OTHER` bar for every other word (those not shown and those the model could not list), so the bars
    add up to 1.

    Example:
        >>> import torch
        >>> three = Distribution(["a", "b", "c"], torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64))
        >>> bar_frame(three, top=2).values.tolist()
        [['b', 0.5], ['a', 0.25], ['(other words)', 0.25]]
    """
    return pd.DataFrame(with_rest(distribution.top(top)), columns=["word", "p"])


def warped_bar_frame(distribution: Distribution, temperature: float, top_k: int, top_p: float, top: int = CHART_WORDS):
    """The same bars as `bar_frame` (same words, same order), with their probabilities after
    temperature/top-k/top-p; at temperature 1, top-k 0 and top-p 1 it equals `bar_frame`."""
    warped = distribution.warp(temperature, top_k, top_p)
    return pd.DataFrame(
        with_rest([(word, warped.prob(word)) for word, _ in distribution.top(top)]), columns=["word", "p"]
    )


def strip_info(about: dict | None) -> str:
    """One line under a strip: what its numbers are and, once, the mass of "no word next".

    Example:
        >>> strip_info({"probabilities": "raw", "no_word": 0.44})
        'p(word | text, a word comes next) · no word next (punctuation, end): 44.0%'
        >>> strip_info({"probabilities": "warped", "no_word": None})
        'drawn: the centre chip is the first word drawn, not always the likeliest; warped p (temperature, top-k,
        top-p), given the letters typed'
    """
    if not about:
        return ""
    shown = "p(word | text, a word comes next)"
    if about["probabilities"] == "warped":
        shown = (
            "drawn: the centre chip is the first word drawn, not always the likeliest; "
            "warped p (temperature, top-k, top-p)"
        )
    if about.get("no_word") is None:
        return f"{shown}, given the letters typed"
    return f"{shown} · no word next (punctuation, end): {about['no_word']:.1%}"


def empty_strip_info(about: dict | None, prefix: str) -> str:
    """Why a strip has no chip: no likely word starts with the letters typed, or the model expects no word
    here (punctuation, a digit, the end of the text), with how likely a word is.

    Example:
        >>> empty_strip_info({"probabilities": "raw", "no_word": 0.97}, "")
        'no chip: the model expects no word here (P(a word comes next) = 3.0%), but punctuation, a symbol or the end'
        >>> empty_strip_info({"probabilities": "raw", "no_word": None}, "xq")
        "no chip: no likely word starts with 'xq'"
    """
    if prefix or not about or about.get("no_word") is None:
        return f"no chip: no likely word starts with {prefix!r}" if prefix else "no chip: no word to offer here"
    return (
        f"no chip: the model expects no word here (P(a word comes next) = {1 - about['no_word']:.1%}), "
        "but punctuation, a symbol or the end"
    )


def explanations_markdown(explanations: dict[str, list[str]]) -> str:
    """The "why these numbers" panel: each strip's chips' arithmetic, as code blocks (Markdown).

    Example:
        >>> print(explanations_markdown({"bigram": ["p(a | z = b) = 1 / 2 = 50.0%"]}))
        **bigram**
        ```
        p(a | z = b) = 1 / 2 = 50.0%
        ```
    """
    blocks = []
    for model, lines in explanations.items():
        blocks.append(f"**{model}**\n```\n" + "\n\n".join(lines) + "\n```")
    return "\n\n".join(blocks)


# ---- what the bigram learned from its user (`lm.counting.personal`) ------------------------------------------


def learned_note(learner) -> str:
    """What the bigram strip reads while it learns from its user, in counts ("" when it does not).

    Example:
        >>> from lm.counting.personal import Learner
        >>> me = Learner(weight=100)
        >>> _ = me.read("I love my dog.")
        >>> learned_note(me).split(". ")[0]
        'Learned 1 sentence (5 pairs) from you'
        >>> learned_note(me).split(" = ")[1].split(":")[0]
        '(c(z, x) + 100 × yours(z, x)) / (c(z) + 100 × yours(z))'
    """
    if learner is None or not learner.learning:
        return ""
    w = learner.weight
    if learner.personal is None:
        return f"Learning: each sentence you finish (. ! ?) is counted, each of its pairs as {w} pairs of the corpus."
    n, pairs = learner.sentences, learner.personal.total
    return (
        f"Learned {n} sentence{'s' * (n != 1)} ({pairs} pairs) from you. The bigram reads p(x | z) = "
        f"(c(z, x) + {w} × yours(z, x)) / (c(z) + {w} × yours(z)): "
        f"each pair you write counts as {w} pairs of the corpus."
        + (
            f" That is as many as a page may count ({MAX_SENTENCES:,}): forget them to count new ones."
            if learner.full
            else ""
        )
    )


def learned_short(learner) -> str:
    """The bigram strip's line while it learns: how many of the user's sentences it adds, and their weight."""
    if learner is None or not learner.learning:
        return ""
    full = " (full)" if learner.full else ""
    return f"+ your {learner.sentences} sentence{'s' * (learner.sentences != 1)}{full}, each pair ×{learner.weight}"
