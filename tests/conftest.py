"""Shared fixtures: models built once per test session."""

import functools
import os
from contextlib import contextmanager

import pytest

from lm import BigramModel
from lm.registry import lineup
from tests.many_pages import free_port


@pytest.fixture(scope="session")
def shakespeare():
    """The bigram model of the default corpus (37 plays)."""
    return BigramModel.from_corpus(device="cpu")


@pytest.fixture(scope="session")
def seed_model():
    """The seed's worked example: joint p(job, graduated) = 0.4, p(job, not) = 0.3,
    p(no job, not) = 0.2, p(no job, graduated) = 0.1, as 10 (z, x) pairs."""
    pairs = [("graduated", "job")] * 4 + [("not", "job")] * 3 + [("not", "no job")] * 2 + [("graduated", "no job")] * 1
    return BigramModel.from_pairs(pairs, device="cpu")


@pytest.fixture(scope="session")
def tiny_keyboard(tmp_path_factory):
    """A keyboard of tiny models: a test GPT-2 and a few-sentence bigram."""
    from lm import TransformerModel
    from lm.serving.keyboard import Keyboard
    from tests.tiny_lm import save_tiny_model

    transformer = TransformerModel.from_pretrained(save_tiny_model(tmp_path_factory.mktemp("tiny-app")), device="cpu")
    return Keyboard(
        lineup(
            bigram=BigramModel.from_text("the cat sat. the dog ran. a cat ran!", device="cpu"), transformer=transformer
        )
    )


@functools.cache
def http():
    """One HTTP client for the tests' requests: `httpx.post` makes a client per request, whose SSL context
    alone takes ~45 ms here (measured), more than the app takes to answer."""
    import httpx

    return httpx.Client(timeout=120)


def call(url: str, api: str, data: list) -> str:
    """A `/gradio_api/call` request and its event stream, as text (every output, buttons included)."""
    started = http().post(f"{url}gradio_api/call/{api}", json={"data": data})
    assert started.status_code == 200, started.text[:200]
    return http().get(f"{url}gradio_api/call/{api}/{started.json()['event_id']}").text


@contextmanager
def served(keyboard):
    """The whole app for `keyboard`, served on loopback while the block runs; its URL."""
    from demo.ui import build_demo, launch

    demo = build_demo(keyboard)
    port = free_port()
    launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="session")
def tiny_app(tiny_keyboard):
    """The whole app served on loopback with the tiny keyboard."""
    with served(tiny_keyboard) as url:
        yield url


@pytest.fixture
def own_app(tiny_keyboard):
    """An app of its own (its own learners and queue), for a test that fills what every test shares."""
    with served(tiny_keyboard) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (skips where there is none, except in CI, where that is a failure)."""
    from tests.browser import CHROMIUM, CHROMIUM_ARGS, browser_missing

    if browser_missing():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver); CI installs it")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"CI=true but no Chromium at {CHROMIUM}: .ci/run should have installed it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
