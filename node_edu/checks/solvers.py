"""Checkers for lesson 03 (ODE solvers)."""

import math

import torch

from ..solvers import odeint
from .base import CheckResult, _call

# Orders of the fixed-grid methods: the global error scales like h^p.
ORDERS = {"euler": 1, "midpoint": 2, "rk4": 4}


def _cases():
    """(f, t, z, h) cases with a time-dependent, nonlinear f, so that a stage evaluated at
    the wrong time or the wrong state gives a different answer."""
    gen = torch.Generator().manual_seed(3)

    def f_sin(t, z):
        return torch.sin(t) * z - z**3

    def f_rot(t, z):
        A = torch.tensor([[-0.1, -1.0], [1.0, -0.1]], dtype=z.dtype)
        return A @ z + t * torch.ones_like(z)

    return [
        (f_sin, 0.3, torch.randn(3, generator=gen, dtype=torch.float64), 0.2),
        (f_rot, 1.0, torch.randn(2, generator=gen, dtype=torch.float64), 0.5),
        (f_sin, -0.7, torch.randn(4, generator=gen, dtype=torch.float64), 0.05),
    ]


def _library_step(f, t, z, h, method):
    """One step of ``method`` from t to t + h: ne.odeint with t itself as the grid."""
    times = torch.tensor([t, t + h], dtype=z.dtype)
    return odeint(f, z, times, method=method)[-1]


def midpoint_step(fn):
    """Lesson 03 exercise: ``fn(f, t, z, h)`` returns one explicit midpoint step,
    z + h f(t + h/2, z + h/2 f(t, z)), with ``t`` a 0-dim tensor and ``z`` a 1-D tensor.

    Checked against ``ne.odeint(method="midpoint")`` over one step, on a nonlinear f that
    depends on t; an Euler step or a slope taken at the wrong time is named.
    """
    for f, t, z, h in _cases():
        t_tensor = torch.tensor(t, dtype=z.dtype)
        expected = _library_step(f, t, z, h, "midpoint")
        out, failure = _call(fn, f, t_tensor, z.clone(), h)
        if failure is not None:
            return failure
        if not isinstance(out, torch.Tensor):
            return CheckResult(False, f"return a tensor (the new z), got {type(out).__name__}")
        if out.shape != z.shape:
            return CheckResult(
                False, f"the new z must have z's shape {tuple(z.shape)}, got {tuple(out.shape)}"
            )
        # A float32 answer is compared at float32's precision, not rejected outright.
        tol = 1e-12 if out.dtype == torch.float64 else 1e-5
        out = out.to(expected.dtype)
        if torch.allclose(out, expected, rtol=tol, atol=tol):
            continue
        k1 = f(t_tensor, z)
        if torch.allclose(out, z + h * k1, rtol=tol, atol=tol):
            return CheckResult(False, "that is an Euler step: take the slope at the midpoint")
        wrong_time = z + h * f(t_tensor, z + h / 2 * k1)
        if torch.allclose(out, wrong_time, rtol=tol, atol=tol):
            return CheckResult(False, "the midpoint slope must be evaluated at time t + h/2")
        if torch.allclose(out, z + h / 2 * f(t_tensor + h / 2, z + h / 2 * k1), atol=tol):
            return CheckResult(False, "the step is z + h * (midpoint slope), not h/2")
        return CheckResult(
            False, f"at t = {t}, h = {h} you return {out.tolist()}, expected {expected.tolist()}"
        )
    return CheckResult(True, "your midpoint step matches the library's to round-off.")


def measured_error_ratios(n_steps=(20, 40)):
    """error(h) / error(h/2) for each fixed-grid method, measured on the damped rotation
    dz/dt = A z, A = [[-0.1, -1], [1, -0.1]], z0 = (1, 0), t in [0, 2], against exp(2A) z0.
    Returns {method: ratio}."""
    A = torch.tensor([[-0.1, -1.0], [1.0, -0.1]], dtype=torch.float64)
    z0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    t = torch.tensor([0.0, 2.0], dtype=torch.float64)
    exact = torch.linalg.matrix_exp(2.0 * A) @ z0
    ratios = {}
    for method in ORDERS:
        errors = []
        for n in n_steps:
            z1 = odeint(lambda t, z: A @ z, z0, t, method=method, step_size=2.0 / n)[-1]
            errors.append(float(torch.linalg.vector_norm(z1 - exact)))
        ratios[method] = errors[0] / errors[1]
    return ratios


def error_ratio_prediction(answers):
    """Lesson 03 exercise: predict, for euler, midpoint and rk4, by what factor the error at
    t1 shrinks when the step size h is halved. ``answers``: {method: factor}.

    A prediction passes when it is within 15% of the factor measured with ``ne.odeint`` on
    a damped rotation (see ``measured_error_ratios``).
    """
    if not isinstance(answers, dict):
        return CheckResult(False, f"give a dict {{method: factor}}, got {type(answers).__name__}")
    missing = [m for m in ORDERS if m not in answers]
    if missing:
        return CheckResult(False, f"predict a factor for every method; missing {missing}")
    measured = measured_error_ratios()
    for method, ratio in measured.items():
        try:
            guess = float(answers[method])
        except (TypeError, ValueError):
            return CheckResult(False, f"{method}: give a number, got {answers[method]!r}")
        if not math.isfinite(guess) or abs(guess / ratio - 1) > 0.15:
            hint = (
                " (that is the factor for h itself; the error of an order-p method scales like h^p)"
                if abs(guess - 2) < 0.3 and method != "euler"
                else ""
            )
            return CheckResult(
                False, f"{method}: you predict {guess:g}, the measured factor is {ratio:.3g}{hint}"
            )
    return CheckResult(
        True,
        "halving h divides the error by 2^p: "
        + ", ".join(f"{m} {r:.3g}" for m, r in measured.items()),
    )
