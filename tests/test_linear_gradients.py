"""node_edu.linear gradients: exact continuous and Euler gradients, and the comparison report.

Oracles: central finite differences of the closed-form loss evaluated by mpmath at 60
digits (step 1e-25, so the difference error is ~1e-50 and cancellation leaves 35 digits),
and torch autograd through an Euler loop in float64.
"""

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from linear_systems import SYSTEMS as ALL_SYSTEMS

from node_edu.linear import LinearODE

# The integer-entry systems: every spectrum kind, without the spiral's decimal entries.
SYSTEMS = {name: A for name, A in ALL_SYSTEMS.items() if name != "spiral"}
EPS = mpmath.mpf("1e-25")


def mp_exact(x):
    """An exact rational as an mpf at the current precision (plain ints: no SymPy Floats)."""
    x = sp.Rational(x)
    return mpmath.mpf(int(x.p)) / int(x.q)


def mp_loss(A, z0, t0, times, ys, kind):
    """The closed-form loss sum_i |exp(A (t_i - t0)) z0 - y_i|^2 (or its mean) in mpmath."""
    A, z0 = mpmath.matrix(A), mpmath.matrix(z0)
    total = mpmath.mpf(0)
    for t, y in zip(times, ys, strict=True):
        r = mpmath.expm(A * (t - t0)) * z0 - mpmath.matrix(y)
        total += sum(x**2 for x in r)
    return total / len(times) if kind == "mean" else total


def finite_differences(A, z0, t0, times, ys, kind):
    """Central differences of mp_loss for every input: dz0, dA, dt (per t_i), dt0."""

    def central(f):
        return (f(EPS) - f(-EPS)) / (2 * EPS)

    n = len(z0)
    with mpmath.workdps(60):
        A = [[mp_exact(x) for x in row] for row in A]
        z0 = [mpmath.mpf(x) for x in z0]
        times = [mp_exact(t) for t in times]

        def bump(values, i, e):
            return [v + (e if j == i else 0) for j, v in enumerate(values)]

        def bump_A(i, j, e):
            return [
                [x + (e if (r, c) == (i, j) else 0) for c, x in enumerate(row)]
                for r, row in enumerate(A)
            ]

        dz0 = [
            central(lambda e, i=i: mp_loss(A, bump(z0, i, e), 0, times, ys, kind)) for i in range(n)
        ]
        dA = [
            [
                central(lambda e, i=i, j=j: mp_loss(bump_A(i, j, e), z0, 0, times, ys, kind))
                for j in range(n)
            ]
            for i in range(n)
        ]
        dt = [
            central(lambda e, i=i: mp_loss(A, z0, 0, bump(times, i, e), ys, kind))
            for i in range(len(times))
        ]
        # Moving t0 moves an observation AT t0 with it (it reads z0), as odeint's t[0] does.
        tied = [t == 0 for t in times]
        dt0 = central(
            lambda e: mp_loss(
                A, z0, e, [t + (e if k else 0) for t, k in zip(times, tied, strict=True)], ys, kind
            )
        )
    return dict(dz0=dz0, dA=dA, dt=dt, dt0=dt0)


def assert_matches(grads, A, z0, times, ys, kind, rtol=1e-20):
    fd = finite_differences(A, z0, grads.times[0] * 0, times, ys, kind)
    for name, want in fd.items():
        # mpf -> Float(., 40) entry by entry: sympify(mpf) would round to 15 digits.
        want = np.vectorize(lambda x: sp.Float(x, 40), otypes=[object])(
            np.array(want, dtype=object)
        )
        want = sp.Matrix(want.reshape(-1, 1) if want.ndim < 2 else want)
        got = sp.Matrix([getattr(grads, name)]) if name == "dt0" else getattr(grads, name)
        got = got.applyfunc(lambda e: sp.N(e, 40)).reshape(*want.shape)
        scale = max(want.norm(), sp.Float(1))
        assert (got - want).norm() < rtol * scale, (name, got, want)


@st.composite
def problems(draw):
    n = draw(st.sampled_from([1, 2, 3]))
    small = st.integers(-2, 2)
    # 3 x 3 upper triangular: rational eigenvalues, so SymPy stays fast.
    A = [[draw(small) if (n < 3 or j >= i) else 0 for j in range(n)] for i in range(n)]
    z0 = [draw(small) for _ in range(n)]
    grid = [sp.Integer(0), sp.Rational(1, 4), sp.Rational(1, 2), sp.Integer(1)]
    times = sorted(draw(st.sets(st.sampled_from(grid), min_size=1, max_size=3)))
    ys = [[draw(small) for _ in range(n)] for _ in times]
    return A, z0, times, ys, draw(st.sampled_from(["mean", "sum"]))


@settings(max_examples=10, deadline=None, derandomize=True)
@given(problems())
def test_exact_gradients_equal_high_precision_finite_differences(problem):
    A, z0, times, ys, kind = problem
    # A generous limit: this test is about the exact path, even on a busy machine.
    grads = LinearODE(A, z0, t0=0, t1=1, timeout=30).gradients(ys, times=times, loss=kind)
    assert grads.exact
    assert_matches(grads, A, z0, times, ys, kind)


@pytest.mark.parametrize("name", SYSTEMS)
def test_named_systems_gradients_equal_finite_differences(name):
    A = SYSTEMS[name]
    n = len(A)
    z0 = [1, -1, 2][:n]
    times = [sp.Rational(1, 3), sp.Rational(3, 4), sp.Integer(1)]
    ys = [[1, 0, 1][:n], [0, 1, -1][:n], [-1, 1, 0][:n]]
    grads = LinearODE(A, z0, timeout=30).gradients(ys, times=times, loss="mean")
    assert_matches(grads, A, z0, times, ys, "mean")
    # Time-shift invariance: dL/dt0 = -sum_i dL/dt_i (exactly, not only numerically).
    assert grads.dt0 == -sum(grads.dt)
    # dL/dz0 is the adjoint at t0.
    assert grads.dz0 == grads.adjoint(0)


def test_fallback_gradients_equal_finite_differences():
    A = [[1, 2, 0], [0, 1, 3], [1, 0, -2]]  # irreducible cubic: no closed form in time
    times, ys = [sp.Rational(1, 2), sp.Integer(1)], [[1, 0, 0], [0, 0, 1]]
    with pytest.warns(UserWarning, match="mpmath"):
        grads = LinearODE(A, [1, 0, -1], timeout=0.3).gradients(ys, times=times, loss="sum")
    assert not grads.exact
    assert_matches(grads, A, [1, 0, -1], times, ys, "sum", rtol=1e-29)


# -- Euler: discretise-then-optimise -------------------------------------------------------


def torch_euler_gradients(A, z0, n_steps, steps, ys, kind):
    A = torch.tensor(A, dtype=torch.float64, requires_grad=True)
    z0 = torch.tensor(z0, dtype=torch.float64, requires_grad=True)
    h, z, outputs = 1.0 / n_steps, z0, {0: z0}
    for k in range(1, n_steps + 1):
        z = z + h * (A @ z)
        outputs[k] = z
    loss = sum(
        ((outputs[k] - torch.tensor(y, dtype=torch.float64)) ** 2).sum()
        for k, y in zip(steps, ys, strict=True)
    )
    loss = loss / len(steps) if kind == "mean" else loss
    loss.backward()
    return loss.detach(), z0.grad, A.grad


@pytest.mark.parametrize("name", ["rotation", "jordan", "singular", "jordan3"])
@pytest.mark.parametrize("kind", ["mean", "sum"])
def test_euler_gradients_equal_autograd_through_the_loop(name, kind):
    A = SYSTEMS[name]
    n = len(A)
    z0, n_steps = [1, -1, 2][:n], 8
    times, ys = [0, sp.Rational(1, 2), 1], [[1, 0, 1][:n], [0, 1, 0][:n], [1, 1, 1][:n]]
    grads = LinearODE(A, z0).euler_gradients(ys, n_steps, times=times, loss=kind)
    loss, dz0, dA = torch_euler_gradients(A, z0, n_steps, [0, 4, 8], ys, kind)
    report = grads.compare(loss=loss, dz0=dz0, dA=dA)
    report.assert_close(1e-13)
    assert grads.exact and grads.dt is None and grads.dt0 is None
    # The discrete adjoint at step 0 is dL/dz0, and the Euler iterates are (I + hA)^k z0.
    assert grads.adjoint(0) == grads.dz0
    assert grads.z[1] == (sp.eye(n) + sp.Rational(1, 8) * sp.Matrix(A)) ** 4 * sp.Matrix(z0)
    assert grads.adjoint_on_grid([0, 0.5]).shape == (2, n)


@pytest.mark.parametrize("name", ["rotation", "jordan", "distinct"])
def test_euler_gradient_gap_to_the_continuous_adjoint_is_first_order(name):
    A, z0 = SYSTEMS[name], [1, -1]
    times, ys = [sp.Rational(1, 2), 1], [[0, 1], [1, 0]]
    system = LinearODE(A, z0)
    exact = system.gradients(ys, times=times)
    dA = exact.dA.applyfunc(lambda e: sp.N(e, 30))
    gaps = []
    for n_steps in (32, 64):
        euler = system.euler_gradients(ys, n_steps, times=times)
        gaps.append(float((euler.dA - dA).norm()))
    assert 1.8 < gaps[0] / gaps[1] < 2.2  # halving h halves the gap: O(h)


# -- the comparison report -------------------------------------------------------------------


def test_report_measures_and_flags_errors():
    grads = LinearODE(SYSTEMS["rotation"], [1, 0]).gradients([[0, 1], [1, 1]], times=[0.5, 1])
    as_numpy = {
        k: np.array(sp.N(getattr(grads, k), 30).tolist(), dtype=float) for k in ("dz0", "dA", "dt")
    }
    good = grads.compare(
        dz0=torch.tensor(as_numpy["dz0"].ravel()), dA=as_numpy["dA"], dt=as_numpy["dt"]
    )
    assert good.ok(1e-14) and good.max_error < 1e-14
    bad_dA = as_numpy["dA"].copy()
    bad_dA[0, 1] += 1e-5 * np.linalg.norm(bad_dA)
    bad = grads.compare(dz0=as_numpy["dz0"], dA=torch.tensor(bad_dA, dtype=torch.float32))
    assert bad.errors["dA"] == pytest.approx(1e-5, rel=1e-2)
    assert not bad.ok(1e-6) and bad.ok(1e-4)
    with pytest.raises(AssertionError, match="dA"):
        bad.assert_close(1e-6)
    for text in (str(bad), bad._repr_markdown_(), bad._repr_html_()):
        assert "dz0" in text and "dA" in text and "2x2" in text
    assert "| dA | 2x2 |" in bad._repr_markdown_()
    assert "<td>dA</td>" in bad._repr_html_()


def test_report_uses_absolute_error_where_the_exact_value_is_zero():
    grads = LinearODE(SYSTEMS["zero"], [1, 1]).gradients([1, 1], loss="sum")  # z(t1) = y
    report = grads.compare(dz0=[1e-9, 0.0], loss=0.0)
    assert report.errors["dz0"] == pytest.approx(1e-9) and "abs" in str(report)


def test_report_rejects_bad_arguments():
    system = LinearODE(SYSTEMS["rotation"], [1, 0])
    grads = system.gradients([0, 1])
    with pytest.raises(ValueError, match=r"dA must have 4 entries \(shape \(2, 2\)\), got 3"):
        grads.compare(dA=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"compare's keywords must be among \[.*\], got 'theta'"):
        grads.compare(theta=[1.0])
    with pytest.raises(ValueError, match="compare needs at least one"):
        grads.compare()
    euler = system.euler_gradients([0, 1], 4)
    with pytest.raises(ValueError, match=r"dt must be left out: these gradients have no dt \(expl"):
        euler.compare(dt=[1.0])
    with pytest.raises(ValueError, match="adjoint_pieces needs the continuous adjoint"):
        euler.adjoint_pieces()
    with pytest.raises(ValueError, match=r"t must be on the grid t0 \+ k h, k = 0..4, where the"):
        euler.adjoint(0.3)


def test_gradients_print_as_a_table_of_numbers():
    system = LinearODE(SYSTEMS["rotation"], [1, 0], timeout=30)
    grads = system.gradients([[0, 1], [1, 1]], times=[0.5, 1])
    table = grads._repr_markdown_()
    assert "**exact flow**, mean loss, sympy (exact)" in table
    for name in ("loss", "dz0", "dA", "dt", "dt0"):
        assert f"| {name} |" in table
    assert sp.latex(sp.N(grads.dt0, 12)) in table
    euler = system.euler_gradients([[0, 1], [1, 1]], 4, times=[0.5, 1])._repr_markdown_()
    assert "explicit Euler, 4 steps" in euler and "| dt |" not in euler


def test_gradients_without_dA_leave_it_out_and_keep_the_rest():
    A, z0 = [[0, 1], [-2, -3]], [1, sp.Rational(1, 2)]
    times, ys = [sp.Rational(1, 2), sp.Integer(1)], [[1, 0], [0, 1]]
    system = LinearODE(A, z0, timeout=30)
    full = system.gradients(ys, times=times)
    light = system.gradients(ys, times=times, with_dA=False)
    assert light.dA is None and full.dA is not None
    assert light.dz0 == full.dz0 and light.dLdz == full.dLdz and light.dt == full.dt
    assert light.adjoint(sp.Rational(1, 4)) == full.adjoint(sp.Rational(1, 4))
    with pytest.raises(
        ValueError, match="compare's dA must be left out: these gradients have no dA"
    ):
        light.compare(dA=np.zeros((2, 2)))
    with pytest.raises(TypeError, match="with_dA must be True or False, got 'no'"):
        system.gradients(ys, times=times, with_dA="no")
