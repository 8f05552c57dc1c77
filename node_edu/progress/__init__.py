"""The teacher's progress report: every student's exercises, checked again from their notebooks.

::

    python -m node_edu.progress PATH... [--csv FILE]

Each PATH is a student's workspace (a folder of lesson notebooks, named after the
student, or a ``workspace`` folder inside one) or a folder of students (see
``workspaces.py``). For every exercise cell (a code cell whose metadata has
``"exercise": "NN.name"``) the report gives one row ``student, lesson, exercise, status,
message``, the status one of

- ``correct``, ``not yet`` (with the checker's own message), ``not attempted`` (the stub);
- ``error``: the notebook could not be read or run, and the message says why.

Only what each exercise needs runs: the lesson's import statements, the exercise cell and
the exercise's checker (``exercise.py``). Student code is untrusted: run as root, the
report runs it as an unprivileged user (``nobody`` unless ``--user`` names another) in a
fresh folder holding a copy of the notebook, one process per notebook, with limits on
time per exercise and per notebook and on memory (``sandbox.py``). Run as anyone else it
refuses, unless given ``--trust`` (a student checking their own work in their own server,
where the code runs with the student's rights anyway).

The code and the checker share one process, so a student who writes code to fool the
checker can: this is a view of progress, not an exam's proctor.
"""

import os
from dataclasses import dataclass

from . import sandbox, workspaces
from .sandbox import STATUSES, Limits

__all__ = ["COLUMNS", "REFUSAL", "STATUSES", "Limits", "Row", "report"]

COLUMNS = ("student", "lesson", "exercise", "status", "message")

REFUSAL = (
    "the report runs students' code, which is not to be trusted: run it as root, and it "
    "runs that code as an unprivileged user; or pass --trust to run it as yourself (in a "
    "student's own server, on their own work)"
)


@dataclass(frozen=True)
class Row:
    """One exercise of one student (exercise "" for a notebook that could not be read)."""

    student: str
    lesson: str
    exercise: str
    status: str
    message: str


def report(
    paths, *, student=None, user="nobody", trust=False, limits=None, workers=None, on_done=None
):
    """Every Row for the workspaces under ``paths``, in order: student, then notebook,
    then exercise. ``on_done(done, total)`` follows the notebooks as they finish.

    PermissionError when the report may not run students' code (see REFUSAL); ValueError
    for a PATH that is not a folder or a ``user`` that is not an unprivileged account.
    """
    if not hasattr(os, "fork"):
        raise RuntimeError("the progress report needs a POSIX system (Linux or macOS)")
    if os.geteuid() == 0:
        account = sandbox.unprivileged(user)
    elif trust:
        account = None
    else:
        raise PermissionError(REFUSAL)
    limits = limits or Limits()
    rows, jobs = {}, []
    for name, notebooks in workspaces.find(paths, student):
        for path, lesson in zip(notebooks, workspaces.lesson_names(notebooks), strict=True):
            key = (name, lesson)
            try:
                notebook = workspaces.read(path)
            except workspaces.NotebookError as err:
                rows[key] = [Row(name, lesson, "", "error", f"{path.name}: {err}")]
                continue
            if notebook.exercises:
                rows[key] = None  # filled in below, in this order
                positions = list(range(len(notebook.exercises)))
                jobs.append(sandbox.Job(key, notebook, positions, limits.notebook))
    sandbox.preload(job.notebook.imports for job in jobs)
    finished = []

    def done(key):
        finished.append(key)
        if on_done is not None:
            on_done(len(finished), len(jobs))

    results = sandbox.run(jobs, limits, account, workers or os.cpu_count() or 1, done)
    for job in jobs:
        name, lesson = job.key
        rows[job.key] = [
            Row(name, lesson, ex.id, *results[job.key][i])
            for i, ex in enumerate(job.notebook.exercises)
        ]
    return [row for group in rows.values() for row in group]
