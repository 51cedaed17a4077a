"""Keep every cache the tests and doctests write out of the user's home."""

import os

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
