"""Lesson 08's regularisation: Hutchinson's Frobenius estimate, the two integrals, fit()."""

import itertools
import math

import pytest
import torch
import torchdiffeq

from node_edu.models.augmented import ODEMap
from node_edu.models.regularisation import (
    FitHistory,
    fit,
    jacobian_frobenius,
    regularised_dynamics,
    regularised_forward,
)

TIGHT = dict(method="dopri5", rtol=1e-10, atol=1e-12)


def _probes(d, dtype=torch.float64):
    return torch.tensor(list(itertools.product((-1.0, 1.0), repeat=d)), dtype=dtype)


def test_averaged_over_all_sign_probes_the_estimate_is_the_exact_frobenius_norm():
    torch.manual_seed(0)
    field = ODEMap(3, hidden=7, dtype=torch.float64).field
    z0 = torch.randn(3, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda z: field(0.0, z[None])[0], z0)
    eps = _probes(3)  # all 8 Rademacher vectors: E[eps eps^T] = I exactly
    z = z0.expand(len(eps), 3).clone().requires_grad_()
    estimates = jacobian_frobenius(field(0.0, z), z, eps)
    assert torch.allclose(estimates, (eps @ J).pow(2).sum(1), atol=1e-12)  # eps^T J, a VJP
    assert math.isclose(float(estimates.mean()), float(J.pow(2).sum()), rel_tol=1e-12)


def test_jacobian_frobenius_rejects_mismatched_shapes():
    z = torch.randn(2, 3, requires_grad=True)
    with pytest.raises(ValueError, match=r"dz, z and eps must all have shape \[batch, dim\]"):
        jacobian_frobenius(z * 2, z, torch.ones(2, 2))


def test_dynamics_work_from_a_constant_state_and_ignore_the_accumulators():
    A = torch.tensor([[0.5, -1.0], [2.0, 0.1]], dtype=torch.float64)
    eps = torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=torch.float64)
    state = torch.tensor([[1.0, 2.0, 7.0, 9.0], [0.5, -1.0, 0.0, 3.0]], dtype=torch.float64)
    out = regularised_dynamics(lambda t, z: z @ A.T, 0.0, state, eps)
    dz = state[:, :2] @ A.T
    assert torch.allclose(out[:, :2], dz)
    assert torch.allclose(out[:, 2], dz.pow(2).sum(1))
    assert torch.allclose(out[:, 3], (eps @ A).pow(2).sum(1))  # J = A for a linear field


def test_the_integrals_match_quadrature_along_torchdiffeqs_trajectory():
    torch.manual_seed(1)
    model = ODEMap(2, 1, hidden=8, solver=TIGHT, dtype=torch.float64)
    x = torch.randn(3, 2, dtype=torch.float64)
    eps = torch.tensor([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0], [1.0, 1.0, -1.0]], dtype=torch.float64)
    out, kinetic, jacobian = regularised_forward(model, x, eps, create_graph=False)
    z0 = torch.cat([x, torch.zeros(3, 1, dtype=torch.float64)], dim=1)
    t = torch.linspace(0.0, 1.0, 401, dtype=torch.float64)
    zs = torchdiffeq.odeint(model.field, z0, t, rtol=1e-10, atol=1e-12)  # [401, 3, 3]
    assert torch.allclose(out, zs[-1, :, :2], atol=1e-8)
    f_sq, j_sq = [], []

    def single(z):
        return model.field(0.0, z[None])[0]

    for zt in zs:
        J = torch.stack([torch.autograd.functional.jacobian(single, zb) for zb in zt])
        f_sq.append(model.field(0.0, zt).pow(2).sum(1).detach())
        j_sq.append(torch.einsum("bi,bij->bj", eps, J).pow(2).sum(1))
    k_ref = torch.trapezoid(torch.stack(f_sq), t, dim=0)
    j_ref = torch.trapezoid(torch.stack(j_sq), t, dim=0)
    assert torch.allclose(kinetic, k_ref, rtol=1e-4) and torch.allclose(jacobian, j_ref, rtol=1e-4)


def test_regularised_forward_is_differentiable_and_checks_the_model():
    torch.manual_seed(2)
    model = ODEMap(1, 1, hidden=4, dtype=torch.float64)
    x = torch.randn(4, 1, dtype=torch.float64)
    _, kinetic, jacobian = regularised_forward(model, x, torch.ones(4, 2, dtype=torch.float64))
    grads = torch.autograd.grad((kinetic + jacobian).sum(), list(model.parameters()))
    assert all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)
    with pytest.raises(TypeError, match="model must be a node_edu.models.augmented.ODEMap"):
        regularised_forward(model.field, x, torch.ones(4, 2))


def test_fit_records_the_cost_and_the_regulariser_shrinks_the_integrals(device):
    x = torch.linspace(-1, 1, 16, device=device)[:, None]
    y = 2 * x
    solver = dict(method="dopri5", rtol=1e-4, atol=1e-6)
    runs = {}
    for weight in (0.0, 1.0):
        torch.manual_seed(0)
        model = ODEMap(1, hidden=8, solver=solver, device=device)
        runs[weight] = fit(model, x, y, n_iters=25, lr=0.05, weight=weight, progress=False)
    for h in runs.values():
        assert isinstance(h, FitHistory) and len(h.loss) == len(h.nfe) == 25
        assert all(n >= 8 for n in h.nfe) and h.seconds > 0  # dopri5: >= 6 stages + the start
    assert runs[1.0].kinetic < runs[0.0].kinetic and runs[1.0].jacobian < runs[0.0].jacobian
    assert runs[0.0].final_fit < runs[0.0].loss[0]  # it learns


def test_fit_rejects_bad_arguments():
    model = ODEMap(1)
    x = torch.zeros(3, 1)
    with pytest.raises(TypeError, match="model must be a node_edu.models.augmented.ODEMap"):
        fit(model.field, x, x)
    with pytest.raises(ValueError, match="weight must be a number >= 0, got -1"):
        fit(model, x, x, weight=-1)
    with pytest.raises(ValueError, match="weight must be a number >= 0, got nan"):
        fit(model, x, x, weight=float("nan"))
    with pytest.raises(ValueError, match="n_iters must be finite and > 0"):
        fit(model, x, x, n_iters=0)


def test_fit_history_summary_reads_its_own_records():
    h = FitHistory(loss=[0.5, 0.25], nfe=[20, 30], seconds=2.0, final_fit=0.1, kinetic=3.0,
                   jacobian=4.0)  # fmt: skip
    assert h.summary() == dict(nfe=25.0, fit=0.1, seconds=2.0, kinetic=3.0, jacobian=4.0)
    assert math.isnan(FitHistory().summary()["nfe"])
