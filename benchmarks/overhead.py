"""Target 1: solver overhead per function evaluation.

ratio = (solver wall time) / (number of evaluations x one bare evaluation of func), for
dopri5 on the spiral MLP, forward solve only, under ``torch.no_grad()`` (as in inference
and in the adjoint's forward pass), output times linspace(0, T_END, 10), rtol 1e-5,
atol 1e-7, float32. 1.0 would mean the solver itself costs nothing.

torchode (Lienen & Guennemann 2022, a PyTorch peer with a step size per batch element) is
timed too where it is installed (``pip install torchode``); its columns are left out
otherwise. Its evaluations are counted by wrapping the vector field.

"Arithmetic only" is a floor for an eager PyTorch solver built as ours is: ``replay``
repeats our accepted steps with nothing but each step's arithmetic (per stage one fused
stage sum, one evaluation, one store; per step the error norm and its ``.item()``), no
checks, no step-size control, no outputs, and one time tensor shared by every call
(this func ignores t; a real solver must build one per stage). Its ratio is the least
overhead per evaluation that eager operations allow a solver built this way.
"""

import torch
import torchdiffeq

try:
    import torchode
except ImportError:  # an optional comparison
    torchode = None

import node_edu as ne
from node_edu.solvers.rk import coefficients
from node_edu.solvers.tableaux import DOPRI5

from .problems import Counted, SpiralMLP, best_times, initial_state, table, times

RTOL, ATOL = 1e-5, 1e-7


@torch.no_grad()  # in-place writes into the stage buffer, as the solver's own fast path
def replay(func, z0, steps):
    """dopri5's arithmetic for the given accepted steps [(t, h, ...)] and nothing else
    (see the module docstring). Returns (final state, evaluations of func)."""
    shape, y, t = z0.shape, z0.reshape(-1), z0.new_zeros(())
    K = y.new_zeros(DOPRI5.n_stages, y.numel())  # row i = stage i
    K_T, stages = K.T, [row.view(shape) for row in K.unbind(0)]
    coef = coefficients(DOPRI5, y.dtype, y.device)
    a, b_err = coef["a_full"].unbind(0), coef["b_err"]
    rtol, atol = (torch.scalar_tensor(x, dtype=y.dtype, device=y.device) for x in (RTOL, ATOL))
    k1 = func(t, z0)
    for _, h, *_ in steps:
        stages[0].copy_(k1)
        for i in range(1, DOPRI5.n_stages):
            y_stage = torch.addmv(y, K_T, a[i], alpha=h)
            k1 = func(t, y_stage.view(shape))  # FSAL: the last one starts the next step
            stages[i].copy_(k1)
        scale = torch.maximum(y.abs(), y_stage.abs()).mul_(rtol).add_(atol)
        torch.linalg.vector_norm(torch.mv(K_T, b_err).div_(scale)).item()
        y = y_stage
    return y.view(shape), 1 + (DOPRI5.n_stages - 1) * len(steps)


def measure(batch, device="cpu", repeats=15):
    func = SpiralMLP(device=device)
    z0, t = initial_state(batch, device=device), times(10, device=device)
    stats, counted = ne.SolverStats(record_steps=True), Counted(func)
    solvers = [
        lambda: ne.odeint(func, z0, t, rtol=RTOL, atol=ATOL),
        lambda: torchdiffeq.odeint(func, z0, t, rtol=RTOL, atol=ATOL),
    ]
    with torch.no_grad():
        ne.odeint(func, z0, t, rtol=RTOL, atol=ATOL, stats=stats)
        steps = stats.steps
        floor_nfe = replay(func, z0, steps)[1]
        solvers.append(lambda: replay(func, z0, steps))
        torchdiffeq.odeint(counted, z0, t, rtol=RTOL, atol=ATOL)
        if torchode is not None:
            to_counted = Counted(func)
            to_solve = torchode_solver(to_counted, z0, t)
            to_solve()
            to_nfe = to_counted.calls
            solvers.append(torchode_solver(func, z0, t))
        t0 = t[0]
        # The bare evaluation is timed in the same interleaved loop, over as many calls
        # as a solve makes, so all figures see the same machine load.
        bare, ours, theirs, floor, *to_time = best_times(
            [lambda: func(t0, z0), *solvers],
            repeats,
            device,
            number=[stats.nfe, *[1] * len(solvers)],
        )
    extra = {}
    if torchode is not None:
        extra = {"to_ms": to_time[0] * 1e3, "to_nfe": to_nfe,
                 "to_ratio": to_time[0] / (to_nfe * bare)}  # fmt: skip
    return extra | {
        "batch": batch,
        "bare_us": bare * 1e6,
        "ours_ms": ours * 1e3,
        "ours_nfe": stats.nfe,
        "ours_ratio": ours / (stats.nfe * bare),
        "td_ms": theirs * 1e3,
        "td_nfe": counted.calls,
        "td_ratio": theirs / (counted.calls * bare),
        "floor_ratio": floor / (floor_nfe * bare),
    }


def torchode_solver(func, z0, t):
    """A no-argument callable solving with torchode's dopri5 (same tolerances, eager)."""
    term = torchode.ODETerm(func)
    solver = torchode.AutoDiffAdjoint(
        torchode.Dopri5(term=term), torchode.IntegralController(atol=ATOL, rtol=RTOL, term=term)
    )
    problem = torchode.InitialValueProblem(y0=z0, t_eval=t.expand(z0.shape[0], -1))
    return lambda: solver.solve(problem)


def run(device="cpu", batches=(1, 64, 1024), repeats=15):
    rows = [measure(b, device, repeats) for b in batches]
    headers = [
        "batch", "bare eval (us)", "ours: time (ms)", "nfe", "overhead ratio",
        "arithmetic only: overhead ratio", "torchdiffeq: time (ms)", "nfe", "overhead ratio",
    ]  # fmt: skip
    if torchode is not None:
        headers += ["torchode: time (ms)", "nfe", "overhead ratio"]
    headers.append("target")
    body = [
        [
            r["batch"],
            f"{r['bare_us']:.1f}",
            f"{r['ours_ms']:.2f}",
            r["ours_nfe"],
            f"**{r['ours_ratio']:.2f}x**",
            f"{r['floor_ratio']:.2f}x",
            f"{r['td_ms']:.2f}",
            r["td_nfe"],
            f"{r['td_ratio']:.2f}x",
            *([f"{r['to_ms']:.2f}", r["to_nfe"], f"{r['to_ratio']:.2f}x"] if torchode else []),
            "ok" if r["ours_ratio"] <= 1.5 else "MISSED (<= 1.5x)",
        ]  # fmt: skip
        for r in rows
    ]
    title = (
        f"### 1. Overhead per function evaluation ({device}, dopri5, float32, rtol {RTOL}, "
        "10 output times, no_grad)\n\n"
        "'arithmetic only': our accepted steps replayed with nothing but their arithmetic "
        "(stage sums, evaluations, stores, error norm; see benchmarks/overhead.py): the "
        "least overhead an eager solver pays that, like ours, forms each stage with one "
        "fused operation.\n\n"
    )
    return title + table(headers, body), rows


if __name__ == "__main__":
    print(run()[0])
