"""The backward error norm of odeint_adjoint: seminorm (Kidger, Chen & Lyons 2021) and the
full norm both give autograd's gradients (backprop through ne.odeint is the oracle); the
seminorm never needs more backward evaluations on the spiral MLP."""

import pytest
import torch

import node_edu as ne
from benchmarks.problems import SpiralMLP, initial_state, targets, times


def spiral_problem(device, batch=16, n=10):
    func = SpiralMLP(dtype=torch.float64, device=device)
    z0 = initial_state(batch, torch.float64, device)
    t = times(n, torch.float64, device)
    return func, z0, t, targets(n, batch, torch.float64, device)


def gradients(solver, func, z0, t, target, **kw):
    z0 = z0.clone().requires_grad_(True)
    loss = ((solver(func, z0, t, **kw) - target) ** 2).mean()
    return torch.autograd.grad(loss, [z0, *func.parameters()])


@pytest.mark.parametrize("adjoint", ["backsolve", "checkpoint"])
def test_both_norms_give_autograds_gradients_and_the_seminorm_is_cheaper(device, adjoint):
    func, z0, t, target = spiral_problem(device)
    kw = dict(rtol=1e-8, atol=1e-10)
    reference = gradients(ne.odeint, func, z0, t, target, **kw)
    nfe = {}
    for norm in ("seminorm", "full"):
        stats = ne.SolverStats()
        ours = gradients(
            ne.odeint_adjoint, func, z0, t, target, adjoint=adjoint, adjoint_norm=norm,
            stats=stats, **kw,
        )  # fmt: skip
        for a, b in zip(ours, reference, strict=True):
            assert (a - b).abs().max().item() <= 1e-5 * b.abs().max().item()
        nfe[norm] = stats.backward.nfe
    assert nfe["seminorm"] <= nfe["full"], nfe
    if adjoint == "backsolve":  # the parameters' integrals are what the seminorm leaves out
        assert nfe["seminorm"] < nfe["full"], nfe


def test_full_norm_counts_the_parameter_integrals():
    """f = -z + w sin(50 t), scalar z: the full norm also resolves the oscillation of
    a_theta = -int a sin(50 t) dt, and takes more steps for it; both give the closed form
    d z(1)/dw = int_0^1 exp(-(1 - s)) sin(50 s) ds to the tolerance."""
    w = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    z0 = torch.tensor([1.0], dtype=torch.float64)
    t = torch.tensor([0.0, 1.0], dtype=torch.float64)
    exact = (
        50 * torch.exp(torch.tensor(-1.0))
        + torch.sin(torch.tensor(50.0))
        - 50 * torch.cos(torch.tensor(50.0))
    ) / 2501
    nfe = {}
    for norm in ("seminorm", "full"):
        stats = ne.SolverStats()
        z = ne.odeint_adjoint(
            lambda s, z: -z + w * torch.sin(50 * s), z0, t, params=[w], adjoint_norm=norm,
            rtol=1e-8, atol=1e-10, stats=stats,
        )  # fmt: skip
        (g,) = torch.autograd.grad(z[-1].sum(), w)
        nfe[norm] = stats.backward.nfe
        assert abs(g.item() - exact.item()) < 1e-7, norm
    assert nfe["seminorm"] < nfe["full"], nfe


def test_bad_adjoint_norm_names_the_argument():
    with pytest.raises(
        ValueError, match=r"adjoint_norm must be one of \['seminorm', 'full'\], got 'l2'"
    ):
        ne.odeint_adjoint(
            lambda t, z: -z, torch.ones(2), torch.tensor([0.0, 1.0]), adjoint_norm="l2"
        )
