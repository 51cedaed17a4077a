"""Files on disk: the cache folder, content keys, and atomic, pickle-free array files."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

CACHE_ENV = "NEXTWORD_CACHE"  # set it to put the caches somewhere else
ABANDONED_AFTER_S = 3600  # a staging file or folder with no process id in its name is abandoned after an hour


def cache_dir() -> Path:
    """Where built models are cached: ``$NEXTWORD_CACHE``, else ``$XDG_CACHE_HOME/nextword-demo``.
    ``ValueError`` if ``$NEXTWORD_CACHE`` names a file (said at once, not after a model's conversion).

    Example:
        >>> cache_dir().name in ("nextword-demo", Path(os.environ.get(CACHE_ENV, "x")).name)
        True
    """
    if os.environ.get(CACHE_ENV):
        folder = Path(os.environ[CACHE_ENV])
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{CACHE_ENV}={str(folder)!r} is a file, not a folder: point it at a folder, or unset it")
        return folder
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nextword-demo"


def file_digest(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, in hex (read in blocks: a 500 MB file takes about a second).

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile() as file:
        ...     _ = file.write(b"abc"); file.flush()
        ...     file_digest(file.name)[:16]
        'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(1 << 24):
            digest.update(block)
    return digest.hexdigest()


def content_key(parts: Iterable[str]) -> str:
    """A short hex digest of some strings, in order: equal content gives an equal key.

    Example:
        >>> content_key(["a", "b"]) == content_key(["a", "b"]) != content_key(["ab"])
        True
    """
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:24]


def write_atomically(path: str | os.PathLike, write: Callable) -> Path:
    """Call ``write(file)`` on a temporary file beside `path`, then rename it to `path`.

    A crash mid-write leaves the old file (or none), never a half-written one.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "x.bin"
        >>> write_atomically(target, lambda f: f.write(b"ok")).read_bytes()
        b'ok'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=_staging_prefix(path), suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def staging_folder(target: Path) -> Path:
    """A new empty folder beside `target` to write it in, then rename it to `target` (all or nothing).
    Its name carries this process's id, so a later start can tell an abandoned one (`remove_abandoned`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=target.parent, prefix=_staging_prefix(target)))


def remove_abandoned(target: Path) -> list[Path]:
    """Remove what a killed process left half-written beside `target` (its temporary files and staging
    folders: `write_atomically`, `staging_folder`), and return what was removed. Work under way in a
    live process is left alone (its id is in the name); a name without an id (an older version's) is
    removed once it is `ABANDONED_AFTER_S` old.

    Example:
        >>> folder = Path(tempfile.mkdtemp())
        >>> (folder / ".model.npz.999999999.x.tmp").write_bytes(b"half")  # no process has that id
        4
        >>> [path.name for path in remove_abandoned(folder / "model.npz")]
        ['.model.npz.999999999.x.tmp']
    """
    removed = []
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*"):
        owner = leftover.name[len(target.name) + 2 :].split(".")[0]
        if _running(int(owner)) if owner.isdigit() else time.time() - leftover.stat().st_mtime < ABANDONED_AFTER_S:
            continue
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


def _staging_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}."


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process (or an id past what the system has): leave its files alone
    return True


def save_arrays(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """Save named numeric arrays to an ``.npz`` file atomically (no pickled objects)."""
    return write_atomically(path, lambda file: np.savez(file, **arrays))


def load_arrays(path: str | os.PathLike, names: Iterable[str]) -> dict[str, np.ndarray]:
    """Load the named arrays from an ``.npz`` file without unpickling anything.

    Raises ``ValueError`` naming the file when it is corrupt or lacks one of `names`.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in names}
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{str(path)!r} is not a valid model file ({type(error).__name__}: {error})") from None


def encode_strings(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as (UTF-8 bytes, end offsets): plain numeric arrays that any string survives.

    Example:
        >>> decode_strings(*encode_strings(["a", "", "héllo"]))
        ['a', '', 'héllo']
    """
    encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
    ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), ends


def decode_strings(data: np.ndarray, ends: np.ndarray) -> list[str]:
    """The inverse of `encode_strings`."""
    blob = data.tobytes()
    starts = np.concatenate(([0], ends[:-1])).tolist()
    return [blob[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, ends.tolist())]
