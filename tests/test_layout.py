"""The house's floors: `lm/` packages by role, imports one way, checked by import-linter's contract."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("core", "counting", "transformer", "serving", "evaluation", "teaching")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS)], cwd=tree, capture_output=True, text=True)


def tree_copy(tmp_path: Path) -> Path:
    for part in ("lm", "demo", "tests", "bench", ".importlinter"):
        source = ROOT / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / part)
    return tmp_path


def test_the_contract_is_kept():
    checked = lint_imports(ROOT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "4 kept, 0 broken" in checked.stdout


WRONG_IMPORTS = [  # (module, a line it must not hold, what the contract then says)
    ("lm/counting/bigram.py", "import lm.transformer.engine", "lm.counting.bigram -> lm.transformer.engine"),
    ("lm/core/distribution.py", "import lm.counting.bigram", "lm.core is not allowed to import lm.counting"),
    ("lm/counting/corpus.py", "import transformers", "lm.counting is not allowed to import transformers"),
    ("lm/transformer/engine.py", "import lm.serving.keyboard", "lm.transformer.engine -> lm.serving.keyboard"),
    ("lm/serving/keyboard.py", "import demo.views", "lm.serving is not allowed to import demo"),
    ("tests/tiny_lm.py", "import bench.common", "tests is not allowed to import bench"),
]


def test_the_contract_catches_every_import_against_the_floors(tmp_path):
    """Each wrong import, added to a copy of the tree, is named by the contract (one run of lint-imports for
    all of them; on the tree as it is, `test_the_contract_is_kept`)."""
    tree = tree_copy(tmp_path)
    for module, line, _ in WRONG_IMPORTS:
        with open(tree / module, "a", encoding="utf-8") as source:
            source.write(f"\n{line}  # noqa\n")
    checked = lint_imports(tree)
    assert checked.returncode != 0
    for module, line, broken in WRONG_IMPORTS:
        assert broken in checked.stdout, f"{module}: {line!r} was not caught"


def test_every_package_says_what_it_owns():
    import importlib

    for name in PACKAGES:
        package = importlib.import_module(f"lm.{name}")
        assert package.__doc__ and len(package.__doc__.split()) >= 15, f"lm.{name} says too little of what it owns"
    assert sorted(p.name for p in (ROOT / "lm").iterdir() if (p / "__init__.py").exists()) == sorted(PACKAGES)
    assert sorted(p.name for p in (ROOT / "lm").glob("*.py")) == ["__init__.py", "registry.py"]  # one floor each


def test_the_counting_side_imports_no_transformer_engine_or_ui():
    """`import lm.counting.bigram` loads no transformers, engine or Gradio: the counting side stands alone."""
    heavy = ("transformers", "lm.transformer.engine", "lm.transformer.model", "lm.serving.keyboard", "gradio")
    probe = f"import sys, lm.counting.bigram; print([m for m in {heavy!r} if m in sys.modules])"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "[]\n"
