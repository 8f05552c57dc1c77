"""Finding the students and their lesson notebooks, and reading what each exercise needs.

A PATH given to the report is either one student's workspace (a folder with notebooks in
it; the student is named after the folder, or after its parent when the folder is called
``workspace``), or a folder of students: each folder in it is one student, named after
that folder, whose notebooks are found below it (``alice/workspace/``, or
``alice/node_edu/lessons/`` where nbgitpuller pulled the course into a home folder).

The notebooks are read by the report itself, which may run as root, so reading is
careful: only regular files (no symbolic links, pipes or devices), at most ``MAX_BYTES``,
and a file that is not a notebook becomes an error to report, never an exception.
"""

import ast
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 20_000_000  # a lesson with its outputs is a few MB
SKIPPED = {"backups", ".ipynb_checkpoints", "node_modules", "__pycache__"}
DEPTH = 3  # how deep below a student's folder notebooks are looked for


class NotebookError(Exception):
    """The file cannot be read as a notebook; the message says why."""


@dataclass(frozen=True)
class Exercise:
    """One exercise cell: its id (``"04.augmented_dynamics"``) and its source."""

    id: str
    source: str


@dataclass(frozen=True)
class Notebook:
    """What the report needs from one notebook: its bytes (for the copy the student's code
    runs beside), the lesson's import statements, and its exercise cells, in order."""

    data: bytes
    imports: str
    exercises: tuple


def find(paths, student=None):
    """[(student name, [notebook paths])] for the PATHs given, in a stable order.

    ``student`` renames a single workspace (the name of a student's own hub account, say).
    """
    found = []
    for given in paths:
        folder = Path(given)
        if not folder.is_dir():
            raise ValueError(f"PATH must be a folder of notebooks or of students, got {given!r}")
        own = _notebooks_in(folder)
        if own:
            found.append((student or workspace_name(folder), own))
            continue
        for child in _subfolders(folder):
            notebooks = _notebooks_below(child, DEPTH)
            if notebooks:
                found.append((workspace_name(child), notebooks))
    if student is not None and len(found) != 1:
        raise ValueError(f"--student names one workspace, but {len(found)} were found")
    return found


def workspace_name(folder):
    """A workspace's student: the folder's name, or its parent's for ``workspace``."""
    folder = Path(os.path.abspath(folder))
    return folder.parent.name if folder.name == "workspace" else folder.name


def lesson_names(notebooks):
    """A label per notebook: its file name without .ipynb, or, where two of a student's
    notebooks share a name, the path from their common folder."""
    stems = [p.stem for p in notebooks]
    if len(set(stems)) == len(stems):
        return stems
    base = Path(os.path.commonpath([p.parent for p in notebooks]))
    return [str(p.relative_to(base).with_suffix("")) for p in notebooks]


def read(path):
    """The Notebook at ``path``; NotebookError (with the reason) if it is not one."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except OSError as err:
        raise NotebookError(f"cannot be read ({err.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise NotebookError("a symbolic link: the report reads only regular files")
    if not stat.S_ISREG(info.st_mode):
        raise NotebookError("not a regular file")
    if info.st_size > MAX_BYTES:
        raise NotebookError(f"{info.st_size} bytes, more than a notebook's {MAX_BYTES}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_BYTES + 1)
        nb = json.loads(data.decode("utf-8"))
    except OSError as err:
        raise NotebookError(f"cannot be read ({err.strerror})") from None
    except (UnicodeDecodeError, ValueError) as err:
        raise NotebookError(f"not a notebook (not JSON: {err})") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise NotebookError("not a notebook (no list of cells)")
    code = [c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
    exercises, imports = [], []
    for cell in code:
        source = _source(cell)
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        exercise_id = metadata.get("exercise")
        if isinstance(exercise_id, str):
            exercises.append(Exercise(exercise_id, source))
        else:
            imports += [i for i in _imports(source) if i not in imports]
    return Notebook(data, "\n".join(imports), tuple(exercises))


def _source(cell):
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _imports(source):
    """The top-level import statements of a cell (its IPython magics left out)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return []
    return [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]


def _visible(path):
    return not path.name.startswith(".") and path.name not in SKIPPED


def _subfolders(folder):
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [p for p in entries if _visible(p) and p.is_dir() and not p.is_symlink()]


def _notebooks_in(folder):
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.suffix == ".ipynb" and _visible(p) and not p.is_dir()]


def _notebooks_below(folder, depth):
    found = _notebooks_in(folder)
    if depth > 0:
        for child in _subfolders(folder):
            found += _notebooks_below(child, depth - 1)
    return found
