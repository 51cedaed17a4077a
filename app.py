"""Next-word demo: load the models and serve the keyboard UI.

    python app.py [--models bigram,transformer] [--model ID|PATH] [--corpus PATH ...] [--device auto|cpu|cuda]
                  [--host 127.0.0.1] [--port 7860] [--allow-host NAME] [--share] [--private-pages]

Defaults: the bigram and the embedded SmolLM2-135M-Instruct, Shakespeare's plays, this machine only, no
share link. `--models` names any of the registry's models (`lm.registry`), e.g. bigram,trigram,transformer.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from lm.core.devices import DEVICE_CHOICES
from lm.registry import DEFAULT_MODELS, MODELS, LoadOptions, NamedModel, check_model_names
from lm.serving.keyboard import Keyboard
from lm.transformer.loading import DTYPES
from lm.transformer.prefetch import Prefetcher


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Next-word suggestions from counting models and a transformer.")
    parser.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help=f"the strips, comma-separated, from {', '.join(MODELS)} (default: {','.join(DEFAULT_MODELS)})",
    )
    parser.add_argument("--model", default=None, help="hub id, model folder or .gguf file (default: embedded SmolLM2)")
    parser.add_argument("--corpus", nargs="+", default=None, help="text files, folders or globs (default: Shakespeare)")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="where the models run")
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=("auto", *DTYPES),
        help="transformer weights' dtype (auto: the fastest on this machine for merged passes, one for every "
        "launch: bfloat16 on a GPU or a CPU with native bfloat16, else float32)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1 = this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also accept requests addressed to NAME (a proxy's name in front of the app); repeatable",
    )
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    parser.add_argument("--no-prefetch", action="store_true", help="do not warm caches between keystrokes")
    parser.add_argument(
        "--private-pages",
        action="store_true",
        help="keep each address's transformer cache apart (no page can time what another typed; slower for a class)",
    )
    return parser.parse_args(argv)


def step(what: str):
    """Print what is loading and, when done, how long it took."""

    class Step:
        def __enter__(self):
            self.start = time.perf_counter()
            print(f"loading {what}...", flush=True)

        def __exit__(self, *exc):
            if exc[0] is None:
                print(f"  done in {time.perf_counter() - self.start:.1f} s", flush=True)

    return Step()


def load(args: argparse.Namespace) -> Keyboard:
    """Each model of `--models`, built as the registry says, then the keyboard over them."""
    options = LoadOptions(corpus=args.corpus, model=args.model, device=args.device, dtype=args.dtype)
    corpus = " ".join(args.corpus) if args.corpus else "Shakespeare's plays"
    names = check_model_names(args.models)
    tables = [name for name in MODELS if MODELS[name].learns_from_its_user]
    if not set(tables) & set(names):
        raise ValueError(f"`--models` has to include {' or '.join(tables)}: the other tabs teach its table")
    lineup, prefetcher = [], None
    for name in names:
        kind = MODELS[name]
        source = (args.model or "embedded SmolLM2-135M-Instruct") if kind.runs_on_the_engine else corpus
        with step(f"the {name} ({source})"):
            model = kind.load(options)
            print(f"  {model}")
        if kind.runs_on_the_engine:
            model.pages_apart = args.private_pages
            if prefetcher is None and not args.no_prefetch:
                prefetcher = Prefetcher(model)
        lineup.append(NamedModel(name, kind.title, model))
    return Keyboard(lineup, prefetcher)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        keyboard = load(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from demo.ui import build_demo, launch  # imported late: gradio is slow to import

    launch(build_demo(keyboard), host=args.host, port=args.port, share=args.share, allowed_hosts=tuple(args.allow_host))
    return 0


if __name__ == "__main__":
    sys.exit(main())
