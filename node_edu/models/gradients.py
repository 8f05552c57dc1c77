"""Which gradient to use: the three ways node_edu differentiates a solve, measured side by side.

For one loss ``loss(solve(func, z0, t), z_true)`` and the gradient with respect to func's
parameters, ``compare_gradients`` runs

* ``"backprop"``: autograd through ``ne.odeint`` (discretise-then-optimise: the exact
  gradient of the computed solution; keeps every stage of every step for the backward);
* ``"backsolve"``: ``ne.odeint_adjoint`` recomputing z backwards with the adjoint (Chen
  et al. 2018; keeps only the outputs; z drifts from its forward values);
* ``"checkpoint"``: ``ne.odeint_adjoint`` recomputing z forward from the state kept at the
  start of every step (no drift; one state per step kept),

and reports for each the bytes the backward pass holds, the wall time, the function
evaluations forward and backward, the drift, and the error against a reference gradient:
a float64 copy of everything, differentiated by backprop through a tight solve.
"""

import copy
import time

import torch

from node_edu.adjoint import odeint_adjoint
from node_edu.adjoint.memory import saved_tensor_bytes
from node_edu.solvers import SolverStats, odeint

METHODS = ("backprop", "backsolve", "checkpoint")
REFERENCE = dict(method="dopri5", rtol=1e-10, atol=1e-12)


def _mse(z_pred, z_true):
    return (z_pred - z_true).pow(2).mean()


def _flat(grads):
    return torch.cat([g.reshape(-1) for g in grads]).double()


def reference_gradient(func, z0, t, z_true, *, reference=None, loss=_mse):
    """The gradient of ``loss`` w.r.t. func's parameters on a float64 copy of everything,
    by backprop through a tight solve (``REFERENCE``: dopri5, rtol 1e-10): flat, float64."""
    f64 = copy.deepcopy(func).double()
    options = dict(REFERENCE) if reference is None else reference
    value = loss(odeint(f64, z0.double(), t.double(), **options), z_true.double())
    return _flat(torch.autograd.grad(value, [p for p in f64.parameters() if p.requires_grad]))


def held_bytes(z_pred, saved):
    """What the backward pass of ``z_pred`` holds, in bytes: ``saved`` (the tensors autograd
    saved, from ``saved_tensor_bytes``) plus, for ``odeint_adjoint(adjoint="checkpoint")``,
    the states it kept at the start of every accepted step (each counted once, as
    numel * element size: one state of N numbers per step)."""
    setup = getattr(z_pred.grad_fn, "setup", None)  # odeint_adjoint's record of the solve
    checkpoints = getattr(setup, "checkpoints", None) or []
    states = {y.data_ptr(): y.numel() * y.element_size() for _, _, y in checkpoints}
    return saved + sum(states.values())


def _solver(name):
    """(solve, its extra options) for a method of METHODS."""
    return (odeint, {}) if name == "backprop" else (odeint_adjoint, dict(adjoint=name))


def _solve_and_grad(name, func, z0, t, z_true, solver, loss, params):
    solve, extra = _solver(name)
    z_pred = solve(func, z0, t, **extra, **solver)
    return torch.autograd.grad(loss(z_pred, z_true), params)


def compare_gradients(func, z0, t, z_true, *, solver=None, reference=None, methods=METHODS,
                      loss=_mse):  # fmt: skip
    """The gradient of ``loss(solve(func, z0, t), z_true)`` w.r.t. func's parameters by each
    of ``methods`` (see the module docstring), all with the solver options ``solver``
    (default dopri5, rtol 1e-5, atol 1e-7).

    Returns ``{method: row}``, each row a dict with ``bytes`` (held for the backward pass,
    ``held_bytes``), ``seconds`` (forward plus backward, wall clock), ``nfe`` (forward,
    backward), ``steps`` (accepted forward steps), ``drift`` (backsolve: the largest
    |z_back - z_forward| at an output time; 0.0 for checkpoint; None for backprop),
    ``grad_error`` (max |g - g_ref| / max |g_ref|) and ``grad`` (flat, float64).
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(
            f"methods must be a non-empty selection of {list(METHODS)}, got {methods!r}"
        )
    solver = dict(method="dopri5", rtol=1e-5, atol=1e-7) if solver is None else dict(solver)
    g_ref = reference_gradient(func, z0, t, z_true, reference=reference, loss=loss)
    params = [p for p in func.parameters() if p.requires_grad]
    rows = {}
    for name in methods:  # once on a tiny problem first: the timing leaves out first-call costs
        _solve_and_grad(name, func, z0, t[:2], z_true[:2], solver, loss, params)
    for name in methods:
        stats = SolverStats()
        solve, extra = _solver(name)
        start = time.perf_counter()
        z_pred, saved = saved_tensor_bytes(solve, func, z0, t, stats=stats, **extra, **solver)
        nbytes = held_bytes(z_pred, saved)
        g = _flat(torch.autograd.grad(loss(z_pred, z_true), params))
        seconds = time.perf_counter() - start
        backward = stats.backward
        drift = None if backward is None else max(backward.drift, default=0.0)
        rows[name] = dict(
            bytes=nbytes,
            seconds=seconds,
            nfe=(stats.nfe, backward.nfe if backward else 0),
            steps=stats.n_accepted,
            drift=drift,
            grad_error=float((g - g_ref.to(g.device)).abs().max() / g_ref.abs().max()),
            grad=g,
        )
    return rows
