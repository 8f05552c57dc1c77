"""Checkers for lesson 03 (ODE solvers).

* ``midpoint_step(fn)``: one explicit midpoint step, against ``ne.odeint(method="midpoint")``.
* ``runge_kutta_step(fn)``: one explicit Runge-Kutta step for ANY Butcher tableau, against
  ``ne.odeint`` for the library's tableaux and, for those and a tableau written by hand,
  against linear algebra: on f(t, z) = M z + g(t) the stages solve one linear system.
* ``error_ratio_prediction(fn)``: the factor by which halving h shrinks the error of an
  order-p method, against the factor measured with ``ne.odeint``.
"""

import math

import torch

from node_edu.checks.base import Mistake, exercise, expect_number, expect_tensor, passed, unpack
from node_edu.solutions import lesson03
from node_edu.solvers import TABLEAUX, ButcherTableau, odeint

DT = torch.float64
# Orders of the fixed-grid methods: the global error scales like h^p.
ORDERS = {"euler": 1, "midpoint": 2, "rk4": 4}


def _f_sin(t, z):
    return torch.sin(t) * z - z**3


def _f_rot(t, z):
    A = torch.tensor([[-0.1, -1.0], [1.0, -0.1]], dtype=z.dtype)
    return A @ z + t * torch.ones_like(z)


def _cases():
    """(f, t, z, h) cases with a time-dependent, nonlinear f, so that a stage evaluated at
    the wrong time or the wrong state gives a different answer."""
    gen = torch.Generator().manual_seed(3)
    return [
        (_f_sin, 0.3, torch.randn(3, generator=gen, dtype=DT), 0.2),
        (_f_rot, 1.0, torch.randn(2, generator=gen, dtype=DT), 0.5),
        (_f_sin, -0.7, torch.randn(4, generator=gen, dtype=DT), 0.05),
    ]


def _library_step(f, t, z, h, method):
    """One step of ``method`` from t to t + h with ``ne.odeint``. dopri5 gets tolerances so
    loose that its first step (of size h) is accepted: the step is then its 5th-order z1."""
    times = torch.tensor([t, t + h], dtype=z.dtype)
    return odeint(f, z, times, method=method, step_size=h, rtol=1e3, atol=1e6)[-1]


def _answer(out, z, what):
    """The student's new z as a tensor of z's shape, dtype and device (or a Mistake)."""
    return expect_tensor(out, what, like=z)


def _close(x, y):
    return torch.allclose(x, y, rtol=1e-11, atol=1e-12)


@exercise(
    "03.midpoint_step",
    solution=lesson03.midpoint_step,
    hints=(
        "Two evaluations of f: k1 = f(t, z) at the start, then the slope at the midpoint.",
        "The midpoint state is z + h/2 * k1, at the time t + h/2; its slope is used for the "
        "whole step of length h.",
    ),
)
def midpoint_step(fn):
    """Lesson 03 exercise: ``fn(f, t, z, h)`` returns one explicit midpoint step,
    z + h f(t + h/2, z + h/2 f(t, z)), with ``t`` a 0-dim tensor and ``z`` a 1-D tensor.

    Checked against ``ne.odeint(method="midpoint")`` over one step, on a nonlinear f that
    depends on t; an Euler step, a slope taken at the wrong time and a half step are named.
    """
    for f, t, z, h in _cases():
        t_tensor = torch.tensor(t, dtype=z.dtype)
        expected = _library_step(f, t, z, h, "midpoint")
        out = _answer(fn(f, t_tensor.clone(), z.clone(), h), z, "the new z")
        if _close(out, expected):
            continue
        k1 = f(t_tensor, z)
        if _close(out, z + h * k1):
            raise Mistake("that is an Euler step: take the slope at the midpoint")
        if _close(out, z + h * f(t_tensor, z + h / 2 * k1)):
            raise Mistake("the midpoint slope must be evaluated at time t + h/2")
        if _close(out, z + h / 2 * f(t_tensor + h / 2, z + h / 2 * k1)):
            raise Mistake("the step is z + h * (midpoint slope), not h/2")
        raise Mistake(
            f"at t = {t}, h = {h} you return {out.tolist()}, expected {expected.tolist()}"
        )
    return passed("your midpoint step matches ne.odeint's to round-off.")


# -- one step of any explicit Runge-Kutta method ------------------------------------------

# Kutta's third-order method (Hairer, Norsett & Wanner I, Table II.1.1): a_31 = -1 makes
# stage 3 use BOTH earlier stages, which a loop that only looks one stage back gets wrong.
KUTTA3 = ButcherTableau(
    name="kutta3", order=3, c=(0.0, 0.5, 1.0), a=((), (0.5,), (-1.0, 2.0)), b=(1 / 6, 2 / 3, 1 / 6)
)
_M = torch.tensor([[-0.3, 1.2], [-0.8, 0.1]], dtype=DT)  # not symmetric, not diagonal


def _g(t):
    return torch.stack([torch.sin(2 * t), torch.cos(t)])


def _f_affine(t, z):
    """f(t, z) = M z + g(t): linear in z, so one RK step is a linear solve (``_linear_step``)."""
    return _M @ z + _g(t)


def _coefficients(tab):
    """(c [s], A [s, s] strictly lower triangular, b [s]) of a tableau, float64 tensors."""
    s = len(tab.c)
    A = torch.zeros(s, s, dtype=DT)
    for i, row in enumerate(tab.a):
        A[i, : len(row)] = torch.tensor(row, dtype=DT)
    return torch.tensor(tab.c, dtype=DT), A, torch.tensor(tab.b, dtype=DT)


def _linear_step(t, z, h, c, A, b):
    """One step of the tableau (c, A, b) on f = M z + g(t), without a stage loop.

    The stages k = [k_1; ...; k_s] (stacked, [s n]) obey k_i = M (z + h sum_j a_ij k_j) +
    g(t + c_i h), i.e. (I - h A kron M) k = 1 kron M z + G: one linear solve (valid for any
    A, explicit or not). Then z_new = z + h (b^T kron I) k.
    """
    s, n = len(c), z.numel()
    G = torch.cat([_g(t + c_i * h) for c_i in c])
    rhs = (_M @ z).repeat(s) + G
    k = torch.linalg.solve(torch.eye(s * n, dtype=DT) - h * torch.kron(A, _M), rhs)
    return z + h * torch.kron(b[None, :], torch.eye(n, dtype=DT)) @ k


def _slips(t, z, h, tab):
    """(wrong answer, diagnosis) for the usual slips, each a changed tableau on f = M z + g."""
    c, A, b = _coefficients(tab)
    last_only = torch.diag(torch.diagonal(A, -1), -1)  # only a_{i,i-1} kept
    last_weight = torch.zeros_like(b)
    last_weight[-1] = 1.0
    return [
        (
            _linear_step(t, z, h, torch.zeros_like(c), A, b),
            "every stage is evaluated at time t: stage i is at t + c_i h",
        ),
        (
            _linear_step(t, z, h, c, last_only, b),
            "stage i's state is z + h * sum over ALL earlier stages j < i of a_ij k_j, "
            "not only the stage just before it",
        ),
        (
            _linear_step(t, z, h, c, A / h, b),
            "the stage state is z + h * sum_j a_ij k_j: the factor h is missing",
        ),
        (
            _linear_step(t, z, h, c, A, b / h),
            "z_new = z + h * sum_i b_i k_i: the factor h is missing",
        ),
        (
            _linear_step(t, z, h, c, A, last_weight),
            "z_new uses the last stage only; weight every stage k_i by b_i",
        ),
        (
            _linear_step(t, z, h, c, A, torch.full_like(b, 1 / len(b))),
            "z_new averages the stages equally; weight each stage k_i by b_i",
        ),
    ]


def _run_step(fn, f, t, z, h, tab):
    """The student's step on copies of the inputs; in-place changes are a Mistake."""
    t_in, z_in = torch.tensor(t, dtype=DT), z.clone()
    out = _answer(fn(f, t_in, z_in, h, tab), z, f"the new z ({tab.name})")
    if not (torch.equal(z_in, z) and t_in.item() == t):
        raise Mistake("your function changed z or t in place; build new tensors instead")
    return out


@exercise(
    "03.rk_step",
    solution=lesson03.rk_step,
    hints=(
        "Keep a list of the stages ks. For stage i, start from z, add h * a_ij * k_j for "
        "every earlier stage j (tableau.a[i] has exactly i entries), then evaluate f at "
        "time t + c_i * h.",
        "for c_i, a_i in zip(tableau.c, tableau.a): the state z_i = z + h * sum(a_ij * k_j "
        "for a_ij, k_j in zip(a_i, ks)); ks.append(f(t + c_i * h, z_i)).",
        "At the end: z + h * sum(b_i * k_i for b_i, k_i in zip(tableau.b, ks)). For "
        "dopri5 this spends one evaluation more than needed (b_7 = 0); that is fine here.",
    ),
)
def runge_kutta_step(fn):
    """Lesson 03 exercise: ``fn(f, t, z, h, tableau)`` returns one explicit Runge-Kutta
    step of ``tableau`` (a ``ButcherTableau``: ``c``, ``a`` with ``a[i]`` the i weights of
    row i, ``b``), with ``t`` a 0-dim tensor, ``z`` a 1-D tensor and ``h`` a float.

    Checked (1) against one step of ``ne.odeint`` for euler, midpoint, rk4 and dopri5 on
    nonlinear, time-dependent fields, and (2) for those four and Kutta's third-order
    tableau (not in the library) against linear algebra on f = M z + g(t), where the
    stages solve one linear system; the usual slips (stage times, partial sums, a missing
    h, the weights b) are each named.
    """
    for name in ("euler", "midpoint", "rk4", "dopri5"):
        tab = TABLEAUX[name]
        for f, t, z, h in _cases():
            expected = _library_step(f, t, z, h, name)
            out = _run_step(fn, f, t, z, h, tab)
            if not _close(out, expected):
                _diagnose(fn, tab)
                raise Mistake(
                    f"{name}: at t = {t}, h = {h} you return {out.tolist()}, ne.odeint "
                    f"gives {expected.tolist()}"
                )
    gen = torch.Generator().manual_seed(33)
    for tab in (KUTTA3, *(TABLEAUX[m] for m in ("euler", "midpoint", "rk4", "dopri5"))):
        _diagnose(fn, tab, gen)
    return passed(
        "one loop runs every tableau: it matches ne.odeint for euler, midpoint, rk4 and "
        "dopri5, and the exact linear-algebra step for those and Kutta's 3rd-order method."
    )


def _diagnose(fn, tab, gen=None):
    """Compare with the linear-algebra step on f = M z + g(t); name the slip if wrong."""
    gen = gen or torch.Generator().manual_seed(34)
    t = float(torch.rand((), generator=gen, dtype=DT)) * 2
    z = torch.randn(2, generator=gen, dtype=DT)
    h = 0.3
    c, A, b = _coefficients(tab)
    expected = _linear_step(torch.tensor(t, dtype=DT), z, h, c, A, b)
    out = _run_step(fn, _f_affine, t, z, h, tab)
    if _close(out, expected):
        return
    for wrong, diagnosis in _slips(torch.tensor(t, dtype=DT), z, h, tab):
        if _close(out, wrong) and not _close(wrong, expected):
            raise Mistake(f"{tab.name}: {diagnosis}")
    raise Mistake(
        f"{tab.name}: on f = M z + g(t) at t = {t:.3f}, h = {h} you return {out.tolist()}, "
        f"the exact step is {expected.tolist()}"
    )


# -- the error ratio -----------------------------------------------------------------------


def measured_error_ratios(n_steps=(20, 40)):
    """error(h) / error(h/2) for each fixed-grid method, measured on the damped rotation
    dz/dt = A z, A = [[-0.1, -1], [1, -0.1]], z0 = (1, 0), t in [0, 2], against exp(2A) z0.
    Returns {method: ratio}."""
    A = torch.tensor([[-0.1, -1.0], [1.0, -0.1]], dtype=DT)
    z0 = torch.tensor([1.0, 0.0], dtype=DT)
    t = torch.tensor([0.0, 2.0], dtype=DT)
    exact = torch.linalg.matrix_exp(2.0 * A) @ z0
    ratios = {}
    for method in ORDERS:
        errors = []
        for n in n_steps:
            z1 = odeint(lambda t, z: A @ z, z0, t, method=method, step_size=2.0 / n)[-1]
            errors.append(float(torch.linalg.vector_norm(z1 - exact)))
        ratios[method] = errors[0] / errors[1]
    return ratios


@exercise(
    "03.error_ratio",
    solution=lesson03.error_ratio,
    hints=(
        "A method of order p has error about C h^p at t1. What happens to C h^p when h "
        "becomes h/2?",
        "C h^p / (C (h/2)^p) = 2^p: the answer depends on the order only.",
    ),
)
def error_ratio_prediction(fn):
    """Lesson 03 exercise: ``fn(order)`` predicts by what factor the error at t1 of a
    method of that order shrinks when the step size h is halved.

    A prediction passes when it is within 15% of the factor measured with ``ne.odeint``
    for euler (order 1), midpoint (2) and rk4 (4) on a damped rotation
    (``measured_error_ratios``).
    """
    measured = measured_error_ratios()
    for method, ratio in measured.items():
        p = ORDERS[method]
        guess = expect_number(fn(p), f"your factor for order {p}")
        if math.isclose(guess, 1 / ratio, rel_tol=0.15):
            raise Mistake(
                f"order {p}: you give {guess:g}, the error's change as a fraction; the "
                "factor by which it shrinks is its inverse (> 1)"
            )
        if abs(guess / ratio - 1) > 0.15:
            hint = ""
            if abs(guess - 2) < 0.3 and p != 1:
                hint = " (2 is the factor for h itself; the error scales like h^p)"
            elif abs(guess - 2 * p) < 0.3:
                hint = " (the error scales like h^p, a power, not like p h)"
            raise Mistake(
                f"{method} (order {p}): you predict {guess:g}, the measured factor is "
                f"{ratio:.3g}{hint}"
            )
    return passed(
        "halving h divides the error by 2^p: measured "
        + ", ".join(f"{m} {r:.3g}" for m, r in measured.items())
    )


# -- the step-size controller -------------------------------------------------------------

SAFETY, MIN_FACTOR, MAX_FACTOR = 0.9, 0.2, 10.0  # the controller lesson 03 describes


def _controller(z, z_new, err, h, rtol, atol, *, exponent=-1 / 5, safety=SAFETY, norm="rms",
                scale_by="max", clamp=True):  # fmt: skip
    """The controller's formula (keywords switch on the usual slips): (accept, h_next)."""
    ref = torch.maximum(z.abs(), z_new.abs()) if scale_by == "max" else z.abs()
    scaled = err / (atol + rtol * ref)
    ratio = float(scaled.abs().max() if norm == "max" else scaled.pow(2).mean().sqrt())
    if ratio == 0.0:
        return True, h * MAX_FACTOR
    factor = safety * ratio**exponent
    if clamp:
        factor = min(MAX_FACTOR, max(MIN_FACTOR, factor))
    return ratio <= 1.0, h * factor


def _dopri5_steps():
    """(z, z_new, err, h, rtol, atol) from real dopri5 steps on f = M z + g(t), exact by
    linear algebra (``_linear_step`` with the weights b and b - b_hat); step sizes from
    far too short (ratio tiny, factor clamped at 10) to far too long (clamped at 0.2)."""
    tab = TABLEAUX["dopri5"]
    c, A, b = _coefficients(tab)
    b_err = torch.tensor(tab.b_err, dtype=DT)
    gen = torch.Generator().manual_seed(35)
    cases = []
    for h, rtol, atol in ((1e-3, 1e-3, 1e-6), (0.05, 1e-6, 1e-9), (0.3, 1e-6, 1e-9),
                          (0.8, 1e-5, 1e-8), (2.5, 1e-6, 1e-9)):  # fmt: skip
        t = torch.rand((), generator=gen, dtype=DT) * 2
        z = 3 * torch.randn(2, generator=gen, dtype=DT)
        z_new = _linear_step(t, z, h, c, A, b)
        err = _linear_step(t, z, h, c, A, b_err) - z  # h sum_i (b_i - b_hat_i) k_i
        cases.append((z, z_new, err, h, rtol, atol))
    return cases


@exercise(
    "03.step_control",
    solution=lesson03.step_control,
    hints=(
        "First the error ratio: divide err by the scale atol + rtol * max(|z|, |z_new|) "
        "(torch.maximum of the two absolute values), then take the root mean square.",
        "Accept when the ratio is at most 1. The next step is h * 0.9 * ratio ** (-1/5), "
        "the factor clamped to [0.2, 10] (min and max); a ratio of exactly 0 gives 10 h.",
    ),
)
def step_size_control(fn):
    """Lesson 03 exercise: ``fn(z, z_new, err, h, rtol, atol)`` returns ``(accept, h_next)``
    for one dopri5 step: the error ratio RMS(err / (atol + rtol max(|z|, |z_new|))), accept
    when it is <= 1, h_next = h * clamp(0.9 ratio^(-1/5), 0.2, 10) (10 h for a zero ratio).

    Fed the error estimates of real dopri5 steps (exact, by linear algebra) from far too
    short to far too long, and a zero estimate; checked against that formula (which
    ``node_edu.solvers.rk`` implements; a test checks they agree). A max norm, the
    scale from z alone, the exponent -1/4, a missing safety factor or clamp are named.
    """
    cases = _dopri5_steps()
    z0 = cases[0][0]
    cases.append((z0, z0, torch.zeros_like(z0), 0.1, 1e-6, 1e-9))  # a zero error estimate
    slips = (
        (dict(norm="max"), "the ratio is the root mean square of err / scale, not its maximum"),
        (dict(scale_by="z"), "the scale is atol + rtol * max(|z|, |z_new|): use both states"),
        (dict(exponent=-1 / 4), "the exponent is -1/5: dopri5's error estimate is O(h^5)"),
        (dict(safety=1.0), "the factor needs the safety 0.9, so the next step aims below"),
        (dict(clamp=False), "clamp the factor to [0.2, 10]: one estimate must not change h "
                            "by more than that"),
    )  # fmt: skip
    for z, z_new, err, h, rtol, atol in cases:
        args = (z.clone(), z_new.clone(), err.clone(), h, rtol, atol)
        out = unpack(fn(*args), 2, "(accept, h_next)")
        accept, h_next = _as_bool(out[0]), expect_number(out[1], "h_next")
        want_accept, want_h = _controller(z, z_new, err, h, rtol, atol)
        if accept == want_accept and math.isclose(h_next, want_h, rel_tol=1e-6):
            continue
        for kw, diagnosis in slips:
            got = _controller(z, z_new, err, h, rtol, atol, **kw)
            if (accept, h_next) == got or math.isclose(h_next, got[1], rel_tol=1e-6):
                if not math.isclose(got[1], want_h, rel_tol=1e-6):
                    raise Mistake(diagnosis)
        what = "accept" if accept != want_accept else "h_next"
        raise Mistake(
            f"for h = {h:g} (error ratio {_ratio(z, z_new, err, rtol, atol):.3g}) you return "
            f"accept={accept}, h_next={h_next:.6g}; expected accept={want_accept}, "
            f"h_next={want_h:.6g} (look at {what})"
        )
    return passed(
        "your controller accepts, rejects and resizes dopri5's steps exactly as the "
        "formula does, from far too short steps (x10) to far too long ones (x0.2)."
    )


def _ratio(z, z_new, err, rtol, atol):
    scale = atol + rtol * torch.maximum(z.abs(), z_new.abs())
    return float((err / scale).pow(2).mean().sqrt())


def _as_bool(x):
    """accept as a Python bool (a bool or a one-element bool tensor), else a Mistake."""
    if isinstance(x, torch.Tensor) and x.dtype == torch.bool and x.numel() == 1:
        if x.device.type != "meta":
            return bool(x)
    if isinstance(x, bool):
        return x
    raise Mistake(f"accept must be True or False, got {type(x).__name__}")
