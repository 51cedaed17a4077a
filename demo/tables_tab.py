"""The Tables (Bayes) tab: the joint table p(x, z) with its marginals, a picked z's row p(x | z), a
picked x's column flipped by Bayes, p(z | x), and the identity that ties them, in numbers."""

from __future__ import annotations

import functools

import gradio as gr

from demo import views
from demo.common import KEEP, Sessions, bars, safely, word_bars
from lm.core.checks import check_whole_number, check_word

BLOG_PAIRS = [("graduated", "job")] * 4 + [("not", "job")] * 3 + [("not", "no job")] * 2 + [("graduated", "no job")]
MARKERS = ("<s>", "</s>")
TABLE_SIZES = (4, 20)  # words in the joint table: the slider's range, which the API keeps to as well
CONDITIONAL_TITLE = "p(x | z): a row of the joint table, renormalised"
FLIPPED_TITLE = "p(z | x): Bayes' flip, which words come before x"


def _pick(words: list[str], preferred: str, fallback: int) -> str:
    return preferred if preferred in words else words[min(fallback, len(words) - 1)]


def _also(bigram, word: str) -> list[str]:
    """`word` as an extra choice when the corpus knows it."""
    return [word] if bigram.next_prob(word) > 0 else []


def table(sessions: Sessions, size, prev=None, next=None, token=None):
    """The joint table of the `size` most frequent words, with the picked z and x in it, and no message
    (the page's own counts added while it learns from its user)."""
    bigram = sessions.bigram(token)
    size = check_whole_number(size, "size", *TABLE_SIZES, "words in the table")
    prev, next = (None if word is None else check_word(word, name) for word, name in ((prev, "prev"), (next, "next")))
    shown = views.with_picked(bigram.joint_table(top=size), bigram, prev, next)
    return views.joint_table_html(shown, bigram, (prev, next)), ""


def slices(sessions: Sessions, prev, next, token=None):
    """p(x | z = prev) and p(z | x = next) as bars, the Bayes identity in numbers, and no message."""
    prev, next = check_word(prev, "prev"), check_word(next, "next")
    bigram = sessions.bigram(token)
    if bigram.next_prob(next) == 0:
        raise ValueError(
            f"x = {next!r} never comes second in the corpus, so p(z | x) = c(z, x) / c(x) "
            "is undefined (0 / 0); pick a word from the list"
        )
    return (
        bars(views.bar_frame(bigram.next_token_distribution([prev])), f"{CONDITIONAL_TITLE}, z = {prev}"),
        bars(views.bar_frame(bigram.prev_word_distribution(next)), f"{FLIPPED_TITLE} = {next}"),
        views.bayes_identity(bigram, prev, next).replace("\n", "  \n"),
        "",
    )


def yours(sessions: Sessions, prev, token=None):
    """The page's own counts and their effect on the row of z = `prev`, and no message."""
    learner = sessions.learners.get(token)
    corpus = sessions.corpus_keyboard.bigram
    effect = views.personal_effect_markdown(corpus, learner, check_word(prev, "prev"))
    return "\n\n".join(filter(None, [views.learned_note(learner), effect, views.personal_pairs_markdown(learner)])), ""


def build(demo: gr.Blocks, sessions: Sessions, session: gr.State) -> list[str]:
    """The tab's components and events; returns the words offered as z (the Sampling tab offers them too)."""
    bigram = sessions.corpus_keyboard.bigram
    gr.Markdown(
        "**A conditional is a fraction, and Bayes flips it.** First the blog's example (*From Bayes' Formula "
        "to Generative Models*): 10 people, graduated or not (z), with a job or not (x), computed by the same "
        "code as the corpus below."
    )
    blog_model = type(bigram).from_pairs(BLOG_PAIRS, device=bigram.device)
    gr.HTML(views.joint_table_html(blog_model.joint_table(), blog_model))
    gr.Markdown(views.bayes_identity(blog_model, "graduated", "job").replace("\n", "  \n"))
    gr.Markdown(
        "**The same tables, counted from the corpus**: p(x, z) of previous word z and next word x. "
        "Each sentence is read as `<s>` words `</s>`: `<s>` is the z of a sentence's first word, "
        "`</s>` the x after its last, so the table also counts how sentences start and end."
    )
    top_words = [w for w in bigram.joint_table(top=30).index if w not in MARKERS]
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
    return top_words
