"""node_edu.models.gradients: the three gradient methods, side by side, against torchdiffeq and
against the bytes counted by hand."""

import pytest
import torch
import torchdiffeq

from node_edu.adjoint import odeint_adjoint
from node_edu.data.spiral import spiral, windows
from node_edu.models.gradients import (
    METHODS,
    compare_gradients,
    held_bytes,
    reference_gradient,
)
from node_edu.models.training import VectorField, mse
from node_edu.solvers import SolverStats

DT = torch.float64


def _torchdiffeq_gradient(func, z0, t, z_true):
    loss = mse(torchdiffeq.odeint(func, z0, t, rtol=1e-11, atol=1e-13), z_true)
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(func.parameters()))])


def test_every_method_gives_torchdiffeq_gradient_at_a_tight_tolerance(device):
    torch.manual_seed(3)
    data = spiral(40, t1=10.0, dtype=DT, device=device)
    func = VectorField(hidden=16, dtype=DT, device=device)
    z0, t, z = windows(data, 6)
    rows = compare_gradients(func, z0, t, z, solver=dict(method="dopri5", rtol=1e-9, atol=1e-11))
    g = _torchdiffeq_gradient(func, z0, t, z)
    assert list(rows) == list(METHODS)
    for name, r in rows.items():
        assert torch.allclose(r["grad"], g, rtol=1e-5, atol=1e-9), name
        assert r["grad_error"] < 1e-6 and r["seconds"] > 0 and r["nfe"][0] > 0
    assert rows["backprop"]["nfe"][1] == 0 and rows["backprop"]["drift"] is None
    assert rows["backsolve"]["nfe"][1] > 0 and rows["checkpoint"]["nfe"][1] > 0
    assert rows["backsolve"]["drift"] < 1e-6 and rows["checkpoint"]["drift"] < 1e-9


def test_reference_gradient_is_torchdiffeqs_in_float64():
    torch.manual_seed(0)
    data = spiral(30, t1=6.0)
    func = VectorField(hidden=8)
    z0, t, z = windows(data, 4)
    g = reference_gradient(func, z0, t, z)
    assert g.dtype == DT
    f64 = VectorField(hidden=8, dtype=DT)
    f64.load_state_dict({k: v.double() for k, v in func.state_dict().items()})
    expected = _torchdiffeq_gradient(f64, z0.double(), t.double(), z.double())
    assert torch.allclose(g, expected, rtol=1e-7, atol=1e-12)
    assert all(p.dtype == torch.float32 for p in func.parameters())  # the model is untouched


def test_bytes_held_are_counted_by_hand():
    """backsolve: the outputs and t; checkpoint: those and one state per accepted step;
    backprop: every stage, far more."""
    torch.manual_seed(1)
    data = spiral(30, t1=6.0)
    func = VectorField(hidden=8)
    z0, t, z = windows(data, 5)  # 26 windows, float32
    rows = compare_gradients(func, z0, t, z)
    outputs = z.numel() * 4 + t.numel() * 4
    state = z0.numel() * 4
    assert rows["backsolve"]["bytes"] == outputs
    assert rows["checkpoint"]["bytes"] == outputs + rows["checkpoint"]["steps"] * state
    assert rows["backprop"]["bytes"] > 10 * rows["checkpoint"]["bytes"]
    assert rows["backprop"]["steps"] == rows["backsolve"]["steps"] == rows["checkpoint"]["steps"]


def test_held_bytes_sees_the_checkpoints_of_a_solve():
    func = VectorField(hidden=4)
    z0 = torch.randn(3, 2)
    t = torch.linspace(0.0, 1.0, 3)
    stats = SolverStats()
    z = odeint_adjoint(func, z0, t, adjoint="checkpoint", stats=stats)
    assert held_bytes(z, 0) == stats.n_accepted * z0.numel() * 4
    assert held_bytes(odeint_adjoint(func, z0, t), 5) == 5  # backsolve keeps no checkpoint
    assert held_bytes(z.detach(), 7) == 7  # no graph at all


def test_loose_float32_gradients_are_measured_against_the_reference():
    torch.manual_seed(0)
    data = spiral(40, t1=10.0)
    func = VectorField(hidden=16)
    z0, t, z = windows(data, 6)
    rows = compare_gradients(func, z0, t, z, solver=dict(method="rk4", step_size=1.0),
                             methods=("backprop", "backsolve"))  # fmt: skip
    assert list(rows) == ["backprop", "backsolve"]
    f64 = VectorField(hidden=16, dtype=DT)
    f64.load_state_dict({k: v.double() for k, v in func.state_dict().items()})
    g = _torchdiffeq_gradient(f64, z0.double(), t.double(), z.double())
    for r in rows.values():
        err = float((r["grad"] - g).abs().max() / g.abs().max())
        assert r["grad_error"] == pytest.approx(err, rel=1e-3, abs=1e-6)
        assert 1e-6 < err < 0.5  # a coarse grid: off, and measured so


@pytest.mark.parametrize("methods", [(), ("adjoint",), ("backprop", "nope")])
def test_compare_gradients_rejects_unknown_methods(methods):
    func = VectorField(hidden=4)
    z0, t, z = windows(spiral(10), 3)
    with pytest.raises(ValueError, match="methods must be a non-empty selection of"):
        compare_gradients(func, z0, t, z, methods=methods)
