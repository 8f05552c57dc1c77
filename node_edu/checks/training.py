"""Checker for lesson 06: one training step of a neural ODE."""

import copy
import math

import torch

from node_edu.solvers import odeint
from node_edu.training import VectorField, mse

from .base import CheckResult, _call

SOLVER = dict(method="dopri5", rtol=1e-9, atol=1e-11)  # tight: compared to 1e-6
LR = 0.1


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
            p.copy_(0.7 * torch.randn(p.shape, generator=gen, dtype=dt))
    z0 = torch.randn(4, 2, generator=gen, dtype=dt)
    t = torch.linspace(0.0, 1.0, 5, dtype=dt)
    z_true = torch.randn(5, 4, 2, generator=gen, dtype=dt)
    return model, z0, t, z_true


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
    (backprop through a dopri5 solve at rtol 1e-10: another method than the adjoint): the
    returned loss, the updated parameters (plain SGD, lr 0.1, with a stale gradient left on
    every parameter), that the inputs are unchanged and that the gradients came from the
    adjoint (f run without a graph in the forward solve).
    """
    model, z0, t, z_true = _case()
    reference = copy.deepcopy(model)
    pred = odeint(reference, z0, t, method="dopri5", rtol=1e-10, atol=1e-12)
    loss_ref = mse(pred, z_true)
    grads = torch.autograd.grad(loss_ref, list(reference.parameters()))
    expected = [p.detach() - LR * g for p, g in zip(reference.parameters(), grads, strict=True)]
    stale = [p.detach() - LR * (g + 1.0) for p, g in zip(model.parameters(), grads, strict=True)]

    recording = _Recording(model)
    for p in model.parameters():
        p.grad = torch.ones_like(p)  # what an earlier step would have left behind
    optimizer = torch.optim.SGD(recording.parameters(), lr=LR)
    inputs = (z0.clone(), t.clone(), z_true.clone())
    out, failure = _call(fn, recording, optimizer, *inputs, dict(SOLVER))
    if failure is not None:
        return failure
    if not all(torch.equal(x, y) for x, y in zip(inputs, (z0, t, z_true), strict=True)):
        return CheckResult(False, "your function changed z0, t or z_true in place; do not")
    if isinstance(out, torch.Tensor):
        return CheckResult(
            False, "return loss.item(), a Python float (a tensor would keep its graph alive)"
        )
    if isinstance(out, bool) or not isinstance(out, (int, float)) or not math.isfinite(out):
        return CheckResult(False, f"return the loss as a finite float, got {out!r}")
    loss_ref = loss_ref.item()
    final_only = mse(pred[-1], z_true[-1]).item()
    if not math.isclose(out, loss_ref, rel_tol=1e-6):
        if math.isclose(out, final_only, rel_tol=1e-6):
            hint = "it looks like the loss at the last time only; use every observation time"
        elif math.isclose(out, loss_ref * z_true.numel(), rel_tol=1e-6):
            hint = "it looks like a sum; take the mean over times, batch and coordinates"
        else:
            hint = "the loss is the mean of (z_pred - z_true)^2 over times, batch, coordinates"
        return CheckResult(False, f"your loss is {out:.6g}, expected {loss_ref:.6g}: {hint}")
    if not recording.grad_enabled:
        return CheckResult(False, "func was never called: solve with ne.odeint_adjoint")
    # The adjoint's forward solve runs f without a graph (a whole step of dopri5 at least,
    # six stages); backprop through odeint records its stages from the first step on.
    calls = recording.grad_enabled
    first_recorded = calls.index(True) if True in calls else len(calls)
    if first_recorded < 6:
        return CheckResult(
            False,
            "f was evaluated with autograd recording during the forward solve: that is "
            "backprop through the solver (ne.odeint); use ne.odeint_adjoint",
        )
    params = [p.detach() for p in model.parameters()]
    if all(torch.allclose(p, s, atol=1e-6) for p, s in zip(params, stale, strict=True)):
        return CheckResult(
            False,
            "the update used the new gradient PLUS the one left by an earlier step: call "
            "optimizer.zero_grad() before loss.backward() (PyTorch accumulates gradients)",
        )
    before = [p.detach() for p in reference.parameters()]
    if all(torch.equal(p, b) for p, b in zip(params, before, strict=True)):
        return CheckResult(False, "the parameters did not change: call optimizer.step()")
    if not all(torch.allclose(p, e, atol=1e-6) for p, e in zip(params, expected, strict=True)):
        return CheckResult(
            False, "the loss is right but the update is not one SGD step on its gradient"
        )
    return CheckResult(
        True,
        "zero_grad, adjoint solve, loss over every observation time, backward, step: "
        "your update matches backprop through a tight solve.",
    )
