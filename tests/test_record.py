"""The student's own record: every checker call writes its result to a small JSON file in
the workspace, and ``ne.checks.progress()`` shows every exercise with its last result.
A missing or corrupt record is an empty one; a record that cannot be written never fails
a check."""

import json
import multiprocessing

import nbformat
import pytest
import torch

import node_edu.checks as checks
from node_edu.checks import record
from node_edu.checks.base import EXERCISES

ID = "08.resnet_forward"


def stub(*args, **kwargs):
    raise NotImplementedError


def one_big_step(f, z0, depth, t1):  # a wrong answer: one Euler step, whatever the depth
    return z0 + t1 * f(torch.tensor(0.0, dtype=z0.dtype), z0)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A workspace as the kernel's working directory, no NODE_EDU_RECORD set."""
    monkeypatch.delenv(record.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_each_check_is_recorded_in_the_working_directory(workspace):
    checks.resnet_forward(stub)
    saved = json.loads((workspace / record.FILE_NAME).read_text())
    assert saved[ID]["status"] == "not attempted"
    wrong = checks.resnet_forward(one_big_step)
    assert not wrong.ok and wrong.attempted
    saved = json.loads((workspace / record.FILE_NAME).read_text())
    assert saved[ID]["status"] == "not yet" and saved[ID]["message"] == wrong.message
    checks.resnet_forward(EXERCISES[ID].solution)
    assert record.load()[ID]["status"] == "correct"
    assert list(workspace.iterdir()) == [workspace / record.FILE_NAME]  # no stray files


def test_progress_lists_every_exercise_of_the_course(workspace):
    """With no lesson beside it: every exercise node_edu checks."""
    checks.resnet_forward(EXERCISES[ID].solution)
    checks.elbo(stub)
    rows = checks.progress()
    assert [r[1] for r in rows] == sorted(EXERCISES) and len(rows) >= 20
    by_id = {r[1]: r for r in rows}
    assert by_id[ID][:3] == ("08", ID, "correct")
    assert by_id["09.elbo"][2] == "not attempted"
    never = [r for r in rows if r[1] not in (ID, "09.elbo")]
    assert {r[2] for r in never} == {"not attempted"} and {r[3] for r in never} == {""}
    table = rows._repr_markdown_()
    assert table.startswith("**1 of ") and table.count("\n| ") == len(EXERCISES) + 1
    assert f"`{ID}` | correct" in table and ID in str(rows)


def lesson(path, *ids):
    """A lesson notebook with a teaching cell and one exercise cell per id."""
    cells = [nbformat.v4.new_code_cell("import node_edu as ne")]
    for exercise_id in ids:
        cells.append(nbformat.v4.new_code_cell("def f():\n    raise NotImplementedError"))
        cells[-1].metadata["exercise"] = exercise_id
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


def test_progress_lists_the_exercises_of_the_lessons_beside_it(workspace):
    """The course is what the student's lesson notebooks hold, in lesson and cell order:
    a lesson renamed or split, or an exercise renamed, needs no list to be kept."""
    lesson(workspace / "09_latent.ipynb", "09.elbo", "09.decode_at")
    lesson(workspace / "08_limits.ipynb", ID, "08.regularised_dynamics")
    lesson(workspace / "01_old_copy.ipynb", "01.central_difference")  # retired since
    (workspace / "02_broken.ipynb").write_text("{not json")  # skipped, never an error
    checks.resnet_forward(EXERCISES[ID].solution)
    rows = checks.progress()
    assert [r[:2] for r in rows] == [
        ("01_old_copy", "01.central_difference"),
        ("08_limits", ID),
        ("08_limits", "08.regularised_dynamics"),
        ("09_latent", "09.elbo"),
        ("09_latent", "09.decode_at"),
    ]
    assert [r[2] for r in rows] == ["not attempted", "correct"] + ["not attempted"] * 3
    assert rows[0][3] == record.RETIRED and rows[2][3] == ""


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'{"08.resnet_forward": 3}',
        b'{"08.resnet_forward": {"status": "done", "message": "x"}}',
    ],
)
def test_a_corrupt_record_is_an_empty_one(workspace, content):
    (workspace / record.FILE_NAME).write_bytes(content)
    assert record.load() == {}
    assert {r[2] for r in checks.progress()} == {"not attempted"}
    assert checks.resnet_forward(EXERCISES[ID].solution).ok  # and is replaced
    assert record.load()[ID]["status"] == "correct"


def test_a_missing_record_is_an_empty_one(workspace):
    assert record.load() == {} and len(checks.progress()) == len(EXERCISES)


@pytest.mark.parametrize("where", ["a_file/record.json", "a_folder"])
def test_a_record_that_cannot_be_written_never_fails_a_check(tmp_path, monkeypatch, where):
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "a_folder").mkdir()
    monkeypatch.setenv(record.ENV, str(tmp_path / where))
    result = checks.resnet_forward(EXERCISES[ID].solution)
    assert result.ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "a_folder"]
    assert list((tmp_path / "a_folder").iterdir()) == []


def test_an_empty_environment_variable_keeps_no_record(workspace, monkeypatch):
    monkeypatch.setenv(record.ENV, "")
    assert checks.resnet_forward(EXERCISES[ID].solution).ok
    assert list(workspace.iterdir()) == [] and record.path() is None


def _save_many(path, prefix, n):
    result = checks.CheckResult(True, "fine")
    for i in range(n):
        record.save(f"{prefix}.{i}", result, path)


def test_two_kernels_writing_at_once_lose_nothing(tmp_path):
    """Two lessons open at once (two kernels) both write the record."""
    path = tmp_path / record.FILE_NAME
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_save_many, args=(path, p, 40)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    saved = json.loads(path.read_text())
    assert sorted(saved) == sorted(f"{p}.{i}" for p in "ab" for i in range(40))
