"""The Tables (Bayes) tab: the joint table p(x, z) with its marginals, a picked z's row p(x | z), a
picked x's column flipped by Bayes, p(z | x), and the identity that ties them, in numbers."""

from __future__ import annotations

import functools
import html
import math

import gradio as gr
import numpy as np
import pandas as pd

from demo import views
from demo.common import KEEP, Page, Sessions, bars, safely, side_by_side, word_bars
from lm.core.checks import check_whole_number, check_word, shown
from lm.core.tokenize import WORD_RE, normalise
from lm.registry import MODELS

BLOG_PAIRS = [("graduated", "job")] * 4 + [("not", "job")] * 3 + [("not", "no job")] * 2 + [("graduated", "no job")]
MARKERS = ("<s>", "</s>")
TABLE_SIZES = (4, 20)  # words in the joint table: the slider's range, which the API keeps to as well
CONDITIONAL_TITLE = "p(x | z): a row of the joint table, renormalised"
FLIPPED_TITLE = "p(z | x): Bayes' flip, which words come before x"
LONGER_Z = "my good"  # the longer condition shown when the page opens
MAX_Z_CHARS = 200  # characters of a typed longer condition at most


# ---- a longer z: the trigram's slice beside the bigram's row -------------------------------------


def row_sparsity(model) -> tuple[int, float, float]:
    """(rows seen, mean number of different words after a row's z, share of rows followed by one word only)
    of a counting model's table (`counts`, one CSR row per condition).

    Example:
        >>> from lm import BigramModel
        >>> row_sparsity(BigramModel.from_text("a b. a c. b c.", device="cpu"))  # <s>: a, b; a: b, c; b: ., c; c: .
        (4, 1.75, 0.25)
    """
    sizes = np.diff(model.counts.indptr)
    sizes = sizes[sizes > 0]
    return len(sizes), float(sizes.mean()), float((sizes == 1).mean())


def sharper_but_sparser(longer, shorter, condition: tuple[str, ...]) -> str:
    """Why a longer z gives sharper but sparser rows, in this corpus's numbers."""
    rows, mean, single = row_sparsity(longer)
    short_rows, short_mean, short_single = row_sparsity(shorter)
    z = " ".join(condition)
    seen = longer.next_token_distribution(list(condition))
    return (
        f"**One word more of z: sharper rows, but sparser.** The bigram's table has {short_rows:,} rows, "
        f"{short_mean:.1f} different next words each on average ({short_single:.0%} followed by one word only); "
        f"with two words of z there are {rows:,} rows of {mean:.1f} words each ({single:.0%} followed by one "
        f"word only). A row of two words is sharper (it knows more), but most were seen once or never: "
        + (
            f"{shown(z)} was never seen, so the row is the bigram's. "
            if seen.note
            else f"{shown(z)} was seen {longer.total_of(condition):,} times. "
        )
        + "Counting cannot say anything about a z it never saw; a model that *learns* (the Learned table "
        "tab, then the transformer) shares what it learned between similar contexts."
    )


def longer_slice(sessions: Sessions, name: str, words, token=None):
    """Model `name`'s row for the last words of `words` and the bigram's row for the last one, as bars, the
    sentence on sharper but sparser rows, and no message."""
    if not isinstance(words, str):
        raise ValueError(f"`words` has to be a string, but is {shown(words)}")
    if len(words) > MAX_Z_CHARS:
        raise ValueError(f"`words` has to be at most {MAX_Z_CHARS} characters, but has {len(words):,}")
    if not WORD_RE.search(normalise(words)):
        raise ValueError(f"`words` has to hold a word, but is {shown(words)}")
    longer, shorter = sessions.corpus_keyboard.models[name], sessions.own_counts(None)
    condition = longer.condition(words)
    row = longer.next_token_distribution(list(condition))
    backed_off = " (never seen: the bigram's row of the last word)" if row.note else ""
    titles = (
        f"{sessions.corpus_keyboard.titles[name]}, z = {' '.join(condition)}{backed_off}",
        f"{CONDITIONAL_TITLE}, z = {condition[-1]}",
    )
    frames = (views.bar_frame(row), views.bar_frame(shorter.next_token_distribution([condition[-1]])))
    return (*side_by_side(frames, titles), sharper_but_sparser(longer, shorter, condition), "")


def build_longer_condition(page: Page, name: str) -> None:
    """The section showing model `name`'s slice (its z is several words) beside the bigram's row."""
    sessions = page.sessions
    title = sessions.corpus_keyboard.titles[name]
    gr.Markdown(f"**A longer z: {title}.** The same counting, with the last {MODELS[name].condition_words} words as z.")
    with gr.Row():
        words = gr.Textbox(LONGER_Z, label="z: the last words (type any)", elem_id=f"{name}-z", scale=3)
        show = gr.Button("Show the rows", elem_id=f"{name}-show", scale=1)
    with gr.Row(elem_classes="chart-row"):
        longer = word_bars(title, f"{name}-slice-chart")
        shorter = word_bars(CONDITIONAL_TITLE, f"{name}-bigram-chart")
    why = gr.Markdown(elem_id=f"{name}-why")
    message = gr.Markdown(elem_id=f"{name}-message-tables")
    handler = safely(KEEP, KEEP, KEEP)(functools.partial(longer_slice, sessions, name))
    outputs = [longer, shorter, why, message]
    show.click(handler, [words], outputs, api_name=f"{name}_slice", preprocess=False)
    words.submit(handler, [words], outputs, api_visibility="private", preprocess=False)
    page.blocks.load(handler, [words], outputs, api_visibility="private", preprocess=False)


def _pick(words: list[str], preferred: str, fallback: int) -> str:
    return preferred if preferred in words else words[min(fallback, len(words) - 1)]


def _also(bigram, word: str) -> list[str]:
    """`word` as an extra choice when the corpus knows it."""
    return [word] if bigram.next_prob(word) > 0 else []


# ---- views: plain functions of the models' numbers (no Gradio) -----------------------------------


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


def table(sessions: Sessions, size, prev=None, next=None, token=None):
    """The joint table of the `size` most frequent words, with the picked z and x in it, and no message
    (the page's own counts added while it learns from its user)."""
    bigram = sessions.own_counts(token)
    size = check_whole_number(size, "size", *TABLE_SIZES, "words in the table")
    prev, next = (None if word is None else check_word(word, name) for word, name in ((prev, "prev"), (next, "next")))
    shown = with_picked(bigram.joint_table(top=size), bigram, prev, next)
    return joint_table_html(shown, bigram, (prev, next)), ""


def slices(sessions: Sessions, prev, next, token=None):
    """p(x | z = prev) and p(z | x = next) as bars, the Bayes identity in numbers, and no message."""
    prev, next = check_word(prev, "prev"), check_word(next, "next")
    bigram = sessions.own_counts(token)
    if bigram.next_prob(next) == 0:
        raise ValueError(
            f"x = {next!r} never comes second in the corpus, so p(z | x) = c(z, x) / c(x) "
            "is undefined (0 / 0); pick a word from the list"
        )
    return (
        bars(views.bar_frame(bigram.next_token_distribution([prev])), f"{CONDITIONAL_TITLE}, z = {prev}"),
        bars(views.bar_frame(bigram.prev_word_distribution(next)), f"{FLIPPED_TITLE} = {next}"),
        bayes_identity(bigram, prev, next).replace("\n", "  \n"),
        "",
    )


def yours(sessions: Sessions, prev, token=None):
    """The page's own counts and their effect on the row of z = `prev`, and no message."""
    learner = sessions.learners.get(token)
    corpus = sessions.own_counts(None)
    effect = personal_effect_markdown(corpus, learner, check_word(prev, "prev"))
    return "\n\n".join(filter(None, [views.learned_note(learner), effect, personal_pairs_markdown(learner)])), ""


def z_words(bigram) -> list[str]:
    """The words offered as z (in this tab, the Sampling and the Learned table tabs): the most frequent
    previous words of the corpus, without the sentence markers.

    Example:
        >>> from lm import BigramModel
        >>> z_words(BigramModel.from_text("the cat sat. the cat ran. the dog ran.", device="cpu"))[:2]
        ['the', 'cat']
    """
    return [w for w in bigram.joint_table(top=30).index if w not in MARKERS]


def build(page: Page) -> None:
    """The tab's components and events: the blog's example, the corpus's tables, a longer z's slice."""
    demo, sessions, session = page.blocks, page.sessions, page.shared.session
    bigram = sessions.own_counts(None)
    gr.Markdown(
        "**A conditional is a fraction, and Bayes flips it.** First the blog's example (*From Bayes' Formula "
        "to Generative Models*): 10 people, graduated or not (z), with a job or not (x), computed by the same "
        "code as the corpus below."
    )
    blog_model = type(bigram).from_pairs(BLOG_PAIRS, device=bigram.device)
    gr.HTML(joint_table_html(blog_model.joint_table(), blog_model))
    gr.Markdown(bayes_identity(blog_model, "graduated", "job").replace("\n", "  \n"))
    gr.Markdown(
        "**The same tables, counted from the corpus**: p(x, z) of previous word z and next word x. "
        "Each sentence is read as `<s>` words `</s>`: `<s>` is the z of a sentence's first word, "
        "`</s>` the x after its last, so the table also counts how sentences start and end."
    )
    top_words = page.z_words
    x_words = top_words + _also(bigram, "lord")
    first = (_pick(top_words, "my", 0), _pick(x_words, "lord", 1))  # the picked z and x when the page opens
    size = gr.Slider(*TABLE_SIZES, value=10, step=1, label="Words in the table")
    joint = gr.HTML(table(sessions, 10, *first)[0])
    with gr.Row():
        prev_pick = gr.Dropdown(top_words, value=first[0], label="Pick z (previous word)", elem_id="pick-z")
        next_pick = gr.Dropdown(
            x_words, value=first[1], label="Pick x (next word)", allow_custom_value=True, elem_id="pick-x"
        )
    identity = gr.Markdown(elem_id="bayes-identity")
    with gr.Row(elem_classes="chart-row"):
        conditional = word_bars(CONDITIONAL_TITLE, "conditional-chart")
        flipped = word_bars(FLIPPED_TITLE, "flipped-chart")
    with gr.Accordion("What you wrote: your counts and their effect on the row of z", open=False, elem_id="yours"):
        refresh = gr.Button("Show the tables with what I wrote", size="sm", elem_id="refresh-yours")
        your_counts = gr.Markdown(elem_id="your-counts")
    tables_message = gr.Markdown(elem_id="tables-message")

    table_safely = safely(KEEP)(functools.partial(table, sessions))
    table_inputs, table_outputs = [size, prev_pick, next_pick, session], [joint, tables_message]
    size.change(table_safely, table_inputs, table_outputs, api_name="joint_table", preprocess=False)
    slices_safely = safely(KEEP, KEEP, KEEP)(functools.partial(slices, sessions))
    pick_inputs, pick_outputs = [prev_pick, next_pick, session], [conditional, flipped, identity, tables_message]
    yours_safely = safely(KEEP)(functools.partial(yours, sessions))
    yours_inputs, yours_outputs = [prev_pick, session], [your_counts, tables_message]
    for pick in (prev_pick, next_pick):
        pick.change(table_safely, table_inputs, table_outputs, api_visibility="private", preprocess=False)
        pick.change(slices_safely, pick_inputs, pick_outputs, api_visibility="private", preprocess=False)
    prev_pick.change(yours_safely, yours_inputs, yours_outputs, api_visibility="private", preprocess=False)
    demo.load(slices_safely, pick_inputs, pick_outputs, api_name="slices", preprocess=False)
    refresh.click(table_safely, table_inputs, table_outputs, api_visibility="private", preprocess=False)
    refresh.click(slices_safely, pick_inputs, pick_outputs, api_visibility="private", preprocess=False)
    refresh.click(yours_safely, yours_inputs, yours_outputs, api_name="your_counts", preprocess=False)
    keyboard = sessions.corpus_keyboard
    for name in keyboard.names:
        if (MODELS[name].condition_words or 0) > 1:
            build_longer_condition(page, name)
