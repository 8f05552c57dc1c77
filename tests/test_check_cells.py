"""Teaching cells and check cells apart (docs/architecture.md, "Notebooks").

A teaching cell asserts nothing; every assert lives in a check cell: tagged ``check``,
collapsed in JupyterLab (``metadata.jupyter.source_hidden``), printing one line that starts
with ``checked:``. The static book hides check cells behind a toggle by the same tag."""

import ast
from pathlib import Path

import nbformat
import pytest

LESSONS = sorted((Path(__file__).parent.parent / "lessons").glob("*.ipynb"))


def _python(source):
    """A cell's source without IPython's magics and shell lines, parsed."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


def _prints_checked(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print" and node.args:
            first = node.args[0]
            if isinstance(first, ast.JoinedStr) and first.values:
                first = first.values[0]
            if isinstance(first, ast.Constant) and str(first.value).startswith("checked:"):
                return True
    return False


def convention_problems(nb):
    """Every breach of the check-cell convention in ``nb``, as readable strings."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tree = _python(cell.source)
        asserts = sum(isinstance(node, ast.Assert) for node in ast.walk(tree))
        tagged = "check" in cell.metadata.get("tags", [])
        if asserts and not tagged:
            problems.append(f"cell {i}: a teaching cell holds {asserts} assert(s)")
        if tagged:
            if not cell.metadata.get("jupyter", {}).get("source_hidden"):
                problems.append(f"cell {i}: a check cell that is not collapsed")
            if not asserts:
                problems.append(f"cell {i}: a check cell that asserts nothing")
            if not _prints_checked(tree):
                problems.append(f"cell {i}: a check cell that prints no 'checked: ...' line")
    return problems


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_every_assert_is_in_a_check_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert convention_problems(nb) == []
    assert any("check" in c.metadata.get("tags", []) for c in nb.cells), "no check cell"


def test_the_convention_check_catches_each_breach():
    nb = nbformat.v4.new_notebook()
    hidden = {"tags": ["check"], "jupyter": {"source_hidden": True}}
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1\nassert x == 1"),  # an assert in a teaching cell
        nbformat.v4.new_code_cell("assert True", metadata={"tags": ["check"]}),  # not collapsed
        nbformat.v4.new_code_cell("print('checked: nothing')", metadata=hidden),  # no assert
        nbformat.v4.new_code_cell("assert 1\nprint('ok')", metadata=hidden),  # no checked line
        nbformat.v4.new_code_cell("assert 1\nprint(f'checked: {1}')", metadata=hidden),  # fine
        nbformat.v4.new_code_cell("%time x = 2", metadata={}),  # a magic, no assert: fine
    ]
    assert convention_problems(nb) == [
        "cell 0: a teaching cell holds 1 assert(s)",
        "cell 1: a check cell that is not collapsed",
        "cell 1: a check cell that prints no 'checked: ...' line",
        "cell 2: a check cell that asserts nothing",
        "cell 3: a check cell that prints no 'checked: ...' line",
    ]
