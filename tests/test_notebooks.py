"""Lessons are committed clean and follow the notebook conventions (docs/architecture.md,
"The lesson layer"; the check cells have tests/test_check_cells.py).

nbval runs the lessons themselves (pytest collects lessons/*.ipynb); these tests check
what nbval does not: stored outputs, execution counts and widget state, and the shape
every lesson shares (title, goals, prerequisites, time; summary and pointer onwards).
"""

import re
from pathlib import Path

import nbformat
import pytest

LESSONS = sorted((Path(__file__).parent.parent / "lessons").glob("*.ipynb"))


def stored_state(nb):
    """What a notebook carries that must not be committed: a list of readable problems."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {i} has {len(cell.outputs)} stored outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {i} has execution_count {cell.execution_count}")
    if "widgets" in nb.metadata:
        problems.append("metadata.widgets holds widget state")
    return problems


def test_there_are_lessons():
    assert any(p.name.startswith("00_") for p in LESSONS), LESSONS


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_is_committed_clean(path):
    problems = stored_state(nbformat.read(path, as_version=4))
    assert not problems, f"{path.name}: {problems}; run `make strip`"


def test_clean_check_catches_a_notebook_that_was_run():
    """The check above can fail: a run notebook with outputs and widget state is caught."""
    nb = nbformat.read(LESSONS[0], as_version=4)
    assert stored_state(nb) == []
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.execution_count = 3
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    problems = stored_state(nb)
    assert len(problems) == 3, problems


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_follows_the_conventions(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    first, last = nb.cells[0], nb.cells[-1]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "title first"
    for words in ("You will be able to", "Prerequisites", "Estimated time"):
        assert words in first.source, f"{path.name}: opening cell lacks {words!r}"
    assert last.cell_type == "markdown" and "Summary" in last.source, "summary last"
    if path != LESSONS[-1]:
        assert "Next" in last.source, f"{path.name}: no pointer to the next lesson"
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import node_edu as ne" in sources
    assert "assert " in sources, f"{path.name} checks nothing"
    assert ".cuda()" not in sources, "use ne.info.default_device(), never .cuda()"


# What a student's install has (pyproject's runtime dependencies, by import name): a
# lesson or library module importing anything else (scipy, hypothesis: test-only
# extras) would fail on Binder and on a plain `pip install node_edu`.
RUNTIME_IMPORTS = {
    "node_edu", "torch", "numpy", "sympy", "mpmath", "plotly", "anywidget", "ipywidgets",
    "IPython", "tqdm", "sklearn", "traitlets", "torchdiffeq",
    "_plotly_utils",  # installed by plotly itself (node_edu.viz reads its optional imports)
}  # fmt: skip


def imported_modules(source):
    """Top-level names of the modules a piece of Python source imports."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def foreign(names):
    import sys

    return sorted(n for n in names if n not in RUNTIME_IMPORTS | set(sys.stdlib_module_names))


def test_import_check_catches_a_test_only_package():
    assert foreign(imported_modules("import hypothesis\nfrom scipy import linalg")) == [
        "hypothesis",
        "scipy",
    ]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_imports_only_what_a_student_has(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
    assert foreign(imported_modules(code)) == []


def test_library_imports_only_its_runtime_dependencies():
    root = Path(__file__).parent.parent / "node_edu"
    for path in root.rglob("*.py"):
        assert foreign(imported_modules(path.read_text())) == [], path


def _map_numbers(text):
    """The lesson numbers (``00``, ``06b``) that start the rows of the markdown tables in
    ``text``, as written: ``| 06b when ...`` or ``| [06b when ...](...)``."""
    return set(re.findall(r"^\| \[?(\d\d[a-z]?) ", text, flags=re.M))


def test_every_lesson_is_on_both_maps():
    numbers = {path.name.split("_")[0] for path in LESSONS}
    welcome = nbformat.read(LESSONS[0], as_version=4)
    lesson_map = "\n".join(c.source for c in welcome.cells if c.cell_type == "markdown")
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert _map_numbers(lesson_map) == numbers, "lesson 00's map"
    assert _map_numbers(readme) == numbers, "README's table of lessons"


def test_map_check_reads_both_row_styles():
    table = "| lesson | what |\n|---|---|\n| 06b when | x |\n| [10 digits](l/10.ipynb) | y |\n"
    assert _map_numbers(table) == {"06b", "10"}
