"""The README's Python API examples are executed, so they never rot."""

import doctest
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.slow
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

    from demo import common, compare_tab, keyboard_tab, keystroke, sampling_tab, serving, ui, views
    from lm.core import checks, generation
    from lm.counting import personal
    from lm.serving import keyboard
    from lm.transformer import context_states
    from lm.transformer import model as transformer

    modules = [
        keyboard,
        generation,
        views,
        sampling_tab,
        common,
        keyboard_tab,
        keystroke,
        compare_tab,
        context_states,
        serving,
        checks,
        personal,
        ui,
        transformer,
    ]
    named = re.findall(r"`([A-Z][A-Z_]+)` = ([\d,]+)( GiB| MiB)?", README.read_text(encoding="utf-8"))
    assert len(named) >= 12
    for name, number, unit in named:
        value = int(number.replace(",", "")) * {" GiB": 1 << 30, " MiB": 1 << 20, "": 1}[unit]
        actual = next(getattr(module, name) for module in modules if hasattr(module, name))
        assert actual == value, f"README says {name} = {number}{unit}, the code {actual}"
