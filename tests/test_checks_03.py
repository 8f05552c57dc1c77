"""Lesson 03's exercise checkers: right answers pass, typical wrong ones fail with a hint."""

import math

import pytest
import torch

import node_edu.checks.lesson03 as checks03
from node_edu.linear import LinearODE
from node_edu.solutions import lesson03
from node_edu.solvers import TABLEAUX
from node_edu.widgets.lesson03 import explicit_rk_step

DT = torch.float64


def test_checker_cases_exercise_time_dependence():
    # The rk_step cases must tell a slope at t from one at t + c_i h, or the stage-time
    # diagnosis is dead.
    f, t, z, h = checks03._cases()[0]
    t = torch.tensor(t, dtype=z.dtype)
    assert not torch.allclose(f(t, z), f(t + h / 2, z))


# -- 03.rk_step ----------------------------------------------------------------------------


def stacked(f, t, z, h, tableau):
    """Another right answer: the stages as rows of a matrix, sums as matrix products."""
    K = torch.zeros(len(tableau.c), z.numel(), dtype=z.dtype)
    for i, (c_i, a_i) in enumerate(zip(tableau.c, tableau.a, strict=True)):
        weights = torch.tensor(a_i, dtype=z.dtype)
        K[i] = f(t + c_i * h, z + h * weights @ K[:i])
    return z + h * torch.tensor(tableau.b, dtype=z.dtype) @ K


def test_rk_step_references_pass():
    for answer in (lesson03.rk_step, stacked):
        result = checks03.runge_kutta_step(answer)
        assert result.ok, result.message


def _variant(*, use_c=True, all_stages=True, h_stage=True, h_end=True, weights="b"):
    def step(f, t, z, h, tableau):
        ks = []
        for c_i, a_i in zip(tableau.c, tableau.a, strict=True):
            pairs = list(zip(a_i, ks, strict=True))
            if not all_stages:
                pairs = pairs[-1:]  # only the stage just before
            z_i = z + (h if h_stage else 1.0) * sum((a * k for a, k in pairs), 0 * z)
            ks.append(f(t + c_i * h if use_c else t, z_i))
        if weights == "b":
            slope = sum(b * k for b, k in zip(tableau.b, ks, strict=True))
        elif weights == "last":
            slope = ks[-1]
        else:
            slope = sum(ks) / len(ks)
        return z + (h if h_end else 1.0) * slope

    return step


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_variant(use_c=False), "stage i is at t + c_i h"),
        (_variant(all_stages=False), "ALL earlier stages"),
        (_variant(h_stage=False), "z + h * sum_j a_ij k_j"),
        (_variant(h_end=False), "z_new = z + h * sum_i b_i k_i"),
        (_variant(weights="last"), "last stage only"),
        (_variant(weights="mean"), "averages the stages equally"),
        (lambda f, t, z, h, tableau: z + h * f(t, z), "the exact step is"),  # Euler for all
        (lambda f, t, z, h, tableau: lesson03.rk_step(f, t, z, h, tableau)[:1], "shape"),
        (lambda f, t, z, h, tableau: lesson03.rk_step(f, t, z, h, tableau).float(), "dtype"),
    ],
)
def test_rk_step_slips_are_named(wrong, words):
    result = checks03.runge_kutta_step(wrong)
    assert not result.ok and words in result.message, result.message


def test_rk_step_that_changes_z_in_place_is_refused():
    def in_place(f, t, z, h, tableau):
        out = lesson03.rk_step(f, t, z, h, tableau)
        z.zero_()
        return out

    result = checks03.runge_kutta_step(in_place)
    assert not result.ok and "in place" in result.message


def test_rk_step_wrong_only_for_the_hand_tableau_is_caught():
    # A loop hard-wired to a_ij = 0 for j < i - 1 passes euler, midpoint and rk4 (whose
    # tableaux have nothing below the subdiagonal) but not Kutta's a_31 = -1, nor dopri5.
    right_for_library = _variant(all_stages=False)
    tab = checks03.KUTTA3
    z, t = torch.tensor([0.3, -1.0], dtype=DT), torch.tensor(0.4, dtype=DT)
    got = right_for_library(checks03._f_affine, t, z, 0.3, tab)
    assert not torch.allclose(got, lesson03.rk_step(checks03._f_affine, t, z, 0.3, tab))


@pytest.mark.parametrize("name", ["euler", "midpoint", "rk4", "dopri5"])
def test_linear_algebra_oracle_matches_the_library_step(name):
    # The checker's oracle (a linear solve, no stage loop) against ne.odeint's stepper.
    tab = TABLEAUX[name]
    z, t, h = torch.tensor([0.7, -0.2], dtype=DT), 0.9, 0.25
    c, A, b = checks03._coefficients(tab)
    oracle = checks03._linear_step(torch.tensor(t, dtype=DT), z, h, c, A, b)
    library = checks03._library_step(checks03._f_affine, t, z, h, name)
    assert torch.allclose(oracle, library, rtol=1e-12, atol=1e-13)


def test_linear_algebra_oracle_for_kutta3_and_an_implicit_tableau():
    # Kutta3: the textbook loop of the widgets module agrees with the linear solve.
    z, t, h = torch.tensor([0.7, -0.2], dtype=DT), torch.tensor(0.9, dtype=DT), 0.25
    c, A, b = checks03._coefficients(checks03.KUTTA3)
    oracle = checks03._linear_step(t, z, h, c, A, b)
    loop = explicit_rk_step(checks03.KUTTA3, checks03._f_affine, t, z, h)
    assert torch.allclose(oracle, loop, rtol=1e-13)
    # Implicit midpoint (A = [[1/2]], b = [1], c = [1/2]) on f = M z + g(t) has the closed
    # form z_new = (I - hM/2)^{-1} ((I + hM/2) z + h g(t + h/2)): the solve handles it too.
    one = torch.ones(1, dtype=DT)
    got = checks03._linear_step(t, z, h, 0.5 * one, 0.5 * one[None, :], one)
    M, eye = checks03._M, torch.eye(2, dtype=DT)
    closed = torch.linalg.solve(eye - h / 2 * M, (eye + h / 2 * M) @ z + h * checks03._g(t + h / 2))
    assert torch.allclose(got, closed, rtol=1e-13)


def test_kutta3_has_order_three():
    # The hand tableau is what its name says: global error ~ h^3 on the damped rotation.
    A = torch.tensor([[-0.1, -1.0], [1.0, -0.1]], dtype=DT)
    z0 = torch.tensor([1.0, 0.0], dtype=DT)
    exact = torch.linalg.matrix_exp(2 * A) @ z0
    errors = []
    for n in (10, 20):
        z, h = z0, 2 / n
        for k in range(n):
            z = lesson03.rk_step(lambda t, z: A @ z, torch.tensor(k * h, dtype=DT), z, h,
                                 checks03.KUTTA3)  # fmt: skip
        errors.append(float((z - exact).norm()))
    assert errors[0] / errors[1] == pytest.approx(8, rel=0.05)


# -- 03.order_and_error --------------------------------------------------------------------


def _differences(solve, n):
    z1, z2, z4 = solve(n), solve(2 * n), solve(4 * n)
    return float((z1 - z2).norm()), float((z2 - z4).norm())


def richardson_by_fit(solve, n):
    """Another right answer: fit log d against log h over four solves (least squares)."""
    zs = [solve(n * 2**k) for k in range(4)]
    ds = [float((zs[k] - zs[k + 1]).norm()) for k in range(3)]
    p = -float(torch.tensor([math.log(d) for d in ds]).diff().mean()) / math.log(2)
    return p, ds[1] / (2**p - 1)


def test_order_and_error_references_pass():
    for answer in (lesson03.order_and_error, richardson_by_fit):
        result = checks03.order_and_error(answer)
        assert result.ok, result.message


def test_order_and_error_oracle_is_a_measurement():
    # The checker's "measured" error needs a trustworthy z(t1): its tight dopri5 solve
    # agrees with 2000 RK4 steps, and its Euler error with SymPy's exact one.
    forced_end = checks03._exact_end(checks03._f_forced)
    z = checks03._fixed_end(checks03._f_forced, "rk4", 2000)
    assert torch.allclose(z, forced_end, rtol=0, atol=1e-12)
    sys = LinearODE([[-0.1, -1], [1, -0.1]], [1, 0], t0=0, t1=2)
    euler80 = checks03._fixed_end(checks03._f_rotation, "euler", 80)
    measured = float((euler80 - checks03._exact_end(checks03._f_rotation)).norm())
    assert math.isclose(measured, sys.euler(80).error_norm, rel_tol=1e-9)  # SymPy's exact


def _p_and(err_of):
    def answer(solve, n):
        d1, d2 = _differences(solve, n)
        p = math.log2(d1 / d2)
        return p, err_of(d1, d2, p)

    return answer


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda solve, n: (_differences(solve, n)[0] / _differences(solve, n)[1], 1.0),
         "2^p itself"),
        (lambda solve, n: (math.log(_differences(solve, n)[0] / _differences(solve, n)[1]),
                           1.0), "log2"),
        (lambda solve, n: (math.log2(_differences(solve, n)[1] / _differences(solve, n)[0]),
                           1.0), "d1/d2 > 1"),
        (_p_and(lambda d1, d2, p: d2), "(2^p - 1) times the error"),
        (_p_and(lambda d1, d2, p: d1 / (2**p - 1)), "error of solve(2n)"),
        (_p_and(lambda d1, d2, p: d2 / 2**p), "it is e(h/2) - e(h/4)"),
        (_p_and(lambda d1, d2, p: 10 * d2), "measured against the exact"),
        (_p_and(lambda d1, d2, p: -d2), "> 0"),
        (lambda solve, n: (3.0, 1e-3), "halving h divides"),
        (lambda solve, n: solve(1.5), "n must be an integer"),
        (lambda solve, n: (math.nan, 1.0), "finite"),
        (lambda solve, n: ("one", 1.0), "must be a number"),
        (lambda solve, n: 1.0, "a tuple of 2"),
    ],
)  # fmt: skip
def test_order_and_error_slips_are_named(answer, words):
    result = checks03.order_and_error(answer)
    assert not result.ok and words in result.message, result.message


def test_order_and_error_cases_are_in_their_asymptotic_range():
    # The reference's estimates sit far inside the 20% the checker allows, so a right
    # answer is never failed by a method that is not yet in its C h^p regime.
    for field, method, n in checks03._ORDER_CASES:
        p, err = lesson03.order_and_error(checks03._fixed_solve(field, method), n)
        order = (checks03.TABLEAUX[method] if isinstance(method, str) else method).order
        z4 = checks03._fixed_end(field, method, 4 * n)
        measured = float((z4 - checks03._exact_end(field)).norm())
        assert abs(p - order) < 0.15 and abs(err / measured - 1) < 0.1, (method, p, err)


# -- 03.euler_stable_step -----------------------------------------------------------------


def test_euler_stable_step_reference_passes():
    result = checks03.euler_stable_step(lesson03.euler_stable_step)
    assert result.ok, result.message


@pytest.mark.parametrize("what, eigenvalues, A", checks03._STABILITY_CASES)
def test_stability_cases_oracle(what, eigenvalues, A):
    # The listed eigenvalues are A's (numpy, independently), and running Euler confirms
    # the expected step: bounded just below it, growing just above (or at any h if 0).
    import numpy as np

    got = np.sort_complex(np.linalg.eigvals(A.numpy()))
    assert np.allclose(got, np.sort_complex(np.array(eigenvalues, dtype=complex)), atol=1e-12)
    h = checks03._largest_step(eigenvalues)
    if h > 0:
        assert checks03.euler_growth(A, 0.95 * h) <= 1.0 + 1e-9
        assert checks03.euler_growth(A, 1.05 * h) > 1.5
    else:
        assert checks03.euler_growth(A, 0.01) > 1.0 + 1e-9


def _bound(per_eigenvalue, reduce=min, zero_tol=1e-12):
    def answer(A):
        lam = [complex(x) for x in torch.linalg.eigvals(A).tolist()]
        lam = [x for x in lam if abs(x) > zero_tol]
        if any(x.real >= -zero_tol for x in lam):
            return 0.0
        return reduce(per_eigenvalue(x) for x in lam)

    return answer


@pytest.mark.parametrize(
    "answer, words",
    [
        (_bound(lambda x: 2 / abs(x)), "negative real axis"),
        (_bound(lambda x: 2 / abs(x.real)), "ignores the imaginary part"),
        (_bound(lambda x: -2 * x.real / abs(x) ** 2, max), "take the smallest"),
        (_bound(lambda x: -2 * x.real / abs(x)), "the modulus is squared"),
        (_bound(lambda x: -2 * x.real / abs(x) ** 2, zero_tol=0.0), "treat |lam| < 1e-12"),
        (lambda A: lesson03.euler_stable_step(A) or 0.5, "no step is stable"),
        (lambda A: 0.9 * lesson03.euler_stable_step(A), "too short"),
        (lambda A: 1.2 * lesson03.euler_stable_step(A), "too long"),
        (lambda A: 1.01 * lesson03.euler_stable_step(A), "within 5%"),
        (lambda A: -1.0, ">= 0"),
        (lambda A: math.inf, "finite"),
        (lambda A: torch.linalg.eigvals(A), "must be a number"),
    ],
)
def test_euler_stable_step_slips_are_named(answer, words):
    result = checks03.euler_stable_step(answer)
    assert not result.ok and words in result.message, result.message


# -- 03.step_control -----------------------------------------------------------------------


def test_step_control_reference_passes():
    result = checks03.step_size_control(lesson03.step_control)
    assert result.ok, result.message

    def with_tensors(z, z_new, err, h, rtol, atol):  # a 0-dim bool tensor and a float tensor
        accept, h_next = lesson03.step_control(z, z_new, err, h, rtol, atol)
        return torch.tensor(accept), torch.tensor(h_next)

    assert checks03.step_size_control(with_tensors).ok


@pytest.mark.parametrize(
    "slip, words",
    [
        (dict(norm="max"), "not its maximum"),
        (dict(scale_by="z"), "use both states"),
        (dict(exponent=-1 / 4), "the exponent is -1/5"),
        (dict(safety=1.0), "safety 0.9"),
        (dict(clamp=False), "clamp the factor"),
    ],
)
def test_step_control_slips_are_named(slip, words):
    def answer(*args):
        return checks03._controller(*args, **slip)

    result = checks03.step_size_control(answer)
    assert not result.ok and words in result.message, result.message


def test_step_control_other_wrong_answers():
    def never_rejects(*args):
        return True, checks03._controller(*args)[1]

    assert "look at accept" in checks03.step_size_control(never_rejects).message

    def no_zero_guard(z, z_new, err, h, rtol, atol):
        ratio = checks03._ratio(z, z_new, err, rtol, atol)
        return ratio <= 1, h * min(10.0, max(0.2, 0.9 * ratio ** (-1 / 5)))

    no_zero_case = checks03.step_size_control(no_zero_guard)
    assert not no_zero_case.ok and "ZeroDivisionError" in no_zero_case.message
    assert "True or False" in checks03.step_size_control(lambda *a: ("yes", 0.1)).message


def test_controller_formula_is_the_librarys_on_real_dopri5_steps():
    # The checker's formula against node_edu.solvers.control (error_ratio, next_step_size) on
    # steps the library's own stepper takes: the lesson's description is the library's.
    from node_edu.solvers import control, rk

    tab = TABLEAUX["dopri5"]
    coef = rk.coefficients(tab, DT, torch.device("cpu"))
    for h, rtol, atol in ((0.01, 1e-6, 1e-9), (0.3, 1e-6, 1e-9), (2.0, 1e-6, 1e-9)):
        t0 = torch.tensor(0.4, dtype=DT)
        y = torch.tensor([0.3, -1.2], dtype=DT)
        clock = rk.Clock(t0, 0.4)
        y1, K_T = rk.rk_step(checks03._f_affine, tab, coef, clock, 0.0, y, h,
                             checks03._f_affine(t0, y))  # fmt: skip
        err = h * K_T @ torch.tensor(tab.b_err, dtype=DT)
        ratio = control.error_ratio(K_T, coef, h, y, y1, rtol, atol)
        accept, h_next = checks03._controller(y, y1, err, h, rtol, atol)
        assert accept == (ratio <= 1)
        assert h_next == pytest.approx(control.next_step_size(h, ratio, tab.order), rel=1e-12)
    assert (control.SAFETY, control.MIN_FACTOR, control.MAX_FACTOR) == (
        0.9,
        0.2,
        10.0,
    ) and tab.order == 5
