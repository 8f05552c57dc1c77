"""Checkers for lesson 06: one training step of a neural ODE, plain and regularised.

* ``training_step(fn)``: zero_grad, adjoint solve, loss over every time, backward, step;
  checked against the same SGD step with the gradient by backprop through a tight solve.
* ``kinetic_training_step(fn)``: the same step on fit + lam * kinetic energy, the energy
  int |f|^2 dt obtained by one extra state coordinate (Finlay et al. 2020); checked against
  backprop through a tight solve with the energy computed independently, by Simpson's rule
  on a dense grid of the trajectory.
"""

import copy

import torch

from node_edu.checks.base import Mistake, exercise, expect_number, passed, unpack
from node_edu.models.training import VectorField, mse
from node_edu.solutions import lesson06
from node_edu.solvers import odeint

SOLVER = dict(method="dopri5", rtol=1e-8, atol=1e-10)  # tight: gradients agree to ~1e-8
REFERENCE = dict(method="dopri5", rtol=1e-9, atol=1e-11)
TIMEOUT = 30.0  # seconds: two tight solves and a backward pass, on a busy machine too
LR = 0.1
LAM = 0.3  # the regulariser's weight in the check (not 1, so a missing lam shows)


class _Recording(torch.nn.Module):
    """Wraps the model and notes, at each call, whether autograd was recording: the
    forward solve of ``odeint_adjoint`` runs f without a graph, backprop through
    ``odeint`` with one."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.grad_enabled = []

    def forward(self, t, z):
        self.grad_enabled.append(torch.is_grad_enabled())
        return self.inner(t, z)


def _case():
    """A small float64 model with random weights, a batch and targets."""
    gen = torch.Generator().manual_seed(6)
    dt = torch.float64
    with torch.random.fork_rng(devices=[]):  # VectorField's init must not move the user's RNG
        model = VectorField(hidden=8, dtype=dt)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=dt))
    z0 = torch.randn(4, 2, generator=gen, dtype=dt)
    t = torch.linspace(0.0, 0.5, 5, dtype=dt)
    z_true = torch.randn(5, 4, 2, generator=gen, dtype=dt)
    return model, z0, t, z_true


def _sgd(model, grads, lr=LR):
    return [p.detach() - lr * g for p, g in zip(model.parameters(), grads, strict=True)]


def _run(fn, model, z0, t, z_true, *extra):
    """Call the student's step on a recording wrapper with stale gradients left on."""
    recording = _Recording(model)
    for p in model.parameters():
        p.grad = torch.ones_like(p)  # what an earlier step would have left behind
    optimizer = torch.optim.SGD(recording.parameters(), lr=LR)
    inputs = (z0.clone(), t.clone(), z_true.clone())
    out = fn(recording, optimizer, *inputs, dict(SOLVER), *extra)
    if not all(torch.equal(x, y) for x, y in zip(inputs, (z0, t, z_true), strict=True)):
        raise Mistake("your function changed z0, t or z_true in place; do not")
    return out, recording


def _expect_loss(out, name):
    if isinstance(out, torch.Tensor):
        raise Mistake(f"return {name} as a Python float (.item()): a tensor keeps its graph alive")
    return expect_number(out, name)


def _close(x, y):
    return abs(x - y) <= 1e-6 * max(abs(y), 1e-12)


def _used_the_adjoint(recording):
    if not recording.grad_enabled:
        raise Mistake("func was never called: solve with ne.odeint_adjoint")
    # The adjoint's forward solve runs f without a graph (a whole step of dopri5 at least,
    # six stages); backprop through odeint records its stages from the first step on.
    calls = recording.grad_enabled
    first_recorded = calls.index(True) if True in calls else len(calls)
    if first_recorded < 6:
        raise Mistake(
            "f was evaluated with autograd recording during the forward solve: that is "
            "backprop through the solver (ne.odeint); use ne.odeint_adjoint"
        )


def _same(params, expected):
    return all(torch.allclose(p, e, atol=1e-6) for p, e in zip(params, expected, strict=True))


@exercise(
    "06.training_step",
    solution=lesson06.train_step,
    timeout=TIMEOUT,
    hints=(
        "Five lines, in this order: optimizer.zero_grad(); the solve; the loss; "
        "loss.backward(); optimizer.step(). Then return loss.item().",
        "The solve is ne.odeint_adjoint(func, z0, t, **solver): it returns [T, B, 2], one "
        "state per time and window, the same layout as z_true.",
        "The loss over every observation time is (z_pred - z_true).pow(2).mean(): the mean "
        "over times, windows and coordinates.",
    ),
)
def training_step(fn):
    """Lesson 06 exercise: ``fn(func, optimizer, z0, t, z_true, solver)`` does one training
    step and returns the loss as a Python float:

    1. clear the gradients left by the previous step (``optimizer.zero_grad()``);
    2. solve with ``ne.odeint_adjoint(func, z0, t, **solver)`` (z0 [B, 2], t [T]; the
       prediction is [T, B, 2]);
    3. the loss over ALL observation times: the mean of (z_pred - z_true)^2 over times,
       batch and coordinates;
    4. ``loss.backward()`` and ``optimizer.step()``.

    Checked against the same step with gradients by autograd through ``ne.odeint``
    (backprop through a dopri5 solve at rtol 1e-9: another method than the adjoint): the
    returned loss, the updated parameters (plain SGD, lr 0.1, with a stale gradient left on
    every parameter), that the inputs are unchanged and that the gradients came from the
    adjoint (f run without a graph in the forward solve).
    """
    model, z0, t, z_true = _case()
    reference = copy.deepcopy(model)
    pred = odeint(reference, z0, t, **REFERENCE)
    loss_ref = mse(pred, z_true)
    grads = torch.autograd.grad(loss_ref, list(reference.parameters()))
    expected, stale = _sgd(reference, grads), _sgd(reference, [g + 1.0 for g in grads])
    before = [p.detach().clone() for p in model.parameters()]

    out, recording = _run(fn, model, z0, t, z_true)
    out = _expect_loss(out, "the loss")
    loss_ref, final_only = loss_ref.item(), mse(pred[-1], z_true[-1]).item()
    if not _close(out, loss_ref):
        if _close(out, final_only):
            hint = "it looks like the loss at the last time only; use every observation time"
        elif _close(out, loss_ref * z_true.numel()):
            hint = "it looks like a sum; take the mean over times, batch and coordinates"
        else:
            hint = "the loss is the mean of (z_pred - z_true)^2 over times, batch, coordinates"
        raise Mistake(f"your loss is {out:.6g}, expected {loss_ref:.6g}: {hint}")
    _used_the_adjoint(recording)
    params = [p.detach() for p in model.parameters()]
    if _same(params, stale):
        raise Mistake(
            "the update used the new gradient PLUS the one left by an earlier step: call "
            "optimizer.zero_grad() before loss.backward() (PyTorch accumulates gradients)"
        )
    if all(torch.equal(p, b) for p, b in zip(params, before, strict=True)):
        raise Mistake("the parameters did not change: call optimizer.step()")
    if not _same(params, expected):
        raise Mistake("the loss is right but the update is not one SGD step on its gradient")
    return passed(
        "zero_grad, adjoint solve, loss over every observation time, backward, step: "
        "your update matches backprop through a tight solve."
    )


def _simpson(y, h):
    """Composite Simpson's rule along dim 0 (an even number of intervals)."""
    return h / 3 * (y[0] + y[-1] + 4 * y[1:-1:2].sum(0) + 2 * y[2:-1:2].sum(0))


def _kinetic_reference(model, z0, t, z_true):
    """The regularised loss computed WITHOUT the extra coordinate: the trajectory on a
    dense grid by a tight solve, int |f|^2 dt by Simpson's rule on it (error ~ h^4), all
    differentiated by backprop. Returns the pieces and their gradients."""
    per = 40  # dense points per observation interval: h = 0.5 / 160 here
    dense = torch.linspace(float(t[0]), float(t[-1]), per * (len(t) - 1) + 1, dtype=t.dtype)
    z = odeint(model, z0, dense, **REFERENCE)  # [K, B, 2]
    speed2 = model(dense, z).pow(2).sum(-1)  # |f|^2 along each trajectory, [K, B]
    h = float(dense[1] - dense[0])
    fit = mse(z[::per], z_true)
    energy = _simpson(speed2, h)  # [B]: int |f|^2 dt per window
    kinetic = energy.mean()
    params = list(model.parameters())
    g_total = torch.autograd.grad(fit + LAM * kinetic, params, retain_graph=True)
    g_fit = torch.autograd.grad(fit, params, retain_graph=True)
    g_lam1 = torch.autograd.grad(fit + kinetic, params, retain_graph=True)
    g_sum = torch.autograd.grad(fit + LAM * energy.sum(), params, retain_graph=True)
    speed = _simpson(speed2.sqrt(), h).mean().item()  # int |f| dt, a common slip
    over_times = torch.stack(  # the energy up to each observation time, batch mean
        [_simpson(speed2[: per * i + 1], h).mean() if i else speed2.new_zeros(()) for i in
         range(len(t))]).mean().item()  # fmt: skip
    values = dict(fit=fit.item(), kinetic=kinetic.item(), speed=speed, over_times=over_times)
    return values, dict(total=g_total, fit=g_fit, lam1=g_lam1, sum=g_sum)


@exercise(
    "06.kinetic_training_step",
    solution=lesson06.kinetic_train_step,
    timeout=TIMEOUT,
    hints=(
        "Augment the state with one coordinate E that integrates |f|^2: write a function "
        "augmented(t, s) that calls func on s[..., :-1] and returns torch.cat([dz, "
        "(dz ** 2).sum(-1, keepdim=True)], -1). Start from s0 = [z0 | 0].",
        "Solve it with ne.odeint_adjoint(augmented, s0, t, params=list(func.parameters()), "
        "**solver): a plain function has no parameters of its own, so name them. The fit "
        "uses s[..., :-1] at every time; the kinetic energy is s[-1, ..., -1].mean().",
        "zero_grad first, then (fit + lam * kinetic).backward() and optimizer.step(); return "
        "(fit.item(), kinetic.item()).",
    ),
)
def kinetic_training_step(fn):
    """Lesson 06 exercise: ``fn(func, optimizer, z0, t, z_true, solver, lam)`` does one
    training step on the regularised loss ``fit + lam * kinetic`` and returns
    ``(fit, kinetic)`` as Python floats:

    * ``fit``: the loss of ``training_step``, mean of (z_pred - z_true)^2;
    * ``kinetic``: the batch mean of the kinetic energy int_{t0}^{t_end} |f(t, z(t))|^2 dt
      of each trajectory, obtained by solving ONE augmented ODE with
      ``ne.odeint_adjoint`` whose extra coordinate E has dE/dt = |f|^2, E(t0) = 0.

    Checked against an independent computation: the trajectory on a dense grid by a tight
    ``ne.odeint`` solve, the energy by Simpson's rule on it (h = 1/320), the gradient of
    fit + lam * kinetic by backprop (SGD, lr 0.1, lam 0.3, a stale gradient on every
    parameter). Also checked: both returned values, that the adjoint was used, and the
    usual slips (the regulariser left out of backward, lam left out, a sum over the batch,
    |f| instead of |f|^2, the energy averaged over every observation time).
    """
    model, z0, t, z_true = _case()
    reference = copy.deepcopy(model)
    values, grads = _kinetic_reference(reference, z0, t, z_true)
    out, recording = _run(fn, model, z0, t, z_true, LAM)
    fit, kinetic = unpack(out, 2, "(fit, kinetic)")
    fit, kinetic = _expect_loss(fit, "fit"), _expect_loss(kinetic, "kinetic")
    if not _close(fit, values["fit"]):
        raise Mistake(
            f"fit is {fit:.6g}, expected {values['fit']:.6g}: the mean of (z_pred - z_true)^2 "
            "over times, batch and coordinates, with z_pred = s[..., :-1] (not E)"
        )
    if not _close(kinetic, values["kinetic"]):
        slips = (
            (values["kinetic"] * len(z0), "a sum over the batch; take the mean over windows"),
            (values["speed"], "the integral of |f|; the kinetic energy integrates |f|^2"),
            (values["over_times"], "E averaged over every observation time; the energy is "
             "E at the last time, s[-1, ..., -1]"),
            (values["kinetic"] / 4, "0.5 * the mean over coordinates of f^2 (the form in "
             "the authors' code); here the regulariser is the plain |f|^2 = (f ** 2).sum(-1)"),
        )  # fmt: skip
        why = next((w for v, w in slips if _close(kinetic, v)), "int |f|^2 dt, batch mean")
        raise Mistake(f"kinetic is {kinetic:.6g}, expected {values['kinetic']:.6g}: {why}")
    _used_the_adjoint(recording)
    params = [p.detach() for p in model.parameters()]
    named = (
        ("fit", "the regulariser did not reach the gradient: call (fit + lam * kinetic)"
         ".backward(), not fit.backward()"),
        ("lam1", "the update is that of fit + kinetic: multiply the kinetic energy by lam"),
        ("sum", "the gradient is that of a sum of the energies over the batch; use the mean"),
    )  # fmt: skip
    for key, why in named:
        if _same(params, _sgd(reference, grads[key])):
            raise Mistake(why)
    if _same(params, _sgd(reference, [g + 1.0 for g in grads["total"]])):
        raise Mistake(
            "the update used the new gradient PLUS a stale one: call optimizer.zero_grad() "
            "before backward (PyTorch accumulates gradients)"
        )
    if not _same(params, _sgd(reference, grads["total"])):
        raise Mistake(
            "fit and kinetic are right but the update is not one SGD step on "
            "fit + lam * kinetic: call optimizer.step() once, after backward"
        )
    return passed(
        "one augmented solve gives the fit and int |f|^2 dt; your update matches backprop of "
        "the same loss with the energy by Simpson's rule on a dense trajectory."
    )
