"""Checkers for lesson 05: the adjoint's initial condition, its jumps, and a backward sweep.

* ``adjoint_between(fn)``: a(t) for dz/dt = A z between two observation times, checked
  against autograd through ``torch.linalg.matrix_exp`` (a VJP of the flow z(t) -> z(t1)).
* ``jumps(fn)``: the jump of the adjoint at each observation time, dL/dz(t_i), for the mean
  loss L = (1/m) sum_i |z(t_i) - y_i|^2, checked against torch autograd of that loss.
* ``adjoint_sweep(fn)``: the whole backward sweep over several observation times, returning
  dL/dz0 and every dL/dt_i, checked against the exact SymPy oracle ``node_edu.linear``.
"""

import functools

import torch

from node_edu.checks.base import Mistake, exercise, expect_tensor, passed, unpack
from node_edu.linear import LinearODE
from node_edu.solutions import lesson05

DT = torch.float64
E = torch.linalg.matrix_exp


def _first_match(got, wrongs, atol, prefix):
    """Raise the Mistake of the first known wrong answer ``got`` equals (allclose)."""
    for wrong, why in wrongs:
        if torch.allclose(got, wrong, atol=atol):
            raise Mistake(f"({prefix}) {why}")


@exercise(
    "05.adjoint_between",
    solution=lesson05.adjoint_between,
    hints=(
        "Between observations the adjoint obeys da/dt = -a^T df/dz, and for f(z) = A z the "
        "Jacobian df/dz is A, not zero.",
        "Written as a column, da/dt = -A^T a: a linear ODE with the constant matrix -A^T. Its "
        "solution from t1 back to t is a matrix exponential times a(t1).",
        "a(t) = exp(A^T (t1 - t)) a(t1): torch.linalg.matrix_exp(A.T * (t1 - t)) @ a1.",
    ),
)
def adjoint_between(fn):
    """Lesson 05 exercise: ``fn(A, a1, t, t1)`` returns a(t), shape [n], for dz/dt = A z.

    ``a1`` [n] is a(t1) (just before t1, the jump at t1 included); no observation lies in
    (t, t1), so the adjoint obeys da/dt = -A^T a there. ``t`` and ``t1`` are floats,
    t < t1. The oracle: a(t) is the VJP of the flow z(t) -> z(t1) = exp(A (t1 - t)) z(t)
    with a1, computed by autograd through ``torch.linalg.matrix_exp``.
    """
    gen = torch.Generator().manual_seed(7)
    for n, t, t1 in ((2, 0.25, 1.5), (3, 0.0, 1.0)):
        A = torch.randn(n, n, generator=gen, dtype=DT)
        a1 = torch.randn(n, generator=gen, dtype=DT)
        zt = torch.randn(n, generator=gen, dtype=DT, requires_grad=True)
        (oracle,) = torch.autograd.grad(E(A * (t1 - t)) @ zt, zt, grad_outputs=a1)
        got = expect_tensor(fn(A.clone(), a1.clone(), t, t1), "a(t)", like=a1)
        if torch.allclose(got, oracle, atol=1e-10):
            continue
        _first_match(got, (
            (a1, "a(t) = a(t1) would need df/dz = A = 0; here da/dt = -A^T a moves it"),
            (E(A * (t1 - t)) @ a1, "transpose A: da/dt = -A^T a, so a(t) = exp(A^T (t1 - t)) a1"),
            (E(-A.T * (t1 - t)) @ a1, "the sign of the exponent: going back from t1 to t < t1, "
             "a(t) = exp(A^T (t1 - t)) a1"),
        ), 1e-10, f"n = {n}")  # fmt: skip
        raise Mistake(f"(n = {n}) a(t) differs from the VJP of the flow")
    return passed("a(t) = exp(A^T (t1 - t)) a(t1): the VJP of the flow, not a constant.")


@exercise(
    "05.jumps",
    solution=lesson05.jumps,
    hints=(
        "The jump at t_i is the partial derivative of L with respect to z(t_i) alone, as if "
        "the other observations did not exist.",
        "d/dz |z - y|^2 = 2 (z - y); the mean over the m observation times brings a 1/m.",
        "One line: 2 * (z - y) / m, with m = z.shape[0] (one row per observation time).",
    ),
)
def jumps(fn):
    """Lesson 05 exercise: ``fn(z, y)`` returns the jumps dL/dz(t_i), shape [m, n].

    ``z`` [m, n] holds the model's states z(t_1..t_m), ``y`` [m, n] the targets, and the
    loss is the mean over observations of the squared Euclidean error,
    L = (1/m) sum_i |z(t_i) - y_i|^2. The oracle is ``torch.autograd.grad`` of that L.
    """
    gen = torch.Generator().manual_seed(5)
    for m, n in ((3, 4), (1, 3), (4, 2)):  # n != 2 first: mse_loss is then not "x 1/2"
        z = torch.randn(m, n, generator=gen, dtype=DT)
        y = torch.randn(m, n, generator=gen, dtype=DT)
        zz = z.clone().requires_grad_(True)
        (oracle,) = torch.autograd.grad((zz - y).pow(2).sum(dim=1).mean(), zz)
        got = expect_tensor(fn(z.clone(), y.clone()), "the jumps", like=z)
        if torch.allclose(got, oracle, atol=1e-12):
            continue
        _first_match(got, (
            (-oracle, "the sign is flipped: dL/dz(t_i) = (2/m)(z(t_i) - y_i), model minus target"),
            (oracle / 2, "a factor 2 is missing: the derivative of |r|^2 is 2 r"),
            (oracle * m, "the 1/m of the mean is missing (it matters when m > 1)"),
            (oracle / n, "that is the gradient of torch's mse_loss, which also averages over "
             "the n components; our loss sums over components and averages over the m times"),
            (2 * (z - y).sum(0, keepdim=True).expand(m, n) / m, "each t_i has its own jump"),
        ), 1e-12, f"m = {m}, n = {n}")  # fmt: skip
        raise Mistake(f"(m = {m}, n = {n}) the jumps differ from autograd's dL/dz")
    return passed("the jumps are (2/m)(z(t_i) - y_i), as autograd says.")


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
        "the jumps g_i = 2 (z(t_i) - y_i) / m (exercise 2).",
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
