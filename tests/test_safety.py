"""Safe defaults, each with a test: localhost, no share link, no remote code, nothing unpickled,
caches written atomically and rebuilt when damaged."""

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import app
from lm import BigramModel, TransformerModel, storage

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*sorted((ROOT / "lm").glob("*.py")), *sorted((ROOT / "demo").glob("*.py")), ROOT / "app.py"]


def test_app_binds_to_localhost_without_a_share_link_by_default():
    args = app.parse_args([])
    assert args.host == "127.0.0.1" and args.share is False
    from demo.ui import launch

    defaults = inspect.signature(launch).parameters
    assert defaults["host"].default == "127.0.0.1" and defaults["share"].default is False


@pytest.mark.parametrize(
    "pattern",
    [
        r"trust_remote_code\s*=\s*True",
        r"allow_pickle\s*=\s*True",
        r"import pickle",
        r"torch\.load\(",
        r"weights_only\s*=\s*False",
    ],
)
def test_no_unsafe_loading_anywhere_in_the_code(pattern):
    offenders = [str(path) for path in SOURCES if re.search(pattern, path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_every_transformers_load_refuses_remote_code():
    source = (ROOT / "lm" / "loading.py").read_text(encoding="utf-8")
    loads = re.findall(r"Auto\w+\.from_pretrained\([^)]*\)", source, flags=re.DOTALL)
    assert len(loads) == 3 and all("trust_remote_code=False" in call for call in loads)


def test_a_crash_mid_write_leaves_no_half_written_file(tmp_path, monkeypatch):
    model = BigramModel.from_text("the cat sat.", device="cpu")
    target = model.save(tmp_path / "model.npz")
    before = target.read_bytes()

    def crash(file, **arrays):
        file.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        model.save(target)
    assert target.read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # and no temporary file is left


def test_a_damaged_model_cache_is_converted_again(caplog):
    TransformerModel.from_pretrained(device="cpu", dtype="float32")  # makes sure the cache exists
    weights = next(storage.cache_dir().glob("SmolLM2-135M-Instruct-*/model.safetensors"))
    weights.write_bytes(b"garbage")
    tm = TransformerModel.from_pretrained(device="cpu", dtype="float32")
    assert "converting it again" in caplog.text
    assert tm.next_word_distribution("The capital of France is").top(1)[0][0] == "Paris"
    assert weights.stat().st_size > 100_000_000
