"""Relative gradient error of each adjoint variant against backprop through a tight
float64 solve, at rtol 1e-3, 1e-5 and 1e-7 (the closing note of issue 3).

Problem: the spiral MLP (2 -> 50 -> 2, tanh, seed 0) in float64, batch 64, 10 output
times on [0, 10], loss = MSE against fixed targets at every output time; atol = rtol / 100.
Reference: backprop through our dopri5 at rtol 1e-12 (gradients of z0 and all parameters,
relative 2-norm error). For context the table also shows backprop through our solver and
torchdiffeq's odeint_adjoint at the same tolerance.

Run: ``python -m benchmarks.adjoint_accuracy``
"""

import torch
import torchdiffeq

import node_edu as ne

from .problems import Counted, SpiralMLP, initial_state, table, targets, times

RTOLS = (1e-3, 1e-5, 1e-7)
BATCH, N_TIMES = 64, 10


def gradients(variant, rtol, atol, seed=0):
    """(gradients of z0 and parameters, backward evaluations) for one variant."""
    func = Counted(SpiralMLP(seed, torch.float64))
    z0 = initial_state(BATCH, torch.float64, seed=seed).requires_grad_(True)
    t, target = times(N_TIMES, torch.float64), targets(N_TIMES, BATCH, torch.float64, seed=seed)
    params = list(func.parameters())
    if variant in ("backsolve", "checkpoint"):
        z = ne.odeint_adjoint(func, z0, t, adjoint=variant, rtol=rtol, atol=atol)
    elif variant == "backprop":
        z = ne.odeint(func, z0, t, rtol=rtol, atol=atol)
    else:
        z = torchdiffeq.odeint_adjoint(func, z0, t, rtol=rtol, atol=atol, adjoint_params=params)
    forward = func.calls
    loss = ((z - target) ** 2).mean()
    grads = torch.autograd.grad(loss, [z0, *params])
    return torch.cat([g.reshape(-1) for g in grads]), func.calls - forward


def run():
    reference, _ = gradients("backprop", 1e-12, 1e-14)
    variants = ("backsolve", "checkpoint", "backprop", "torchdiffeq_adjoint")
    rows, raw = [], {}
    for rtol in RTOLS:
        row = [f"{rtol:.0e}"]
        for v in variants:
            g, nfe = gradients(v, rtol, rtol / 100)
            err = float((g - reference).norm() / reference.norm())
            raw[f"{v}/{rtol:.0e}"] = {"error": err, "backward_nfe": nfe}
            row.append(f"{err:.2e} ({nfe if v != 'backprop' else '-'})")
        rows.append(row)
    headers = ["rtol"] + [f"{v}: error (bwd nfe)" for v in variants]
    text = (
        "### Adjoint accuracy (float64, spiral MLP seed 0, batch 64, 10 output times, "
        "atol = rtol/100; relative gradient error vs backprop at rtol 1e-12)\n\n"
        + table(headers, rows)
    )
    return text, raw


if __name__ == "__main__":
    print(run()[0])
