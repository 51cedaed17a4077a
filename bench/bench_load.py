"""Load benchmark: 50 concurrent gradio_client users x 20 keystrokes each, on loopback, with the real
models, beside a single user measured in the same run. Each keystroke asks for both strips, as the
page does; the report gives each strip's latency. A third run, the baseline, keeps only
`SMALL_CACHE` contexts cached, as the app did before its cache was sized for a class.

    python -m bench.bench_load [--users 50] [--requests 20]
"""

from __future__ import annotations

import argparse

from bench.common import write_report
from bench.load import free_port, run_users
from demo.ui import build_demo, launch
from lm import BigramModel, TransformerModel
from lm.keyboard import Keyboard
from lm.prefetch import Prefetcher

SMALL_CACHE = 6  # contexts kept by the baseline run (the earlier default: users evict each other's KV caches)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    transformer = TransformerModel.from_pretrained()
    keyboard = Keyboard(BigramModel.from_corpus(), transformer, Prefetcher(transformer))
    demo = build_demo(keyboard)
    port = free_port()
    launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        single = run_users(url, 1, args.requests)
        crowd = run_users(url, args.users, args.requests)
        transformer.states.max_contexts = SMALL_CACHE  # the baseline: the cache this app had before, same process
        small_cache = run_users(url, args.users, args.requests)
    finally:
        demo.close()
        keyboard.prefetcher.stop()
    for name in ("bigram", "transformer"):
        alone, together = single[name]["p50_ms"], crowd[name]["p50_ms"]
        crowd[name]["p50_vs_single_user"] = together / alone if alone and together else None
    crowd["transformer"]["answers_per_s_vs_small_cache"] = (
        crowd["transformer"]["answers_per_s"] / small_cache["transformer"]["answers_per_s"]
    )
    write_report(
        "load", {"single_user": single, "concurrent": crowd, f"concurrent_{SMALL_CACHE}_contexts_cached": small_cache}
    )


if __name__ == "__main__":
    main()
