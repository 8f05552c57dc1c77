"""node_edu.models.training: the model, the training step, the loop and the gradient comparison,
each against an independent oracle (formulas by hand, torchdiffeq, autograd)."""

import copy

import pytest
import torch
import torchdiffeq

from node_edu.data.spiral import batch, spiral
from node_edu.models.training import (
    History,
    Trainer,
    VectorField,
    WithKineticEnergy,
    compare_gradients,
    mse,
)

DT = torch.float64
TIGHT = dict(method="dopri5", rtol=1e-9, atol=1e-11)


def test_vector_field_is_the_mlp_of_z_cubed(device):
    torch.manual_seed(0)
    f = VectorField(hidden=7, dtype=DT, device=device)
    z = torch.randn(5, 2, dtype=DT, device=device)
    W1, b1, W2, b2 = f.net[0].weight, f.net[0].bias, f.net[2].weight, f.net[2].bias
    assert W1.shape == (7, 2) and W2.shape == (2, 7) and W1.device.type == device
    assert torch.allclose(f(None, z), torch.tanh(z**3 @ W1.T + b1) @ W2.T + b2)
    g = VectorField(hidden=7, cube=False, dtype=DT, device=device)
    g.load_state_dict(f.state_dict())
    assert torch.allclose(g(None, z), torch.tanh(z @ W1.T + b1) @ W2.T + b2)
    assert torch.all(b1 == 0) and torch.all(b2 == 0)  # biases start at zero
    assert 0.05 < float(W1.detach().std()) < 0.2  # weights small (std 0.1)


def test_vector_field_rejects_a_bad_width():
    with pytest.raises(ValueError, match="hidden must be a positive integer, got 0"):
        VectorField(hidden=0)


def test_mse_is_torch_mse_loss():
    a, b = torch.randn(4, 3, 2), torch.randn(4, 3, 2)
    assert torch.allclose(mse(a, b), torch.nn.functional.mse_loss(a, b))


def _gradient_by_torchdiffeq(func, z0, t, z_true):
    ref = copy.deepcopy(func)
    loss = mse(torchdiffeq.odeint(ref, z0, t, rtol=1e-11, atol=1e-13), z_true)
    return torch.autograd.grad(loss, list(ref.parameters())), loss.item()


@pytest.mark.parametrize("adjoint", [True, False])
def test_step_leaves_the_gradient_of_its_batch(adjoint, device):
    """The gradient left on the parameters is torchdiffeq's on the same batch."""
    torch.manual_seed(1)
    data = spiral(40, t1=10.0, dtype=DT, device=device)
    func = VectorField(hidden=16, dtype=DT, device=device)
    before = copy.deepcopy(func)
    trainer = Trainer(func, data, batch_size=4, batch_time=5, adjoint=adjoint, solver=TIGHT, seed=5)
    z0, t, z = batch(data, 4, 5, generator=torch.Generator().manual_seed(5))  # its batch
    grads, loss = _gradient_by_torchdiffeq(before, z0, t, z)
    assert trainer.step() == pytest.approx(loss, rel=1e-7)
    for p, g in zip(func.parameters(), grads, strict=True):
        assert torch.allclose(p.grad, g, rtol=1e-5, atol=1e-9)
    # Adam's first step moves every weight with a non-zero gradient by about lr
    moved = [(p - q).abs() for p, q in zip(func.parameters(), before.parameters(), strict=True)]
    assert all(torch.all(m[g != 0] > 1e-3) for m, g in zip(moved, grads, strict=True))
    h = trainer.history
    assert len(h) == 1 and h.nfe_forward[0] > 0
    assert (h.nfe_backward[0] > 0) if adjoint else (h.nfe_backward[0] == 0)


def test_step_zeroes_the_previous_gradient():
    torch.manual_seed(2)
    data = spiral(30, t1=6.0, dtype=DT)
    func = VectorField(hidden=8, dtype=DT)
    trainer = Trainer(func, data, batch_size=3, batch_time=4, solver=TIGHT, seed=0)
    trainer.step()
    state = copy.deepcopy(func)
    gen = torch.Generator().manual_seed(0)
    batch(data, 3, 4, generator=gen)  # the first batch, already used
    grads, _ = _gradient_by_torchdiffeq(state, *batch(data, 3, 4, generator=gen))
    trainer.step()
    for p, g in zip(func.parameters(), grads, strict=True):
        assert torch.allclose(p.grad, g, rtol=1e-5, atol=1e-9)  # not the sum of two


def test_nfe_recorded_is_what_the_solver_counts():
    """On a fixed grid the count is known in advance: rk4 costs 4 evaluations a step, and
    the adjoint's backward solve walks the same grid back (one augmented evaluation per
    stage)."""
    torch.manual_seed(0)
    data = spiral(30, t1=6.0, dtype=DT)
    h = float(data.t[1])  # one step per observation interval
    trainer = Trainer(VectorField(hidden=8, dtype=DT), data, batch_size=2, batch_time=6,
                      solver=dict(method="rk4", step_size=h))  # fmt: skip
    trainer.step()
    assert trainer.history.nfe_forward == [5 * 4]  # 5 steps of 4 stages
    assert trainer.history.nfe_backward == [5 * 4]  # the backward solve on the same grid


def test_train_learns_the_spiral_and_records_snapshots():
    torch.manual_seed(0)
    data = spiral()
    trainer = Trainer(VectorField(), data)
    error_before = trainer.error()
    assert error_before == pytest.approx(float((trainer.predict() - data.z).abs().mean()), rel=1e-6)
    seen = []
    history = trainer.train(40, every=15, callback=lambda tr: seen.append(len(tr.history)),
                            progress=False)  # fmt: skip
    assert isinstance(history, History) and len(history) == 40
    assert seen == [0, 15, 30, 40] and sorted(history.snapshots) == seen
    assert len(history.nfe_forward) == len(history.nfe_backward) == 40
    assert trainer.error() < error_before / 2
    # snapshot 40 is the trajectory of the final model
    assert torch.equal(history.snapshots[40], trainer.predict())
    # snapshot 0 is the untrained model's trajectory: its error is the one measured before
    assert float((history.snapshots[0] - data.z).abs().mean()) == pytest.approx(error_before)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(func=lambda t, z: z), TypeError, "func must be a torch.nn.Module, got function"),
        (dict(data=[1, 2]), TypeError, "data must be a node_edu.data.spiral.Trajectory, got list"),
        (dict(batch_time=1), ValueError, "batch_time must be between 2"),
        (dict(batch_size=0), ValueError, "batch_size must be a positive integer"),
        (dict(solver=[("rtol", 1e-3)]), TypeError, "solver must be a dict of odeint keyword"),
        (dict(kinetic=-0.1), ValueError, "kinetic must be a finite number >= 0, got -0.1"),
        (dict(kinetic=float("nan")), ValueError, "kinetic must be a finite number >= 0, got nan"),
        (dict(kinetic=float("inf")), ValueError, "kinetic must be a finite number >= 0, got inf"),
        (dict(kinetic="1"), ValueError, "kinetic must be a finite number >= 0, got '1'"),
    ],
)
def test_trainer_rejects_bad_arguments(kwargs, error, match):
    args = dict(func=VectorField(hidden=4), data=spiral(10))
    args.update(kwargs)
    with pytest.raises(error, match=match):
        Trainer(args.pop("func"), args.pop("data"), **args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_iters=0), "n_iters must be a positive integer, got 0"),
        (dict(n_iters=2, every=0), "every must be a positive integer, got 0"),
        (dict(n_iters=2.0), "n_iters must be a positive integer, got 2.0"),
    ],
)
def test_train_rejects_bad_arguments(kwargs, match):
    trainer = Trainer(VectorField(hidden=4), spiral(10))
    with pytest.raises(ValueError, match=match):
        trainer.train(**kwargs, progress=False)


def test_compare_gradients_tight_solves_agree_with_torchdiffeq(device):
    torch.manual_seed(3)
    data = spiral(40, t1=10.0, dtype=DT, device=device)
    func = VectorField(hidden=16, dtype=DT, device=device)
    z0, t, z = batch(data, 4, 6, generator=torch.Generator().manual_seed(0))
    rows = compare_gradients(func, z0, t, z, solver=dict(method="dopri5", rtol=1e-9, atol=1e-11))
    grads, _ = _gradient_by_torchdiffeq(func, z0, t, z)
    g = torch.cat([x.reshape(-1) for x in grads])
    for name in ("adjoint", "backprop"):
        r = rows[name]
        assert torch.allclose(r["grad"], g, rtol=1e-5, atol=1e-9)
        assert r["grad_error"] < 1e-6 and r["seconds"] > 0
        assert r["nfe"][0] > 0
    assert rows["backprop"]["nfe"][1] == 0 and rows["adjoint"]["nfe"][1] > 0
    # the adjoint keeps the solution [6, 4, 2] (and t); backprop keeps every stage
    assert z.numel() * 8 <= rows["adjoint"]["bytes"] <= z.numel() * 8 + t.numel() * 8
    assert rows["backprop"]["bytes"] > 10 * rows["adjoint"]["bytes"]


def test_compare_gradients_loose_float32_is_a_few_percent_off():
    torch.manual_seed(0)
    data = spiral(40, t1=10.0)
    func = VectorField(hidden=16)
    z0, t, z = batch(data, 4, 6, generator=torch.Generator().manual_seed(0))
    rows = compare_gradients(func, z0, t, z, solver=dict(method="rk4", step_size=1.0))
    grads, _ = _gradient_by_torchdiffeq(func.double(), z0.double(), t.double(), z.double())
    g = torch.cat([x.reshape(-1) for x in grads])
    for name in ("adjoint", "backprop"):
        err = float((rows[name]["grad"] - g).abs().max() / g.abs().max())
        assert rows[name]["grad_error"] == pytest.approx(err, rel=1e-3, abs=1e-6)
        assert 0 < err < 0.5


def test_train_rejects_a_callback_that_is_not_callable():
    trainer = Trainer(VectorField(hidden=4), spiral(10))
    with pytest.raises(TypeError, match="callback must be callable or None, got int"):
        trainer.train(1, callback=3, progress=False)


def _kinetic_by_quadrature(func, z0, t, z_true, lam, per=64):
    """fit + lam * kinetic with the energy by Simpson's rule on a dense torchdiffeq
    trajectory (no extra coordinate), and its gradient by backprop."""
    ref = copy.deepcopy(func)
    dense = torch.linspace(float(t[0]), float(t[-1]), per * (len(t) - 1) + 1, dtype=t.dtype,
                           device=t.device)  # fmt: skip
    z = torchdiffeq.odeint(ref, z0, dense, rtol=1e-11, atol=1e-13)
    y = ref(dense, z).pow(2).sum(-1)  # |f|^2, [K, B]
    h = float(dense[1] - dense[0])
    energy = h / 3 * (y[0] + y[-1] + 4 * y[1:-1:2].sum(0) + 2 * y[2:-1:2].sum(0))
    fit, kinetic = mse(z[::per], z_true), energy.mean()
    grads = torch.autograd.grad(fit + lam * kinetic, list(ref.parameters()))
    return grads, fit.item(), kinetic.item()


def test_with_kinetic_energy_integrates_the_squared_speed(device):
    torch.manual_seed(3)
    func = VectorField(hidden=6, dtype=DT, device=device)
    z0 = torch.randn(3, 2, dtype=DT, device=device)
    t = torch.linspace(0.0, 2.0, 3, dtype=DT, device=device)
    s0 = torch.cat([z0, torch.zeros(3, 1, dtype=DT, device=device)], dim=1)
    s = torchdiffeq.odeint(WithKineticEnergy(func), s0, t, rtol=1e-11, atol=1e-13)
    z = torchdiffeq.odeint(func, z0, t, rtol=1e-11, atol=1e-13)
    assert torch.allclose(s[..., :2], z, atol=1e-10)  # the state is untouched
    _, _, kinetic = _kinetic_by_quadrature(func, z0, t, z, 0.0)
    assert s[-1, :, 2].mean().item() == pytest.approx(kinetic, rel=1e-8)
    assert list(WithKineticEnergy(func).parameters()) == list(func.parameters())
    with pytest.raises(TypeError, match="func must be a torch.nn.Module, got function"):
        WithKineticEnergy(lambda t, z: z)


def test_kinetic_step_leaves_the_gradient_of_the_regularised_loss(device):
    torch.manual_seed(4)
    data = spiral(40, t1=10.0, dtype=DT, device=device)
    func = VectorField(hidden=16, dtype=DT, device=device)
    with torch.no_grad():
        for p in func.parameters():
            p.add_(0.3 * torch.randn_like(p))  # biases non-zero: a field with some speed
    before = copy.deepcopy(func)
    trainer = Trainer(func, data, batch_size=4, batch_time=5, solver=TIGHT, seed=5, kinetic=0.5)
    z0, t, z = batch(data, 4, 5, generator=torch.Generator().manual_seed(5))  # its batch
    grads, fit, kinetic = _kinetic_by_quadrature(before, z0, t, z, 0.5)
    assert trainer.step() == pytest.approx(fit, rel=1e-7)  # the history keeps the fit
    assert trainer.history.kinetic == [pytest.approx(kinetic, rel=1e-7)]
    for p, g in zip(func.parameters(), grads, strict=True):
        assert torch.allclose(p.grad, g, rtol=1e-5, atol=1e-9)
    plain = Trainer(copy.deepcopy(before), data, solver=TIGHT)
    assert plain.history.kinetic == [] and plain.kinetic == 0.0
