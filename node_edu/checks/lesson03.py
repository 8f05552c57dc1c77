"""Checkers for lesson 03 (ODE solvers).

* ``runge_kutta_step(fn)``: one explicit Runge-Kutta step for ANY Butcher tableau, against
  ``ne.odeint`` for the library's tableaux and, for those and a tableau written by hand,
  against linear algebra: on f(t, z) = M z + g(t) the stages solve one linear system.
* ``order_and_error(fn)``: the order of a method and the error of its finest solve from
  three solves and no exact solution, against the tableau's order and the measured error.
* ``euler_stable_step(fn)``: the largest step for which Euler's method on dz/dt = A z does
  not grow, against the eigenvalues and a run of Euler just below and above it.
* ``step_size_control(fn)``: dopri5's accept/reject decision and next step size.
"""

import functools
import math

import torch

from node_edu.checks.base import Mistake, exercise, expect_number, expect_tensor, passed, unpack
from node_edu.solutions import lesson03
from node_edu.solvers import TABLEAUX, ButcherTableau, odeint
from node_edu.solvers.reference import explicit_rk_step

DT = torch.float64


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


# -- the order and the error of a method, without the exact solution ---------------------

# Heun's method (the explicit trapezoidal rule, order 2): not in the library, so the
# student cannot look its order up.
HEUN = ButcherTableau(name="heun", order=2, c=(0.0, 1.0), a=((), (1.0,)), b=(0.5, 0.5))
_ROT = torch.tensor([[-0.1, -1.0], [1.0, -0.1]], dtype=DT)  # lesson 03's damped rotation
_T1 = 2.0


def _f_rotation(t, z):
    return _ROT @ z


def _f_forced(t, z):
    """Nonlinear and time-dependent, so no closed form: its z(t1) comes from a tight solve."""
    return torch.sin(t) * z - z**3 + torch.stack([torch.cos(2 * t), 0 * t])


# (field, method, n): at these n each method's error is already close to C h^p, so the
# estimate from three solves lands within a few percent of the measured error.
_ORDER_CASES = (
    (_f_rotation, "euler", 20),
    (_f_rotation, "midpoint", 10),
    (_f_rotation, "rk4", 4),
    (_f_rotation, KUTTA3, 6),
    (_f_rotation, HEUN, 8),
    (_f_forced, "euler", 40),
    (_f_forced, "rk4", 10),
    (_f_forced, "midpoint", 20),
)
_FIELD_NAMES = {_f_rotation: "the damped rotation", _f_forced: "a forced nonlinear field"}
_Z0 = torch.tensor([1.0, 0.0], dtype=DT)


@functools.cache
def _exact_end(field):
    """z(t1) of a field, by an independent route: matrix_exp, or a dopri5 solve at 1e-13."""
    if field is _f_rotation:
        return torch.linalg.matrix_exp(_T1 * _ROT) @ _Z0
    t = torch.tensor([0.0, _T1], dtype=DT)
    return odeint(field, _Z0, t, rtol=1e-13, atol=1e-14)[-1]


@functools.cache
def _fixed_end(field, method, n):
    """z(t1) after n equal steps of ``method`` (the textbook step, any tableau); cached,
    since the student's code and the checker ask for the same solves."""
    h, z = _T1 / n, _Z0
    for k in range(n):
        z = explicit_rk_step(method, field, k * h, z, h)
    return z


def _fixed_solve(field, method):
    """solve(n) for the student: z(t1) after n equal steps of ``method``, a fresh tensor."""

    def solve(n):
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100_000:
            raise ValueError(f"solve(n): n must be an integer in [1, 100000], got {n!r}")
        return _fixed_end(field, method, n).clone()

    return solve


def _differences(field, method, n):
    z1, z2, z4 = (_fixed_end(field, method, k) for k in (n, 2 * n, 4 * n))
    return (float(torch.linalg.vector_norm(z1 - z2)), float(torch.linalg.vector_norm(z2 - z4)),
            z4)  # fmt: skip


@exercise(
    "03.order_and_error",
    solution=lesson03.order_and_error,
    hints=(
        "Write e(h) = C h^p for the error of solve(n), h = (t1 - t0)/n. Then e(h/2) = "
        "e(h)/2^p, e(h/4) = e(h)/4^p. The exact z(t1) cancels in the differences "
        "z(h) - z(h/2) and z(h/2) - z(h/4): how do their sizes d1 and d2 compare?",
        "d1 / d2 = 2^p, so p = log2(d1 / d2). And d2 = e(h/2) - e(h/4) = (2^p - 1) e(h/4).",
        "z1, z2, z4 = solve(n), solve(2 * n), solve(4 * n); d1 = (z1 - z2).norm(), "
        "d2 = (z2 - z4).norm(); return math.log2(d1 / d2), d2 / (2 ** p - 1) as floats.",
    ),
)
def order_and_error(fn):
    """Lesson 03 exercise: ``fn(solve, n)`` returns ``(p, error)``: the order of the method
    behind ``solve`` (``solve(k)`` is z(t1) after k equal steps) and the error of
    ``solve(4 n)``, with no exact solution at hand.

    The prediction is compared with a measurement: each method's tableau order (within
    0.25), and the error of solve(4n) against z(t1) from ``matrix_exp`` or a tight dopri5
    solve (within 20%), for five methods (two not in the library) on two fields. The
    usual slips are named: 2^p or a natural log for p, d2 itself, or the error of
    solve(2n), for the error.
    """
    report = []
    for field, method, n in _ORDER_CASES:
        tab = TABLEAUX[method] if isinstance(method, str) else method
        where = f"{tab.name} on {_FIELD_NAMES[field]}, n = {n}"
        p, err = unpack(fn(_fixed_solve(field, method), n), 2, "(p, error)")
        p, err = expect_number(p, "p"), expect_number(err, "error")
        d1, d2, z4 = _differences(field, method, n)
        order, measured = tab.order, float(torch.linalg.vector_norm(z4 - _exact_end(field)))
        _judge_order(p, order, where)
        if err <= 0:
            raise Mistake(f"({where}) the error is a size, > 0; you return {err:g}")
        if abs(err / measured - 1) > 0.2:
            _judge_error(err, d1, d2, measured, where)
        report.append(f"{tab.name} p = {p:.2f}")
    return passed(
        "without the exact solution you found each method's order ("
        + ", ".join(report[:5])
        + ") and the error of its finest solve, within 20% of the measured error."
    )


def _judge_order(p, order, where):
    if abs(p - order) <= 0.25:
        return
    if abs(p / 2**order - 1) < 0.1:
        raise Mistake(f"({where}) {p:.3g} is d1/d2 = 2^p itself; p is its log2")
    if abs(p / (order * math.log(2)) - 1) < 0.1:
        raise Mistake(f"({where}) p = {p:.3g} is ln(d1/d2); halving h calls for log2")
    if abs(p + order) < 0.25:
        raise Mistake(f"({where}) p = {p:.3g} < 0: the differences shrink, d1/d2 > 1")
    raise Mistake(
        f"({where}) you give p = {p:.3g}, but halving h divides this method's differences "
        f"by about 2^{order}"
    )


def _judge_error(err, d1, d2, measured, where):
    p = math.log2(d1 / d2)  # the order these solves show

    def near(x):
        return abs(err / x - 1) < 0.05

    if near(d2):
        raise Mistake(
            f"({where}) d2 = |z(h/2) - z(h/4)| = e(h/2) - e(h/4), which is (2^p - 1) times "
            "the error of solve(4n): the differences shrink like the errors"
        )
    if near(d1 / (2**p - 1)):
        raise Mistake(f"({where}) that is the error of solve(2n); the finest is solve(4n)")
    if near(d2 / 2**p):
        raise Mistake(
            f"({where}) d2 / 2^p would be e(h/4) if d2 were e(h/2); it is e(h/2) - e(h/4)"
        )
    raise Mistake(
        f"({where}) you estimate the error of solve(4n) as {err:.3g}; measured against the "
        f"exact z(t1) (which you did not have) it is {measured:.3g}"
    )


# -- the largest stable Euler step --------------------------------------------------------


def _similar(eigs_block, P):
    """P B P^{-1}: a non-symmetric matrix with the eigenvalues of the block matrix B."""
    B, P = torch.tensor(eigs_block, dtype=DT), torch.tensor(P, dtype=DT)
    return P @ B @ torch.linalg.inv(P)


# (what it is, its eigenvalues, A): the expected step comes from the listed eigenvalues
# (a formula of the lesson); the checker also runs Euler at 0.95 and 1.05 times it.
_STABILITY_CASES = (
    ("the damped rotation", (-0.1 + 1j, -0.1 - 1j), _ROT),
    ("a stiff system", (-1.0, -30.0), torch.tensor([[-1.0, 0.0], [29.0, -30.0]], dtype=DT)),
    (
        "a 3 x 3 system",
        (-0.5 + 3j, -0.5 - 3j, -2.0),
        _similar([[-0.5, -3.0, 0.0], [3.0, -0.5, 0.0], [0.0, 0.0, -2.0]],
                 [[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]]),
    ),  # fmt: skip
    ("an undamped rotation", (1j, -1j), torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=DT)),
    ("a singular system", (0.0, -4.0), torch.tensor([[-2.0, 2.0], [2.0, -2.0]], dtype=DT)),
    ("a system with a growing mode", (0.2, -3.0),
     torch.tensor([[0.2, 0.0], [1.0, -3.0]], dtype=DT)),
)  # fmt: skip
_RUN_STEPS = 2000
_GROWS = 1.001  # |z_N| / |z_0| above this after 2000 steps: it grows (round-off is ~1e-13)


def _largest_step(eigenvalues, formula="exact"):
    """The largest stable Euler step from a list of eigenvalues (``formula``: the usual
    slips: "real axis" 2/|lam|, "real part" 2/|Re lam|, "max" over the eigenvalues)."""
    lam = [complex(x) for x in eigenvalues if x != 0]
    if any(x.real >= 0 for x in lam):
        return 0.0
    per = {
        "exact": [-2 * x.real / abs(x) ** 2 for x in lam],
        "real axis": [2 / abs(x) for x in lam],
        "real part": [2 / abs(x.real) for x in lam],
        "no square": [-2 * x.real / abs(x) for x in lam],
    }
    if formula == "max":
        return max(per["exact"])
    return min(per[formula])


def euler_growth(A, h, n_steps=_RUN_STEPS):
    """|z_N| / |z_0| after N Euler steps of size h on dz/dt = A z, from z0 = (1, ..., 0.3):
    (I + hA)^N z0, which is exactly what N Euler steps compute (lesson 03, section 2)."""
    z0 = torch.linspace(1.0, 0.3, A.shape[0], dtype=A.dtype)  # no eigenvector of these A
    zN = torch.linalg.matrix_power(torch.eye(A.shape[0], dtype=A.dtype) + h * A, n_steps) @ z0
    growth = float(torch.linalg.vector_norm(zN) / torch.linalg.vector_norm(z0))
    return growth if math.isfinite(growth) else math.inf  # overflow: it grew


@exercise(
    "03.euler_stable_step",
    solution=lesson03.euler_stable_step,
    hints=(
        "One Euler step multiplies each eigen-mode by 1 + h lam. Write |1 + h lam|^2 with "
        "lam = x + iy: it is (1 + h x)^2 + (h y)^2 = 1 + 2 h x + h^2 |lam|^2.",
        "|1 + h lam| <= 1 gives h <= -2 Re(lam) / |lam|^2, possible only when Re(lam) < 0 "
        "(return 0.0 otherwise). Every eigenvalue must satisfy it: take the smallest bound. "
        "An eigenvalue 0 gives |1 + h 0| = 1 for every h and sets no bound.",
        "lam = torch.linalg.eigvals(A); drop lam == 0; if any lam.real >= 0 return 0.0; "
        "else float((-2 * lam.real / lam.abs() ** 2).min()).",
    ),
)
def euler_stable_step(fn):
    """Lesson 03 exercise: ``fn(A)`` returns the largest h for which Euler's method on
    dz/dt = A z does not grow (|1 + h lam| <= 1 for every eigenvalue lam of A); 0.0 if no
    h > 0 will do.

    Six systems (a damped and an undamped rotation, a stiff one, a non-symmetric 3 x 3, a
    singular one, one with a growing mode); the expected step comes from their known
    eigenvalues, and the prediction is then run: Euler at 0.95 and 1.05 times it, 2000
    steps, must stay bounded and grow. The real-axis bound 2/|lam|, 2/|Re lam|, the
    largest bound instead of the smallest and a positive step where none is stable are
    named.
    """
    runs = []
    for what, eigenvalues, A in _STABILITY_CASES:
        h = expect_number(fn(A.clone()), f"h for {what}")
        expected = _largest_step(eigenvalues)
        if h < 0:
            raise Mistake(f"({what}) a step size is >= 0; return 0.0 when none is stable")
        if expected == 0.0:
            if h > 1e-9:  # round-off may leave a real part of 1e-17 where it is 0
                raise Mistake(
                    f"({what}, eigenvalues {_fmt(eigenvalues)}) no step is stable: for "
                    "Re(lam) >= 0, |1 + h lam|^2 = 1 + 2 h Re(lam) + h^2 |lam|^2 > 1. Euler "
                    f"with your h = {h:.3g} grows {euler_growth(A, h):.3g}-fold in "
                    f"{_RUN_STEPS} steps; return 0.0"
                )
            continue
        if h == 0.0 and 0.0 in eigenvalues:
            raise Mistake(
                f"({what}, eigenvalues {_fmt(eigenvalues)}) you return 0.0, but the mode of "
                "eigenvalue 0 has |1 + h 0| = 1 for every h and sets no bound. Round-off "
                "makes eigvals return about 1e-16 instead of 0: treat |lam| < 1e-12 |A| as 0"
            )
        if math.isclose(h, expected, rel_tol=1e-6):
            runs.append((what, h, euler_growth(A, 0.95 * h), euler_growth(A, 1.05 * h)))
            continue
        for formula, why in (
            ("real axis", "2/|lam| is the bound on the negative real axis; for a complex "
             "lam, |1 + h lam|^2 = 1 + 2 h Re(lam) + h^2 |lam|^2"),
            ("real part", "2/|Re(lam)| ignores the imaginary part, which makes |1 + h lam| "
             "larger: |1 + h lam|^2 = 1 + 2 h Re(lam) + h^2 |lam|^2"),
            ("max", "every eigenvalue must satisfy its bound: take the smallest, not the "
             "largest"),
            ("no square", "|1 + h lam|^2 = 1 + 2 h Re(lam) + h^2 |lam|^2 <= 1 gives "
             "h <= -2 Re(lam) / |lam|^2: the modulus is squared"),
        ):  # fmt: skip
            if math.isclose(h, _largest_step(eigenvalues, formula), rel_tol=1e-6):
                raise Mistake(f"({what}, eigenvalues {_fmt(eigenvalues)}) {why}")
        where = f"({what}, eigenvalues {_fmt(eigenvalues)}) your h = {h:.4g}"
        if euler_growth(A, 0.95 * h) > _GROWS:
            raise Mistake(
                f"{where} is too long: Euler at 0.95 h already grows "
                f"{euler_growth(A, 0.95 * h):.3g}-fold in {_RUN_STEPS} steps"
            )
        if euler_growth(A, 1.05 * h) <= _GROWS:
            raise Mistake(f"{where} is too short: Euler at 1.05 h still stays bounded")
        raise Mistake(f"{where} is within 5% but not exact: compute it from the eigenvalues")
    return passed(
        "your largest stable steps are right, and running Euler confirms them: "
        + "; ".join(
            f"{w}: h = {h:.4g} (at 0.95 h |z| x {lo:.2g}, at 1.05 h x {hi:.2g})"
            for w, h, lo, hi in runs[:3]
        )  # fmt: skip
        + "; none for an undamped rotation or a growing mode."
    )


def _fmt(eigenvalues):
    return ", ".join(f"{complex(x).real:g}{complex(x).imag:+g}i" if complex(x).imag
                     else f"{complex(x).real:g}" for x in eigenvalues)  # fmt: skip


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
