"""Safe defaults, each with a test: localhost, no share link, no remote code, nothing unpickled,
caches written atomically and rebuilt when damaged."""

import inspect
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import app
from lm import BigramModel, TransformerModel
from lm.core import storage
from lm.transformer.loading import load_causal_lm

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*sorted((ROOT / "lm").rglob("*.py")), *sorted((ROOT / "demo").glob("*.py")), ROOT / "app.py"]


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
    source = (ROOT / "lm" / "transformer" / "loading.py").read_text(encoding="utf-8")
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


@pytest.mark.slow
def test_a_damaged_model_cache_is_converted_again(caplog):
    TransformerModel.from_pretrained(device="cpu", dtype="float32")  # makes sure the cache exists
    weights = next(storage.cache_dir().glob("SmolLM2-135M-Instruct-*/model.safetensors"))
    weights.write_bytes(b"garbage")
    tm = TransformerModel.from_pretrained(device="cpu", dtype="float32")
    assert "is damaged or incomplete" in caplog.text
    assert tm.next_word_distribution("The capital of France is").top(1)[0][0] == "Paris"
    assert weights.stat().st_size > 100_000_000


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage", [b"\xff\xff\xc0\x7f" * (1 << 18), bytes(range(256)) * (1 << 12)], ids=["NaN", "bytes"]
)
def test_damage_of_the_same_size_in_the_converted_weights_is_detected(damage, caplog):
    """1 MB overwritten in the middle (NaN, other bytes): the file loads without an error, and answers nothing."""
    TransformerModel.from_pretrained(device="cpu", dtype="float32")
    weights = next(storage.cache_dir().glob("SmolLM2-135M-Instruct-*/model.safetensors"))
    size = weights.stat().st_size
    with open(weights, "r+b") as file:
        file.seek(size // 2)
        file.write(damage)
    assert weights.stat().st_size == size
    tm = TransformerModel.from_pretrained(device="cpu", dtype="float32")
    assert "is damaged or incomplete" in caplog.text
    assert tm.next_word_distribution("The capital of France is").top(1)[0][0] == "Paris"


def test_a_cache_setting_that_names_a_file_stops_the_start_at_once_with_one_line(tmp_path, monkeypatch, capsys):
    not_a_folder = tmp_path / "cache.txt"
    not_a_folder.write_text("a file")
    monkeypatch.setenv(storage.CACHE_ENV, str(not_a_folder))
    assert app.main([]) == 2
    assert capsys.readouterr().err == (
        f"error: {storage.CACHE_ENV}={str(not_a_folder)!r} is a file, not a folder: point it at a folder, or unset it\n"
    )


def test_a_folder_where_the_bigram_cache_goes_does_not_stop_the_start(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(storage.CACHE_ENV, str(tmp_path / "cache"))
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("The cat sat. The dog ran.", encoding="utf-8")
    BigramModel.from_corpus([str(corpus)], device="cpu")  # writes the cache file
    (cache_file,) = (tmp_path / "cache").glob("bigram-*.npz")
    cache_file.unlink()
    cache_file.mkdir()  # a folder in its place
    (cache_file / "someone's.txt").write_text("kept")
    model = BigramModel.from_corpus([str(corpus)], device="cpu")
    assert model.next_word_distribution("the").top(1)[0][0] in {"cat", "dog"}
    assert "rebuilding the bigram cache" in caplog.text and "could not write the bigram cache" in caplog.text
    assert (cache_file / "someone's.txt").read_text() == "kept"  # nobody's files are deleted


def finished_process_id() -> int:
    """The id of a process that has ended (nothing runs under it now)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


@pytest.mark.slow
def test_a_start_removes_what_a_killed_start_left_half_written(caplog):
    tokenizer, model, device = load_causal_lm(device="cpu", dtype="float32")  # the converted copy exists
    (folder,) = [p for p in storage.cache_dir().glob("SmolLM2-135M-Instruct-*") if p.is_dir()]
    killed = folder.parent / f".{folder.name}.{finished_process_id()}.x1"  # a conversion killed halfway
    running = folder.parent / f".{folder.name}.{os.getpid()}.x2"  # one under way in a live process
    legacy = folder.parent / f".{folder.name}.abcd1234"  # an older version's name, hours old
    for staging in (killed, running, legacy):
        staging.mkdir()
        (staging / "model.safetensors").write_bytes(b"\0" * 1000)
    fresh = storage.staging_folder(folder)  # what a conversion writes in: named by its process
    assert fresh.name.startswith(f".{folder.name}.{os.getpid()}.")
    fresh.rmdir()
    hours_ago = time.time() - 2 * storage.ABANDONED_AFTER_S
    os.utime(legacy, (hours_ago, hours_ago))
    try:
        load_causal_lm(device="cpu", dtype="float32")
        assert not killed.exists() and not legacy.exists() and running.exists()
        assert f"removed {killed}" in caplog.text
    finally:
        for staging in (killed, running, legacy):
            shutil.rmtree(staging, ignore_errors=True)


def test_a_bigram_write_killed_halfway_is_cleaned_up_at_the_next_start(tmp_path, monkeypatch):
    monkeypatch.setenv(storage.CACHE_ENV, str(tmp_path))
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("The cat sat.", encoding="utf-8")
    BigramModel.from_corpus([str(corpus)], device="cpu")
    (cache_file,) = tmp_path.glob("bigram-*.npz")
    leftover = tmp_path / f".{cache_file.name}.{finished_process_id()}.k9.tmp"
    leftover.write_bytes(b"half a file")
    BigramModel.from_corpus([str(corpus)], device="cpu")
    assert not leftover.exists()
