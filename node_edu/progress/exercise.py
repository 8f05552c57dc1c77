"""Checking one notebook's exercises, inside the process that runs the student's code.

For each exercise: the lesson's imports (run once per notebook), then the exercise cell in
a namespace of its own, then the registered checker of that exercise called on the
function the cell defines (the name of the reference solution's function, which the stub
shares). Nothing else of the lesson runs: no teaching cell, no training. The checker cell
of the notebook is not needed, so a student who edited or deleted it is still checked.

Each step reports an event through ``emit`` (a dict), which the report's parent process
reads: ``{"start": i}`` then ``{"result": i, "status": ..., "message": ...}`` (``i`` the
exercise's position in the notebook), or
``{"imports_failed": why}``. The parent also stops this process if it runs past its time
limit; the limits here turn ordinary endless loops into a result and let the notebook's
other exercises go on.
"""

import linecache

from node_edu.checks.base import EXERCISES
from node_edu.checks.record import status
from node_edu.tools.timelimit import TimeLimit, call_with_timeout


class _Stopped(TimeLimit):
    """The exercise ran past its time limit."""


def check_notebook(imports, exercises, seconds, emit):
    """Run ``imports`` (source text), then check each (position, Exercise), ``seconds`` at
    most each."""
    namespace = {"__name__": "__main__"}
    try:
        code = compile(imports, "<the lesson's imports>", "exec")
        call_with_timeout(lambda: exec(code, namespace), seconds, error=_Stopped)
    except BaseException as err:  # noqa: BLE001 (whatever it was, the notebook cannot run)
        emit({"imports_failed": f"{type(err).__name__}: {err}"})
        return
    for i, exercise in exercises:
        emit({"start": i})
        state, message = check(exercise, dict(namespace), seconds)
        emit({"result": i, "status": state, "message": message})


def check(exercise, namespace, seconds):
    """(status, message) for one exercise cell run in ``namespace``."""
    registered = EXERCISES.get(exercise.id)
    if registered is None:
        return "error", (
            f"no checker for exercise {exercise.id!r} in this version of node_edu: the "
            "student's copy of the lesson is older (or newer) than the course"
        )
    filename = f"<exercise {exercise.id}>"
    # Some checkers read the student's source (inspect.getsource), as in a notebook, where
    # IPython keeps each cell's source in linecache; so do we.
    lines = exercise.source.splitlines(keepends=True)
    linecache.cache[filename] = (len(exercise.source), None, lines, filename)
    try:
        code = compile(exercise.source, filename, "exec")
    except SyntaxError as err:
        return (
            "not yet",
            f"the exercise cell does not run: SyntaxError: {err.msg} (line {err.lineno})",
        )
    try:
        call_with_timeout(lambda: exec(code, namespace), seconds, error=_Stopped)
    except _Stopped:
        return "not yet", f"the exercise cell did not finish within {seconds:g} s"
    except BaseException as err:  # noqa: BLE001 (the student's cell may raise anything)
        return "not yet", f"the exercise cell raised {type(err).__name__}: {err}"
    name = registered.solution.__name__
    answer = namespace.get(name)
    if not callable(answer):
        return "not yet", f"the exercise cell defines no function {name}(...)"
    try:
        result = call_with_timeout(lambda: registered.checker(answer), seconds, error=_Stopped)
    except _Stopped:
        return "not yet", f"checking did not finish within {seconds:g} s"
    except BaseException as err:  # noqa: BLE001 (a checker never raises; if it did, say so)
        return "error", f"the checker failed: {type(err).__name__}: {err}"
    return status(result), result.message
