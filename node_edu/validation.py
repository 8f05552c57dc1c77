"""Argument checks, shared by every layer: one helper per kind of argument, one message style.

Each ``check_*`` function returns the argument (converted to a plain Python value where it
says so) or raises:

* ``TypeError`` for a wrong kind of object (a string where a number belongs, a float where
  an integer belongs, a boolean anywhere a number belongs);
* ``ValueError`` for the right kind with a wrong value (out of range, NaN, inf, not one of
  the choices).

Every message reads ``"<name> must be <what is expected>, got <what was given>"``::

    n_iters must be an integer >= 1, got 0
    weight must be a number >= 0, got -1.0
    t1 must be a finite number > 0, got inf
    seed must be an integer, got '3' (str)

A call site reads as the rule it enforces::

    n_iters = check_int("n_iters", n_iters, minimum=1)
    lr = check_number("lr", lr, above=0)                 # an open bound: lr > 0
    shift = check_number("shift", shift, minimum=-1, maximum=1)
    trace = check_choice("trace", trace, TRACES)

Conventions: booleans are not numbers here (``True`` is not the count 1); numpy's integers
are integers and its floats are numbers; NaN and inf are refused unless the caller allows
them (``allow_nan``, ``allow_inf``). Tensors are not numbers either: a 0-dim tensor is
refused (call ``.item()`` first), so a number never silently carries a device or a graph.
"""

import math
import numbers

import numpy as np
import torch

__all__ = [
    "check_bool",
    "check_callable",
    "check_choice",
    "check_float_dtype",
    "check_instance",
    "check_int",
    "check_number",
    "check_positive",
    "describe",
]


def describe(value):
    """How a message shows what was given: a number as itself (``0``, ``-1.0``, ``inf``),
    anything else with its type (``'3' (str)``, ``True (bool)``, ``None``), a long object
    by its type alone (``a Tensor of shape (2, 3)``)."""
    if value is None:
        return "None"
    if isinstance(value, bool | np.bool_):
        return f"{bool(value)!r} (bool)"
    if isinstance(value, numbers.Integral):
        return repr(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    text = repr(value)
    kind = type(value).__name__
    if len(text) <= 40 and "\n" not in text:
        return f"{text} ({kind})"
    shape = getattr(value, "shape", None)
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    return f"{article} {kind}" + ("" if shape is None else f" of shape {tuple(shape)}")


def _fail(error, name, expected, value, allow_none=False):
    """Raise ``error`` with the one message style."""
    expected += " or None" if allow_none else ""
    raise error(f"{name} must be {expected}, got {describe(value)}")


def _bounds(minimum, maximum, above, below):
    """The bounds said readably: ' >= 1', ' > 0', ' in [0.5, 4]', ' in (0, 1]', or ''."""
    if minimum is not None and above is not None:
        raise TypeError("give minimum (closed) or above (open), not both")
    if maximum is not None and below is not None:
        raise TypeError("give maximum (closed) or below (open), not both")
    low, low_open = (above, True) if above is not None else (minimum, False)
    high, high_open = (below, True) if below is not None else (maximum, False)
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def _within(value, minimum, maximum, above, below):
    return not (
        (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
        or (above is not None and value <= above)
        or (below is not None and value >= below)
    )


def check_int(name, value, *, minimum=None, maximum=None, allow_none=False):
    """An integer (Python's or numpy's, never a bool) in [minimum, maximum]; returns an int.

    ``check_int("n_steps", n_steps, minimum=1)``: "n_steps must be an integer >= 1, got 0".
    A whole float (``2.0``) is refused as well: a count written as a float is usually a
    computed value that should have been rounded on purpose.
    ``allow_none``: None is accepted and returned (an optional count).
    """
    if value is None and allow_none:
        return None
    expected = "an integer" + _bounds(minimum, maximum, None, None)
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        _fail(TypeError, name, expected, value, allow_none)
    if not _within(value, minimum, maximum, None, None):
        _fail(ValueError, name, expected, value, allow_none)
    return int(value)


def check_number(
    name,
    value,
    *,
    minimum=None,
    maximum=None,
    above=None,
    below=None,
    allow_nan=False,
    allow_inf=False,
    allow_none=False,
):
    """A real number (int or float, Python's or numpy's, never a bool); returns a float.

    Bounds: ``minimum``/``maximum`` are closed (value >= minimum, value <= maximum),
    ``above``/``below`` open (value > above, value < below)::

        check_number("lr", lr, above=0)                   # lr must be a number > 0
        check_number("t", t, minimum=0, maximum=1)        # t must be a number in [0, 1]
        check_number("fraction", f, above=0, below=1)     # ... a number in (0, 1)

    NaN and +-inf are refused ("t1 must be a finite number > 0, got inf") unless
    ``allow_nan`` / ``allow_inf``; an allowed inf still has to meet the bounds.
    ``allow_none``: None is accepted and returned (an optional number).
    """
    if value is None and allow_none:
        return None
    bounds = _bounds(minimum, maximum, above, below)
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        _fail(TypeError, name, "a number" + bounds, value, allow_none)
    value = float(value)
    if math.isnan(value):
        if allow_nan:
            return value  # no bound holds or fails for NaN: allowing it is allowing it as is
        _fail(ValueError, name, "a finite number" + bounds, value, allow_none)
    if math.isinf(value) and not allow_inf:
        _fail(ValueError, name, "a finite number" + bounds, value, allow_none)
    if not _within(value, minimum, maximum, above, below):
        _fail(ValueError, name, "a number" + bounds, value, allow_none)
    return value


def check_positive(name, value, *, integer=False, allow_none=False):
    """A number > 0 (a float), or with ``integer`` an integer >= 1 (an int): step sizes,
    tolerances, counts. Shorthand for ``check_number(name, value, above=0)`` and
    ``check_int(name, value, minimum=1)``."""
    if integer:
        return check_int(name, value, minimum=1, allow_none=allow_none)
    return check_number(name, value, above=0, allow_none=allow_none)


def check_bool(name, value):
    """True or False (Python's or numpy's); returns a bool. 1 and 0 are refused: a flag
    given as a number is usually an argument in the wrong place."""
    if not isinstance(value, bool | np.bool_):
        _fail(TypeError, name, "True or False", value)
    return bool(value)


def check_choice(name, value, choices, *, also=None):
    """One of ``choices`` (any iterable of names or numbers; a dict's keys).

    ``check_choice("trace", trace, ("exact", "hutchinson"))``:
    "trace must be one of ['exact', 'hutchinson'], got 'exakt' (str)". A wrong value or a
    wrong kind is a ``ValueError`` alike: either way the value is not among the choices.
    A bool never matches the number 1 or 0. Returns the choice it equals (``np.str_("rk4")``
    gives ``"rk4"``). ``also`` names what else the caller accepts (and has checked for
    already), for the message: ``also="a ButcherTableau"`` gives "method must be one of
    ['euler', ...] or a ButcherTableau, got ...".
    """
    choices = list(choices)
    is_bool = isinstance(value, bool | np.bool_)
    for choice in choices:
        if is_bool != isinstance(choice, bool | np.bool_):
            continue
        try:
            if bool(value == choice):
                return choice
        except (TypeError, ValueError, RuntimeError):  # an array or tensor: not a choice
            continue
    _fail(ValueError, name, f"one of {choices}" + (f" or {also}" if also else ""), value)


def check_callable(name, value, *, call=None, allow_none=False):
    """Something callable; returns it. ``call`` says how it is called, for the message:
    ``check_callable("func", func, call="func(t, z)")``:
    "func must be callable as func(t, z), got 3 (int)"."""
    if value is None and allow_none:
        return None
    if not callable(value):
        _fail(TypeError, name, "callable" + (f" as {call}" if call else ""), value, allow_none)
    return value


def check_instance(name, value, kind, *, what=None, allow_none=False):
    """An instance of ``kind`` (a class or a tuple of classes); returns it.

    ``what`` says it for the message (default: the class names, "a Trajectory or a
    LatentODE"): ``check_instance("data", data, Trajectory, what="a
    node_edu.data.spiral.Trajectory")``.
    """
    if value is None and allow_none:
        return None
    if not isinstance(value, kind):
        if what is None:
            kinds = kind if isinstance(kind, tuple) else (kind,)
            names = [k.__name__ for k in kinds]
            what = " or ".join(("an " if n[:1].lower() in "aeiou" else "a ") + n for n in names)
        _fail(TypeError, name, what, value, allow_none)
    return value


def check_float_dtype(name, value):
    """A floating-point ``torch.dtype`` (float16, bfloat16, float32, float64); returns it."""
    if not (isinstance(value, torch.dtype) and value.is_floating_point):
        _fail(TypeError, name, "a floating-point torch.dtype", value)
    return value
