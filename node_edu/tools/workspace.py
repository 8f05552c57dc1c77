"""The student's workspace: a copy of the lessons that is theirs to edit and save.

``lessons/`` is the course as shipped; ``make test`` and CI run it, and ``git pull``
updates it. ``make lab`` serves the workspace instead (``workspace/`` by default, ignored
by git), so what a student writes and saves never touches the course's files::

    python -m node_edu.tools.workspace sync        # add lessons that are new (make lab does it)
    python -m node_edu.tools.workspace reset 04    # back to the pristine lesson 04
    python -m node_edu.tools.workspace sync --lessons lessons --workspace ~/my-course

``sync`` copies every lesson the workspace lacks and never overwrites a file that is
there. ``reset`` first moves the student's copy to ``backups/`` inside the workspace,
time-stamped, then copies the pristine lesson back.
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

BACKUPS = "backups"


def sync(lessons="lessons", workspace="workspace"):
    """Copy each lesson that ``workspace`` lacks; return the names copied (sorted)."""
    lessons, workspace = _lessons_dir(lessons), Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    added = []
    for lesson in sorted(lessons.glob("*.ipynb")):
        target = workspace / lesson.name
        if not target.exists():
            shutil.copy2(lesson, target)
            added.append(lesson.name)
    return added


def reset(lesson, lessons="lessons", workspace="workspace", now=None):
    """Restore one lesson (its number "04", or its file name) to the pristine copy.

    The student's version, if any, is moved to ``workspace/backups/`` under a name with
    the time, e.g. ``04_the_adjoint_method.2026-12-02T14-05-09.ipynb``. Returns
    ``(restored path, backup path or None)``.
    """
    lessons, workspace = _lessons_dir(lessons), Path(workspace)
    source = _find_lesson(lessons, lesson)
    target = workspace / source.name
    backup = None
    if target.exists():
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.localtime(now))
        (workspace / BACKUPS).mkdir(parents=True, exist_ok=True)
        backup = workspace / BACKUPS / f"{source.stem}.{stamp}{source.suffix}"
        n = 1
        while backup.exists():  # two resets within a second keep both copies
            n += 1
            backup = workspace / BACKUPS / f"{source.stem}.{stamp}-{n}{source.suffix}"
        target.replace(backup)
    workspace.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return target, backup


def _lessons_dir(lessons):
    lessons = Path(lessons)
    if not lessons.is_dir():
        raise ValueError(f"lessons must be a folder of lessons, got {str(lessons)!r}")
    return lessons


def _find_lesson(lessons, lesson):
    names = sorted(p.name for p in lessons.glob("*.ipynb"))
    key = str(lesson)
    number = key.zfill(2) if key.isdigit() else None
    matches = [n for n in names if n == key or n.split("_", 1)[0] == number]
    if len(matches) != 1:
        raise ValueError(
            f"lesson must be a lesson number or file name, one of {names}; got {key!r}"
        )
    return lessons / matches[0]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m node_edu.tools.workspace", description=__doc__)
    parser.add_argument("command", choices=["sync", "reset"])
    parser.add_argument("lesson", nargs="?", help="for reset: the lesson number, e.g. 04")
    parser.add_argument("--lessons", default="lessons", help="the pristine lessons")
    parser.add_argument("--workspace", default="workspace", help="the student's copy")
    args = parser.parse_args(argv)
    try:
        if args.command == "sync":
            added = sync(args.lessons, args.workspace)
            where = Path(args.workspace).resolve()
            print(f"workspace {where}: " + (f"added {', '.join(added)}" if added else "up to date"))
        else:
            if args.lesson is None:
                parser.error("reset needs a lesson, e.g. `reset 04`")
            restored, backup = reset(args.lesson, args.lessons, args.workspace)
            kept = f"; your version is kept as {backup}" if backup else ""
            print(f"restored {restored}{kept}")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
