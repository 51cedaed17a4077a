"""Rows per keystroke, by kind: the forward-pass work one typist's transformer strip costs (issue 20's
"measure first" for fewer rows per keystroke).

Two scripted typists write a paragraph into a `Keyboard` in this process (no page, no prefetcher: only
the work each keystroke's own answer needs), letter by letter, mistyping a letter then deleting it now
and then: one takes a chip as soon as the word it is typing is in the transformer's strip (a click), the
other types every letter. Every pass
the model's engine runs is counted, so each keystroke gets its passes, rows and new tokens, grouped by
what the key was (`kind_of_key`).

    python -m bench.bench_rows [--dtype auto] [--name rows_per_keystroke]
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.bench_browser import PARAGRAPH
from bench.common import write_report
from lm import BigramModel, TransformerModel
from lm.core.tokenize import split_partial_word
from lm.registry import lineup
from lm.serving.keyboard import Keyboard

KINDS = ("first letter of a word", "letter inside a word", "space or punctuation", "deletion", "click")
MISTYPE_EVERY = 7  # words between two mistyped (then deleted) letters


def kind_of_key(before: str, after: str) -> str:
    """What a keystroke did, from the text before and after it.

    Example:
        >>> [kind_of_key("I ho", "I hop"), kind_of_key("I ", "I h"), kind_of_key("I", "I "),
        ...  kind_of_key("I hop", "I ho"), kind_of_key("I ho", "I hope ")]
        ['letter inside a word', 'first letter of a word', 'space or punctuation', 'deletion', 'click']
    """
    if len(after) < len(before):
        return "deletion"
    if len(after) - len(before) > 1:
        return "click"
    typed = after[-1]
    if not typed.isalnum() and typed != "'":
        return "space or punctuation"
    return "letter inside a word" if before[-1:].isalnum() or before[-1:] == "'" else "first letter of a word"


def keystrokes(keyboard: Keyboard, paragraph: str, clicking: bool = True):
    """The typist's texts, one a key (see the module docstring): yields (text before, text after)."""
    text, words = "", 0
    for token in paragraph.split(" "):
        word = token.rstrip(".,!?")
        typed = ""
        while typed != word:
            if words % MISTYPE_EVERY == MISTYPE_EVERY - 1 and len(typed) == 1:  # a wrong letter, then deleted
                yield text, text + "q"
                yield text + "q", text
            chips = [chip["word"] for chip in keyboard.suggest(text, models=("transformer",))["transformer"]]
            if clicking and typed and word in chips:  # the word is in the strip: click it (it adds the space)
                context, _ = split_partial_word(text)
                yield text, context + word + " "
                text, typed = context + word + " ", word
                break
            yield text, text + word[len(typed)]
            text, typed = text + word[len(typed)], word[: len(typed) + 1]
        else:
            yield text, text + " "
            text += " "
        for mark in token[len(word) :]:  # punctuation after the word replaces the space, as the page does
            yield text, text.rstrip(" ") + mark + " "
            text = text.rstrip(" ") + mark + " "
        words += 1


def measure(tm: TransformerModel, keyboard: Keyboard, paragraph: str, clicking: bool) -> dict:
    """Passes, rows and tokens per keystroke, by kind, for one typist writing `paragraph`."""
    passes: list[list[int]] = []  # per pass: the rows' token counts
    forward = tm.engine.runner.forward
    tm.engine.runner.forward = lambda rows: passes.append([len(row.tokens) for row in rows]) or forward(rows)
    by_kind: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    try:
        for before, after in keystrokes(keyboard, paragraph, clicking):
            first, started = len(passes), time.perf_counter()
            keyboard.suggest(after, models=("transformer",))
            mine = passes[first:]
            by_kind[kind_of_key(before, after)].append(
                {
                    "passes": len(mine),
                    "rows": sum(len(rows) for rows in mine),
                    "tokens": sum(sum(rows) for rows in mine),
                    "ms": (time.perf_counter() - started) * 1e3,
                }
            )
    finally:
        tm.engine.runner.forward = forward
    every = [key for keys in by_kind.values() for key in keys]
    return {"all keys": _summary(every), **{kind: _summary(keys) for kind, keys in by_kind.items() if keys}}


def _summary(keys: list[dict]) -> dict:
    return {
        "keys": len(keys),
        "rows_per_key": round(statistics.mean(key["rows"] for key in keys), 2),
        "passes_per_key": round(statistics.mean(key["passes"] for key in keys), 2),
        "tokens_per_key": round(statistics.mean(key["tokens"] for key in keys), 2),
        "keys_with_no_pass": round(sum(key["passes"] == 0 for key in keys) / len(keys), 3),
        "p50_ms": round(statistics.median(key["ms"] for key in keys), 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--name", default="rows_per_keystroke", help="the report's name in bench/results/")
    args = parser.parse_args(argv)
    report = {"paragraph": PARAGRAPH}
    for typist, clicking in (("clicks a chip once its word shows", True), ("types every letter", False)):
        tm = TransformerModel.from_pretrained(device=args.device, dtype=args.dtype)  # each with empty caches
        keyboard = Keyboard(
            lineup(bigram=BigramModel.from_text("the.", device=tm.device), transformer=tm)
        )  # the transformer strip alone
        report["model"], report[typist] = repr(tm), measure(tm, keyboard, PARAGRAPH, clicking)
        tm.close()
    write_report(args.name, report)


if __name__ == "__main__":
    main()
