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


def midpoint(f, t, z, h):
    return z + h * f(t + h / 2, z + h / 2 * f(t, z))


# -- 03.midpoint_step ----------------------------------------------------------------------


def test_midpoint_reference_passes():
    for answer in (midpoint, lesson03.midpoint_step):
        result = checks03.midpoint_step(answer)
        assert result.ok, result.message


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda f, t, z, h: z + h * f(t, z), "Euler"),
        (lambda f, t, z, h: z + h * f(t, z + h / 2 * f(t, z)), "t + h/2"),
        (lambda f, t, z, h: z + h / 2 * f(t + h / 2, z + h / 2 * f(t, z)), "not h/2"),
        (lambda f, t, z, h: z + h * f(t + h, z + h * f(t, z)), "expected"),
        (lambda f, t, z, h: 1 / 0, "ZeroDivisionError"),
        (lambda f, t, z, h: midpoint(f, t, z, h).tolist(), "must be a torch.Tensor"),
        (lambda f, t, z, h: midpoint(f, t, z, h)[:1], "shape"),
        (lambda f, t, z, h: midpoint(f, t, z, h).float(), "dtype"),
    ],
)
def test_midpoint_wrong_answers_fail_with_a_hint(wrong, words):
    result = checks03.midpoint_step(wrong)
    assert not result.ok and words in result.message, result.message


def test_checker_cases_exercise_time_dependence():
    # The cases must tell a slope at t from one at t + h/2, or the "t + h/2" hint is dead.
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


# -- 03.error_ratio ------------------------------------------------------------------------


def test_measured_ratios_match_the_orders_and_the_exact_euler_errors():
    ratios = checks03.measured_error_ratios()
    for method, p in checks03.ORDERS.items():
        assert ratios[method] == pytest.approx(2**p, rel=0.05)
    # Euler's errors from the exact closed form (I + hA)^N z0 (SymPy), an independent oracle.
    sys = LinearODE([[-0.1, -1], [1, -0.1]], [1, 0], t0=0, t1=2)
    exact_ratio = sys.euler(20).error_norm / sys.euler(40).error_norm
    assert math.isclose(ratios["euler"], exact_ratio, rel_tol=1e-9)


def test_error_ratio_accepts_two_to_the_order():
    for answer in (lesson03.error_ratio, lambda p: 2**p, lambda p: torch.tensor(2.0) ** p):
        result = checks03.error_ratio_prediction(answer)
        assert result.ok, result.message


@pytest.mark.parametrize(
    "answer, words",
    [
        (lambda p: 2, "2 is the factor for h itself"),
        (lambda p: 2 * p, "a power, not like p h"),
        (lambda p: 2.0**-p, "its inverse"),
        (lambda p: 4 if p == 4 else 2**p, "rk4 (order 4): you predict 4"),
        (lambda p: "two", "must be a number"),
        (lambda p: math.nan, "finite"),
        (lambda p: [2**p], "must be a number"),
    ],
)
def test_error_ratio_wrong_answers(answer, words):
    result = checks03.error_ratio_prediction(answer)
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
    # The checker's formula against node_edu.solvers.rk (error_ratio, next_step_size) on
    # steps the library's own stepper takes: the lesson's description is the library's.
    from node_edu.solvers import rk

    tab = TABLEAUX["dopri5"]
    coef = rk.coefficients(tab, DT, torch.device("cpu"))
    for h, rtol, atol in ((0.01, 1e-6, 1e-9), (0.3, 1e-6, 1e-9), (2.0, 1e-6, 1e-9)):
        t0 = torch.tensor(0.4, dtype=DT)
        y = torch.tensor([0.3, -1.2], dtype=DT)
        clock = rk.Clock(t0, 0.4)
        y1, K_T = rk.rk_step(checks03._f_affine, tab, coef, clock, 0.0, y, h,
                             checks03._f_affine(t0, y))  # fmt: skip
        err = h * K_T @ torch.tensor(tab.b_err, dtype=DT)
        ratio = rk.error_ratio(K_T, coef, h, y, y1, rtol, atol)
        accept, h_next = checks03._controller(y, y1, err, h, rtol, atol)
        assert accept == (ratio <= 1)
        assert h_next == pytest.approx(rk.next_step_size(h, ratio, tab.order), rel=1e-12)
    assert (rk.SAFETY, rk.MIN_FACTOR, rk.MAX_FACTOR) == (0.9, 0.2, 10.0) and tab.order == 5
