"""Lesson 01's checkers accept the reference answers and name the typical mistakes."""

import math

import numpy as np
import torch

from node_edu import checks
from node_edu.checks.lesson01 import _V_CASES, measured_v_bottoms
from node_edu.solutions import lesson01


def _predict(h_of, error_of=None):
    """An answer from formulas for the step and (default: the reference model) the error."""

    def answer(g0, g3, eps):
        h = h_of(g0, g3, eps)
        error = error_of(g0, g3, eps, h) if error_of else h**2 / 6 * g3 + eps * g0 / h
        return h, error

    return answer


def test_central_best_step_accepts_the_reference_and_a_numerical_minimum():
    result = checks.central_best_step(lesson01.central_best_step)
    assert result.ok and str(result).startswith("\u2714 correct")

    def by_search(g0, g3, eps):  # an independent right answer: minimise E(h) on a grid
        hs = np.logspace(-12, 0, 12001)
        errors = hs**2 / 6 * g3 + eps * g0 / hs
        return float(hs[errors.argmin()]), float(errors.min())

    assert checks.central_best_step(by_search).ok
    # the round-off model's constant is a matter of taste: eps |g| / (2h) passes too
    assert checks.central_best_step(
        _predict(
            lambda g0, g3, eps: (1.5 * eps * g0 / g3) ** (1 / 3),
            lambda g0, g3, eps, h: h**2 / 6 * g3 + eps * g0 / (2 * h),
        )  # fmt: skip
    ).ok


def test_central_best_step_names_the_typical_slips():
    cases = {
        "forward difference's sqrt(eps)": _predict(lambda g0, g3, eps: math.sqrt(eps * g0 / g3)),
        "depends on their ratio": _predict(lambda g0, g3, eps: (3 * eps) ** (1 / 3)),
        "inverted": _predict(lambda g0, g3, eps: (3 * eps * g3 / g0) ** (1 / 3)),
        "grows like eps^1.00": _predict(lambda g0, g3, eps: 1e4 * eps),
        "evaluate your E(h)": _predict(
            lambda g0, g3, eps: (3 * eps * g0 / g3) ** (1 / 3), lambda g0, g3, eps, h: h
        ),
        "V bottoms out at": _predict(lambda g0, g3, eps: 10 * (3 * eps * g0 / g3) ** (1 / 3)),
        "must be > 0": lambda g0, g3, eps: (-1.0, 1.0),
        "a tuple of 2": lambda g0, g3, eps: 1e-5,
        "must be a number": lambda g0, g3, eps: ("1e-5", 1e-10),
        "finite": lambda g0, g3, eps: (math.nan, 1e-10),
    }
    for words, answer in cases.items():
        result = checks.central_best_step(answer)
        assert not result.ok and result.attempted, (words, result)
        if words == "inverted":  # named as the missing ratio: the steps scale wrongly
            words = "depends on their ratio"
        assert words in result.message, (words, result.message)


def test_the_measured_vs_bottom_out_near_the_model_and_below_its_worst_case():
    """The oracle itself: a V measured by RMS over 64 points, not the luck of one x."""
    measured = measured_v_bottoms()
    assert len(measured) == 10
    for name, _, _, _, g0, g3 in _V_CASES:
        for dtype in ("float64", "float32"):
            h, error = lesson01.central_best_step(g0, g3, float(np.finfo(dtype).eps))
            h_meas, error_meas = measured[name, dtype]
            assert 1 / 3 < h / h_meas < 3, (name, dtype, h, h_meas)
            assert 2 < error / error_meas < 7.5, (name, dtype, error, error_meas)  # docstring


def test_reverse_sweep_accepts_the_hand_derivation_and_autograd():
    assert checks.reverse_sweep(lesson01.reverse_sweep).ok

    def by_autograd(x1, x2):  # an independent right answer: torch's adjoints of each node
        x = torch.tensor([x1, x2], dtype=torch.float64, requires_grad=True)
        v = [torch.log(x[0]), x[0] * x[1], None, torch.sin(x[1])]
        v[2] = v[0] + v[1]
        v5 = v[2] - v[3]
        for t in v:
            t.retain_grad()
        v5.backward()
        names = {"v1": v[0], "v2": v[1], "v3": v[2], "v4": v[3]}
        return {"v5": 1.0, "x1": float(x.grad[0]), "x2": float(x.grad[1])} | {
            k: float(t.grad) for k, t in names.items()
        }

    assert checks.reverse_sweep(by_autograd).ok


def test_reverse_sweep_names_a_missing_path_a_missing_node_a_sign_and_a_constant():
    def changed(**kw):
        return lambda x1, x2: {**lesson01.reverse_sweep(x1, x2), **kw}

    one_path = checks.reverse_sweep(lambda x1, x2: {**lesson01.reverse_sweep(x1, x2), "x1": 1 / x1})
    assert not one_path.ok and "x1 feeds" in one_path.message
    missing = checks.reverse_sweep(
        lambda x1, x2: {k: v for k, v in lesson01.reverse_sweep(x1, x2).items() if k != "x1"}
    )
    assert not missing.ok and "missing: ['x1']" in missing.message
    text = checks.reverse_sweep(changed(x1="5.5"))
    assert not text.ok and "must be a number" in text.message
    sign = checks.reverse_sweep(changed(v4=1.0))
    assert not sign.ok and "adjoint of v4 (sin)" in sign.message
    frozen = checks.reverse_sweep(lambda x1, x2: lesson01.reverse_sweep(2.0, 5.0))
    assert not frozen.ok and "(0.7, -1.3)" in frozen.message  # typed numbers, not a function
    listed = checks.reverse_sweep(lambda x1, x2: list(lesson01.reverse_sweep(x1, x2).values()))
    assert not listed.ok and "dict" in listed.message


def _pow_answer(**slips):
    """The reference rules with some outputs replaced by a typical slip."""

    def answer(x, p, y_bar, x_dot, p_dot):
        right = lesson01.pow_rules(x, p, y_bar, x_dot, p_dot)
        out = dict(zip(("y", "x_bar", "p_bar", "y_dot"), right, strict=True))
        out.update({k: slip(x, p, y_bar, x_dot, p_dot) for k, slip in slips.items()})
        return out["y"], out["x_bar"], out["p_bar"], out["y_dot"]

    return answer


def test_pow_rules_accepts_the_reference_and_autograd():
    assert checks.pow_rules(lesson01.pow_rules).ok

    def by_torch_func(x, p, y_bar, x_dot, p_dot):
        y, pullback = torch.func.vjp(torch.pow, x, p)
        return (y, *pullback(y_bar), torch.func.jvp(torch.pow, (x, p), (x_dot, p_dot))[1])

    assert checks.pow_rules(by_torch_func).ok


def test_pow_rules_names_each_typical_slip():
    def dy_dx(x, p):
        return p * x ** (p - 1)

    def dy_dp(x, p):
        return x**p * torch.log(x)

    cases = {
        "the power drops by one": _pow_answer(x_bar=lambda x, p, yb, xd, pd: yb * p * x**p),
        "swapped": _pow_answer(
            x_bar=lambda x, p, yb, xd, pd: yb * dy_dp(x, p),
            p_bar=lambda x, p, yb, xd, pd: yb * dy_dx(x, p),
        ),
        "multiply by the output's adjoint": _pow_answer(x_bar=lambda x, p, yb, xd, pd: dy_dx(x, p)),
        "p is traced too": _pow_answer(p_bar=lambda x, p, yb, xd, pd: 0 * p),
        "BOTH inputs": _pow_answer(y_dot=lambda x, p, yb, xd, pd: dy_dx(x, p) * xd),
        "uses y_bar": _pow_answer(
            y_dot=lambda x, p, yb, xd, pd: yb * dy_dx(x, p) + yb * dy_dp(x, p)
        ),
        "y is not x ** p": _pow_answer(y=lambda x, p, yb, xd, pd: x * p),
        "forward rule disagrees": _pow_answer(y_dot=lambda x, p, yb, xd, pd: 2 * xd + pd),
        "reverse rule disagrees": _pow_answer(x_bar=lambda x, p, yb, xd, pd: yb + 1),
        "a tuple of 4": lambda x, p, yb, xd, pd: (x**p, yb),
    }
    for words, answer in cases.items():
        result = checks.pow_rules(answer)
        assert not result.ok and words in result.message, (words, result.message)
