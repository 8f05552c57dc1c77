"""node_edu.models.training: the model, the loss, the trainer and its recipe, each against an
independent oracle (formulas by hand, torchdiffeq, the optimiser loop written out)."""

import copy
import math
import re

import numpy as np
import pytest
import torch
import torchdiffeq

from node_edu.data.spiral import batch, spiral, windows
from node_edu.models.training import (
    CHECK,
    SOLVER,
    STAGES,
    History,
    Trainer,
    VectorField,
    WithKineticEnergy,
    max_jacobian_norm,
    mse,
)
from node_edu.solvers import odeint

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


def exactly(message):
    """A ``match`` for the whole message, literally."""
    return f"^{re.escape(message)}$"


PAIRS = "a non-empty sequence of (window length, evaluations) pairs"


@pytest.mark.parametrize(
    "hidden, error, given",
    [(0, ValueError, "0"), (True, TypeError, "True (bool)"), (2.5, TypeError, "2.5"),
     ("8", TypeError, "'8' (str)")],
)  # fmt: skip
def test_vector_field_rejects_a_bad_width(hidden, error, given):
    with pytest.raises(error, match=exactly(f"hidden must be an integer >= 1, got {given}")):
        VectorField(hidden=hidden)


def test_mse_is_torch_mse_loss():
    a, b = torch.randn(4, 3, 2), torch.randn(4, 3, 2)
    assert torch.allclose(mse(a, b), torch.nn.functional.mse_loss(a, b))


def test_the_recipe_settings():
    assert SOLVER == dict(method="dopri5", rtol=1e-5, atol=1e-7)
    assert CHECK["rtol"] < SOLVER["rtol"] / 10
    assert [b for b, _ in STAGES] == sorted(b for b, _ in STAGES)  # windows that grow


def _gradient_by_torchdiffeq(func, z0, t, z_true):
    ref = copy.deepcopy(func)
    loss = mse(torchdiffeq.odeint(ref, z0, t, rtol=1e-11, atol=1e-13), z_true)
    return torch.autograd.grad(loss, list(ref.parameters())), loss.item()


@pytest.mark.parametrize("adjoint", [True, False])
@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_first_evaluation_is_the_loss_and_gradient_of_all_windows(adjoint, optimizer, device):
    """The loss of the first evaluation is torchdiffeq's, on every window; so is the gradient
    Adam stepped with (L-BFGS's line search evaluates again before it returns, and leaves
    that later gradient on the parameters)."""
    torch.manual_seed(1)
    data = spiral(20, t1=5.0, dtype=DT, device=device)
    func = VectorField(hidden=16, dtype=DT, device=device)
    before = copy.deepcopy(func)
    trainer = Trainer(func, data, stages=((5, 1),), optimizer=optimizer, adjoint=adjoint,
                      solver=TIGHT)  # fmt: skip
    trainer.train(progress=False)
    grads, loss = _gradient_by_torchdiffeq(before, *windows(data, 5))
    h = trainer.history
    assert h.loss[0] == pytest.approx(loss, rel=1e-7)
    assert len(h) == 1 if optimizer == "adam" else len(h) in (1, 2)
    if optimizer == "adam":
        for p, g in zip(func.parameters(), grads, strict=True):
            assert torch.allclose(p.grad, g, rtol=1e-5, atol=1e-9)
    pairs = zip(func.parameters(), before.parameters(), strict=True)
    assert any(not torch.equal(p, q) for p, q in pairs)
    assert all(n > 0 for n in h.nfe_forward)
    assert all(n > 0 for n in h.nfe_backward) if adjoint else set(h.nfe_backward) == {0}


def test_adam_on_minibatches_draws_a_new_seeded_batch_each_step():
    torch.manual_seed(2)
    data = spiral(30, t1=6.0, dtype=DT)
    func = VectorField(hidden=8, dtype=DT)
    trainer = Trainer(func, data, stages=((4, 2),), optimizer="adam", batch_size=3, solver=TIGHT,
                      seed=7)  # fmt: skip
    state = copy.deepcopy(func)
    gen = torch.Generator().manual_seed(7)
    first = batch(data, 3, 4, generator=gen)
    _, loss0 = _gradient_by_torchdiffeq(state, *first)
    trainer.train(progress=False)
    assert trainer.history.loss[0] == pytest.approx(loss0, rel=1e-7)
    # the second step's gradient is that of the second batch at the updated weights, alone
    # (not summed with the first: zero_grad)
    opt = torch.optim.Adam(state.parameters(), lr=1e-2)
    opt.zero_grad()
    mse(odeint(state, first[0], first[1], **TIGHT), first[2]).backward()
    opt.step()
    grads, loss1 = _gradient_by_torchdiffeq(state, *batch(data, 3, 4, generator=gen))
    assert trainer.history.loss[1] == pytest.approx(loss1, rel=1e-6)
    for p, g in zip(func.parameters(), grads, strict=True):
        assert torch.allclose(p.grad, g, rtol=1e-4, atol=1e-8)


def test_trainer_is_the_lbfgs_loop_written_out():
    """The loop of lesson 06, written here with torch.optim.LBFGS: the same weights."""
    torch.manual_seed(3)
    data = spiral(30, t1=6.0)
    a = VectorField(hidden=8)
    b = copy.deepcopy(a)
    stages = ((2, 5), (4, 3))
    for batch_time, n in stages:
        z0, t, z_true = windows(data, batch_time)
        opt = torch.optim.LBFGS(a.parameters(), max_iter=n, max_eval=n, history_size=50,
                                line_search_fn="strong_wolfe", tolerance_grad=0.0,
                                tolerance_change=0.0)  # fmt: skip

        def closure(opt=opt, z0=z0, t=t, z_true=z_true):
            opt.zero_grad()
            loss = mse(odeint(a, z0, t, **SOLVER), z_true)
            loss.backward()
            return loss

        opt.step(closure)
    trainer = Trainer(b, data, stages=stages)
    trainer.train(progress=False)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    # about n evaluations a stage (the last line search may add one)
    (start1, b1), (start2, b2) = trainer.history.stages
    assert (
        (start1, b1, b2) == (0, 2, 4)
        and start2 in (5, 6)
        and len(trainer.history) - start2 in (3, 4)
    )


def test_nfe_recorded_is_what_the_solver_counts():
    """On a fixed grid the count is known in advance: rk4 costs 4 evaluations a step, and
    the adjoint's backward solve walks the same grid back (one augmented evaluation per
    stage)."""
    torch.manual_seed(0)
    data = spiral(30, t1=6.0, dtype=DT)
    h = float(data.t[1])  # one step per observation interval
    for adjoint, backward in ((True, [5 * 4]), (False, [0])):
        trainer = Trainer(VectorField(hidden=8, dtype=DT), data, stages=((6, 1),),
                          optimizer="adam", adjoint=adjoint,
                          solver=dict(method="rk4", step_size=h))  # fmt: skip
        trainer.train(progress=False)
        assert trainer.history.nfe_forward == [5 * 4]  # 5 steps of 4 stages
        assert trainer.history.nfe_backward == backward


def test_train_records_snapshots_stages_and_calls_back():
    torch.manual_seed(0)
    data = spiral(40, t1=10.0)
    trainer = Trainer(VectorField(), data, stages=((2, 6), (5, 5)))
    error_before = trainer.error()
    seen = []
    history = trainer.train(every=4, callback=lambda tr: seen.append(len(tr.history)),
                            progress=False)  # fmt: skip
    assert isinstance(history, History) and len(history) == len(history.nfe_forward) >= 10
    n = len(history)
    assert seen == sorted(history.snapshots) == [*range(0, n, 4), n]
    assert history.stages[0] == (0, 2) and history.stages[1][1] == 5
    assert trainer.error() < error_before / 2
    # a snapshot is the trajectory at the training tolerance; error() solves at CHECK
    assert torch.equal(history.snapshots[n], trainer.predict(tight=False))
    with torch.no_grad():
        z = torchdiffeq.odeint(copy.deepcopy(trainer.func).double(), data.z[0].double(),
                               data.t.double(), rtol=1e-10, atol=1e-12)  # fmt: skip
    assert trainer.error() == pytest.approx(float((z - data.z.double()).abs().mean()), rel=1e-4)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(func=lambda t, z: z), TypeError,
         r"^func must be a torch\.nn\.Module, got <function <lambda> at 0x[0-9a-f]+> "
         r"\(function\)$"),
        (dict(data=[1, 2]), TypeError,
         exactly("data must be a node_edu.data.Trajectory, got [1, 2] (list)")),
        (dict(stages=5), TypeError, exactly(f"stages must be {PAIRS}, got 5")),
        (dict(stages=()), ValueError, exactly(f"stages must be {PAIRS}, got () (tuple)")),
        (dict(stages=((2, 5, 1),)), ValueError,
         exactly(f"stages must be {PAIRS}, got ((2, 5, 1),) (tuple)")),
        (dict(stages=((1, 5),)), ValueError,
         exactly("stages[0][0] (window length) must be an integer in [2, 10], got 1")),
        (dict(stages=((2, 5), (11, 5))), ValueError,
         exactly("stages[1][0] (window length) must be an integer in [2, 10], got 11")),
        (dict(stages=((2.0, 5),)), TypeError,
         exactly("stages[0][0] (window length) must be an integer in [2, 10], got 2.0")),
        (dict(stages=((2, 0),)), ValueError,
         exactly("stages[0][1] (evaluations) must be an integer >= 1, got 0")),
        (dict(stages=((2, True),)), TypeError,
         exactly("stages[0][1] (evaluations) must be an integer >= 1, got True (bool)")),
        (dict(optimizer="sgd"), ValueError,
         exactly("optimizer must be one of ['lbfgs', 'adam'], got 'sgd' (str)")),
        (dict(batch_size=4), ValueError, "^batch_size must be None with optimizer='lbfgs'"),
        (dict(batch_size=0, optimizer="adam"), ValueError,
         exactly("batch_size must be an integer >= 1 or None, got 0")),
        (dict(batch_size=True, optimizer="adam"), TypeError,
         exactly("batch_size must be an integer >= 1 or None, got True (bool)")),
        (dict(lr=0.0), ValueError, exactly("lr must be a number > 0, got 0.0")),
        (dict(lr=math.nan), ValueError, exactly("lr must be a finite number > 0, got nan")),
        (dict(lr=math.inf), ValueError, exactly("lr must be a finite number > 0, got inf")),
        (dict(lr=True), TypeError, exactly("lr must be a number > 0, got True (bool)")),
        (dict(solver=[("rtol", 1e-3)]), TypeError,
         exactly("solver must be a dict of odeint keyword arguments or None, got "
                 "[('rtol', 0.001)] (list)")),
        (dict(kinetic=-0.1), ValueError, exactly("kinetic must be a number >= 0, got -0.1")),
        (dict(kinetic=math.nan), ValueError,
         exactly("kinetic must be a finite number >= 0, got nan")),
        (dict(kinetic=math.inf), ValueError,
         exactly("kinetic must be a finite number >= 0, got inf")),
        (dict(kinetic="1"), TypeError, exactly("kinetic must be a number >= 0, got '1' (str)")),
        (dict(kinetic=False), TypeError,
         exactly("kinetic must be a number >= 0, got False (bool)")),
    ],
)  # fmt: skip
def test_trainer_rejects_bad_arguments(kwargs, error, match):
    args = dict(func=VectorField(hidden=4), data=spiral(10))
    args.update(kwargs)
    with pytest.raises(error, match=match):
        Trainer(args.pop("func"), args.pop("data"), **args)


def test_trainer_takes_numpy_integers_as_plain_ints():
    trainer = Trainer(VectorField(hidden=4), spiral(10), stages=[(np.int64(3), np.int32(2))],
                      optimizer="adam", batch_size=np.int64(4))  # fmt: skip
    assert trainer.stages == [(3, 2)] and type(trainer.stages[0][0]) is int
    assert type(trainer.batch_size) is int and type(trainer.lr) is float


def test_train_rejects_bad_arguments():
    trainer = Trainer(VectorField(hidden=4), spiral(10), stages=((2, 1),))
    with pytest.raises(ValueError, match=exactly("every must be an integer >= 1, got 0")):
        trainer.train(every=0, progress=False)
    with pytest.raises(TypeError, match=exactly("every must be an integer >= 1, got True (bool)")):
        trainer.train(every=True, progress=False)
    with pytest.raises(
        TypeError, match=exactly("callback must be callable as callback(trainer) or None, got 3")
    ):
        trainer.train(callback=3, progress=False)
    assert len(trainer.history) == 0  # nothing ran


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
    assert torch.allclose(s[..., :2], z, rtol=0, atol=1e-10)  # the state is untouched
    _, _, kinetic = _kinetic_by_quadrature(func, z0, t, z, 0.0)
    assert s[-1, :, 2].mean().item() == pytest.approx(kinetic, rel=1e-8)
    assert list(WithKineticEnergy(func).parameters()) == list(func.parameters())
    with pytest.raises(TypeError, match=exactly("func must be a torch.nn.Module, got 3")):
        WithKineticEnergy(3)


@pytest.mark.parametrize("adjoint", [True, False])
def test_kinetic_evaluation_leaves_the_gradient_of_the_regularised_loss(adjoint, device):
    torch.manual_seed(4)
    data = spiral(20, t1=5.0, dtype=DT, device=device)
    func = VectorField(hidden=16, dtype=DT, device=device)
    with torch.no_grad():
        for p in func.parameters():
            p.add_(0.3 * torch.randn_like(p))  # biases non-zero: a field with some speed
    before = copy.deepcopy(func)
    trainer = Trainer(func, data, stages=((5, 1),), optimizer="adam", batch_size=4, seed=5,
                      solver=TIGHT, kinetic=0.5, adjoint=adjoint)  # fmt: skip
    trainer.train(progress=False)
    z0, t, z = batch(data, 4, 5, generator=torch.Generator().manual_seed(5))  # its batch
    grads, fit, kinetic = _kinetic_by_quadrature(before, z0, t, z, 0.5)
    assert trainer.history.loss == [pytest.approx(fit, rel=1e-7)]  # the history keeps the fit
    assert trainer.history.kinetic == [pytest.approx(kinetic, rel=1e-7)]
    for p, g in zip(func.parameters(), grads, strict=True):
        assert torch.allclose(p.grad, g, rtol=1e-5, atol=1e-9)
    plain = Trainer(copy.deepcopy(before), data, solver=TIGHT)
    assert plain.history.kinetic == [] and plain.kinetic == 0.0


def test_the_recipe_fits_a_short_spiral_and_a_loose_tolerance_does_not():
    """The recipe's point, at a small scale: on the first 40 observations, a short curriculum
    brings the whole-trajectory error far below predicting zero; the same training at rtol
    1e-3 does worse (oracle: the data)."""
    data = spiral().first(40)
    zero = float(data.z.abs().mean())
    errors = {}
    for rtol in (1e-5, 1e-3):
        torch.manual_seed(0)
        trainer = Trainer(VectorField(), data, stages=((2, 20), (5, 10)),
                          solver=dict(method="dopri5", rtol=rtol, atol=rtol / 100))  # fmt: skip
        trainer.train(every=10**6, progress=False)
        errors[rtol] = trainer.error()
    assert errors[1e-5] < zero / 3 and errors[1e-3] > errors[1e-5]


def test_max_jacobian_norm_of_a_linear_field_is_its_matrix_norm():
    A = torch.tensor([[0.3, -2.0], [1.5, 0.1]], dtype=torch.float64)
    z = torch.randn(7, 2, dtype=torch.float64)
    expected = np.linalg.norm(A.numpy(), 2)  # oracle: numpy's largest singular value
    assert max_jacobian_norm(lambda t, z: z @ A.T, z) == pytest.approx(expected, rel=1e-12)
    # a field twice as steep at one state: the largest over the states counts
    steep = max_jacobian_norm(lambda t, z: z**3, torch.tensor([[0.5, 0.0], [1.0, -2.0]]))
    assert steep == pytest.approx(3 * 2.0**2)  # d(z^3)/dz = 3 z^2 on the diagonal: 12
