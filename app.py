"""Next-word demo entry point: load the models and show their suggestions.

    python app.py [--corpus PATH ...] [--context TEXT]

Until the keyboard UI lands this prints the bigram model's suggestions for a sample context, then
reads contexts from the terminal (one per line) when it is interactive.
"""

from __future__ import annotations

import argparse
import sys

from lm import BigramModel

SAMPLE_CONTEXT = "I hope you're having a"


def format_suggestions(model: BigramModel, context: str, k: int = 5) -> str:
    """One line: the context, then the k most likely next words with p(x | z)."""
    distribution = model.next_word_distribution(context)
    chips = "  ".join(f"{word} ({p:.3f})" for word, p in distribution.top(k))
    note = f"  [{distribution.note}]" if distribution.note else ""
    return f"{context!r} -> {chips}{note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Next-word suggestions from a bigram model.")
    parser.add_argument("--corpus", nargs="+", help="text files, folders or globs (default: Shakespeare)")
    parser.add_argument("--context", default=SAMPLE_CONTEXT, help="the text to suggest a next word for")
    args = parser.parse_args(argv)
    try:
        model = BigramModel.from_corpus(args.corpus)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"bigram model: {model}")
    print(format_suggestions(model, args.context))
    if sys.stdin.isatty():
        print("type a context and press Enter (Ctrl-D to quit)")
        for line in sys.stdin:
            print(format_suggestions(model, line.rstrip("\n")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
