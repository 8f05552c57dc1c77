"""Lesson 03's exercise checkers: right answers pass, typical wrong ones fail with a hint."""

import math

import numpy as np
import pytest
import torch

import node_edu.checks.solvers as checks03
from node_edu.linear import LinearODE


def midpoint(f, t, z, h):
    return z + h * f(t + h / 2, z + h / 2 * f(t, z))


def test_midpoint_reference_passes():
    result = checks03.midpoint_step(midpoint)
    assert result.ok, result.message
    result = checks03.midpoint_step(lambda f, t, z, h: midpoint(f, t, z, h).float())
    assert result.ok, result.message  # float32 is judged at float32's precision


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda f, t, z, h: z + h * f(t, z), "Euler"),
        (lambda f, t, z, h: z + h * f(t, z + h / 2 * f(t, z)), "t + h/2"),
        (lambda f, t, z, h: z + h / 2 * f(t + h / 2, z + h / 2 * f(t, z)), "not h/2"),
        (lambda f, t, z, h: z + h * f(t + h, z + h * f(t, z)), "expected"),
        (lambda f, t, z, h: 1 / 0, "ZeroDivisionError"),
        (lambda f, t, z, h: midpoint(f, t, z, h).tolist(), "return a tensor"),
        (lambda f, t, z, h: midpoint(f, t, z, h)[:1], "shape"),
        (lambda f, t, z, h: (z + h * f(t, z)).float(), "Euler"),  # float32 is not an error
    ],
)
def test_midpoint_wrong_answers_fail_with_a_hint(wrong, words):
    result = checks03.midpoint_step(wrong)
    assert not result.ok and words in result.message, result.message


def test_measured_ratios_match_the_orders_and_the_exact_euler_errors():
    ratios = checks03.measured_error_ratios()
    for method, p in checks03.ORDERS.items():
        assert ratios[method] == pytest.approx(2**p, rel=0.05)
    # Euler's errors from the exact closed form (I + hA)^N z0 (SymPy), an independent oracle.
    sys = LinearODE([[-0.1, -1], [1, -0.1]], [1, 0], t0=0, t1=2)
    exact_ratio = sys.euler(20).error_norm / sys.euler(40).error_norm
    assert math.isclose(ratios["euler"], exact_ratio, rel_tol=1e-9)


def test_error_ratio_prediction_accepts_two_to_the_order():
    result = checks03.error_ratio_prediction({"euler": 2, "midpoint": 4, "rk4": 16})
    assert result.ok, result.message


@pytest.mark.parametrize(
    "answers, words",
    [
        ({"euler": 2, "midpoint": 2, "rk4": 2}, "h^p"),
        ({"euler": 2, "midpoint": 4, "rk4": 4}, "rk4: you predict 4"),
        ({"euler": 0.5, "midpoint": 4, "rk4": 16}, "euler"),
        ({"euler": 2, "midpoint": 4}, "missing ['rk4']"),
        ({"euler": "two", "midpoint": 4, "rk4": 16}, "give a number"),
        ({"euler": np.nan, "midpoint": 4, "rk4": 16}, "euler"),
        ([2, 4, 16], "dict"),
    ],
)
def test_error_ratio_prediction_wrong_answers(answers, words):
    result = checks03.error_ratio_prediction(answers)
    assert not result.ok and words in result.message, result.message


def test_checker_cases_exercise_time_dependence():
    # The cases must tell a slope at t from one at t + h/2, or the "t + h/2" hint is dead.
    f, t, z, h = checks03._cases()[0]
    t = torch.tensor(t, dtype=z.dtype)
    assert not torch.allclose(f(t, z), f(t + h / 2, z))
