"""Implicit Euler and the trapezoidal rule against independent oracles:
torch.linalg.matrix_exp, the closed-form stability functions 1/(1 - w) and
(1 + w/2)/(1 - w/2), autograd's gradcheck (finite differences) and the explicit methods
that blow up on the same stiff system."""

import math

import pytest
import torch

import node_edu as ne
from node_edu.solvers import stability_function

F64 = torch.float64
ORDERS = {"implicit_euler": 1, "trapezoid": 2}
FORMULAS = {
    "implicit_euler": lambda w: 1 / (1 - w),
    "trapezoid": lambda w: (1 + w / 2) / (1 - w / 2),
}


def stiff(device):
    """Lesson 03's stiff system: eigenvalues -1 and -30, both modes present in z0."""
    A = torch.tensor([[-1.0, 0.0], [29.0, -30.0]], dtype=F64, device=device)
    z0 = torch.tensor([1.0, 0.0], dtype=F64, device=device)
    return A, z0


@pytest.mark.parametrize("method", list(ORDERS))
def test_stiff_system_of_lesson_03_is_solved_stably(device, method):
    """h = 0.08, 50 steps (h lambda = -2.4 for the fast mode): euler and midpoint blow up
    (|R(-2.4)| = 1.4 and 1.48), the implicit methods follow matrix_exp."""
    A, z0 = stiff(device)
    h, n = 0.08, 50
    t = torch.linspace(0, n * h, n + 1, dtype=F64, device=device)
    exact = torch.stack([torch.linalg.matrix_exp(A * ti) @ z0 for ti in t])
    z = ne.odeint(lambda t, z: A @ z, z0, t, method=method)
    error = (z - exact).abs().max().item()
    assert error < 0.25, error  # the fast transient is not resolved at this h, but bounded
    # the fast mode has died out after 10 steps; the slow one is resolved to O(h^p)
    late = (z[10:] - exact[10:]).abs().max().item()
    assert late < {"implicit_euler": 0.02, "trapezoid": 0.001}[method], late
    for explicit in ("euler", "midpoint"):
        blown = ne.odeint(lambda t, z: A @ z, z0, t, method=explicit)
        assert blown.abs().max().item() > 1e3, explicit


def test_stiffer_still_every_explicit_method_blows_up(device):
    """h = 0.2 (h lambda = -6): outside every explicit region, inside the implicit ones.
    After 500 steps the explicit solutions overflow (|R(-6)| = 5, 13, 31)."""
    A, z0 = stiff(device)
    t = torch.linspace(0, 100, 11, dtype=F64, device=device)
    for method in ("euler", "midpoint", "rk4"):
        with pytest.raises(ne.SolverError, match="non-finite"):
            ne.odeint(lambda t, z: A @ z, z0, t, method=method, step_size=0.2)
    for method in ORDERS:
        z = ne.odeint(lambda t, z: A @ z, z0, t, method=method, step_size=0.2)
        exact = torch.stack([torch.linalg.matrix_exp(A * ti) @ z0 for ti in t])
        assert (z - exact).abs().max().item() < 0.1


@pytest.mark.parametrize("method", list(ORDERS))
def test_measured_order(device, method):
    """Error at t = 2 against matrix_exp on a non-stiff 3 x 3 system: slope p."""
    A = torch.tensor(
        [[-0.1, -1.0, 0.3], [1.0, -0.1, 0.0], [0.2, 0.0, -0.5]], dtype=F64, device=device
    )
    z0 = torch.tensor([1.0, 0.5, -0.3], dtype=F64, device=device)
    exact = torch.linalg.matrix_exp(2.0 * A) @ z0
    t = torch.tensor([0.0, 2.0], dtype=F64, device=device)
    errors = []
    for n in (40, 80, 160):
        z = ne.odeint(lambda t, z: z @ A.T, z0, t, method=method, step_size=2.0 / n)[-1]
        errors.append((z - exact).norm().item())
    slopes = [math.log2(a / b) for a, b in zip(errors[:-1], errors[1:], strict=True)]
    assert all(abs(s - ORDERS[method]) < 0.1 for s in slopes), slopes


@pytest.mark.parametrize("method", list(ORDERS))
@pytest.mark.parametrize("lam", [-0.5, -3.0, -30.0, -1000.0])
def test_one_step_on_a_real_decay_is_the_stability_function(device, method, lam):
    h = 0.1
    z0 = torch.tensor([1.0], dtype=F64, device=device)
    t = torch.tensor([0.0, h], dtype=F64, device=device)
    z1 = ne.odeint(lambda t, z: lam * z, z0, t, method=method)[-1].item()
    expected = FORMULAS[method](h * lam)
    assert math.isclose(z1, expected, rel_tol=1e-12)
    assert math.isclose(stability_function(method, h * lam), expected, rel_tol=1e-14)
    assert abs(z1) < 1  # A-stable: every decaying mode decays


@pytest.mark.parametrize("method", list(ORDERS))
def test_one_step_on_a_rotation_decay_block_is_the_complex_stability_function(device, method):
    """dz/dt = [[a, -b], [b, a]] z is lambda = a + ib: one step from (1, 0) lands on
    (Re R, Im R), with R the closed form, for eigenvalues across the left half-plane."""
    for lam, h in ((complex(-1.0, 2.0), 0.4), (complex(-0.01, 5.0), 0.5), (complex(-20, 3), 0.3)):
        A = torch.tensor([[lam.real, -lam.imag], [lam.imag, lam.real]], dtype=F64, device=device)
        z0 = torch.tensor([1.0, 0.0], dtype=F64, device=device)
        t = torch.tensor([0.0, h], dtype=F64, device=device)
        z1 = ne.odeint(lambda t, z, A=A: A @ z, z0, t, method=method)[-1]
        R = FORMULAS[method](h * lam)
        assert math.isclose(z1[0].item(), R.real, abs_tol=1e-12)
        assert math.isclose(z1[1].item(), R.imag, abs_tol=1e-12)
        assert abs(R) < 1
        assert abs(stability_function(method, h * lam) - R) < 1e-14


def test_stability_function_of_explicit_methods_is_the_taylor_polynomial():
    """For the explicit tableaux R is a truncated exp series (rk4: degree 4), and tensors
    and arrays are taken elementwise."""
    w = torch.tensor([-2.4, -0.3, 0.5], dtype=F64)
    taylor = sum(w**k / math.factorial(k) for k in range(5))
    torch.testing.assert_close(stability_function("rk4", w), taylor, rtol=1e-15, atol=0)
    assert abs(stability_function("euler", 0.3j) - (1 + 0.3j)) < 1e-16
    assert abs(stability_function("implicit_euler", -1e6)) < 1e-5  # L-stable: R(-inf) = 0
    assert math.isclose(abs(stability_function("trapezoid", -1e6)), 1, rel_tol=1e-5)


def test_nonlinear_batched_any_shape_and_gradients_by_finite_differences(device):
    """A nonlinear stiff f on a [2, 1, 2] state: gradcheck of z0 and a parameter."""
    W = torch.tensor([[-20.0, 1.0], [0.5, -1.0]], dtype=F64, device=device)

    def solve(z0, W, t):
        return ne.odeint(
            lambda t, z: torch.tanh(z) @ W.T + torch.sin(t),
            z0,
            t,
            method="trapezoid",
            step_size=0.1,
        )

    z0 = torch.tensor([[[0.5, -0.2]], [[0.1, 0.3]]], dtype=F64, device=device, requires_grad=True)
    t = torch.tensor([0.0, 0.25, 0.6], dtype=F64, device=device)
    assert solve(z0, W, t).shape == (3, 2, 1, 2)
    W.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda z0, W: solve(z0, W, t), (z0, W), atol=1e-6, rtol=1e-5)
    # d z(t_2) / d t_2 is dz/dt itself, f(t_2, z(t_2)) (read off the step's interpolant)
    t.requires_grad_(True)
    with torch.no_grad():
        W.requires_grad_(False)
    z = ne.odeint(lambda s, z: torch.tanh(z) @ W.T + torch.sin(s), z0, t, method="trapezoid")
    (dz_dt,) = torch.autograd.grad(z[-1].sum(), t)
    slope = (torch.tanh(z[-1]) @ W.T + torch.sin(t[-1])).sum()
    assert abs(dz_dt[-1].item() - slope.item()) < 1e-10 and dz_dt[1].item() == 0
    assert torch.autograd.gradcheck(
        lambda z0, W: ne.odeint(lambda t, z: torch.tanh(z) @ W.T, z0, t, method="implicit_euler"),
        (z0, W),
        atol=1e-6,
        rtol=1e-5,
    )


def test_float32_state(device):
    A, z0 = stiff(device)
    t = torch.linspace(0, 4, 51, device=device)
    z = ne.odeint(lambda t, z: A.float() @ z, z0.float(), t, method="trapezoid")
    exact = torch.linalg.matrix_exp(A * 4.0) @ z0
    assert z.dtype == torch.float32
    assert (z[-1].double() - exact).abs().max().item() < 1e-2


def test_newton_that_does_not_converge_raises_solver_error_with_the_time():
    """dz/dt = z^2 from z0 = 1 blows up at t = 1; implicit Euler's equation
    z1 = 1 + h z1^2 has no real root once h > 1/4, so the step from t=0 fails."""
    z0 = torch.tensor([1.0], dtype=F64)
    t = torch.tensor([0.0, 0.9], dtype=F64)
    with pytest.raises(
        ne.SolverError, match=r"Newton's method did not converge.*from t=0 to t=0.3"
    ):
        ne.odeint(lambda t, z: z**2, z0, t, method="implicit_euler", step_size=0.3)
    with pytest.raises(ne.SolverError, match="Newton"):  # a nan Jacobian
        ne.odeint(lambda t, z: torch.sqrt(z - 2.0), z0, t, method="trapezoid")


def test_odeint_adjoint_refuses_implicit_methods():
    z0 = torch.tensor([1.0], dtype=F64)
    t = torch.tensor([0.0, 1.0], dtype=F64)
    with pytest.raises(ValueError, match="not supported by odeint_adjoint.*ne.odeint"):
        ne.odeint_adjoint(lambda t, z: -z, z0, t, method="implicit_euler")
