"""The exercise machinery: what a checker returns, and how it runs a student's answer safely.

An exercise is a stub in a lesson (a cell marked ``{"exercise": "04.running_cost"}``
in its metadata) and a checker here, registered with :func:`exercise`::

    @exercise("04.running_cost", solution=lesson04.running_cost_dynamics, hints=(...))
    def running_cost(fn):
        out = fn(f, g, t, z, a, theta)         # the student's function, run safely
        dz, da, da_theta = unpack(out, 3, "(dz, da, da_theta)")
        expect_tensor(da, "da", like=z)         # type, dtype, device, shape, NaN/inf
        if ...:
            raise Mistake("the sign of dg/dz: ...")   # the named mistake
        return passed("your dynamics match the Jacobians ...")

Whatever the student wrote, a checker returns a :class:`CheckResult` and never a traceback
from inside node_edu: the untouched stub (it raises ``NotImplementedError`` or returns
``None`` / ``...``) is "not attempted yet"; a diagnosed :class:`Mistake`, an exception in
the student's code, an answer that does not return within ``timeout`` seconds and an
answer the checker cannot even compare are each "not yet", with a sentence saying why.
Checkers run under ``torch.random.fork_rng``, so checking never moves the student's
random numbers.

``hint(id)`` gives the hints one at a time, ``solution(id)`` shows the reference answer
(the source of a function in ``node_edu.solutions``), and ``assert_all_passed(ids)`` is
what the course's tests append to a lesson run with the reference answers filled in.
"""

import functools
import inspect
import time
from dataclasses import dataclass

import torch

from node_edu.tools.timelimit import TimeLimit, call_with_timeout

DEFAULT_TIMEOUT = 10.0  # seconds the student's code may run in one check, all calls together


@dataclass
class CheckResult:
    """``ok``: did the answer pass; ``message``: what a student should read.

    ``attempted`` is False for the untouched stub; ``exercise`` names the exercise.
    ``bool(result)`` is ``ok``, so ``assert result`` reads naturally in tests.
    """

    ok: bool
    message: str
    attempted: bool = True
    exercise: str | None = None

    def __bool__(self):
        return self.ok

    def __str__(self):
        if self.ok:
            return "\u2714 correct: " + self.message
        if not self.attempted:
            text = "\u2026 not attempted yet: " + self.message
        else:
            text = "\u2718 not yet: " + self.message
        if self.exercise is not None:
            text += (
                f"\n  Stuck? ne.checks.hint({self.exercise!r}) gives a hint, one at a time; "
                f"ne.checks.solution({self.exercise!r}) shows the reference answer."
            )
        return text

    __repr__ = __str__


class Mistake(Exception):
    """A wrong answer the checker has diagnosed; the message is what the student reads."""


class NotAttempted(Exception):
    """The answer is still the stub."""


class _Hang(TimeLimit):
    """The check ran past its time limit (most likely the student's code loops)."""


def passed(message):
    """The result of a right answer."""
    return CheckResult(True, message)


@dataclass(frozen=True)
class Exercise:
    """One registered exercise: its id ("NN.name"), checker, reference solution, hints."""

    id: str
    checker: object
    solution: object
    hints: tuple


EXERCISES = {}  # id -> Exercise, in the order the checkers were defined
RESULTS = {}  # id -> the latest CheckResult of this session
_HINTS_SHOWN = {}  # id -> how many hints were shown


def exercise(exercise_id, *, solution, hints, timeout=DEFAULT_TIMEOUT):
    """Register a checker for exercise ``exercise_id`` (see the module docstring).

    The decorated checker takes the student's answer (a function, usually) and a keyword
    ``timeout`` in seconds; it wraps a callable answer so the stub, exceptions and hangs
    become results, and it records the result in ``RESULTS``.
    """
    if not hints:
        raise ValueError(f"exercise {exercise_id!r} needs at least one hint, got none")

    def decorate(check):
        @functools.wraps(check)
        def checker(answer, *, timeout=timeout):
            result = _run(check, answer, timeout)
            result.exercise = exercise_id
            RESULTS[exercise_id] = result
            return result

        checker.exercise_id = exercise_id
        EXERCISES[exercise_id] = Exercise(exercise_id, checker, solution, tuple(hints))
        return checker

    return decorate


def _run(check, answer, timeout):
    """Run one check; every way it can end becomes a CheckResult."""
    try:
        if answer is None or answer is Ellipsis:
            raise NotAttempted("the answer is still empty")
        # torch.func's first jacrev/vmap imports torch._dynamo (seconds on a busy machine):
        # do it here, outside the time limit, so a right answer is never cut off by it and
        # the alarm never lands inside an import.
        import torch._dynamo  # noqa: F401

        student = StudentCode(answer, timeout) if callable(answer) else answer
        with torch.random.fork_rng(devices=[]):
            result = check(student)
        if not isinstance(result, CheckResult):  # a checker's own slip, said plainly
            raise TypeError(f"the checker returned {type(result).__name__}")
        return result
    except NotAttempted as why:
        return CheckResult(
            False,
            f"{why}. Replace the `raise NotImplementedError` (or `...`) with your code, "
            "then run this cell again.",
            attempted=False,
        )
    except Mistake as mistake:
        return CheckResult(False, str(mistake))
    except _Hang:
        return CheckResult(
            False,
            f"your function did not return within {timeout:g} s. Look for a loop that never "
            "ends (a while whose condition never turns false), or far too many steps.",
        )
    except Exception as err:  # the answer broke the comparison itself: say so, no traceback
        return CheckResult(
            False,
            f"your answer could not be checked ({type(err).__name__}: {err}). Look at what "
            "your function returns: its type, shape and dtype.",
        )


class StudentCode:
    """The student's function, called so that the stub, exceptions and hangs become results.

    ``seconds`` is the time all calls together may take; only the student's code counts,
    not the checker's own work (its oracles may be slow on a busy machine).
    """

    def __init__(self, fn, seconds=DEFAULT_TIMEOUT):
        self.fn, self.seconds_left = fn, seconds
        self.__name__ = getattr(fn, "__name__", "your function")

    def __call__(self, *args, **kwargs):
        start = time.monotonic()
        try:
            out = call_with_timeout(
                lambda: self.fn(*args, **kwargs),
                max(self.seconds_left, 1e-3),
                error=_Hang,
                what="your function",
            )
        except NotImplementedError:
            raise NotAttempted("your function still raises NotImplementedError") from None
        except TimeLimit:
            raise
        except Exception as err:  # the student's code may raise anything
            raise Mistake(f"your function raised {type(err).__name__}: {err}") from None
        finally:
            self.seconds_left -= time.monotonic() - start
        if out is None or out is Ellipsis:
            raise NotAttempted(
                "your function returned None: it is still the stub, or it has no `return`"
            )
        return out


def unpack(out, n, what):
    """``out`` as a tuple of ``n`` items, or a Mistake saying what to return."""
    if not isinstance(out, (tuple, list)) or len(out) != n:
        got = f"a {type(out).__name__}"
        if isinstance(out, (tuple, list)):
            got += f" of {len(out)}"
        raise Mistake(f"return {what}, a tuple of {n}; got {got}")
    return tuple(out)


def expect_tensor(x, name, like=None, *, shape=None, dtype=None, device=None):
    """Check a tensor answer and return it detached; a Mistake names what is off.

    ``like``: a tensor whose shape, dtype and device are expected unless given explicitly.
    The order matters: type, device, dtype, shape, then NaN/inf (the last needs the values).
    """
    if not isinstance(x, torch.Tensor):
        raise Mistake(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if like is not None:
        shape = like.shape if shape is None else shape
        dtype = like.dtype if dtype is None else dtype
        device = like.device if device is None else device
    if device is not None and not _same_device(x.device, torch.device(device)):
        raise Mistake(f"{name} must be on device {device}, got {x.device}")
    if dtype is not None and x.dtype != dtype:
        raise Mistake(f"{name} must have dtype {dtype}, got {x.dtype}")
    if shape is not None and tuple(x.shape) != tuple(shape):
        raise Mistake(f"{name} must have shape {list(shape)}, got {list(x.shape)}")
    if not torch.isfinite(x).all():
        raise Mistake(f"{name} holds NaN or inf; a right answer is finite here")
    return x.detach()


def expect_number(x, name):
    """A plain real number (int, float or a one-element tensor) as a float, finite."""
    if isinstance(x, torch.Tensor) and x.numel() == 1 and x.device.type != "meta":
        x = x.item()
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise Mistake(f"{name} must be a number, got {type(x).__name__}")
    if x != x or x in (float("inf"), float("-inf")):
        raise Mistake(f"{name} is {x}; a right answer is a finite number")
    return float(x)


def _same_device(a, b):
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


def _lookup(exercise_id):
    key = getattr(exercise_id, "exercise_id", exercise_id)
    if key not in EXERCISES:
        known = ", ".join(sorted(EXERCISES))
        raise ValueError(f"exercise must be one of {known}; got {exercise_id!r}")
    return EXERCISES[key]


class _Text(str):
    """A string that a notebook shows as Markdown (code blocks render as code)."""

    def __repr__(self):
        return str(self)

    def _repr_markdown_(self):
        return str(self)


def hint(exercise_id):
    """The next hint for an exercise (its id, or its checker); one more each call."""
    ex = _lookup(exercise_id)
    shown = _HINTS_SHOWN.get(ex.id, 0)
    if shown >= len(ex.hints):
        return _Text(
            f"No more hints for {ex.id}: `ne.checks.solution({ex.id!r})` shows the answer."
        )
    _HINTS_SHOWN[ex.id] = shown + 1
    return _Text(f"Hint {shown + 1} of {len(ex.hints)} for {ex.id}: {ex.hints[shown]}")


def solution(exercise_id):
    """The reference answer of an exercise: the source of its function, shown as code."""
    ex = _lookup(exercise_id)
    return _Text(f"Reference answer for {ex.id}:\n\n```python\n{solution_source(ex.id)}```")


def solution_source(exercise_id):
    """The source text of the reference answer (what the course's tests put in the cell)."""
    return inspect.getsource(_lookup(exercise_id).solution)


def assert_all_passed(exercise_ids):
    """Raise AssertionError unless every named exercise was checked and passed."""
    for ex_id in exercise_ids:
        result = RESULTS.get(ex_id)
        assert result is not None, f"exercise {ex_id} was never checked"
        assert result.ok, f"exercise {ex_id}: {result}"
