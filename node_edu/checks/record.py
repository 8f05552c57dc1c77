"""The student's own record: the last result of every exercise they checked.

Each checker call writes its result to a small JSON file, ``.node_edu_progress.json`` in
the kernel's working directory (JupyterLab starts a notebook's kernel in the notebook's
folder, so the record sits in the student's workspace beside the lessons). The environment
variable ``NODE_EDU_RECORD`` names another file; set to an empty string, it turns the
record off. ``ne.checks.progress()`` shows every exercise of the course with its last
result::

    {"04.running_cost": {"status": "not yet", "message": "a minus sign ...",
                         "time": "2026-12-02T14:05:09"}, ...}

The record is a convenience, never a reason for a check to fail: a missing, unreadable or
corrupt file reads as an empty record, and a file that cannot be written (a read-only
folder, a full disk) is simply not written.
"""

import contextlib
import json
import os
import time
from pathlib import Path

FILE_NAME = ".node_edu_progress.json"
ENV = "NODE_EDU_RECORD"
STATUSES = ("correct", "not yet", "not attempted")
RETIRED = "no longer in the course: this copy of the lesson is older than the course"


def status(result):
    """A CheckResult as one of STATUSES."""
    if result.ok:
        return "correct"
    return "not yet" if result.attempted else "not attempted"


def path():
    """Where the record is kept: ``$NODE_EDU_RECORD``, else the working directory's
    ``.node_edu_progress.json``; None when ``NODE_EDU_RECORD`` is set but empty."""
    where = os.environ.get(ENV)
    if where is not None:
        return Path(where) if where else None
    return Path.cwd() / FILE_NAME


def load(where=None):
    """The record as {exercise id: {"status", "message", "time"}}; {} when there is none
    or it cannot be read."""
    where = path() if where is None else Path(where)
    try:
        record = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, AttributeError):
        return {}
    if not isinstance(record, dict):
        return {}
    return {
        k: v
        for k, v in record.items()
        if isinstance(v, dict) and v.get("status") in STATUSES and isinstance(v.get("message"), str)
    }


def save(exercise_id, result, where=None):
    """Record ``result`` (a CheckResult) for ``exercise_id``; never raises."""
    tmp = None
    try:
        where = path() if where is None else Path(where)
        if where is None:
            return
        with _locked(where.parent):
            record = load(where)
            record[exercise_id] = {
                "status": status(result),
                "message": str(result.message),
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
            # Written whole, then renamed: a reader never sees half a file.
            tmp = where.with_name(f".{where.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, where)
    except Exception:  # a record that cannot be kept must not fail the student's check
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(folder):
    """Hold an exclusive lock on ``folder`` (two lessons open at once both write the
    record); where locks are unavailable, go ahead without one."""
    try:
        import fcntl

        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class Progress(list):
    """Rows (lesson, exercise id, status, message, time), one per exercise of the course;
    a notebook shows them as a table."""

    def _repr_markdown_(self):
        done = sum(row[2] == "correct" for row in self)
        lines = [
            f"**{done} of {len(self)} exercises correct.**",
            "",
            "| lesson | exercise | status | last message |",
            "|---|---|---|---|",
        ]
        for lesson, exercise_id, state, message, _ in self:
            text = message.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {lesson} | `{exercise_id}` | {state} | {text} |")
        return "\n".join(lines)

    def __str__(self):
        done = sum(row[2] == "correct" for row in self)
        width = max((len(row[1]) for row in self), default=0)
        lines = [f"{done} of {len(self)} exercises correct."]
        for _, exercise_id, state, message, _ in self:
            lines.append(f"{exercise_id:<{width}}  {state:<13}  {message}".rstrip())
        return "\n".join(lines)

    __repr__ = __str__


def course(folder=None):
    """[(lesson, exercise id)] of the lesson notebooks in ``folder`` (the working
    directory: the student's lessons), in lesson and cell order; the lesson is the
    notebook's name without ``.ipynb``. A notebook that cannot be read is skipped."""
    folder = Path.cwd() if folder is None else Path(folder)
    found = []
    try:
        notebooks = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    except OSError:
        return found
    for notebook in notebooks:
        try:
            cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
            ids = [c.get("metadata", {}).get("exercise") for c in cells]
        except (OSError, ValueError, AttributeError, TypeError):
            continue
        found += [(notebook.stem, i) for i in ids if isinstance(i, str) and i]
    return found


def progress(where=None, folder=None):
    """Every exercise of the course with this student's last result (from the record).

    The course is what the lesson notebooks beside the student's (``folder``, the working
    directory) hold, in order; where there are none, every exercise this version of
    node_edu checks. Exercises never checked are "not attempted" with an empty message;
    one the notebook holds but node_edu no longer checks (a copy of a lesson older than
    the course) says so. Returns a ``Progress`` (a list of rows (lesson, exercise id,
    status, message, time)) that a notebook shows as a table.
    """
    from node_edu.checks.base import EXERCISES

    record = load(where)
    exercises = course(folder) or [(i.split(".", 1)[0], i) for i in sorted(EXERCISES)]
    rows = Progress()
    for lesson, exercise_id in exercises:
        entry = record.get(exercise_id, {})
        message = entry.get("message", "")
        if exercise_id not in EXERCISES:
            message = RETIRED
        row = (lesson, exercise_id, entry.get("status", "not attempted"), message)
        rows.append((*row, entry.get("time", "")))
    return rows
