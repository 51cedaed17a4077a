"""Keep every cache the tests and doctests write out of the user's home."""

import os
import re

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cache")
    previous = os.environ.get("NEXTWORD_CACHE")
    os.environ["NEXTWORD_CACHE"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("NEXTWORD_CACHE", None)
    else:
        os.environ["NEXTWORD_CACHE"] = previous


@pytest.fixture(scope="session")
def smollm(private_cache):
    """The embedded SmolLM2, loaded once for every doctest that reads it, its engine closed at the end."""
    from lm import TransformerModel

    model = TransformerModel.from_pretrained(device="cpu", dtype="float32")
    yield model
    model.close()


@pytest.fixture(autouse=True)
def doctests_share_smollm(request, doctest_namespace):
    """A doctest that reads `tm` without building it gets the shared `smollm` (18 loads became one)."""
    examples = getattr(getattr(request.node, "dtest", None), "examples", [])
    sources = [example.source for example in examples]
    if any(re.search(r"\btm\b", source) for source in sources) and not any("tm = " in s for s in sources):
        doctest_namespace["tm"] = request.getfixturevalue("smollm")


# ---- tiers: `make test` runs everything; `make test-fast` leaves out what is marked slow here -------------

SLOW_FIXTURES = {  # a real browser, the real SmolLM2, a served app on the real models, a GPU, a long training
    "browser",
    "page",
    "app_url",
    "smollm",
    "models",
    "slow_app",
    "counting_app",
    "on_gpu",
    "shakespeare_fit",
}
READS_SMOLLM = re.compile(r"from_pretrained|load_causal_lm|\btm\b")


def pytest_collection_modifyitems(items):
    """Mark slow every test that needs a slow fixture, and every doctest that reads SmolLM2."""
    for item in items:
        sources = [example.source for example in getattr(getattr(item, "dtest", None), "examples", [])]
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or any(map(READS_SMOLLM.search, sources)):
            item.add_marker(pytest.mark.slow)
