"""The student's workspace: `make lab` serves a copy that keeps the student's work.

A saved notebook survives the next sync, new lessons appear, a reset keeps the student's
version as a backup, and nothing in a workspace reaches the course's lint or tests.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from node_edu import workspace

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def course(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    for name in ("00_welcome.ipynb", "04_the_adjoint_method.ipynb"):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name}")])
        nbformat.write(nb, lessons / name)
    return lessons, tmp_path / "workspace"


def student_saves(path, text):
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(text))
    nbformat.write(nb, path)


def test_first_sync_copies_every_lesson(course):
    lessons, ws = course
    assert workspace.sync(lessons, ws) == ["00_welcome.ipynb", "04_the_adjoint_method.ipynb"]
    assert (ws / "04_the_adjoint_method.ipynb").read_text() == (
        lessons / "04_the_adjoint_method.ipynb"
    ).read_text()


def test_saved_work_survives_sync_and_new_lessons_appear(course):
    lessons, ws = course
    workspace.sync(lessons, ws)
    student_saves(ws / "04_the_adjoint_method.ipynb", "my_answer = 42")
    shutil.copy(lessons / "00_welcome.ipynb", lessons / "08_new_lesson.ipynb")
    assert workspace.sync(lessons, ws) == ["08_new_lesson.ipynb"]
    assert "my_answer = 42" in (ws / "04_the_adjoint_method.ipynb").read_text()
    assert workspace.sync(lessons, ws) == []


def test_reset_restores_the_lesson_and_keeps_the_students_copy(course):
    lessons, ws = course
    workspace.sync(lessons, ws)
    student_saves(ws / "04_the_adjoint_method.ipynb", "my_answer = 42")
    restored, backup = workspace.reset("04", lessons, ws, now=0)
    assert restored.read_text() == (lessons / "04_the_adjoint_method.ipynb").read_text()
    assert backup.parent == ws / "backups" and "my_answer = 42" in backup.read_text()
    _, second = workspace.reset("4", lessons, ws, now=0)  # same second: both kept
    assert second != backup and backup.exists() and second.exists()
    _, none = workspace.reset("00_welcome.ipynb", lessons, ws / "fresh")
    assert none is None  # nothing to keep in a new workspace


@pytest.mark.parametrize("bad", ["99", "adjoint", ""])
def test_reset_of_an_unknown_lesson_is_a_clear_error(course, bad):
    lessons, ws = course
    with pytest.raises(ValueError, match="lesson must be a lesson number or file name"):
        workspace.reset(bad, lessons, ws)


def test_missing_lessons_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="lessons must be a folder"):
        workspace.sync(tmp_path / "nope", tmp_path / "ws")


def test_command_line(course):
    lessons, ws = course
    run = [sys.executable, "-m", "node_edu.tools.workspace"]
    args = ["--lessons", str(lessons), "--workspace", str(ws)]
    out = subprocess.run([*run, "sync", *args], capture_output=True, text=True, check=True)
    assert "added 00_welcome.ipynb" in out.stdout
    out = subprocess.run([*run, "reset", "04", *args], capture_output=True, text=True)
    assert out.returncode == 0 and "your version is kept as" in out.stdout
    out = subprocess.run([*run, "reset", "77", *args], capture_output=True, text=True)
    assert out.returncode == 2 and "lesson must be" in out.stderr


def test_a_saved_workspace_reaches_neither_lint_nor_tests(tmp_path):
    """A run, saved notebook with a lint error in workspace/ leaves `make test` green."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "workspace").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os\nassert False")])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="saved output")]
    nbformat.write(nb, tmp_path / "workspace" / "04_the_adjoint_method.ipynb")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ok.py").write_text("def test_ok():\n    pass\n")
    ruff = Path(sys.executable).parent / "ruff"
    lint = subprocess.run([ruff, "check", "."], cwd=tmp_path, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "--collect-only", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert "test_ok.py::test_ok" in tests.stdout and "workspace" not in tests.stdout
