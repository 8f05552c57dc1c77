"""Argument checks shared by ``odeint`` and ``odeint_adjoint``.

Every check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind,
bad value) naming the argument, what was given and what is expected.
"""

import math
import numbers

import torch

from node_edu.solvers.implicit import IMPLICIT
from node_edu.solvers.tableaux import TABLEAUX, ButcherTableau

# Every method name odeint accepts: the explicit tableaux, then the implicit methods.
METHODS = (*TABLEAUX, *IMPLICIT)


def check_func(func):
    if not callable(func):
        raise TypeError(f"func must be callable as func(t, z), got {type(func).__name__}")


def check_z0(z0):
    if not isinstance(z0, torch.Tensor):
        raise TypeError(f"z0 must be a torch.Tensor, got {type(z0).__name__}")
    if z0.dtype not in (torch.float32, torch.float64):
        # float16/bfloat16: too few digits for an error-controlled solve; complex: the error
        # norm, the adjoint's VJPs and the Newton solves assume real states. Split a complex
        # state into real and imaginary parts instead.
        raise TypeError(
            f"z0 must be floating point (float32 or float64), got dtype {z0.dtype}"
            " (half precision and complex states are not supported)"
        )
    if z0.numel() == 0:
        raise ValueError(f"z0 must have at least one element, got shape {tuple(z0.shape)}")
    if not bool(torch.isfinite(z0).all()):
        raise ValueError("z0 must be finite, got a tensor containing nan or inf")


def check_t(t, z0):
    """Return (t converted to z0's dtype, its values as Python floats, direction +1/-1)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"t must be a 1-D torch.Tensor of times, got {type(t).__name__}")
    if t.dim() != 1:
        raise ValueError(f"t must be 1-D, got a tensor of shape {tuple(t.shape)}")
    if t.numel() < 2:
        raise ValueError(f"t must hold at least 2 times (t0 and t1), got {t.numel()}")
    if t.is_complex():
        raise TypeError(f"t must be real, got dtype {t.dtype}")
    if t.device != z0.device:
        raise ValueError(
            f"t and z0 must be on the same device, got t on {t.device} and z0 on {z0.device}"
        )
    t = t.to(z0.dtype)
    times = t.tolist()
    if not all(math.isfinite(x) for x in times):
        raise ValueError(f"t must be finite, got {times}")
    steps = [b - a for a, b in zip(times[:-1], times[1:], strict=True)]
    if not (all(d > 0 for d in steps) or all(d < 0 for d in steps)):
        raise ValueError(
            f"t must be strictly increasing or strictly decreasing, got {times}"
            " (in z0's dtype, so times closer than its resolution count as equal)"
        )
    return t, times, (1.0 if steps[0] > 0 else -1.0)


def check_method(method):
    """A method name, or a ``ButcherTableau`` of one's own (already checked on creation)."""
    if isinstance(method, ButcherTableau):
        return method
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            f"method must be one of {list(METHODS)} or a ButcherTableau, got {method!r}"
        )
    return TABLEAUX.get(method) or IMPLICIT[method]


def check_positive(name, value, *, allow_none=False, integer=False):
    if value is None and allow_none:
        return None
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an int" if integer else "a real number"
        raise TypeError(f"{name} must be {what} > 0, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return int(value) if integer else float(value)


def check_options(method, rtol, atol, step_size, max_num_steps):
    """Validate the solver options; return (tableau, rtol, atol, step_size, max_num_steps)."""
    tab = check_method(method)
    rtol = check_positive("rtol", rtol)
    atol = check_positive("atol", atol)
    step_size = check_positive("step_size", step_size, allow_none=True)
    max_num_steps = check_positive("max_num_steps", max_num_steps, allow_none=True, integer=True)
    return tab, rtol, atol, step_size, max_num_steps
