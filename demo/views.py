"""Plain functions that turn model outputs into what the UI shows: tables, HTML, chart data.

Nothing here imports Gradio, so every view is tested without a browser.
"""

from __future__ import annotations

import html
import math
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import torch

from lm.core.checks import check_whole_number
from lm.core.distribution import OTHER, Distribution, total_variation
from lm.core.sampling import nth_seed
from lm.counting.personal import MAX_SENTENCES
from lm.serving.keyboard import SLOTS, cased

CHART_WORDS = 10  # bars per chart
MAX_MARBLES = 1_000_000  # samples one "drop marbles" click may draw
MAX_PAIRS = 20_000  # pairs one two-step generation may draw
DISAGREEMENTS_SHOWN = 10  # rows in the Compare tab's "where they disagree most"


def chip_labels(chips: list[dict]) -> list[str]:
    """Labels for the `SLOTS` chips, most likely first: the word and its probability beneath.

    Example:
        >>> chip_labels([{"word": "great", "p": 0.6296}])
        ['great\\n63.0%', '', '']
    """
    labels = [f"{chip['word']}\n{chip['p']:.1%}" for chip in chips[:SLOTS]]
    return labels + [""] * (SLOTS - len(labels))


def _with_rest(pairs: list[tuple[str, float]], total: float = 1.0) -> list[tuple[str, float]]:
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
    return pd.DataFrame(_with_rest(distribution.top(top)), columns=["word", "p"])


def warped_bar_frame(distribution: Distribution, temperature: float, top_k: int, top_p: float, top: int = CHART_WORDS):
    """The same bars as `bar_frame` (same words, same order), with their probabilities after
    temperature/top-k/top-p; at temperature 1, top-k 0 and top-p 1 it equals `bar_frame`."""
    warped = distribution.warp(temperature, top_k, top_p)
    return pd.DataFrame(
        _with_rest([(word, warped.prob(word)) for word, _ in distribution.top(top)]), columns=["word", "p"]
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


def _cell(p: float, peak: float, picked: bool = False) -> str:
    """A heatmap cell: shaded by sqrt(p / peak), so a cell a hundredth of the largest still shows (a tenth
    as dark); its number in four decimals, or two significant digits when that would read 0.0000."""
    shade = 0.0 if peak == 0 else min(1.0, math.sqrt(p / peak))
    mark = " class='picked'" if picked else ""
    shown = f"{p:.4f}" if p >= 0.0001 or p == 0 else f"{p:.1e}"
    return f'<td{mark} style="background: rgba(220, 38, 38, {shade:.2f})" title="{p:.6g}">{shown}</td>'


def with_picked(table: pd.DataFrame, model, prev: str | None, next: str | None) -> pd.DataFrame:
    """`table` with the picked z as a row and x as a column, added from the model when not among its words.

    Example:
        >>> from lm import BigramModel
        >>> m = BigramModel.from_pairs([("a", "b")] * 3 + [("b", "a"), ("c", "c")], device="cpu")
        >>> with_picked(m.joint_table(top=1), m, "c", "c").values.tolist()  # row a, then c; column b, then c
        [[0.6, 0.0], [0.0, 0.2]]
    """
    table = table.copy()
    if next is not None and next not in table.columns and model.next_prob(next) > 0:
        table[next] = [model.joint_prob(x=next, z=z) for z in table.index]
    if prev is not None and prev not in table.index and model.prev_prob(prev) > 0:
        table.loc[prev] = [model.joint_prob(x=x, z=prev) for x in table.columns]
    return table


def joint_table_html(table: pd.DataFrame, model=None, picked: tuple[str | None, str | None] = (None, None)) -> str:
    """A heatmap of a joint table p(x, z), with the marginals p(z) (rows) and p(x) (columns); the picked
    z row and x column are outlined.

    With `model` (the `BigramModel` the table came from) the marginals are over the whole corpus, as
    the Bayes identity below the table uses them; without, they are the sums of the cells shown.

    Example:
        >>> page = joint_table_html(pd.DataFrame([[0.4, 0.1], [0.3, 0.2]], index=["g", "n"], columns=["j", "nj"]))
        >>> "p(z), cells shown" in page and "0.7000" in page
        True
    """
    prev, next = picked
    peak = float(table.values.max()) if table.size else 0.0
    scope = "whole corpus" if model is not None else "cells shown"
    rows_p = [model.prev_prob(z) for z in table.index] if model is not None else table.sum(axis=1).tolist()
    cols_p = [model.next_prob(x) for x in table.columns] if model is not None else table.sum(axis=0).tolist()
    mark = lambda hit: " class='picked'" if hit else ""  # noqa: E731
    head = "".join(f"<th{mark(x == next)}>{html.escape(str(x))}</th>" for x in table.columns)
    rows = []
    for (z, row), p_z in zip(table.iterrows(), rows_p):
        cells = "".join(_cell(float(p), peak, z == prev or x == next) for x, p in zip(table.columns, row.values))
        rows.append(
            f"<tr><th{mark(z == prev)}>{html.escape(str(z))}</th>{cells}<td class='marginal'>{p_z:.4f}</td></tr>"
        )
    sums = "".join(f"<td class='marginal'>{p:.4f}</td>" for p in cols_p)
    return (
        f"<div class='joint-table'><table><thead><tr><th>z \\ x</th>{head}<th>p(z), {scope}</th></tr></thead>"
        f"<tbody>{''.join(rows)}<tr><th>p(x), {scope}</th>{sums}<td class='marginal'></td></tr>"
        "</tbody></table><p class='scale-note'>shade: the square root of p / the largest cell, so small cells "
        "show</p></div>"
    )


def bayes_identity(model, prev: str, next: str) -> str:
    """The conditional and Bayes' flip as divisions with the pair's numbers, and the identity that ties them,
    p(x | z) p(z) = p(z | x) p(x) = p(x, z) (Markdown, one line each).

    Example:
        >>> from lm import BigramModel
        >>> pairs = [("graduated", "job")] * 4 + [("not", "job")] * 3 + [("not", "no job")] * 2
        >>> m = BigramModel.from_pairs(pairs + [("graduated", "no job")], device="cpu")
        >>> print(*bayes_identity(m, "graduated", "job").splitlines()[1:3], sep="\\n")
        p(x | z) = p(x, z) / p(z) = 0.400000 / 0.500000 = 0.800000
        p(z | x) = p(x | z) p(z) / p(x) = 0.800000 × 0.500000 / 0.700000 = 0.571429
    """
    joint, cond, prior = model.joint_prob(x=next, z=prev), model.cond_prob(x=next, z=prev), model.prev_prob(prev)
    flip, evidence = model.bayes_prob(z=prev, x=next), model.next_prob(next)
    return (
        f"**z = `{prev}`, x = `{next}`**\n"
        f"p(x | z) = p(x, z) / p(z) = {joint:.6f} / {prior:.6f} = {cond:.6f}\n"
        f"p(z | x) = p(x | z) p(z) / p(x) = {cond:.6f} × {prior:.6f} / {evidence:.6f} = {flip:.6f}\n"
        f"p(x, z) = c(z, x) / N = {model.count(prev, next)} / {model.total} = {joint:.6f}; both ways round: "
        f"p(x | z) p(z) = {cond * prior:.6f} = p(z | x) p(x) = {flip * evidence:.6f}"
    )


def _frequencies(draws: list[str]) -> dict[str, float]:
    """How often each outcome was drawn, as a share of the draws."""
    return {word: count / len(draws) for word, count in Counter(draws).items()}


def marbles(distribution: Distribution, n: int, temperature: float, top_k: int, top_p: float, seed=None):
    """Drop `n` marbles: draw n words from the warped distribution and compare counts with the target.

    Returns (frame with word, empirical, target for the most likely words; the total variation distance
    after 10, 100, 1,000, ... and all n marbles, as (N, distance) rows; a summary saying how much of the
    last distance lies in the words not drawn as bars).

    Example:
        >>> import torch
        >>> coin = Distribution(["a", "b"], torch.tensor([0.5, 0.5]))
        >>> _, converging, summary = marbles(coin, 1000, 1.0, 0, 1.0, seed=0)
        >>> converging["marbles"].tolist(), summary.split(";")[0]
        ([10, 100, 1000], '1,000 marbles')
    """
    n = check_whole_number(n, "n", 1, MAX_MARBLES, "marbles")
    warped = distribution.warp(temperature, top_k, top_p)
    draws = warped.sample(n, seed=seed)
    target = dict(warped.outcomes())
    checkpoints = [10**k for k in range(1, 7) if 10**k < n] + [n]
    converging = pd.DataFrame(
        {
            "marbles": checkpoints,
            "total variation distance": [total_variation(_frequencies(draws[:m]), target) for m in checkpoints],
        }
    )
    frequencies = _frequencies(draws)
    words = [word for word, _ in warped.top(CHART_WORDS)]  # the ones drawn as bars; the rest is one OTHER row
    drawn = _with_rest([(word, frequencies.get(word, 0.0)) for word in words])
    wanted = _with_rest([(word, float(target[word])) for word in words])
    frame = pd.DataFrame(
        [(word, p, "marbles") for word, p in drawn] + [(word, p, "target") for word, p in wanted],
        columns=["word", "p", "series"],
    )
    distance, in_bars = total_variation(frequencies, target), total_variation(frequencies, target, over=words)
    summary = f"{n:,} marbles; total variation distance to the target: {distance:.4f}"
    if distance - in_bars > 1e-4:  # the bars can look right while the undrawn tail is far off
        summary += (
            f": {distance - in_bars:.4f} of it lies in the {len(target) - len(words):,} outcomes not "
            f"drawn as bars (a rare word drawn once is far from its tiny p), {in_bars:.4f} in the bars"
        )
    return frame, converging, summary


def two_step_pairs(model, n: int, seed=None, show: int = 20) -> tuple[pd.DataFrame, str]:
    """Generate n pairs the blog's way: z ~ p(z), then x ~ p(x | z); return the first `show` and a summary.

    Example:
        >>> from lm import BigramModel
        >>> pairs = [("graduated", "job")] * 4 + [("not", "job")] * 3 + [("not", "no job")] * 2
        >>> m = BigramModel.from_pairs(pairs + [("graduated", "no job")], device="cpu")
        >>> frame, summary = two_step_pairs(m, 1000, seed=0)
        >>> list(frame.columns), summary.split(";")[0]
        (['z ~ p(z)', 'x ~ p(x | z)'], '1,000 pairs')
    """
    n = check_whole_number(n, "n", 1, MAX_PAIRS, "pairs")
    prev_ids = np.flatnonzero(model.prev_counts)
    prev_probs = torch.from_numpy(model.prev_counts[prev_ids] / model.total).to(model.device)
    zs = Distribution(model.vocab.words_at(prev_ids), prev_probs).sample(n, seed=seed)
    positions = defaultdict(list)
    for i, z in enumerate(zs):
        positions[z].append(i)
    xs = [""] * n
    for j, (z, where) in enumerate(positions.items()):  # all draws for one z at once: x ~ p(x | z)
        draws = model.next_token_distribution([z]).sample(len(where), seed=nth_seed(seed, j + 1))
        for i, x in zip(where, draws):
            xs[i] = x
    counts = pd.Series(list(zip(zs, xs))).value_counts()
    (top_z, top_x), top_count = counts.index[0], int(counts.iloc[0])
    frame = pd.DataFrame(list(zip(zs, xs))[:show], columns=["z ~ p(z)", "x ~ p(x | z)"])
    return frame, (
        f"{n:,} pairs; the most frequent, `({top_z!r}, {top_x!r})`, is {top_count / n:.4f} of them; "
        f"its p(x, z) = {model.joint_prob(x=top_x, z=top_z):.4f}"
    )


def disagreement_columns(one: str, other: str) -> list[str]:
    """The columns of the table of where two models disagree most."""
    return ["|log10 ratio|", "context", "word", f"p {one}", f"p {other}", f"{one} top 3", f"{other} top 3"]


METRICS_EXPLAINED = """\
- **perplexity (per word)**: how surprised the model is by each actual word, as "a choice among N equally
  likely words"; lower is better. From each model's probability of the word typed (the counting models'
  smoothed, so a pair never seen is not impossible).
- **recall@1 / recall@3**: how often the actual next word was the centre chip / among the three chips, with
  nothing of it typed yet.
- **keystroke savings**: the share of key presses saved by clicking a chip as soon as the word appears in the
  strip (each word costs its letters plus a space without help).
- **Jensen-Shannon divergence**: how different two models' next-word distributions are, from 0 (the same)
  to ln 2 = 0.693 nats (no word in common), averaged over the positions; one line per pair of models.
"""


def table_html(frame: pd.DataFrame) -> str:
    """A frame as an HTML table that a phone scrolls sideways (its headers and words stay whole), every
    cell escaped.

    Example:
        >>> table_html(pd.DataFrame({"word": ["<b>"]}))[-56:]
        '<tbody><tr><td>&lt;b&gt;</td></tr></tbody></table></div>'
    """
    head = "".join(f"<th>{html.escape(str(column))}</th>" for column in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<div class='wide-table'><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"


def comparison_views(report: dict, text: str) -> tuple[str, pd.DataFrame, pd.DataFrame, str]:
    """What the Compare tab shows for an `lm.evaluation.evaluate` report: the summary table, the share of words
    suggested by letters typed, p(true word) along the text, and, for every pair of models, where they
    disagree most (HTML)."""
    from lm.evaluation.evaluate import summary_table

    models = report["models"]
    found = pd.DataFrame(
        [(int(k), share, name) for name in models for k, share in report[name]["found_within"].items()],
        columns=["letters typed", "share suggested", "model"],
    )
    along = pd.DataFrame(
        [(i, p["p"], name) for name in models for i, p in enumerate(report[name]["positions"])],
        columns=["word position", "p(true word)", "model"],
    )
    tables = [
        f"<p><b>{html.escape(one)} vs {html.escape(other)}</b></p>" + disagreements(report, text, one, other)
        for i, one in enumerate(models)
        for other in models[i + 1 :]
    ]
    return summary_table(report), found, along, "".join(tables)


def disagreements(report: dict, text: str, one: str, other: str) -> str:
    """Where models `one` and `other` disagree most about the word actually typed, as an HTML table:
    |log10(p other / p one)|, 1 when one gave the word ten times the other's probability."""
    from lm.evaluation.typing_simulation import word_spans

    spans = word_spans(text)
    gaps = []
    for i, (a, b) in enumerate(zip(report[one]["positions"], report[other]["positions"])):
        gap = math.log10(max(b["p"], 1e-300)) - math.log10(max(a["p"], 1e-300))
        before = text[max(0, spans[i].start - 40) : spans[i].start].replace("\n", " ")
        gaps.append(
            (
                round(abs(gap), 2),
                "…" + before,
                spans[i].word,
                f"{a['p']:.3g}",
                f"{b['p']:.3g}",
                ", ".join(cased(word, text[: spans[i].start], "") for word in a["top3"]),  # as the chips write them
                ", ".join(cased(word, text[: spans[i].start], "") for word in b["top3"]),
            )
        )
    worst = sorted(gaps, key=lambda row: -row[0])[:DISAGREEMENTS_SHOWN]
    return table_html(pd.DataFrame(worst, columns=disagreement_columns(one, other)))


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


def personal_effect_markdown(corpus, learner, z: str, top: int = 10) -> str:
    """The user's counts and their effect on the row of `z`: for the words most likely after `z` with
    them, c(z, x) of the corpus, of the user, and p(x | z) without and with them.

    Example:
        >>> from lm import BigramModel
        >>> from lm.counting.personal import Learner
        >>> me = Learner(weight=2)
        >>> _ = me.read("my dog.")
        >>> print(personal_effect_markdown(BigramModel.from_text("my cat.", device="cpu"), me, "my"))
        | x | c(my, x) corpus | yours | p(x \\| my) corpus | p(x \\| my) with yours (×2) |
        | --- | --- | --- | --- | --- |
        | dog | 0 | 1 | 0.0% | 66.7% |
        | cat | 1 | 0 | 100.0% | 33.3% |
    """
    if learner is None or learner.personal is None:
        return "Nothing learned yet: turn on *Learn from what I write* on the Keyboard tab and finish a sentence."
    mine, shown_z = learner.model_with(corpus), html.escape(z)
    shown = [x for x, _ in mine.next_token_distribution([z]).top(top)]
    lines = [
        f"| x | c({shown_z}, x) corpus | yours | p(x \\| {shown_z}) corpus "
        f"| p(x \\| {shown_z}) with yours (×{learner.weight}) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for x in shown:
        counts = f"{corpus.count(z, x):,} | {learner.personal.count(z, x):,}"
        p = f"{corpus.cond_prob(x=x, z=z):.1%} | {mine.cond_prob(x=x, z=z):.1%}"
        lines.append(f"| {html.escape(x)} | {counts} | {p} |")
    return "\n".join(lines)


def personal_pairs_markdown(learner, top: int = 15) -> str:
    """The user's most counted pairs (z, x, count) as a Markdown table ("" before any)."""
    if learner is None or learner.personal is None:
        return ""
    rows = [f"| {html.escape(z)} | {html.escape(x)} | {c} |" for z, x, c in learner.pairs()[:top]]  # <s> shown
    return "\n".join(
        [f"Your pairs ({learner.sentences} sentences):", "", "| z | x | count |", "| --- | --- | --- |", *rows]
    )
