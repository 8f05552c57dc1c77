"""The opt-in compiled solver (``ne.solvers.compiled_odeint``) against the eager ones.

Spiral MLP (2 -> 50 -> 2, tanh), dopri5, rtol 1e-7, atol 1e-9, float32, 10 output times,
no_grad, at batch 1 / 64 / 1024: wall time of eager ``ne.odeint``, ``compiled_odeint``
(after its compile, which is timed separately: the first call minus a warm call) and
torchdiffeq, with each solver's overhead per evaluation (time / (nfe x one bare
evaluation of the MLP, itself eager)). diffrax (JAX, jit-compiled) is timed too where it
is installed; its column is left out otherwise.
"""

import time

import torch
import torchdiffeq

import node_edu as ne

from .problems import Counted, SpiralMLP, best_times, initial_state, table, times

try:
    import diffrax
    import jax
    import jax.numpy as jnp
except ImportError:  # an optional comparison
    diffrax = None

RTOL, ATOL = 1e-7, 1e-9


def diffrax_solver(func, z0, t):
    """A no-argument callable solving the same problem with diffrax's Dopri5 under jax.jit
    (the MLP's weights copied into JAX, float32, the same tolerances and output times)."""
    w1, b1, w2, b2 = (jnp.asarray(p.detach().numpy()) for p in func.parameters())

    def vector_field(t, z, args):
        return jnp.tanh(z @ w1.T + b1) @ w2.T + b2

    ts = jnp.asarray(t.numpy())

    @jax.jit
    def solve(z0):
        return diffrax.diffeqsolve(
            diffrax.ODETerm(vector_field), diffrax.Dopri5(), t0=ts[0], t1=ts[-1], dt0=None,
            y0=z0, saveat=diffrax.SaveAt(ts=ts), max_steps=100_000,
            stepsize_controller=diffrax.PIDController(rtol=RTOL, atol=ATOL),
        ).ys  # fmt: skip

    y0 = jnp.asarray(z0.numpy())
    return lambda: solve(y0).block_until_ready()


def measure(batch, device="cpu", repeats=10):
    func = SpiralMLP(device=device)
    z0, t = initial_state(batch, device=device), times(10, device=device)
    stats, counted, kw = ne.SolverStats(), Counted(func), dict(rtol=RTOL, atol=ATOL)
    with torch.no_grad():
        start = time.perf_counter()
        ne.solvers.compiled_odeint(func, z0, t, **kw)
        first = time.perf_counter() - start
        ne.odeint(func, z0, t, stats=stats, **kw)
        torchdiffeq.odeint(counted, z0, t, **kw)
        solvers = [
            lambda: ne.odeint(func, z0, t, **kw),
            lambda: ne.solvers.compiled_odeint(func, z0, t, **kw),
            lambda: torchdiffeq.odeint(func, z0, t, **kw),
        ]
        if diffrax is not None and device == "cpu":
            solvers.append(diffrax_solver(func, z0, t))
        t0 = t[0]
        numbers = [stats.nfe] + [1] * len(solvers)
        bare, eager, compiled, td, *dx = best_times(
            [lambda: func(t0, z0), *solvers], repeats, device, number=numbers
        )
    row = {
        "batch": batch, "bare_us": bare * 1e6, "nfe": stats.nfe, "td_nfe": counted.calls,
        "eager_ms": eager * 1e3, "compiled_ms": compiled * 1e3, "td_ms": td * 1e3,
        "compile_s": first - compiled,
        "eager_ratio": eager / (stats.nfe * bare), "compiled_ratio": compiled / (stats.nfe * bare),
        "td_ratio": td / (counted.calls * bare),
    }  # fmt: skip
    if dx:
        row["diffrax_ms"] = dx[0] * 1e3
    return row


def run(device="cpu", batches=(1, 64, 1024), repeats=10):
    rows = [measure(b, device, repeats) for b in batches]
    headers = [
        "batch", "bare eval (us)", "nfe", "eager (ms)", "overhead", "compiled (ms)", "overhead",
        "eager / compiled", "torchdiffeq (ms)", "overhead", "torchdiffeq / compiled",
        "compile time (s)",
    ]  # fmt: skip
    with_diffrax = "diffrax_ms" in rows[0]
    if with_diffrax:
        headers += ["diffrax (ms)", "compiled / diffrax"]
    body = [
        [
            r["batch"],
            f"{r['bare_us']:.1f}",
            r["nfe"],
            f"{r['eager_ms']:.2f}",
            f"{r['eager_ratio']:.2f}x",
            f"{r['compiled_ms']:.2f}",
            f"**{r['compiled_ratio']:.2f}x**",
            f"{r['eager_ms'] / r['compiled_ms']:.1f}x",
            f"{r['td_ms']:.2f}",
            f"{r['td_ratio']:.2f}x",
            f"{r['td_ms'] / r['compiled_ms']:.1f}x",
            f"{r['compile_s']:.1f}",
            *(
                [f"{r['diffrax_ms']:.2f}", f"{r['compiled_ms'] / r['diffrax_ms']:.1f}x"]
                if with_diffrax
                else []
            ),
        ]  # fmt: skip
        for r in rows
    ]
    title = (
        f"### 6. The opt-in compiled solver ({device}, dopri5, float32, rtol {RTOL}, atol "
        f"{ATOL}, 10 output times, no_grad)\n\n`ne.solvers.compiled_odeint` compiles one whole "
        "step with torch.compile; the compile time (first call minus a warm one) is paid "
        "once per problem shape. Overhead = time / (nfe x one bare eager evaluation)."
        + ("" if with_diffrax else " diffrax is not installed: its columns are left out.")
        + "\n\n"
    )
    return title + table(headers, body), rows


if __name__ == "__main__":
    print(run()[0])
