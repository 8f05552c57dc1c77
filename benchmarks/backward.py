"""Targets 2 and 3: the adjoint's backward cost with many output times, and the wall time
of forward + backward, ours (one continuous backward solve, seminorm) against
torchdiffeq's odeint_adjoint (a new solve, with its own initial-step search, per interval).

Loss: mean squared error against fixed targets at every output time, so the adjoint jumps
at every t_i. Gradient error: relative 2-norm error of all gradients (z0 and parameters)
against backprop through a tight float64 solve of the same problem (our odeint, rtol 1e-10).
Error and evaluation counts vary from one problem instance to the next (different step
sequences), so each figure is the median over SEEDS instances (MLP, z0 and targets drawn
from the seed), with the worst instance's error ratio shown beside it.
"""

import statistics

import torch
import torchdiffeq

import node_edu as ne

from .problems import Counted, SpiralMLP, best_times, initial_state, table, targets, times

SEEDS = range(5)


def loss_fn(z, target):
    return ((z - target) ** 2).mean()


def reference_gradients(batch, n_times, device, seed):
    """Backprop through our dopri5 in float64 at rtol 1e-10: the reference gradients."""
    func = SpiralMLP(seed, torch.float64, device)
    z0 = initial_state(batch, torch.float64, device, seed).requires_grad_(True)
    t = times(n_times, torch.float64, device)
    target = targets(n_times, batch, torch.float64, device, seed)
    z = ne.odeint(func, z0, t, rtol=1e-10, atol=1e-12)
    return torch.autograd.grad(loss_fn(z, target), [z0, *func.parameters()])


def relative_error(grads, reference):
    g = torch.cat([x.double().reshape(-1) for x in grads])
    r = torch.cat([x.reshape(-1) for x in reference])
    return float((g - r).norm() / r.norm())


def one_run(solver, batch, n_times, rtol, atol, device, seed=0):
    """Forward + backward once in float32; returns (forward nfe, backward nfe, gradients)."""
    func = Counted(SpiralMLP(seed, device=device))
    z0 = initial_state(batch, device=device, seed=seed).requires_grad_(True)
    t, target = times(n_times, device=device), targets(n_times, batch, device=device, seed=seed)
    params = list(func.parameters())
    if solver == "ours":
        z = ne.odeint_adjoint(func, z0, t, rtol=rtol, atol=atol)
    else:
        z = torchdiffeq.odeint_adjoint(func, z0, t, rtol=rtol, atol=atol, adjoint_params=params)
    forward = func.calls
    grads = torch.autograd.grad(loss_fn(z, target), [z0, *params])
    return forward, func.calls - forward, grads


def compare(batch, n_times, rtol, atol, device):
    """Per seed: evaluations and gradient errors of both solvers."""
    runs = []
    for seed in SEEDS:
        ref = reference_gradients(batch, n_times, device, seed)
        f_o, b_o, g_o = one_run("ours", batch, n_times, rtol, atol, device, seed)
        f_t, b_t, g_t = one_run("torchdiffeq", batch, n_times, rtol, atol, device, seed)
        e_o, e_t = relative_error(g_o, ref), relative_error(g_t, ref)
        runs.append(dict(f_o=f_o, b_o=b_o, e_o=e_o, f_t=f_t, b_t=b_t, e_t=e_t))
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    med["nfe_ratio"] = statistics.median(r["b_o"] / r["b_t"] for r in runs)
    med["err_ratio"] = statistics.median(r["e_o"] / r["e_t"] for r in runs)
    med["worst_err_ratio"] = max(r["e_o"] / r["e_t"] for r in runs)
    return med


def backward_cost(batch=64, n_times_list=(10, 100), rtol=1e-5, atol=1e-7, device="cpu"):
    """Target 2: backward evaluations, ours / torchdiffeq, and gradient errors."""
    rows = []
    for n_times in n_times_list:
        r = compare(batch, n_times, rtol, atol, device)
        r["n_times"], r["target"] = n_times, (0.7 if n_times <= 10 else 0.75)
        rows.append(r)
    headers = [
        "output times", "ours: fwd nfe", "bwd nfe", "grad error", "torchdiffeq: fwd nfe",
        "bwd nfe", "grad error", "bwd nfe ratio", "error ratio (worst)", "target",
    ]  # fmt: skip
    body = [
        [
            r["n_times"],
            r["f_o"],
            r["b_o"],
            f"{r['e_o']:.1e}",
            r["f_t"],
            r["b_t"],
            f"{r['e_t']:.1e}",
            f"**{r['nfe_ratio']:.2f}x**",
            f"{r['err_ratio']:.2f} ({r['worst_err_ratio']:.2f})",
            _verdict(r["nfe_ratio"] <= r["target"] and r["err_ratio"] <= 1.0, r["target"]),
        ]  # fmt: skip
        for r in rows
    ]
    title = (
        f"### 2. Backward evaluations ({device}, dopri5, float32, rtol {rtol}, atol {atol}, "
        f"batch {batch}, MSE at every output time; medians over {len(SEEDS)} seeds)\n\n"
    )
    return title + table(headers, body), rows


def wall_time(batch=64, n_times=10, rtol=1e-5, atol=1e-7, device="cpu", repeats=7):
    """Target 3: forward + adjoint backward wall time, ours / torchdiffeq (seed 0), with
    the gradient errors (medians over the seeds, from ``compare``)."""
    errors = compare(batch, n_times, rtol, atol, device)
    ours, theirs = best_times(
        [
            lambda: one_run("ours", batch, n_times, rtol, atol, device),
            lambda: one_run("torchdiffeq", batch, n_times, rtol, atol, device),
        ],
        repeats,
        device,
    )
    ratio = ours / theirs
    ok = ratio <= 0.4 and errors["err_ratio"] <= 1.0
    headers = ["", "ours", "torchdiffeq", "ratio", "target"]
    body = [
        ["forward + backward (ms)", f"{ours * 1e3:.1f}", f"{theirs * 1e3:.1f}",
         f"**{ratio:.2f}x**", _verdict(ok, 0.4)],
        ["gradient error vs float64 (median)", f"{errors['e_o']:.1e}", f"{errors['e_t']:.1e}",
         f"{errors['err_ratio']:.2f} (worst {errors['worst_err_ratio']:.2f})", ""],
    ]  # fmt: skip
    title = (
        f"### 3. Forward + adjoint backward wall time ({device}, dopri5, float32, rtol {rtol}, "
        f"{n_times} output times, batch {batch})\n\n"
    )
    return title + table(headers, body), {"ours_s": ours, "td_s": theirs, "ratio": ratio, **errors}


def _verdict(ok, target):
    return "ok" if ok else f"MISSED (<= {target}x, error no worse)"


if __name__ == "__main__":
    print(backward_cost()[0])
    print()
    print(wall_time()[0])
