"""odeint_adjoint against independent oracles: finite differences (gradcheck), autograd
through our solver (backprop), and torchdiffeq's own odeint_adjoint."""

import pytest
import torch
import torchdiffeq

import node_edu as ne

ADJOINTS = ["backsolve", "checkpoint"]
TIGHT = dict(rtol=1e-10, atol=1e-12)


class MLP(torch.nn.Module):
    """A small time-dependent vector field f(t, z) = W2 tanh(W1 [z, sin t] + b1) + b2."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)
        ).double()

    def forward(self, t, z):
        return self.net(torch.cat([z, torch.sin(t).expand(*z.shape[:-1], 1)], -1))


def gradients(solver, func, z0, t, weights, **kw):
    """dL/d(z0, t, params) for L = sum(weights * z(t_i)), a loss on every output."""
    z0, t = z0.clone().requires_grad_(True), t.clone().requires_grad_(True)
    loss = (solver(func, z0, t, **kw) * weights).sum()
    return torch.autograd.grad(loss, [z0, t, *func.parameters()])


def assert_all_close(ours, reference, rtol):
    for a, b in zip(ours, reference, strict=True):
        assert (a - b).abs().max().item() <= rtol * b.abs().max().item() + 1e-12


def problem(device, direction):
    func = MLP().to(device)
    g = torch.Generator().manual_seed(1)
    z0 = torch.randn(4, 2, generator=g, dtype=torch.float64).to(device)
    t = direction * torch.tensor([0.0, 0.3, 0.7, 1.5, 2.0], dtype=torch.float64, device=device)
    weights = torch.randn(5, 4, 2, generator=g, dtype=torch.float64).to(device)
    return func, z0, t, weights


@pytest.mark.parametrize("adjoint", ADJOINTS)
@pytest.mark.parametrize("direction", [1.0, -1.0])
@pytest.mark.parametrize("method, kw", [("dopri5", TIGHT), ("rk4", dict(step_size=0.01))])
def test_adjoint_matches_backprop_through_the_solver(device, adjoint, direction, method, kw):
    func, z0, t, w = problem(device, direction)
    ours = gradients(ne.odeint_adjoint, func, z0, t, w, adjoint=adjoint, method=method, **kw)
    backprop = gradients(ne.odeint, func, z0, t, w, method=method, **kw)
    assert_all_close(ours, backprop, 1e-7)


@pytest.mark.parametrize("adjoint", ADJOINTS)
@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_adjoint_matches_torchdiffeq_adjoint(device, adjoint, direction):
    func, z0, t, w = problem(device, direction)
    ours = gradients(ne.odeint_adjoint, func, z0, t, w, adjoint=adjoint, **TIGHT)
    theirs = gradients(torchdiffeq.odeint_adjoint, func, z0, t, w, **TIGHT)
    assert_all_close(ours, theirs, 1e-7)


@pytest.mark.parametrize("adjoint", ADJOINTS)
def test_gradcheck_odeint_adjoint(device, adjoint):
    """Finite differences of the forward solve: z0, explicit params and every t[i]."""
    g = torch.Generator().manual_seed(2)
    W = (0.5 * torch.randn(2, 2, generator=g, dtype=torch.float64)).to(device)
    b = (0.1 * torch.randn(2, generator=g, dtype=torch.float64)).to(device)
    z0 = torch.tensor([[0.5, -0.2], [0.1, 0.3]], dtype=torch.float64, device=device)
    t = torch.tensor([0.0, 0.4, 1.0], dtype=torch.float64, device=device)

    def solve(z0, t, W, b):
        def f(s, z):
            return torch.tanh(z @ W) + torch.sin(s) * b

        return ne.odeint_adjoint(f, z0, t, params=(W, b), adjoint=adjoint, rtol=1e-11, atol=1e-12)

    inputs = [x.requires_grad_(True) for x in (z0, t, W, b)]
    assert torch.autograd.gradcheck(solve, inputs, atol=1e-6, rtol=1e-4)


def test_params_default_and_explicit(device):
    """Default params: an nn.Module's parameters; a closure's tensors only when listed."""
    W = torch.tensor([[0.0, 1.0], [-1.0, -0.2]], dtype=torch.float64, device=device)
    W.requires_grad_(True)
    z0 = torch.tensor([1.0, 0.0], dtype=torch.float64, device=device)
    t = torch.tensor([0.0, 1.0], dtype=torch.float64, device=device)

    def f(s, z):
        return W @ z

    z0_leaf = z0.clone().requires_grad_(True)
    ne.odeint_adjoint(f, z0_leaf, t).sum().backward()
    assert W.grad is None and z0_leaf.grad is not None  # W not listed: documented, no grad
    ne.odeint_adjoint(f, z0, t, params=[W], **TIGHT).sum().backward()
    expected = torch.func.grad(lambda W: (torch.linalg.matrix_exp(W) @ z0).sum())(W.detach())
    torch.testing.assert_close(W.grad, expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("adjoint", ADJOINTS)
def test_func_that_uses_autograd_inside(device, adjoint):
    """f = -grad V(z) computed with autograd inside f (as a CNF's exact trace is)."""
    theta = torch.tensor([1.0, 0.5], dtype=torch.float64, device=device, requires_grad=True)

    def f(t, z):
        with torch.enable_grad():
            z = z if z.requires_grad else z.detach().requires_grad_(True)
            V = (theta[0] * z**4 / 4 + theta[1] * z**2 / 2).sum()
            (dV,) = torch.autograd.grad(V, z, create_graph=True)
        return -dV

    z0 = torch.tensor([[0.8, -0.5]], dtype=torch.float64, device=device)
    t = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64, device=device)
    ours = torch.autograd.grad(
        ne.odeint_adjoint(f, z0, t, params=[theta], adjoint=adjoint, **TIGHT).sum(), theta
    )
    backprop = torch.autograd.grad(ne.odeint(f, z0, t, **TIGHT).sum(), theta)
    torch.testing.assert_close(ours, backprop, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("adjoint", ADJOINTS)
def test_backward_is_one_continuous_solve(device, adjoint):
    """Per t_i the backward pass costs one re-evaluation after the jump, never a new
    initial-step search; evaluations are counted by an independent call counter."""
    func, z0, t, w = problem(device, 1.0)
    calls = [0]

    def counted(s, z):
        calls[0] += 1
        return func(s, z)

    stats = ne.SolverStats()
    z = ne.odeint_adjoint(counted, z0, t, params=list(func.parameters()), adjoint=adjoint,
                          stats=stats)  # fmt: skip
    forward_calls = calls[0]
    (z * w).sum().backward()
    back = stats.backward
    assert stats.nfe == forward_calls and back.nfe == calls[0] - forward_calls
    n_jumps = len(t) - 2  # a jump at each interior t_i (t[0] ends the solve)
    augmented = 2 + 6 * back.n_steps + n_jumps  # first slope + step search, FSAL steps
    if adjoint == "backsolve":
        assert back.nfe == augmented
    else:  # plus the forward steps recomputed from checkpoints (7 evaluations each)
        assert back.nfe == augmented + 7 * stats.n_accepted


def test_drift_is_reported(device):
    """Backsolve drift: |z recomputed backwards - z forward| at each t_i; it grows when
    the tolerance is loosened; checkpointing has none."""
    A = torch.tensor([[-3.0, 1.0], [0.0, -2.0]], dtype=torch.float64, device=device)
    z0 = torch.tensor([[1.0, 1.0]], dtype=torch.float64, device=device, requires_grad=True)
    t = torch.linspace(0, 3, 4, dtype=torch.float64, device=device)
    drifts = {}
    for adjoint, rtol in [("backsolve", 1e-4), ("backsolve", 1e-8), ("checkpoint", 1e-4)]:
        stats = ne.SolverStats()
        ne.odeint_adjoint(lambda s, z: z @ A.T, z0, t, adjoint=adjoint, rtol=rtol, atol=1e-10,
                          stats=stats).sum().backward()  # fmt: skip
        assert len(stats.backward.drift) == len(t) and stats.backward.drift[-1] == 0.0
        drifts[adjoint, rtol] = stats.backward.drift
    assert drifts["backsolve", 1e-4][0] > 10 * drifts["backsolve", 1e-8][0] > 0
    assert max(drifts["checkpoint", 1e-4]) < 1e-15


@pytest.mark.parametrize("adjoint", ADJOINTS)
def test_dL_dt0_is_minus_a_dot_f_for_a_time_dependent_f(device, adjoint):
    """dL/dt_0 against central finite differences of L in t_0, for an f that depends on t
    explicitly; and it equals -a(t_0)^T f(t_0, z_0) (a(t_0) = dL/dz0) for this f too."""
    W = torch.tensor([[-0.5, 1.0], [-1.0, -0.3]], dtype=torch.float64, device=device)

    def f(s, z):
        return torch.tanh(z) @ W.T * (1 + 0.5 * torch.sin(3 * s)) + torch.cos(2 * s)

    z0 = torch.tensor([0.7, -0.4], dtype=torch.float64, device=device)
    w = torch.tensor([[0.3, -1.2], [0.8, 0.5]], dtype=torch.float64, device=device)

    def loss(t0, solver=ne.odeint, **kw):
        t = torch.stack([t0, torch.tensor(1.1), torch.tensor(2.0)]).to(device, torch.float64)
        return (solver(f, z0, t, rtol=1e-12, atol=1e-14, **kw)[1:] * w).sum()

    t0 = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    z0.requires_grad_(True)
    dL_dt0, dL_dz0 = torch.autograd.grad(loss(t0, ne.odeint_adjoint, adjoint=adjoint), [t0, z0])
    z0.requires_grad_(False)
    eps = 1e-5
    with torch.no_grad():
        fd = (loss(t0 + eps) - loss(t0 - eps)) / (2 * eps)
    assert abs(dL_dt0.item() - fd.item()) < 1e-7 * max(1.0, abs(fd.item()))
    formula = -(dL_dz0 * f(t0.detach(), z0)).sum()
    assert abs(dL_dt0.item() - formula.item()) < 1e-9
