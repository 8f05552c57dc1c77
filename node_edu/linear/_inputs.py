"""Turning user input (lists, numpy, torch, SymPy) into exact SymPy numbers, with checks.

Floats become the rational number their shortest round-trip decimal spells (0.1 -> 1/10,
a float32 0.1 -> 1/10 too): that is the number the user typed, and converting it back to
the same float type gives the same float, so the conversion is faithful to the input.
"""

import fractions
import numbers

import numpy as np
import sympy as sp

from node_edu.validation import describe


def _plain(value):
    """torch tensors and numpy arrays -> numpy arrays; everything else unchanged."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


def exact_number(x, name):
    """One real number as an exact SymPy number."""
    if isinstance(x, bool | np.bool_):
        raise TypeError(f"{name} must hold real numbers, got {describe(x)}")
    if isinstance(x, numbers.Integral):
        return sp.Integer(int(x))
    if isinstance(x, fractions.Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, float | np.floating):
        if not np.isfinite(x):
            raise ValueError(f"{name} must hold finite numbers, got {describe(x)}")
        if not isinstance(x, np.floating):
            x = np.float64(x)
        return sp.Rational(np.format_float_positional(x, unique=True, trim="-"))
    if isinstance(x, sp.Basic):
        x = sp.sympify(x)
        if x.free_symbols or x.is_extended_real is not True or not x.is_finite:
            raise TypeError(f"{name} must hold real constants, got the SymPy expression {x}")
        return x
    if isinstance(x, complex | np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got the complex number {x!r}")
    raise TypeError(f"{name} must hold real numbers, got {describe(x)}")


def exact_array(value, name):
    """A scalar, vector or matrix as (shape, flat list of exact numbers)."""
    value = _plain(value)
    if isinstance(value, sp.MatrixBase):
        return value.shape, [exact_number(x, name) for x in value]
    if isinstance(value, np.ndarray) and value.dtype != object:
        # Iterate numpy scalars, so that a float32 keeps its own shortest decimal.
        return value.shape, [exact_number(x, name) for x in value.flat]
    if isinstance(value, str):
        raise TypeError(f"{name} must be numbers, got the string {value!r}")
    try:
        array = np.asarray(value, dtype=object)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array, got {value!r}") from error
    if array.dtype == object and array.ndim > 0 and any(isinstance(a, list) for a in array.flat):
        raise ValueError(f"{name} must be a rectangular array, got {value!r}")
    return array.shape, [exact_number(x, name) for x in array.flat]


def exact_scalar(value, name):
    shape, flat = exact_array(value, name)
    if len(flat) != 1:
        raise ValueError(f"{name} must be a single number, got shape {shape}")
    return flat[0]


def exact_matrix(value, name):
    """A square matrix n x n (n >= 1) as a SymPy Matrix."""
    shape, flat = exact_array(value, name)
    if len(shape) == 0:  # a plain number means the 1 x 1 system dz/dt = a z
        shape = (1, 1)
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] == 0:
        raise ValueError(f"{name} must be a square n x n matrix, got shape {tuple(shape)}")
    return sp.Matrix(shape[0], shape[1], flat)


def exact_vector(value, name, n):
    """A vector of length n, given as shape (n,), (n, 1) or a number when n == 1."""
    shape, flat = exact_array(value, name)
    if len(flat) != n or len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
        raise ValueError(f"{name} must be a vector of length {n}, got shape {tuple(shape)}")
    return sp.Matrix(n, 1, flat)


def exact_times(value, name, t0, t1):
    """Strictly increasing times inside [t0, t1], as a list of exact numbers."""
    shape, flat = exact_array(value, name)
    if len(shape) > 1 or not flat:
        raise ValueError(f"{name} must be a non-empty 1-D list of times, got shape {shape}")
    for i, t in enumerate(flat):
        if t < t0 or t > t1:
            raise ValueError(f"{name} must be times in [t0, t1] = [{t0}, {t1}], got {t}")
        if i and t <= flat[i - 1]:
            raise ValueError(f"{name} must be strictly increasing times, got {flat}")
    return flat


def exact_targets(value, name, m, n):
    """Targets y_1..y_m, each of length n: shape (m, n), or (n,) when m == 1."""
    shape, flat = exact_array(value, name)
    ok = tuple(shape) == (m, n) or (m == 1 and len(flat) == n and len(shape) <= 2)
    if not ok:
        raise ValueError(
            f"{name} must have shape ({m}, {n}) (one target per observation time), "
            f"got shape {tuple(shape)}"
        )
    return [sp.Matrix(n, 1, flat[i * n : (i + 1) * n]) for i in range(m)]
