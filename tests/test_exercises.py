"""Every exercise of the course, judged on the answers a student can give.

For each registered exercise: its reference solution passes; the stub is "not attempted";
answers made from the solution by breaking one thing (NaN, inf, another type, dtype,
device or shape, an exception, a hang) are "not yet", with no exception escaping the
checker. And every exercise cell of every lesson is a stub whose name and signature are
those of its solution, followed by the call of its checker.
"""

import ast
import inspect
import math
import time
from pathlib import Path

import nbformat
import pytest
import torch

import node_edu.checks as checks
from node_edu.checks.base import EXERCISES, RESULTS, CheckResult
from tests.solved_lessons import exercise_ids, solved

LESSONS = sorted((Path(__file__).parent.parent / "lessons").glob("*.ipynb"))
IDS = sorted(EXERCISES)


def _map(out, on_tensor, on_number):
    """Apply one change to every tensor / number in an answer (nested tuples, dicts)."""
    if isinstance(out, torch.Tensor):
        return on_tensor(out)
    if isinstance(out, (tuple, list)):
        return type(out)(_map(x, on_tensor, on_number) for x in out)
    if isinstance(out, dict):
        return {k: _map(v, on_tensor, on_number) for k, v in out.items()}
    if isinstance(out, (int, float)) and not isinstance(out, bool):
        return on_number(out)
    return out


def _fill(value):
    def on_tensor(x):
        return torch.full_like(x, value) if x.is_floating_point() else x.double() * value

    return on_tensor, lambda x: value


def _other_dtype(x):
    return x.float() if x.dtype == torch.float64 else x.double()


def _reshaped(x):
    return torch.cat([x.reshape(-1), x.reshape(-1)[:1]]) if x.numel() else x.new_zeros(1)


BREAKS = {  # name -> (change to tensors, change to plain numbers)
    "nan": _fill(math.nan),
    "inf": _fill(math.inf),
    "wrong type": (lambda x: x.tolist(), lambda x: str(x)),
    "wrong dtype": (_other_dtype, lambda x: str(x)),
    "meta device": (lambda x: x.to("meta"), lambda x: torch.tensor(x, device="meta")),
    "wrong shape": (_reshaped, lambda x: [x, x]),
}


def _broken(solution, name):
    on_tensor, on_number = BREAKS[name]

    def answer(*args, **kwargs):
        return _map(solution(*args, **kwargs), on_tensor, on_number)

    return answer


def _stub_like(solution):
    def stub(*args, **kwargs):
        raise NotImplementedError

    stub.__signature__ = inspect.signature(solution)
    return stub


def test_there_are_exercises():
    assert len(IDS) >= 1


@pytest.mark.parametrize("ex_id", IDS)
def test_reference_solution_passes(ex_id):
    ex = EXERCISES[ex_id]
    result = ex.checker(ex.solution)
    assert isinstance(result, CheckResult) and result.ok, result
    assert RESULTS[ex_id] is result
    assert str(result).startswith("\u2714 correct")


@pytest.mark.parametrize("ex_id", IDS)
def test_stub_is_not_attempted(ex_id):
    ex = EXERCISES[ex_id]
    for stub in (_stub_like(ex.solution), lambda *args, **kwargs: None, None, ...):
        result = ex.checker(stub)
        assert not result.ok and not result.attempted, result
        assert "not attempted" in str(result) and ex_id in str(result)  # points to hint()


@pytest.mark.parametrize("breakage", sorted(BREAKS))
@pytest.mark.parametrize("ex_id", IDS)
def test_broken_answers_are_not_yet(ex_id, breakage):
    ex = EXERCISES[ex_id]
    result = ex.checker(_broken(ex.solution, breakage))
    assert isinstance(result, CheckResult)
    assert not result.ok and result.attempted, f"{breakage}: {result}"
    assert "Traceback" not in str(result)


@pytest.mark.parametrize("ex_id", IDS)
def test_an_exception_in_the_answer_is_named(ex_id):
    def raises(*args, **kwargs):
        raise ZeroDivisionError("division by zero in the student's code")

    result = EXERCISES[ex_id].checker(raises)
    assert not result.ok and result.attempted and "ZeroDivisionError" in result.message


@pytest.mark.parametrize("ex_id", IDS)
def test_an_answer_that_hangs_is_stopped(ex_id):
    def hangs(*args, **kwargs):
        while True:
            time.sleep(0.01)

    start = time.monotonic()
    result = EXERCISES[ex_id].checker(hangs, timeout=0.5)
    assert time.monotonic() - start < 5
    assert not result.ok and result.attempted and "did not return within" in result.message


@pytest.mark.parametrize("ex_id", IDS)
def test_hints_come_one_at_a_time_then_the_solution(ex_id):
    ex = EXERCISES[ex_id]
    assert len(ex.hints) >= 2, f"{ex_id} has {len(ex.hints)} hint(s); give at least two"
    shown = [str(checks.hint(ex_id)) for _ in ex.hints]
    for k, (text, want) in enumerate(zip(shown, ex.hints, strict=True), start=1):
        assert text.startswith(f"Hint {k} of {len(ex.hints)}") and want in text
    assert "No more hints" in checks.hint(ex.checker)  # by checker as well as by id
    assert f"def {ex.solution.__name__}(" in checks.solution(ex_id)


def test_checking_does_not_move_the_students_random_numbers():
    ex = EXERCISES[IDS[0]]
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    ex.checker(ex.solution)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("name", sorted(checks.RETIRED))
def test_a_retired_checker_tells_an_old_saved_lesson_what_to_do(name):
    result = getattr(checks, name)(lambda *args: None)
    lesson = checks.RETIRED[name]
    assert not result.ok and not result.attempted
    assert f"make reset LESSON={lesson}" in result.message
    assert name not in {EXERCISES[i].checker.__name__ for i in IDS}  # retired, not current
    with pytest.raises(AttributeError):
        checks.no_such_checker  # noqa: B018


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(ValueError, match="exercise must be one of"):
        checks.hint("99.no_such_exercise")


# --- the exercise cells of the lessons -------------------------------------------------


def _exercise_cells():
    for path in LESSONS:
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if "exercise" in cell.get("metadata", {}):
                yield pytest.param(path.name, nb, i, id=f"{path.name}:{cell.metadata.exercise}")


def _is_stub_body(body):
    """Only a docstring, then `...`, `pass` or `raise NotImplementedError`."""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1:
        return False
    (stmt,) = body
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return stmt.value.value is Ellipsis
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


@pytest.mark.parametrize(("name", "nb", "i"), list(_exercise_cells()))
def test_exercise_cell_ships_a_stub_matching_its_solution(name, nb, i):
    cell = nb.cells[i]
    ex_id = cell.metadata.exercise
    assert ex_id in EXERCISES, f"{name} cell {i}: no checker registered for {ex_id}"
    assert name.startswith(ex_id.split(".")[0] + "_"), f"{ex_id} lives in {name}"
    (stub,) = ast.parse(cell.source).body  # the cell holds the stub and nothing else
    assert isinstance(stub, ast.FunctionDef), f"{name} cell {i} must hold one function"
    assert _is_stub_body(stub.body), f"{name} cell {i}: the stub holds an answer"
    solution = EXERCISES[ex_id].solution
    (sol,) = ast.parse(inspect.getsource(solution)).body
    assert stub.name == sol.name, f"{name} cell {i}: stub {stub.name}, solution {sol.name}"
    assert ast.dump(stub.args) == ast.dump(sol.args), f"{name} cell {i}: signatures differ"
    after = next(c for c in nb.cells[i + 1 :] if c.cell_type == "code")
    checker = EXERCISES[ex_id].checker.__name__
    assert f"ne.checks.{checker}({stub.name})" in after.source, (
        f"{name} cell {i}: the next code cell must call ne.checks.{checker}({stub.name})"
    )


def test_every_exercise_is_in_exactly_one_lesson():
    seen = [ex_id for p in LESSONS for ex_id in exercise_ids(nbformat.read(p, as_version=4))]
    assert sorted(seen) == IDS, "exercise cells and registered checkers differ"


def test_a_solved_lesson_fills_every_exercise_and_checks_them_all():
    path = next(p for p in LESSONS if exercise_ids(nbformat.read(p, as_version=4)))
    nb = nbformat.read(path, as_version=4)
    filled = solved(nb)
    ids = exercise_ids(nb)
    for cell in filled.cells:
        if "exercise" in cell.metadata:
            assert cell.source == checks.base.solution_source(cell.metadata.exercise)
    assert f"assert_all_passed({ids!r})" in filled.cells[-1].source
    assert exercise_ids(nbformat.read(path, as_version=4)) == ids  # the lesson is untouched


def test_assert_all_passed_fails_for_unchecked_and_wrong_exercises():
    ex = EXERCISES[IDS[0]]
    RESULTS.pop(ex.id, None)
    with pytest.raises(AssertionError, match="never checked"):
        checks.assert_all_passed([ex.id])
    ex.checker(None)
    with pytest.raises(AssertionError, match="not attempted"):
        checks.assert_all_passed([ex.id])
    ex.checker(ex.solution)
    checks.assert_all_passed([ex.id])
