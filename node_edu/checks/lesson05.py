"""Checkers for lesson 05: the adjoint's initial condition, its jumps, and a backward sweep.

* ``constant_adjoint(fn)``: every start a(t1) for which the adjoint of dz/dt = A z stays
  constant (the null space of A^T), against SymPy's exact null space and a run of the
  adjoint ODE from each answer.
* ``adjoint_sweep(fn)``: the whole backward sweep over several observation times, returning
  dL/dz0 and every dL/dt_i, checked against the exact SymPy oracle ``node_edu.linear``.
* ``euler_adjoint(fn)``: the discrete adjoint of Euler's method, repaired from a broken
  version, against the exact rational backprop of ``LinearODE.euler_gradients``.
"""

import functools

import sympy as sp
import torch

from node_edu.checks.base import Mistake, exercise, expect_tensor, passed, unpack
from node_edu.linear import LinearODE
from node_edu.solutions import lesson05
from node_edu.solvers import odeint

DT = torch.float64
E = torch.linalg.matrix_exp


def _first_match(got, wrongs, atol, prefix):
    """Raise the Mistake of the first known wrong answer ``got`` equals (allclose)."""
    for wrong, why in wrongs:
        if torch.allclose(got, wrong, atol=atol):
            raise Mistake(f"({prefix}) {why}")


# -- 05.constant_adjoint_starts: when is the adjoint of dz/dt = A z constant? --------------

# (what it is, A with integer entries): SymPy finds null(A^T) exactly for these.
_CONSTANT_CASES = (
    ("a nilpotent A", ((0, 1), (0, 0))),  # null(A^T) = span(0, 1), null(A) = span(1, 0)
    ("this lesson's A", ((0, 1), (-2, -3))),  # invertible: only a(t1) = 0
    ("a 3 x 3 A of rank 2", ((1, 2, 0), (0, 1, 1), (1, 3, 1))),  # row 3 = row 1 + row 2
    ("a 3 x 3 A of rank 1", ((0, 1, 1), (0, -1, -1), (0, 2, 2))),  # (1, -1, 2) (0, 1, 1)^T
    ("A = 0", ((0, 0), (0, 0))),
)


@functools.cache
def _null_dimension(A_rows):
    """dim null(A^T), exactly (SymPy's nullspace of the integer matrix A^T)."""
    return len(sp.Matrix(A_rows).T.nullspace())


def _adjoint_run(A, a1, t1=1.0):
    """The adjoint da/dt = -A^T a solved by ne.odeint from t1 back to 0, at 11 times: [11, n]."""
    ts = torch.linspace(t1, 0.0, 11, dtype=DT)
    return odeint(lambda t, a: -A.T @ a, a1, ts, rtol=1e-12, atol=1e-14)


@exercise(
    "05.constant_adjoint_starts",
    solution=lesson05.constant_adjoint_starts,
    hints=(
        "The adjoint is constant when da/dt = 0 at every t. With a(t) = exp(A^T (t1 - t)) "
        "a(t1), da/dt = -A^T exp(A^T (t1 - t)) a(t1) = -exp(A^T (t1 - t)) A^T a(t1). The "
        "matrix exponential is invertible: what must A^T a(t1) be?",
        "A^T a(t1) = 0: the starts are the null space of A^T (not of A: a multiplies A from "
        "the left, a^T A). torch.linalg.svd(A.T) gives it: the rows of Vh whose singular "
        "values are 0, up to round-off (say below 1e-12 times the largest).",
        "U, S, Vh = torch.linalg.svd(A.T); rank = int((S > 1e-12 * S.max()).sum()); "
        "return Vh[rank:].T (an [n, 0] tensor when A is invertible).",
    ),
)
def constant_adjoint(fn):
    """Lesson 05 exercise: ``fn(A)`` returns a basis, as the columns of an [n, k] tensor, of
    every start a(t1) for which the adjoint of dz/dt = A z stays constant: the null space
    of A^T (k = 0, an [n, 0] tensor, when only a(t1) = 0 does).

    Five integer matrices (nilpotent, invertible, 3 x 3 of rank 2 and 1, zero); k against
    SymPy's exact null space of A^T, each column against A^T b = 0, the columns against
    linear dependence; then each column is run: ne.odeint solves da/dt = -A^T a from it.
    The null space of A, an empty answer for A = 0 and a vector for an invertible A are
    named.
    """
    moved = 0.0
    for what, rows in _CONSTANT_CASES:
        A = torch.tensor(rows, dtype=DT)
        n, k = A.shape[0], _null_dimension(rows)
        B = expect_tensor(fn(A.clone()), f"the basis for {what}", dtype=DT, device=A.device)
        if B.dim() != 2 or B.shape[0] != n:
            raise Mistake(
                f"({what}) return the basis as the columns of an [n, k] tensor, n = {n}; got "
                f"shape {list(B.shape)} (an [n, 0] tensor when there is none)"
            )
        scale = max(float(torch.linalg.matrix_norm(A)), 1.0)
        off = (A.T @ B).norm(dim=0) > 1e-9 * scale * B.norm(dim=0).clamp_min(1e-300)
        if B.shape[1] and (B.norm(dim=0) < 1e-12).any():
            raise Mistake(f"({what}) a zero column spans nothing; give nonzero vectors")
        if off.any():
            j = int(off.nonzero()[0])
            run = _adjoint_run(A, B[:, j])
            change = float((run - B[:, j]).norm(dim=1).max())
            if (A @ B).norm() < 1e-9 * scale * B.norm():
                raise Mistake(
                    f"({what}) your columns solve A b = 0; the adjoint needs A^T b = 0 "
                    "(da/dt = -a^T A, written as a column -A^T a). Started at your column "
                    f"{j + 1}, the adjoint moves by {change:.3g} between t1 = 1 and t0 = 0"
                )
            raise Mistake(
                f"({what}) started at your column {j + 1}, {B[:, j].tolist()}, the adjoint "
                f"moves by {change:.3g} between t1 = 1 and t0 = 0: A^T b is not 0"
                + (" (A is invertible: only a(t1) = 0 stays put)" if k == 0 else "")
            )
        if B.shape[1] and int(torch.linalg.matrix_rank(B)) < B.shape[1]:
            raise Mistake(f"({what}) your columns are linearly dependent; give a basis")
        if B.shape[1] != k:
            if k == 0:
                raise Mistake(f"({what}) is invertible: A^T a = 0 only for a = 0. Return "
                              f"an [{n}, 0] tensor")  # fmt: skip
            if k == n:
                raise Mistake(f"({what}) da/dt = -A^T a = 0 for every a: every start stays "
                              f"constant, a basis of all of R^{n}")  # fmt: skip
            raise Mistake(
                f"({what}) A^T a = 0 has {k} independent solution{'s' * (k > 1)} (SymPy), you "
                f"give {B.shape[1]}"
                + (
                    ". Round-off: an exact 0 comes out of svd as about 1e-16, so compare "
                    "with a tolerance"
                    if B.shape[1] < k
                    else ""
                )
            )
        for j in range(k):  # the prediction, run: each column stays put
            moved = max(moved, float((_adjoint_run(A, B[:, j]) - B[:, j]).norm(dim=1).max()))
    return passed(
        "a(t) = exp(A^T (t1 - t)) a(t1) stays constant exactly when A^T a(t1) = 0: your "
        f"bases match SymPy's null spaces of A^T, and ne.odeint moves none of them (by at "
        f"most {moved:.0e}). A != 0 does not prevent it; only A^T a(t1) != 0 does."
    )


# -- 05.adjoint_sweep: the whole backward sweep ----------------------------------------

# Small systems SymPy solves exactly in well under a second: (A, z0, t0, times, targets).
_SWEEP_CASES = (
    ([[0.0, 1.0], [-2.0, -3.0]], [1.0, 0.5], 0.0, [0.5, 1.0, 1.5],
     [[0.2, -0.1], [0.0, 0.3], [-0.4, 0.1]]),  # real eigenvalues -1, -2; not symmetric
    ([[-0.5, 2.0], [-2.0, -0.5]], [0.3, -1.0], 0.25, [0.75, 1.25],
     [[1.0, 0.0], [0.0, -1.0]]),  # a spiral (eigenvalues -0.5 +- 2i), t0 != 0
    ([[-1.0, 1.0, 0.0], [0.0, -2.0, 1.0], [0.0, 0.0, 0.5]], [1.0, -1.0, 0.5], 0.0,
     [0.5, 1.0, 2.0, 2.5], [[0.1, 0.2, 0.3], [0.0, 0.0, 0.0], [1.0, -1.0, 0.5],
                            [0.2, 0.2, -0.2]]),  # 3 x 3, one growing mode
)  # fmt: skip


@functools.cache
def _sweep_oracle(k):
    """The exact dL/dz0 and dL/dt_i of case k from SymPy, as float64 tensors (cached)."""
    A, z0, t0, times, y = _SWEEP_CASES[k]
    exact = LinearODE(A, z0, t0=t0, t1=times[-1], timeout=None).gradients(y, times=times)
    as_tensor = lambda m: torch.tensor([float(x) for x in m], dtype=DT)  # noqa: E731
    return as_tensor(exact.dz0), as_tensor(exact.dt)


def _sweep_variants(A, z0, t0, times, y):
    """Common wrong answers (dz0 ones, dt ones), each with what it suggests."""
    m = len(times)
    z = torch.stack([E(A * (ti - t0)) @ z0 for ti in times])
    g = 2 * (z - y) / m
    f = z @ A.T
    a_minus = []  # a(t_i^-), the total adjoint at each t_i
    a, later = torch.zeros_like(z0), times[-1]
    for i in reversed(range(m)):
        a = E(A.T * (later - times[i])) @ a + g[i]
        a_minus.insert(0, a)
        later = times[i]
    a_minus = torch.stack(a_minus)
    last_only = E(A.T * (times[-1] - t0)) @ g[-1]
    dz0 = (
        (last_only, "only the last observation reached z0: each t_i adds its jump on the way back"),
        (g.sum(0), "the jumps were added but never carried back: between observations "
         "da/dt = -A^T a moves the adjoint (matrix_exp(A.T * (t_later - t_earlier)))"),
        (sum(E(A * (ti - t0)) @ gi for ti, gi in zip(times, g, strict=True)),
         "transpose A: the adjoint is carried by exp(A^T s), not exp(A s)"),
        (sum(E(A.T * (ti - t0)) @ gi for ti, gi in zip(times, 2 * (z - y), strict=True)),
         "the 1/m of the mean loss is missing"),
        (-sum(E(A.T * (ti - t0)) @ gi for ti, gi in zip(times, g, strict=True)),
         "the sign is flipped: with a = +dL/dz the jumps are (2/m)(z(t_i) - y_i)"),
    )  # fmt: skip
    dt = (
        ((a_minus * f).sum(1), "dL/dt_i uses the total adjoint a(t_i); it takes only the jump "
         "g_i = (2/m)(z(t_i) - y_i): moving t_i changes what is read at t_i, not the trajectory"),
        (-(g * f).sum(1), "the sign of dL/dt_i: observing later reads z(t_i) + f dt, so "
         "dL/dt_i = +g_i . f(z(t_i))"),
        (m * (g * f).sum(1), "dL/dt_i is missing the 1/m of the mean loss"),
        ((g * (z @ A)).sum(1), "f(z(t_i)) = A z(t_i): z @ A.T for rows, not z @ A"),
    )  # fmt: skip
    return dz0, dt


@exercise(
    "05.adjoint_sweep",
    solution=lesson05.adjoint_sweep,
    hints=(
        "First the forward pass: z(t_i) = matrix_exp(A * (t_i - t0)) @ z0 for every t_i, and "
        "the jumps g_i = 2 (z(t_i) - y_i) / m (section 3).",
        "Then walk backwards from a = 0 after t_m: for i = m-1, ..., 0 carry a from the later "
        "time to t_i with matrix_exp(A.T * (later - t_i)) @ a, then add g_i. A last carry "
        "takes a from t_1 to t0: that is dL/dz0.",
        "dL/dt_i = g_i . (A z(t_i)): the jump dotted with f at t_i (not the total a(t_i)). "
        "For all i at once: (g * (z @ A.T)).sum(dim=1).",
    ),
)
def adjoint_sweep(fn):
    """Lesson 05 exercise: ``fn(A, z0, t0, times, y)`` returns ``(dz0, dt)`` for dz/dt = A z.

    ``A`` [n, n], ``z0`` [n] = z(t0), ``t0`` a float, ``times`` [m] the increasing
    observation times t_1 < ... < t_m (all > t0), ``y`` [m, n] the targets; the loss is
    L = (1/m) sum_i |z(t_i) - y_i|^2. ``dz0`` [n] is dL/dz0 = a(t0), ``dt`` [m] holds
    dL/dt_i. Checked against the exact SymPy answer of ``LinearODE.gradients`` on three
    systems (real and complex eigenvalues, a 3 x 3 with a growing mode, t0 = 0 and not).
    """
    for k, (A, z0, t0, times, y) in enumerate(_SWEEP_CASES):
        A, z0, times, y = (torch.tensor(x, dtype=DT) for x in (A, z0, times, y))
        oracle_dz0, oracle_dt = _sweep_oracle(k)
        inputs = (A.clone(), z0.clone(), times.clone(), y.clone())
        out = fn(inputs[0], inputs[1], t0, inputs[2], inputs[3])
        dz0, dt = unpack(out, 2, "(dz0, dt)")
        dz0 = expect_tensor(dz0, "dz0", like=z0)
        dt = expect_tensor(dt, "dt", like=times)
        if not all(torch.equal(a, b) for a, b in zip(inputs, (A, z0, times, y), strict=True)):
            raise Mistake("your function changed its inputs in place; do not")
        where = f"case {k + 1}: n = {len(z0)}, m = {len(times)}"
        wrong_dz0, wrong_dt = _sweep_variants(A, z0, t0, times, y)
        if not torch.allclose(dz0, oracle_dz0, rtol=1e-8, atol=1e-10):
            _first_match(dz0, wrong_dz0, 1e-10, where)
            raise Mistake(f"({where}) dz0 differs from the exact dL/dz0 of node_edu.linear")
        if not torch.allclose(dt, oracle_dt, rtol=1e-8, atol=1e-10):
            _first_match(dt, wrong_dt, 1e-10, where)
            raise Mistake(f"({where}) dt differs from the exact dL/dt_i of node_edu.linear")
    return passed(
        "your backward sweep (carry with exp(A^T s), jump at each t_i) gives dL/dz0 and every "
        "dL/dt_i exactly as SymPy does."
    )


# -- 05.euler_adjoint: the discrete adjoint of Euler's method, repaired ------------------


def _euler_variant(A, z0, t0, times, y, n_steps, *, step="B^T", jump_first=True,
                   index="round"):  # fmt: skip
    """The broken function of lesson 05 with any of its three bugs switched on or off."""
    h = (float(times[-1]) - t0) / n_steps
    eye = torch.eye(len(z0), dtype=z0.dtype)
    B = eye + h * A
    back = {"B^T": B.T, "I - hA^T": eye - h * A.T, "B": B}[step]
    zs = [z0]
    for _ in range(n_steps):
        zs.append(B @ zs[-1])
    to_int = round if index == "round" else int
    at = {to_int((float(ti) - t0) / h): i for i, ti in enumerate(times)}
    a = torch.zeros_like(z0)
    for k in range(n_steps, 0, -1):
        if jump_first and k in at:
            a = a + 2 * (zs[k] - y[at[k]]) / len(times)
        a = back @ a
        if not jump_first and k in at:
            a = a + 2 * (zs[k] - y[at[k]]) / len(times)
    return a


# (A, z0, t0, times, targets, n_steps): every t_i on the grid t0 + k h. Case 2 has
# h = 0.1, where (0.3 - 0) / 0.1 = 2.9999999999999996 in floating point.
_EULER_CASES = (
    (((0.0, 1.0), (-2.0, -3.0)), (1.0, 0.5), 0.0, (0.5, 1.0, 1.5),
     ((0.2, -0.1), (0.0, 0.3), (-0.4, 0.1)), 24),
    (((-0.5, 2.0), (-2.0, -0.5)), (0.3, -1.0), 0.0, (0.3, 0.7, 1.0),
     ((1.0, 0.0), (0.0, -1.0), (0.5, 0.5)), 10),
    (((-1.0, 1.0, 0.0), (0.0, -2.0, 1.0), (0.0, 0.0, 0.5)), (1.0, -1.0, 0.5), 0.25,
     (0.75, 1.25), ((0.1, 0.2, 0.3), (1.0, -1.0, 0.5)), 8),
)  # fmt: skip

_EULER_BUGS = (  # (the variant's keywords, what the student reads)
    (dict(step="I - hA^T"), "a step back multiplies by B^T = (I + hA)^T: the forward step is "
     "z_k = B z_(k-1), so dL/dz_(k-1) = B^T dL/dz_k. The minus of da/dt = -A^T a is already "
     "in it, since the step goes back in time (dt = -h)"),
    (dict(step="B"), "a step back multiplies by B^T, not B: z_k = B z_(k-1) gives dL/dz_(k-1) "
     "= B^T dL/dz_k"),
    (dict(jump_first=False), "the jump at step k belongs to dL/dz_k: add it before stepping "
     "back past z_k, not after"),
    (dict(index="int"), "an observation landed one step early: int() truncates, and "
     "(0.3 - 0) / 0.1 is 2.9999999999999996 in floating point. Round to the nearest step"),
)  # fmt: skip


@functools.cache
def _euler_oracle(k):
    """dL/dz0 of Euler case k, exact: LinearODE.euler_gradients (rational backprop)."""
    A, z0, t0, times, y, n_steps = _EULER_CASES[k]
    system = LinearODE(A, z0, t0=t0, t1=times[-1], timeout=None)
    exact = system.euler_gradients(y, n_steps, times=list(times))
    return torch.tensor([float(x) for x in exact.dz0], dtype=DT)


@exercise(
    "05.euler_adjoint",
    solution=lesson05.euler_adjoint,
    hints=(
        "Run the broken function on this lesson's example and compare it with autograd "
        "through ne.odeint(method='euler'). Then read each line of its backward loop "
        "against the chain rule for z_k = B z_(k-1), B = I + hA.",
        "Three things: the matrix of a step back (the transpose of the forward step, "
        "nothing else), where in the loop the jump of z_k is added (before or after stepping "
        "back past z_k?), and how a time t_i becomes a step index k in floating point.",
        "a = B.T @ a for each step back; add 2 (z_k - y_i) / m when k is an observation "
        "step, BEFORE a = B.T @ a; and k = round((t_i - t0) / h), not int(...).",
    ),
)
def euler_adjoint(fn):
    """Lesson 05 exercise (debug): ``fn(A, z0, t0, times, y, n_steps)`` returns dL/dz0
    through ``n_steps`` explicit Euler steps of h = (t_m - t0) / n_steps, for the mean loss
    L = (1/m) sum_i |z(t_i) - y_i|^2 (every t_i on the grid).

    Checked on three systems (one with h = 0.1, where int() misplaces an observation, one
    3 x 3 with t0 != 0) against the exact rational backprop of
    ``LinearODE.euler_gradients``; each of the broken function's bugs left in is named.
    """
    for k, (A, z0, t0, times, y, n_steps) in enumerate(_EULER_CASES):
        A, z0, times, y = (torch.tensor(x, dtype=DT) for x in (A, z0, times, y))
        inputs = (A.clone(), z0.clone(), times.clone(), y.clone())
        out = fn(inputs[0], inputs[1], t0, inputs[2], inputs[3], n_steps)
        got = expect_tensor(out, "dL/dz0", like=z0)
        if not all(torch.equal(a, b) for a, b in zip(inputs, (A, z0, times, y), strict=True)):
            raise Mistake("your function changed its inputs in place; do not")
        oracle = _euler_oracle(k)
        if torch.allclose(got, oracle, rtol=1e-10, atol=1e-12):
            continue
        where = (
            f"case {k + 1}: n = {len(z0)}, {n_steps} steps of h = {(times[-1] - t0) / n_steps:g}"
        )
        for flags, why in _EULER_BUGS:
            wrong = _euler_variant(A, z0, t0, times, y, n_steps, **flags)
            if torch.allclose(got, wrong, rtol=1e-10, atol=1e-12) and not torch.allclose(
                wrong, oracle, rtol=1e-10, atol=1e-12
            ):
                raise Mistake(f"({where}) {why}")
        raise Mistake(
            f"({where}) your dL/dz0 {got.tolist()} is not the exact backprop through the "
            f"Euler steps, {oracle.tolist()} (more than one bug left?)"
        )
    return passed(
        "repaired: your discrete adjoint (a step back is B^T, the jump before it, steps "
        "rounded) gives the exact gradient of the Euler map, as rational arithmetic does."
    )
