"""node_edu.linear: the exact flow, Euler's closed form, the adjoint, inputs and fallback.

Oracles: SymPy differentiation of the formulas (the ODE itself), exact Fraction loops,
torch.linalg.matrix_exp, textbook closed forms, torch autograd.
"""

import fractions
import signal
import threading
import warnings

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from linear_systems import SYSTEMS

from node_edu.linear import LinearODE, NumericFallbackWarning

FAST = settings(max_examples=12, deadline=None, derandomize=True)

# Characteristic polynomial x^3 + 5x - 11: irreducible, so SymPy needs Cardano's radicals
# and takes far longer than 2 s for the Jordan form.
CUBIC = [[1, 2, 0], [0, 1, 3], [1, 0, -2]]

small = st.integers(-3, 3)


@st.composite
def matrices(draw, sizes=(1, 2)):
    """Small integer matrices; 3 x 3 ones upper triangular (rational eigenvalues)."""
    n = draw(st.sampled_from(sizes))
    rows = [[draw(small) if (n < 3 or j >= i) else 0 for j in range(n)] for i in range(n)]
    return rows


def as_float(M):
    return np.array(sp.N(M, 30).tolist(), dtype=np.float64)


def digits40(x):
    """An exact value (number or matrix) evaluated entry by entry at 40 digits."""
    return sp.Matrix([x]).applyfunc(lambda e: sp.N(e, 40))


def torch_flow(A, s):
    return torch.linalg.matrix_exp(torch.tensor(A, dtype=torch.float64) * float(s)).numpy()


# -- the exact flow ----------------------------------------------------------------------


@FAST
@given(matrices(), st.lists(st.integers(-2, 2), min_size=3, max_size=3))
def test_solution_satisfies_the_ode_symbolically(A, z0):
    n = len(A)
    system = LinearODE(A, z0[:n], t0=sp.Rational(1, 3), t1=2, timeout=30)
    t = system.t
    z = system.solution(t)
    residual = z.diff(t) - system.A * z
    assert residual.applyfunc(sp.simplify) == sp.zeros(n, 1)
    assert z.subs(t, system.t0).applyfunc(sp.simplify) == system.z0


@pytest.mark.parametrize("name", SYSTEMS)
def test_solution_matches_torch_matrix_exp(name):
    A = SYSTEMS[name]
    z0 = [1, -2, 3][: len(A)]
    system = LinearODE(A, z0, t0=0.25, t1=1.5)
    for t in (0.25, 0.8, 1.5):
        want = torch_flow(A, t - 0.25) @ np.array(z0, dtype=np.float64)
        np.testing.assert_allclose(as_float(system.solution(t)).ravel(), want, rtol=1e-13)
    grid = np.linspace(0.25, 1.5, 7)
    want = np.stack([torch_flow(A, t - 0.25) @ np.array(z0, dtype=np.float64) for t in grid])
    np.testing.assert_allclose(system.solution_on_grid(grid), want, rtol=1e-13, atol=1e-14)


def test_textbook_closed_forms():
    t = sp.Symbol("t", real=True)
    rotation = LinearODE(SYSTEMS["rotation"], [1, 0], timeout=30)
    assert rotation.solution(t) == sp.Matrix([sp.cos(t), sp.sin(t)])
    jordan = LinearODE(SYSTEMS["jordan"], [0, 1], timeout=30)
    assert (jordan.solution(t) - sp.Matrix([t * sp.exp(t), sp.exp(t)])).expand() == sp.zeros(2, 1)
    zero = LinearODE(SYSTEMS["zero"], [3, 4])
    assert zero.solution(t) == sp.Matrix([3, 4])
    # A user's own (non-real) symbol works too.
    s = sp.Symbol("s")
    assert rotation.solution(s) == sp.Matrix([sp.cos(s), sp.sin(s)])


# -- Euler ---------------------------------------------------------------------------------


@FAST
@given(
    matrices(sizes=(1, 2, 3)),
    st.lists(st.integers(-2, 2), min_size=3, max_size=3),
    st.integers(1, 12),
    st.sampled_from([fractions.Fraction(1), fractions.Fraction(3, 2)]),
)
def test_euler_closed_form_equals_an_exact_rational_loop(A, z0, n_steps, t1):
    n = len(A)
    z0 = z0[:n]
    result = LinearODE(A, z0, t0=0, t1=t1, timeout=30).euler(n_steps)
    h = t1 / n_steps
    z = [fractions.Fraction(x) for x in z0]
    for _ in range(n_steps):  # z <- z + h A z, one step at a time, in exact fractions
        z = [z[i] + h * sum(A[i][j] * z[j] for j in range(n)) for i in range(n)]
    assert list(result.z_euler) == [sp.Rational(x.numerator, x.denominator) for x in z]
    assert result.exact and result.h == sp.Rational(t1.numerator, t1.denominator) / n_steps


@pytest.mark.parametrize("name", ["rotation", "jordan", "distinct", "spiral"])
def test_euler_error_is_first_order(name):
    A = SYSTEMS[name]
    system = LinearODE(A, [1, 1])
    exact = torch_flow(A, 1.0) @ np.ones(2)
    errors = []
    for n_steps in (40, 80):
        result = system.euler(n_steps)
        euler = as_float(result.z_euler).ravel()
        assert result.error_norm == pytest.approx(np.linalg.norm(exact - euler), rel=1e-10)
        assert result.error == result.z_exact - result.z_euler
        errors.append(result.error_norm)
    assert 1.8 < errors[0] / errors[1] < 2.2  # halving h halves the error: O(h)
    assert r"\left(I + hA\right)^{N}" in result._repr_latex_()


# -- the adjoint and the seed question -------------------------------------------------------


@FAST
@given(matrices(), st.lists(st.integers(-2, 2), min_size=2, max_size=2))
def test_adjoint_solves_the_adjoint_ode(A, a1):
    n = len(A)
    system = LinearODE(A, [1] * n, t0=0, t1=sp.Rational(3, 2), timeout=30)
    t = system.t
    a = system.adjoint(t, a1[:n])
    assert (a.diff(t) + system.A.T * a).applyfunc(sp.simplify) == sp.zeros(n, 1)
    assert a.subs(t, system.t1).applyfunc(sp.simplify) == sp.Matrix(a1[:n])


def test_seed_question_the_adjoint_is_not_constant():
    """da/dt = -A^T a, not 0: a(t) = exp(A^T (t1 - t)) a(t1), constant only for A = 0."""
    A, z0, z1 = SYSTEMS["rotation"], [1, 0], [0, 1]
    system = LinearODE(A, z0, t0=0, t1=1, timeout=30)
    grads = system.gradients(z1, loss="sum")  # L = |z(t1) - z1|^2
    # a(t1) is dL/dz(t1) = 2 (z(t1) - z1); autograd of the loss is the oracle.
    z_t1 = torch.tensor(as_float(system.solution(1)).ravel(), requires_grad=True)
    ((z_t1 - torch.tensor(z1, dtype=torch.float64)) ** 2).sum().backward()
    np.testing.assert_allclose(as_float(grads.adjoint(1)).ravel(), z_t1.grad, rtol=1e-14)
    a_t1 = grads.adjoint(1)
    # Not constant: a(t0) = exp(A^T) a(t1) differs from a(t1) ...
    a0 = as_float(grads.adjoint(0)).ravel()
    np.testing.assert_allclose(a0, torch_flow(A, 1.0).T @ as_float(a_t1).ravel(), rtol=1e-13)
    assert np.linalg.norm(a0 - as_float(a_t1).ravel()) > 0.5
    # ... and it is the adjoint ODE's solution from a(t1).
    assert system.adjoint(0, a_t1) == grads.adjoint(0)
    # With A = 0 it IS constant.
    frozen = LinearODE(SYSTEMS["zero"], z0, timeout=30).gradients(z1, loss="sum")
    assert frozen.adjoint(0) == frozen.adjoint(1) == frozen.dz0


def test_mean_loss_jumps_are_two_over_m_residuals():
    A, z0 = SYSTEMS["jordan"], [1, -1]
    times = [sp.Rational(1, 4), sp.Rational(1, 2), 1]
    y = [[1, 0], [0, 1], [2, 2]]
    system = LinearODE(A, z0, timeout=30)
    grads = system.gradients(y, times=times)  # mean over m = 3 observations
    z = torch.tensor(np.stack([as_float(system.solution(t)).ravel() for t in times]))
    z.requires_grad_(True)
    (((z - torch.tensor(y, dtype=torch.float64)) ** 2).sum(1).mean()).backward()
    for jump, want in zip(grads.dLdz, z.grad, strict=True):
        np.testing.assert_allclose(as_float(jump).ravel(), want, rtol=1e-14)
    # The pieces of a(t) differ by exactly those jumps at each t_i: a(t_i^-) - a(t_i^+).
    t = system.t
    pieces = grads.adjoint_pieces()
    assert [lo for (lo, _), _ in pieces] == [0, *times[:-1]]
    for j, ti in enumerate(times):
        after = pieces[j + 1][1].subs(t, ti) if j + 1 < len(pieces) else sp.zeros(2, 1)
        jump = (pieces[j][1].subs(t, ti) - after).applyfunc(sp.simplify)
        assert jump == grads.dLdz[j]
    # The Piecewise formula, the exact values and the float grid agree.
    formula = grads.adjoint(t)
    grid = [0, 0.1, 0.25, 0.3, 0.5, 0.9, 1.0]
    on_grid = grads.adjoint_on_grid(grid)
    for k, s in enumerate(grid):
        exact = as_float(grads.adjoint(s)).ravel()
        np.testing.assert_allclose(as_float(formula.subs(t, sp.Rational(s))).ravel(), exact)
        np.testing.assert_allclose(on_grid[k], exact, rtol=1e-12, atol=1e-14)


# -- inputs -------------------------------------------------------------------------------


def test_inputs_from_numpy_torch_sympy_are_exact():
    from_float32 = LinearODE(torch.tensor([[0.1, 0.0], [0.0, -0.5]]), np.array([1.5, 2.0]))
    assert from_float32.A == sp.Matrix([[sp.Rational(1, 10), 0], [0, sp.Rational(-1, 2)]])
    assert from_float32.z0 == sp.Matrix([sp.Rational(3, 2), 2])
    symbolic = LinearODE(sp.Matrix([[sp.sqrt(2)]]), [fractions.Fraction(1, 3)], t1=0.5, timeout=30)
    assert symbolic.solution(1) == sp.Matrix([sp.exp(sp.sqrt(2)) / 3])
    assert symbolic.t1 == sp.Rational(1, 2)
    assert LinearODE(3, 2).solution(1) == sp.Matrix([2 * sp.exp(3)])  # n = 1 from numbers


BAD = [
    (dict(A=[[1, 2, 3], [4, 5, 6]]), ValueError, "A must be a square"),
    (dict(A=[[1, 2], [3]]), ValueError, "A must be a rectangular"),
    (dict(A=[[1, 1j], [0, 1]]), TypeError, "A must hold real numbers, got the complex"),
    (dict(A=[[1, np.nan], [0, 1]]), ValueError, "A must hold finite numbers, got nan"),
    (dict(A=[["a", 1], [0, 1]]), TypeError, r"A must hold real numbers, got 'a' \(str\)"),
    (dict(A=[[True, 0], [0, 1]]), TypeError, r"A must hold real numbers, got True \(bool\)"),
    (dict(A=sp.Matrix([[sp.Symbol("k"), 0], [0, 1]])), TypeError, "A must hold real constants"),
    (dict(z0=[1, 2, 3]), ValueError, "z0 must be a vector of length 2"),
    (dict(t1=0), ValueError, "t1 must be a time after t0 = 0, got 0"),
    (dict(t0=2, t1=1), ValueError, "t1 must be a time after t0 = 2, got 1"),
    (dict(timeout=0), ValueError, "timeout must be a number > 0 or None, got 0"),
    (dict(dps=20), ValueError, "dps must be an integer >= 30, got 20"),
    (dict(dps=30.0), TypeError, "dps must be an integer >= 30, got 30.0"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD)
def test_bad_construction_is_rejected(kwargs, error, message):
    args = dict(A=[[0, 1], [-1, 0]], z0=[1, 0], t0=0, t1=1) | kwargs
    with pytest.raises(error, match=message):
        LinearODE(**args)


def test_bad_calls_are_rejected():
    system = LinearODE([[0, 1], [-1, 0]], [1, 0], t0=0, t1=1)
    with pytest.raises(ValueError, match=r"times must be times in \[t0, t1\] = \[0, 1\], got 3/2"):
        system.gradients([[0, 0], [0, 0]], times=[0.5, 1.5])
    with pytest.raises(ValueError, match=r"times must be times in \[t0, t1\]"):
        system.gradients([0, 0], times=[-0.5])
    with pytest.raises(ValueError, match="times must be strictly increasing"):
        system.gradients([[0, 0], [0, 0]], times=[0.5, 0.5])
    with pytest.raises(ValueError, match=r"y must have shape \(2, 2\)"):
        system.gradients([0, 0], times=[0.5, 1])
    with pytest.raises(ValueError, match=r"loss must be one of \['mean', 'sum'\], got 'mse'"):
        system.gradients([0, 0], loss="mse")
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1, got 0"):
        system.euler(0)
    with pytest.raises(TypeError, match="n_steps must be an integer >= 1, got 2.0"):
        system.euler(2.0)
    assert system.euler(np.int64(2)).n_steps == 2  # a numpy integer is an integer
    with pytest.raises(ValueError, match="times must be on the Euler grid .* got 1/3"):
        system.euler_gradients([0, 0], 4, times=[sp.Rational(1, 3)])
    with pytest.raises(ValueError, match="a1 must be a vector of length 2"):
        system.adjoint(0, [1, 2, 3])
    with pytest.raises(ValueError, match="t must be a time in"):
        system.gradients([0, 0]).adjoint(2)


# -- the mpmath fallback and the time limit --------------------------------------------------


def test_fallback_when_sympy_is_too_slow_agrees_with_the_exact_numbers():
    A, z0, times, y = SYSTEMS["distinct"], [1, 2], [sp.Rational(1, 2), 1], [[0, 1], [1, 0]]
    exact = LinearODE(A, z0, timeout=30).gradients(y, times=times)
    with pytest.warns(NumericFallbackWarning, match="mpmath with 30 digits"):
        rushed = LinearODE(A, z0, timeout=1e-4).gradients(y, times=times)
    assert exact.exact and not rushed.exact and rushed.method == "mpmath (30 digits)"
    with pytest.warns(NumericFallbackWarning, match="mpmath with 50 digits"):
        finer = LinearODE(A, z0, timeout=1e-4, dps=50).gradients(y, times=times)
    assert (digits40(finer.dA) - digits40(exact.dA)).norm() < 1e-38 * digits40(exact.dA).norm()
    for name in ("loss", "dz0", "dA", "dt", "dt0"):
        want, got = digits40(getattr(exact, name)), digits40(getattr(rushed, name))
        assert (want - got).norm() < 1e-29 * want.norm(), name


def test_fallback_from_a_worker_thread_uses_the_thread_timer():
    box = {}

    def work():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            box["z"] = LinearODE(SYSTEMS["distinct"], [1, 2], timeout=1e-4).solution(1)
            box["warned"] = any(w.category is NumericFallbackWarning for w in caught)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(60)
    exact = LinearODE(SYSTEMS["distinct"], [1, 2]).solution(1)
    assert box["warned"]
    assert (digits40(box["z"]) - digits40(exact)).norm() < 1e-29


def test_irreducible_cubic_falls_back_within_the_default_two_seconds():
    outer = signal.getitimer(signal.ITIMER_REAL)
    system = LinearODE(CUBIC, [1, 0, -1])
    with pytest.warns(NumericFallbackWarning, match="within 2.0 s"):
        grads = system.gradients([1, 1, 1])
    assert not grads.exact and not system.exact
    assert signal.getitimer(signal.ITIMER_REAL)[0] <= max(outer[0], 0.0) + 1e-9
    # mpmath's numbers against torch's matrix exponential in float64.
    z1 = torch_flow(CUBIC, 1.0) @ np.array([1.0, 0.0, -1.0])
    np.testing.assert_allclose(as_float(grads.z[0]).ravel(), z1, rtol=1e-13)
    np.testing.assert_allclose(
        as_float(grads.dz0).ravel(), torch_flow(CUBIC, 1.0).T @ (2 * (z1 - 1)), rtol=1e-12
    )
    with pytest.raises(ValueError, match="a formula in t needs the exact"):
        with pytest.warns(NumericFallbackWarning):
            system.solution(system.t)


def test_the_alarm_timer_gives_an_outer_timer_its_time_back():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    signal.setitimer(signal.ITIMER_REAL, 100.0)
    try:
        with pytest.warns(NumericFallbackWarning):
            LinearODE(SYSTEMS["distinct"], [1, 2], timeout=1e-4).solution(1)
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 90.0 < remaining <= 100.0
        assert signal.getsignal(signal.SIGALRM) is not previous and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)
