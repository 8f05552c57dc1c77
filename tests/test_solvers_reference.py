"""solvers.reference's stability function R(w) against independent oracles: one library step
on dz/dt = lambda z, the Taylor polynomial of exp, and the literature's stability intervals.

(The textbook step ``explicit_rk_step`` is held against the library's step in
test_widgets_03.py and test_checks_03.py, where lesson 03 uses it.)"""

import math

import numpy as np
import pytest
import torch

import node_edu as ne
from node_edu.solvers import TABLEAUX
from node_edu.solvers.reference import explicit_rk_step, stability_function

F64 = torch.float64
W = np.array([-2.4, -0.3 + 0.7j, 0.5, 1.9j, -3.1 - 1.2j])  # points of the complex plane


@pytest.mark.parametrize("method, order", [("euler", 1), ("midpoint", 2), ("rk4", 4)])
def test_stability_function_is_the_taylor_polynomial_of_exp(method, order):
    # An explicit s-stage method of order p = s (s <= 4) has R(w) = sum_{k<=p} w^k / k!.
    taylor = sum(W**k / math.factorial(k) for k in range(order + 1))
    np.testing.assert_allclose(stability_function(method, W), taylor, rtol=1e-14)


def test_dopri5_stability_function_from_the_literature():
    # Order 5 fixes the coefficients up to w^5; Hairer & Wanner II, IV.2: the w^6 one is 1/600.
    known = sum(W**k / math.factorial(k) for k in range(6)) + W**6 / 600
    np.testing.assert_allclose(stability_function("dopri5", W), known, rtol=1e-13)


@pytest.mark.parametrize("method", list(TABLEAUX))
def test_stability_function_is_one_library_step_on_a_complex_eigenvalue(method, device):
    # dz/dt = lambda z with lambda = a + ib is the real system [[a, -b], [b, a]]; one step
    # multiplies z by R(h lambda), i.e. (Re R, Im R) for z0 = (1, 0).
    for lam, h in ((complex(-1.0, 2.0), 0.4), (complex(-3.0, 0.0), 0.5), (complex(0, 1), 1.2)):
        A = torch.tensor([[lam.real, -lam.imag], [lam.imag, lam.real]], dtype=F64, device=device)
        z0 = torch.tensor([1.0, 0.0], dtype=F64, device=device)
        t = torch.tensor([0.0, h], dtype=F64, device=device)
        stats = ne.SolverStats()
        # adaptive methods: a first step of h with tolerances so loose that it is accepted.
        kw = dict(step_size=h, rtol=1e3, atol=1e3) if TABLEAUX[method].adaptive else {}
        z1 = ne.odeint(lambda t, z, A=A: A @ z, z0, t, method=method, stats=stats, **kw)[-1]
        assert stats.n_accepted == 1
        R = complex(stability_function(method, h * lam))
        assert math.isclose(z1[0].item(), R.real, abs_tol=1e-14)
        assert math.isclose(z1[1].item(), R.imag, abs_tol=1e-14)


def test_real_and_imaginary_stability_intervals_from_the_literature():
    # Euler: [-2, 0]; RK4: [-2.7853, 0] (Hairer & Wanner II, IV.2, Fig. 2.1).
    assert abs(stability_function("euler", -2.0)) == pytest.approx(1.0)
    assert abs(stability_function("euler", -2.01)) > 1 > abs(stability_function("euler", -1.99))
    assert abs(stability_function("rk4", -2.7852)) < 1 < abs(stability_function("rk4", -2.7854))
    # No explicit method here is stable on the whole imaginary axis; Euler on none of it.
    assert abs(stability_function("euler", 0.1j)) > 1
    assert abs(stability_function("rk4", 2.0j)) < 1 < abs(stability_function("rk4", 3.0j))


def test_bad_methods_name_the_argument():
    with pytest.raises(ValueError, match=r"^method must be one of \['euler', .* got 'heun'"):
        stability_function("heun", 0.5)
    with pytest.raises(ValueError, match="method must be an explicit Runge-Kutta method, one of"):
        explicit_rk_step("implicit_euler", lambda t, z: -z, 0.0, torch.ones(2), 0.1)
