"""Solvers against independent oracles: torch.linalg.matrix_exp, autograd's gradcheck
(finite differences), torchdiffeq, and a call counter."""

import pytest
import torch
import torchdiffeq

import node_edu as ne
from node_edu.solvers.integrate import Options, fixed
from node_edu.solvers.rk import Clock, coefficients, dense_output, rk_step
from node_edu.solvers.tableaux import DOPRI5

A64 = [[-0.1, -1.0, 0.3], [1.0, -0.1, 0.0], [0.2, 0.0, -0.5]]


def linear(device, dtype=torch.float64):
    """dz/dt = A z with its exact flow z(t) = expm(A (t - t0)) z0 as the oracle."""
    A = torch.tensor(A64, dtype=dtype, device=device)
    z0 = torch.tensor([1.0, 0.5, -0.3], dtype=dtype, device=device)

    def exact(t):
        return torch.stack([torch.linalg.matrix_exp(A * (ti - t[0])) @ z0 for ti in t])

    return (lambda t, z: z @ A.T), z0, exact


def slope(hs, errors):
    """Least-squares slope of log(error) against log(h): the measured order."""
    x, y = torch.log(torch.tensor(hs)), torch.log(torch.tensor(errors))
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / (x * x).sum())


@pytest.mark.parametrize(
    "method, order, ns",
    [("euler", 1, [200, 400, 800, 1600]), ("midpoint", 2, [50, 100, 200, 400]),
     ("rk4", 4, [10, 20, 40, 80])],
)  # fmt: skip
def test_fixed_grid_order_of_convergence(device, method, order, ns):
    func, z0, exact = linear(device)
    # 0.37 and 1.13 are off the grid: Hermite interpolation must keep the order there.
    t = torch.tensor([0.0, 0.37, 1.13, 2.0], dtype=torch.float64, device=device)
    hs, errors = [], []
    for n in ns:
        h = 2.0 / n
        z = ne.odeint(func, z0, t, method=method, step_size=h)
        hs.append(h)
        errors.append((z - exact(t)).abs().max().item())
    assert abs(slope(hs, errors) - order) < 0.15, (method, errors)


def test_dopri5_order_five_on_a_fixed_grid(device):
    """The 5th-order propagated solution of the dopri5 tableau, run by the generic
    stepper on a fixed grid (the adaptive loop would hide the order behind rtol)."""
    func, z0, exact = linear(device)
    t = torch.tensor([0.0, 2.0], dtype=torch.float64, device=device)
    hs, errors = [], []
    for n in [4, 8, 16, 32]:
        stats = ne.SolverStats()
        opts = Options(DOPRI5, 1.0, 1.0, 2.0 / n, None)
        _, y = fixed(lambda s, y: func(s, y), z0, t[0], 0.0, [2.0], opts, stats)
        hs.append(2.0 / n)
        errors.append((y - exact(t)[-1]).abs().max().item())
    assert abs(slope(hs, errors) - 5) < 0.3, errors


def test_dopri5_dense_output_is_fourth_order(device):
    """Inside one step, the continuous extension's local error is O(h^5) (order 4)."""
    func, z0, exact = linear(device)
    coef = coefficients(DOPRI5, torch.float64, torch.device(device))
    t0 = torch.zeros((), dtype=torch.float64, device=device)
    hs, errors = [], []
    for h in [0.4, 0.2, 0.1, 0.05]:
        _, K_T = rk_step(func, DOPRI5, coef, Clock(t0, 0.0), 0.0, z0, h, func(t0, z0))
        err = 0.0
        for theta in (0.3, 0.7):
            theta_t = torch.tensor(theta, dtype=torch.float64, device=device)
            z_mid = dense_output(coef, z0, K_T, h, theta_t)
            z_true = exact(torch.tensor([0.0, theta * h], dtype=torch.float64, device=device))
            err = max(err, (z_mid - z_true[-1]).abs().max().item())
        hs.append(h)
        errors.append(err)
    assert abs(slope(hs, errors) - 5) < 0.3, errors


@pytest.mark.parametrize(
    "dtype, rtol, tol", [(torch.float64, 1e-9, 1e-7), (torch.float32, 1e-5, 2e-4)]
)
def test_dopri5_meets_tolerance_forward_and_backward_in_time(device, dtype, rtol, tol):
    func, z0, exact = linear(device, dtype)
    for t in (torch.linspace(0, 3, 7), torch.linspace(0, -3, 7)):
        t = t.to(dtype=dtype, device=device)
        z = ne.odeint(func, z0, t, rtol=rtol, atol=rtol * 1e-2)
        assert z.dtype == dtype and z.device == z0.device
        assert (z - exact(t)).abs().max().item() < tol


def test_output_times_do_not_force_steps(device):
    func, z0, exact = linear(device)
    few, many = ne.SolverStats(), ne.SolverStats()
    t2 = torch.tensor([0.0, 5.0], dtype=torch.float64, device=device)
    t200 = torch.linspace(0, 5, 200, dtype=torch.float64, device=device)
    ne.odeint(func, z0, t2, stats=few)
    z = ne.odeint(func, z0, t200, stats=many)
    assert many.n_accepted == few.n_accepted and many.nfe == few.nfe
    assert (z - exact(t200)).abs().max().item() < 1e-6


def test_batch_of_states_and_func_contract(device):
    """Any z0 shape; func gets t as a 0-dim tensor of z0's dtype and device."""
    A = torch.tensor(A64, dtype=torch.float32, device=device)
    z0 = torch.randn(5, 4, 3, generator=torch.Generator().manual_seed(0)).to(device)
    seen = []

    def func(t, z):
        seen.append((t.shape, t.dtype, t.device.type, z.shape))
        return z @ A.T

    t = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64, device=device)
    z = ne.odeint(func, z0, t, rtol=1e-6, atol=1e-8)
    assert z.shape == (3, 5, 4, 3)
    assert set(seen) == {(torch.Size([]), torch.float32, torch.device(device).type, z0.shape)}
    expected = z0 @ torch.linalg.matrix_exp(A * 1.0).T
    assert (z[-1] - expected).abs().max().item() < 1e-4


def test_stats_count_every_call(device):
    func, z0, _ = linear(device)
    calls = [0]

    def counted(t, z):
        calls[0] += 1
        return func(t, z)

    t = torch.linspace(0, 10, 3, dtype=torch.float64, device=device)
    stats = ne.SolverStats()
    ne.odeint(counted, z0, t, rtol=1e-10, stats=stats)
    assert stats.nfe == calls[0]
    # dopri5 is FSAL: 6 evaluations per step, plus the first slope and the step search.
    assert stats.nfe == 6 * stats.n_steps + 2
    assert stats.n_accepted > 10 and stats.n_rejected >= 0
    calls[0] = 0
    ne.odeint(counted, z0, t, method="rk4", step_size=0.1, stats=stats)  # reset, refilled
    assert stats.nfe == calls[0] and stats.n_accepted == 100 and stats.n_rejected == 0


def test_fixed_grid_default_is_the_output_grid(device):
    """step_size=None on a fixed grid: one step per interval of t (documented)."""
    func, z0, _ = linear(device)
    t = torch.tensor([0.0, 0.1, 0.3, 0.4], dtype=torch.float64, device=device)
    stats = ne.SolverStats()
    z = ne.odeint(func, z0, t, method="euler", stats=stats)
    A = torch.tensor(A64, dtype=torch.float64, device=device)
    expected, zi = [z0], z0
    for h in (0.1, 0.2, 0.1):  # Euler by hand: z <- (I + hA) z
        zi = zi + h * (A @ zi)
        expected.append(zi)
    torch.testing.assert_close(z, torch.stack(expected))
    assert stats.n_accepted == 3


def _mlp_func(device, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    W = (0.5 * torch.randn(2, 2, generator=g, dtype=dtype)).to(device).requires_grad_(True)
    b = (0.1 * torch.randn(2, generator=g, dtype=dtype)).to(device).requires_grad_(True)

    def func(t, z):  # nonlinear and time dependent
        return torch.tanh(z @ W) + torch.sin(t) * b

    return func, W, b


@pytest.mark.parametrize(
    "method, kw", [("dopri5", dict(rtol=1e-11, atol=1e-12)), ("rk4", dict(step_size=0.05))]
)
def test_gradcheck_odeint(device, method, kw):
    func, W, b = _mlp_func(device)
    z0 = torch.tensor([[0.5, -0.2], [0.1, 0.3]], dtype=torch.float64, device=device)
    t = torch.tensor([0.0, 0.4, 1.0], dtype=torch.float64, device=device)

    def solve(z0, t, W, b):
        def f(s, z):
            return torch.tanh(z @ W) + torch.sin(s) * b

        return ne.odeint(f, z0, t, method=method, **kw)

    inputs = (z0.requires_grad_(True), t.requires_grad_(True), W, b)
    assert torch.autograd.gradcheck(solve, inputs, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize(
    "method, kw", [("dopri5", dict(rtol=1e-10, atol=1e-12)), ("rk4", dict(step_size=0.01))]
)
def test_nonlinear_solution_matches_torchdiffeq(device, method, kw):
    """Lotka-Volterra, a batch of states, both time directions, against torchdiffeq."""

    def func(t, z):
        x, y = z[..., 0], z[..., 1]
        return torch.stack([1.1 * x - 0.4 * x * y, 0.1 * x * y - 0.4 * y], -1)

    z0 = torch.tensor([[10.0, 5.0], [4.0, 2.0]], dtype=torch.float64, device=device)
    for t in (torch.linspace(0, 5, 6), torch.linspace(0, -2, 6)):
        t = t.to(dtype=torch.float64, device=device)
        ours = ne.odeint(func, z0, t, method=method, **kw)
        options = dict(step_size=0.001) if method == "rk4" else None
        theirs = torchdiffeq.odeint(
            func, z0, t, method=method, rtol=1e-12, atol=1e-12, options=options
        )
        assert (ours - theirs).abs().max().item() < 1e-7 * theirs.abs().max().item()


def test_recorded_steps_are_the_solution_at_contiguous_step_starts(device):
    f, z0, exact = linear(device)
    t = torch.tensor([0.0, 2.0], dtype=z0.dtype, device=device)
    stats = ne.SolverStats(record_steps=True)
    ne.odeint(f, z0, t, rtol=1e-8, atol=1e-10, stats=stats)
    starts = [s[0] for s in stats.steps]
    assert len(stats.steps) == stats.n_accepted > 1
    assert sum(s[3] for s in stats.steps) == stats.n_rejected
    assert starts[0] == float(t[0])
    for (t_a, h_a, *_), t_b in zip(stats.steps[:-1], starts[1:], strict=True):
        assert abs(t_a + h_a - t_b) < 1e-12
    assert abs(stats.steps[-1][0] + stats.steps[-1][1] - float(t[-1])) < 1e-12
    for t_start, _, y, _ in stats.steps:  # the state at each start, from matrix_exp
        z = exact(torch.tensor([float(t[0]), t_start], dtype=z0.dtype, device=device))[-1]
        torch.testing.assert_close(y.view(z0.shape), z, rtol=1e-6, atol=1e-8)
    plain = ne.SolverStats()
    ne.odeint(f, z0, t, rtol=1e-8, atol=1e-10, stats=plain)
    assert plain.steps == [] and plain.n_accepted == stats.n_accepted
