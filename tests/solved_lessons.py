"""Lessons with the reference answers filled in: how the course tests its own exercises.

Each exercise cell of a lesson is marked in its metadata (``{"exercise": "04.name"}``)
and ships a stub. ``solved(nb)`` puts the reference answer's source in every such cell
and appends one cell asserting that every checker of the lesson passed. The root
``conftest.py`` writes these copies under ``build/solved/`` and lets nbval run them beside
the lessons as shipped, so CI runs every lesson twice: with stubs (each checker says "not
attempted" and the lesson still runs) and solved (each checker says "correct").
"""

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLVED_DIR = ROOT / "build" / "solved"


def exercise_ids(nb):
    """The ids of a notebook's exercise cells, in order."""
    return [c.metadata["exercise"] for c in nb.cells if "exercise" in c.get("metadata", {})]


def solved(nb):
    """A copy of ``nb`` whose exercise cells hold the reference answers (None: no exercise)."""
    from node_edu.checks.base import solution_source

    ids = exercise_ids(nb)
    if not ids:
        return None
    nb = nbformat.from_dict(nb)  # a deep copy
    for cell in nb.cells:
        if "exercise" in cell.get("metadata", {}):
            cell.source = solution_source(cell.metadata["exercise"])
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import node_edu.checks  # every exercise above was checked and passed\n"
            f"node_edu.checks.assert_all_passed({ids!r})"
        )
    )
    return nb


def write_solved(lesson_path):
    """Write the solved copy of one lesson under build/solved/; its path, or None."""
    nb = solved(nbformat.read(lesson_path, as_version=4))
    if nb is None:
        return None
    SOLVED_DIR.mkdir(parents=True, exist_ok=True)
    target = SOLVED_DIR / Path(lesson_path).name
    text = nbformat.writes(nb)
    if not target.exists() or target.read_text() != text:
        # Written whole and renamed: pytest-xdist workers collect at the same time.
        tmp = target.with_suffix(f".{id(nb)}.tmp")
        tmp.write_text(text)
        tmp.replace(target)
    return target
