"""`lm.counting.corpus`: the packaged plays, stripped right, and the user's own corpora."""

import re

import pytest

from lm.counting import corpus
from tests.test_tokenize import words

PLAYS = corpus.play_files()


def spoken_lines_naively(markdown):
    """An independent, cruder reading: drop every line that starts with markup characters."""
    return "\n".join(line for line in markdown.split("\n") if line.strip() and line.lstrip()[0] not in "#*_")


@pytest.mark.parametrize("name", sorted(PLAYS))
def test_every_play_keeps_most_of_its_words(name):
    markdown = corpus.read_text_file(PLAYS[name])
    kept = len(words(corpus.strip_play_markdown(markdown)))
    naive = len(words(spoken_lines_naively(markdown)))
    assert 0.95 * naive <= kept <= naive


@pytest.mark.parametrize("name", sorted(PLAYS))
def test_no_markup_survives(name):
    text = corpus.strip_play_markdown(corpus.read_text_file(PLAYS[name]))
    for leftover in (r"\*\*", r"^#", r"_Enter", r"_Exit", r"\[Aside", r"^\s*_", r"\\"):
        assert not re.search(leftover, text, re.MULTILINE), leftover


def test_stripping_a_worked_example():
    markdown = (
        "# ACT I\n\n### SCENE I. Elsinore.\n  \n_FRANCISCO at his post. Enter to him\nBERNARDO_\n\n"
        "**BERNARDO**  \nWho's there?  \n\n**FRANCISCO**  \n[Aside]_ Nay, answer me:  \n__[Reads]_\n"
        "stand, and unfold yourself.  \n\n_Burthen _[dispersedly, within_\n\nBow-wow.  "
    )
    assert words(corpus.strip_play_markdown(markdown)) == [
        "who's",
        "there",
        "nay",
        "answer",
        "me",
        "stand",
        "and",
        "unfold",
        "yourself",
        "bow",
        "wow",
    ]


def test_a_direction_never_swallows_text_after_a_blank_line():
    # an unclosed direction: the speech after the blank line must survive
    markdown = "_Enter KING, unclosed\n\n**KING**  \nMy lords, good morrow.  "
    assert words(corpus.strip_play_markdown(markdown))[-4:] == ["my", "lords", "good", "morrow"]


def test_default_corpus_holds_out_one_play():
    files = corpus.default_corpus_files()
    assert len(files) == len(PLAYS) - 1 == 37
    assert corpus.held_out_file() not in files


def test_user_file_folder_and_glob(tmp_path):
    (tmp_path / "a.txt").write_text("Hello there. General Kenobi.", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("You are a bold one.", encoding="utf-8")
    (tmp_path / "sub" / "ignored.bin").write_bytes(b"\0\1")
    assert [d.text for d in corpus.read_documents(tmp_path / "a.txt")] == ["Hello there. General Kenobi."]
    assert len(corpus.read_documents([tmp_path])) == 2  # recursive, text files only
    assert len(corpus.read_documents([str(tmp_path / "**" / "*.md")])) == 1


def test_missing_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.txt"):
        corpus.read_documents([tmp_path / "nowhere.txt"])


def test_glob_matching_nothing_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="matches no files"):
        corpus.read_documents([str(tmp_path / "*.txt")])


def test_folder_without_text_files_is_named(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\0")
    with pytest.raises(ValueError, match="no text files"):
        corpus.read_documents([tmp_path])


def test_binary_file_is_named(tmp_path):
    path = tmp_path / "weights.txt"
    path.write_bytes(b"PK\x03\x04\0\0binary")
    with pytest.raises(ValueError, match="weights.txt.*binary"):
        corpus.read_documents([path])


def test_non_utf8_file_is_named(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café au lait".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.txt.*UTF-8"):
        corpus.read_documents([path])


def test_empty_corpus_is_refused(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("   \n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        corpus.read_documents([path])
