"""The README's Python API examples are executed, so they never rot."""

import doctest
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_examples_run():
    results = doctest.testfile(
        str(README), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert results.attempted > 10
    assert results.failed == 0


def test_readme_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```bash", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in first_block.strip().splitlines()] == ["make demo", "make test"]


def test_the_limits_the_readme_names_are_the_code_s():
    import re

    from demo import common, compare_tab, keyboard_tab, views
    from lm import context_states, generation, keyboard

    modules = [keyboard, generation, views, common, keyboard_tab, compare_tab, context_states]
    named = re.findall(r"`([A-Z][A-Z_]+)` = ([\d,]+)( GiB)?", README.read_text(encoding="utf-8"))
    assert len(named) >= 9
    for name, number, gib in named:
        value = int(number.replace(",", "")) * (1 << 30 if gib else 1)
        actual = next(getattr(module, name) for module in modules if hasattr(module, name))
        assert actual == value, f"README says {name} = {number}{gib}, the code {actual}"
