"""The teacher's progress report (python -m node_edu.progress) on small workspaces.

Each status against an independent oracle (the checker called here, in this process, on
the same answer); students found and named in the layouts a class has; a notebook that is
not JSON, a hanging cell, a cell that ignores its time limit, a dying process and failing
imports each cost only their own exercise or notebook; and, run as root (as the tests
are), students' code runs as an unprivileged user that cannot delete a file outside its
workspace, with nothing of the report's environment or files.
"""

import csv
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
import torch

import node_edu.checks as checks
from node_edu import progress
from node_edu.checks.base import EXERCISES, solution_source
from node_edu.progress import Limits, __main__, sandbox, workspaces

ID = "08.resnet_forward"
STUB = "def resnet_forward(f, z0, depth, t1):\n    raise NotImplementedError  # your code here\n"
WRONG = (  # one Euler step, whatever the depth
    "def resnet_forward(f, z0, depth, t1):\n"
    "    return z0 + t1 * f(torch.tensor(0.0, dtype=z0.dtype), z0)\n"
)
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (the tests run as root)")
FAST = Limits(exercise=5, notebook=60)


def notebook(path, *exercises, imports="import math\nimport torch\nimport node_edu as ne"):
    """Write a notebook: an import cell, then one exercise cell and its checker cell per
    (exercise id, source)."""
    cells = [nbformat.v4.new_code_cell(imports)]
    for exercise_id, source in exercises:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["exercise"] = exercise_id
        checker = EXERCISES[exercise_id].checker.__name__ if exercise_id in EXERCISES else "x"
        cells += [cell, nbformat.v4.new_code_cell(f"ne.checks.{checker}(...)")]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def run(paths, **kwargs):
    kwargs.setdefault("limits", FAST)
    kwargs.setdefault("trust", True)
    return progress.report([str(p) for p in paths], **kwargs)


def test_each_status_and_the_checkers_own_message(tmp_path):
    notebook(
        tmp_path / "alice" / "01_lesson.ipynb",
        (ID, solution_source(ID)),
        (ID, WRONG),
        (ID, STUB),
        (ID, "def resnet_forward(f, z0, depth, t1)\n    return z0\n"),
        ("99.no_such_exercise", "def f():\n    return 1\n"),
        (ID, "def something_else(f, z0, depth, t1):\n    return z0\n"),
    )
    rows = run([tmp_path / "alice"])
    assert [(r.student, r.lesson, r.exercise) for r in rows] == [("alice", "01_lesson", ID)] * 4 + [
        ("alice", "01_lesson", "99.no_such_exercise"),
        ("alice", "01_lesson", ID),
    ]
    namespace = {"torch": torch}
    exec(WRONG, namespace)
    oracle = checks.resnet_forward(namespace["resnet_forward"])  # here, in-process
    assert [r.status for r in rows] == [
        "correct",
        "not yet",
        "not attempted",
        "not yet",
        "error",
        "not yet",
    ]
    assert rows[1].message == oracle.message and not oracle.ok
    assert rows[3].message.startswith("the exercise cell does not run: SyntaxError")
    assert "no checker for exercise '99.no_such_exercise'" in rows[4].message
    assert rows[5].message == "the exercise cell defines no function resnet_forward(...)"


def test_students_are_found_and_named_as_a_class_keeps_them(tmp_path):
    cls = tmp_path / "class"
    notebook(cls / "alice" / "workspace" / "01_a.ipynb", (ID, STUB))  # make lab's layout
    notebook(cls / "bob" / "node_edu" / "lessons" / "01_a.ipynb", (ID, STUB))  # nbgitpuller
    notebook(cls / "carol" / "01_a.ipynb", (ID, STUB))  # notebooks right there
    notebook(cls / "carol" / "backups" / "01_a.2026.ipynb", (ID, STUB))  # make reset's copies
    notebook(cls / "carol" / ".ipynb_checkpoints" / "01_a-checkpoint.ipynb", (ID, STUB))
    (cls / "dave" / "notes").mkdir(parents=True)  # no notebooks: not a student
    rows = run([cls])
    assert [(r.student, r.lesson) for r in rows] == [
        ("alice", "01_a"),
        ("bob", "01_a"),
        ("carol", "01_a"),
    ]
    assert [r.student for r in run([cls / "alice" / "workspace"])] == ["alice"]
    assert [r.student for r in run([cls / "alice"])] == ["alice"]
    assert [r.student for r in run([cls / "carol"], student="c.lee")] == ["c.lee"]
    notebook(cls / "erin" / "workspace" / "01_a.ipynb", (ID, STUB))
    notebook(cls / "erin" / "node_edu" / "lessons" / "01_a.ipynb", (ID, STUB))
    assert sorted(r.lesson for r in run([cls]) if r.student == "erin") == [
        "node_edu/lessons/01_a",
        "workspace/01_a",
    ]
    with pytest.raises(ValueError, match="PATH must be a folder"):
        run([cls / "missing"])
    with pytest.raises(ValueError, match="--student names one workspace"):
        run([cls], student="x")


def test_a_notebook_that_cannot_be_read_is_reported_and_the_rest_go_on(tmp_path):
    ws = tmp_path / "alice"
    notebook(ws / "01_good.ipynb", (ID, solution_source(ID)))
    (ws / "02_broken.ipynb").write_text('{"cells": [')
    (ws / "03_not_a_notebook.ipynb").write_text("[1, 2, 3]")
    (ws / "04_link.ipynb").symlink_to(ws / "01_good.ipynb")
    (ws / "05_empty.ipynb").write_text("")
    rows = run([ws])
    by_lesson = {r.lesson: r for r in rows}
    assert by_lesson["01_good"].status == "correct"
    assert by_lesson["02_broken"].status == "error" and by_lesson["02_broken"].exercise == ""
    assert "not a notebook (not JSON" in by_lesson["02_broken"].message
    assert "not a notebook (no list of cells)" in by_lesson["03_not_a_notebook"].message
    assert "symbolic link" in by_lesson["04_link"].message
    assert "not JSON" in by_lesson["05_empty"].message


def test_hanging_cells_and_dead_processes_cost_only_their_exercise(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "GRACE", 2.0)
    ignores_alarm = (
        "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass\n"
    )
    notebook(
        tmp_path / "alice" / "01_a.ipynb",
        (ID, "while True:\n    pass\n"),  # stopped by the exercise's own time limit
        (ID, solution_source(ID)),
        (ID, ignores_alarm),  # stopped by the parent, after the grace period
        (ID, solution_source(ID)),
        (ID, "import os\nos._exit(3)\n"),  # the process dies
        (ID, solution_source(ID)),
        (ID, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"),
        (ID, solution_source(ID)),
    )
    notebook(tmp_path / "alice" / "02_b.ipynb", (ID, solution_source(ID)))
    rows = run([tmp_path / "alice"], limits=Limits(exercise=2, notebook=120))
    got = [(r.status, r.message) for r in rows]
    assert got[0] == ("not yet", "the exercise cell did not finish within 2 s")
    assert got[2][0] == "error" and got[2][1].startswith("stopped after 4 s")
    assert got[4] == ("error", "the process checking it ended unexpectedly (exit status 3)")
    assert got[6] == ("error", "the process checking it ended unexpectedly (killed by signal 9)")
    assert [s for s, _ in got[1::2]] + [got[8][0]] == ["correct"] * 5  # the others, 02_b


def test_a_notebook_past_its_time_limit_stops_there(tmp_path):
    sleeps = "import time\ntime.sleep(2.5)\n" + solution_source(ID)
    notebook(tmp_path / "alice" / "01_a.ipynb", (ID, sleeps), (ID, sleeps), (ID, sleeps))
    rows = run([tmp_path / "alice"], limits=Limits(exercise=10, notebook=4))
    assert rows[0].status == "correct"
    assert rows[1].status == rows[2].status == "error"
    assert rows[1].message == "the notebook's time limit (4 s) ran out"
    assert rows[2].message == "not run: the notebook's time limit (4 s) ran out"


def test_failing_imports_are_an_error_for_each_exercise(tmp_path):
    notebook(tmp_path / "a" / "01.ipynb", (ID, STUB), (ID, STUB), imports="import no_such_mod")
    rows = run([tmp_path / "a"])
    assert {(r.status, r.message) for r in rows} == {
        ("error", "the lesson's imports failed: ModuleNotFoundError: No module named 'no_such_mod'")
    } and len(rows) == 2


def test_it_refuses_to_run_students_code_unless_root_or_trusted(tmp_path, monkeypatch, capsys):
    notebook(tmp_path / "alice" / "01_a.ipynb", (ID, solution_source(ID)))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(PermissionError):
        progress.report([str(tmp_path / "alice")])
    assert __main__.main([str(tmp_path / "alice")]) == 2
    assert "--trust" in capsys.readouterr().err
    assert [r.status for r in run([tmp_path / "alice"], trust=True)] == ["correct"]


def test_only_library_modules_are_imported_with_the_reports_rights(tmp_path, monkeypatch):
    """The report imports what the lessons import once, before it forks (an unprivileged
    user may not be allowed to read Python's files); a module a student wrote, or one of
    the standard library's jokes, is never imported in the report's own process."""
    ws = tmp_path / "mallory"
    ws.mkdir()
    (ws / "mallory_module.py").write_text("import os\nos.environ['MALLORY'] = 'was here'\n")
    monkeypatch.syspath_prepend(str(ws))  # as if the teacher ran the report from there
    imports = "import torch\nimport node_edu as ne\nimport mallory_module\nimport this\n"
    imports += "from sklearn.datasets import load_digits\nimport fileinput"
    notebook(ws / "01_a.ipynb", (ID, solution_source(ID)), imports=imports)
    for name in ("mallory_module", "this"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    rows = run([ws])
    assert "mallory_module" not in sys.modules and "this" not in sys.modules
    assert "MALLORY" not in os.environ
    assert "sklearn.datasets" in sys.modules and "fileinput" in sys.modules
    assert sandbox.imported(imports) == [
        "torch", "node_edu", "mallory_module", "this", "sklearn.datasets", "fileinput"
    ]  # fmt: skip
    assert [sandbox.preloadable(n) for n in sandbox.imported(imports)] == [
        True, True, False, False, True, True
    ]  # fmt: skip
    assert not sandbox.preloadable("torch.__main__") and not sandbox.preloadable("isympy")
    assert len(rows) == 1  # what the student's own process makes of it is another test


@ROOT_ONLY
def test_the_unprivileged_user_must_be_one(tmp_path):
    notebook(tmp_path / "alice" / "01_a.ipynb", (ID, STUB))
    with pytest.raises(ValueError, match="unprivileged account, got 'root'"):
        run([tmp_path / "alice"], user="root")
    with pytest.raises(ValueError, match="existing account"):
        run([tmp_path / "alice"], user="no-such-user-here")


@ROOT_ONLY
def test_an_answer_cannot_delete_a_file_outside_its_workspace(tmp_path):
    """Run as root, the report runs the answer as nobody: the delete is refused. The same
    answer run with the report's own rights deletes the file (so the test can fail)."""
    outside = tmp_path / "teacher"
    outside.mkdir(mode=0o755)
    victim = outside / "grades.csv"
    attack = f"import os\nos.remove({str(victim)!r})\n" + solution_source(ID)
    nb = notebook(tmp_path / "class" / "mallory" / "01_a.ipynb", (ID, attack))
    for _ in range(2):
        victim.write_text("alice,A\n")
        rows = run([tmp_path / "class"])
        assert victim.read_text() == "alice,A\n"
        assert rows[0].status == "not yet" and "PermissionError" in rows[0].message
        assert nb.exists()
    # the control: with the report's own (root) rights, the same answer deletes it
    job = sandbox.Job("k", workspaces.read(nb), [0], 60)
    results = sandbox.run([job], FAST, None, 1)
    assert results["k"][0][0] == "correct" and not victim.exists()


@ROOT_ONLY
def test_students_code_runs_with_nothing_of_the_reports(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "secret")
    spy = """import os, json
seen = dict(uid=os.getuid(), gid=os.getgid(), groups=os.getgroups(), cwd=os.listdir("."),
            env=sorted(os.environ), home=os.environ["HOME"] == os.getcwd())
try:
    os.setuid(0)
    seen["root_again"] = True
except PermissionError:
    seen["root_again"] = False
seen["open_fds"] = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
raise RuntimeError(json.dumps(seen))
"""
    notebook(tmp_path / "alice" / "01_a.ipynb", (ID, spy))
    (row,) = run([tmp_path / "alice"])
    seen = json.loads(row.message.split("RuntimeError: ", 1)[1])
    nobody = sandbox.unprivileged("nobody")
    assert (seen["uid"], seen["gid"], seen["groups"]) == (nobody.uid, nobody.gid, [])
    assert seen["cwd"] == ["notebook.ipynb"] and seen["home"] and not seen["root_again"]
    assert "JUPYTERHUB_API_TOKEN" not in seen["env"] and "NODE_EDU_RECORD" in seen["env"]
    assert seen["open_fds"][:4] == [0, 1, 2, 3] and len(seen["open_fds"]) <= 5


def test_the_command_line_writes_the_table_and_the_csv(tmp_path, capsys):
    notebook(tmp_path / "class" / "alice" / "01_a.ipynb", (ID, solution_source(ID)), (ID, STUB))
    (tmp_path / "class" / "bob").mkdir()
    (tmp_path / "class" / "bob" / "01_a.ipynb").write_text("not json")
    out = tmp_path / "progress.csv"
    args = [str(tmp_path / "class"), "--csv", str(out), "--trust", "--exercise-timeout", "5"]
    assert __main__.main(args) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split() == ["student", "lesson", "exercise", "status", "message"]
    assert "2 students, 3 rows: 1 correct, 0 not yet, 1 not attempted, 1 error" in printed
    with open(out, newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["student", "lesson", "exercise", "status", "message"]
    assert [r[:4] for r in table[1:]] == [
        ["alice", "01_a", ID, "correct"],
        ["alice", "01_a", ID, "not attempted"],
        ["bob", "01_a", "", "error"],
    ]
    with pytest.raises(SystemExit):
        __main__.main([str(tmp_path), "--jobs", "0"])


def test_the_table_cuts_long_messages_to_the_width():
    rows = [progress.Row("alice", "01_a", ID, "not yet", "word " * 100)]
    lines = __main__.table(rows, width=100).splitlines()
    assert max(len(line) for line in lines) <= 100 and lines[1].endswith("\u2026")


def test_the_lessons_as_shipped_are_all_not_attempted(tmp_path):
    """The real lessons: every exercise cell found, every stub "not attempted"."""
    lessons = sorted(Path(__file__).parents[1].joinpath("lessons").glob("*.ipynb"))
    ws = tmp_path / "alice"
    ws.mkdir()
    for lesson in lessons:
        (ws / lesson.name).write_bytes(lesson.read_bytes())
    rows = run([ws], limits=Limits(exercise=30, notebook=120))
    ids = [
        c.metadata["exercise"]
        for p in lessons
        for c in nbformat.read(p, 4).cells
        if "exercise" in c.metadata
    ]
    assert [r.exercise for r in rows] == ids and len(ids) >= 20
    assert {r.status for r in rows} == {"not attempted"}, [
        r for r in rows if r.status != "not attempted"
    ]
