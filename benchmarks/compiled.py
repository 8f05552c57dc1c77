"""The opt-in compiled solver (``ne.solvers.compiled_odeint``) against the eager ones.

Spiral MLP (2 -> 50 -> 2, tanh), dopri5, rtol 1e-7, atol 1e-9, float32, 10 output times,
no_grad, at batch 1 / 64 / 1024: wall time of eager ``ne.odeint``, ``compiled_odeint``
(after its compile, which is timed separately: the first call minus a warm call) and
torchdiffeq, with each solver's overhead per evaluation (time / (nfe x one bare
evaluation of the MLP, itself eager)).

diffrax (JAX, the whole solve under ``jax.jit``) gets a second table where it is
installed, and is left out otherwise. It is an optional extra, not installed by
``make bench``; to include it::

    make bench BENCH_EXTRAS=bench,diffrax
    # or: pip install -c constraints.txt -e ".[bench,diffrax]" && python -m benchmarks

The same problem on both sides: the MLP's float32 weights copied into JAX, the same z0,
output times and tolerances, Dopri5 with an I controller (diffrax's ``PIDController``
with its default coefficients), the RMS error norm, the outputs read off the dense
output. Its compile time (tracing + XLA, the first call minus a warm one) is reported
apart from the warm time, and every timed call ends with ``block_until_ready`` (JAX
returns before the work is done). The table also checks that the answers are the same:
each solver's error against a float64 reference (torchdiffeq at rtol 1e-12), and
diffrax's difference from ours.

Threads: torch uses ``torch.get_num_threads()`` (``make bench`` sets OMP_NUM_THREADS=2);
JAX uses XLA's own CPU thread pool, which no setting of this jaxlib (0.10) narrows:
``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`` is accepted but a large matmul still
kept two cores busy. The title prints both counts. For one thread on both sides pin the
whole process to one core: ``OMP_NUM_THREADS=1 taskset -c 0 python -m benchmarks --only
compiled``.
"""

import math
import os
import time

import numpy as np
import torch
import torchdiffeq

import node_edu as ne

from .problems import Counted, SpiralMLP, best_times, initial_state, sync, table, times

try:
    import diffrax
    import jax
    import jax.numpy as jnp
except ImportError:  # an optional comparison
    diffrax = None

RTOL, ATOL = 1e-7, 1e-9
# Two float32 solutions of this problem agree to about this fraction of max |z|: rtol 1e-7
# is below float32's eps (1.2e-7), so rounding over ~30 steps dominates (measured: up to
# 3e-6 between any two of ours, torchdiffeq and diffrax, and against float64).
AGREE = 2e-5


def relative_difference(z, reference):
    """max |z - reference| / max |reference| (NaN where either is not finite)."""
    z, reference = torch.as_tensor(z).double(), torch.as_tensor(reference).double()
    if not (torch.isfinite(z).all() and torch.isfinite(reference).all()):
        return float("nan")
    return float((z - reference).abs().max() / reference.abs().max())


def agrees(difference):
    """True if a ``relative_difference`` is within ``AGREE`` (never for NaN)."""
    return bool(difference <= AGREE)


def empty_inductor_cache():
    """A context in which Inductor starts from an empty on-disk cache (a new temporary
    folder, its in-memory caches cleared): a compile timed in it is what a new problem
    costs the first time on a machine. PyTorch's own helper, private, so looked up under
    both names it has had; without either, an AttributeError (a "cold" time measured in a
    warm cache would be wrong, not merely missing)."""
    from torch._inductor import utils

    fresh = getattr(utils, "fresh_cache", None) or utils.fresh_inductor_cache
    return fresh()


def first_call_seconds(solve):
    """Wall time of ``solve()`` (one call), in seconds."""
    start = time.perf_counter()
    solve()
    return time.perf_counter() - start


def reference_solution(z0, t):
    """The float64 oracle: torchdiffeq's dopri5 at rtol 1e-12 on the same MLP (the same
    weights, upcast exactly) from the same z0."""
    with torch.no_grad():
        func = SpiralMLP(dtype=torch.float64, device=z0.device)
        return torchdiffeq.odeint(func, z0.double(), t.double(), rtol=1e-12, atol=1e-14)


def diffrax_solver(func, z0, t, on_call=None):
    """A no-argument callable solving ``func``'s problem with diffrax's Dopri5 under
    ``jax.jit``: the SpiralMLP's weights copied into JAX (float32), the same z0, output
    times and tolerances. Each call returns ``(ys, stats)`` once computed: ``ys``
    [len(t), *z0.shape] a JAX array, ``stats`` diffrax's dict (``num_accepted_steps``,
    ``num_rejected_steps``, ...). ``on_call``: called from the compiled code at every
    evaluation of the vector field (to count them; slow, never in a timed solve)."""
    w1, b1, w2, b2 = (
        jnp.asarray(p.detach().cpu().numpy())
        for p in (func.l1.weight, func.l1.bias, func.l2.weight, func.l2.bias)
    )

    def vector_field(t, z, args):  # SpiralMLP.forward: l2(tanh(l1(z)))
        if on_call is not None:
            jax.debug.callback(on_call)
        return jnp.tanh(z @ w1.T + b1) @ w2.T + b2

    ts = jnp.asarray(t.cpu().numpy())

    @jax.jit
    def solve(y0):
        solution = diffrax.diffeqsolve(
            diffrax.ODETerm(vector_field), diffrax.Dopri5(), t0=ts[0], t1=ts[-1], dt0=None,
            y0=y0, saveat=diffrax.SaveAt(ts=ts), max_steps=100_000,
            stepsize_controller=diffrax.PIDController(rtol=RTOL, atol=ATOL),
        )  # fmt: skip
        return solution.ys, solution.stats

    y0 = jnp.asarray(z0.cpu().numpy())
    return lambda: jax.block_until_ready(solve(y0))


def diffrax_nfe(func, z0, t):
    """How many times diffrax's solve evaluates the vector field (counted as it runs)."""
    calls = []
    diffrax_solver(func, z0, t, on_call=lambda: calls.append(1))()
    jax.effects_barrier()  # every callback has run
    return len(calls)


def calls_per_timing(fn, device="cpu", at_least=5e-3):
    """How many back-to-back calls of ``fn`` one timing needs to last ``at_least`` seconds.
    A solve much shorter than that (diffrax's at batch 1 takes about 0.1 ms), timed once
    right after another solver's, would be timed cold: its code and data out of the
    caches, its threads asleep (measured: 3x slower)."""
    fn()
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return max(1, math.ceil(at_least / (time.perf_counter() - start)))


def measure(batch, device="cpu", repeats=10):
    func = SpiralMLP(device=device)
    z0, t = initial_state(batch, device=device), times(10, device=device)
    stats, compiled_stats = ne.SolverStats(), ne.SolverStats()
    counted, kw = Counted(func), dict(rtol=RTOL, atol=ATOL)
    with torch.no_grad():
        with empty_inductor_cache():  # cold: nothing compiled before, on disk or in memory
            first = first_call_seconds(
                lambda: ne.solvers.compiled_odeint(func, z0, t, stats=compiled_stats, **kw)
            )
            # Close to what a later process pays: traced again, Inductor's code cached.
            torch._dynamo.reset()
            ne.solvers.compiled.compile_step.cache_clear()
            first_from_disk = first_call_seconds(
                lambda: ne.solvers.compiled_odeint(func, z0, t, **kw)
            )
        z_compiled = ne.solvers.compiled_odeint(func, z0, t, **kw)
        z_eager = ne.odeint(func, z0, t, stats=stats, **kw)
        z_td = torchdiffeq.odeint(counted, z0, t, **kw)
        solvers = [
            lambda: ne.odeint(func, z0, t, **kw),
            lambda: ne.solvers.compiled_odeint(func, z0, t, **kw),
            lambda: torchdiffeq.odeint(func, z0, t, **kw),
        ]
        with_diffrax = diffrax is not None and device == "cpu"
        if with_diffrax:
            solvers.append(diffrax_solver(func, z0, t))
            start = time.perf_counter()
            z_diffrax, diffrax_stats = solvers[-1]()
            diffrax_first = time.perf_counter() - start
        t0 = t[0]
        numbers = [stats.nfe] + [calls_per_timing(solve, device) for solve in solvers]
        bare, eager, compiled, td, *dx = best_times(
            [lambda: func(t0, z0), *solvers], repeats, device, number=numbers
        )
    row = {
        "batch": batch, "bare_us": bare * 1e6, "nfe": stats.nfe, "td_nfe": counted.calls,
        "eager_ms": eager * 1e3, "compiled_ms": compiled * 1e3, "td_ms": td * 1e3,
        "compile_s": first - compiled, "compile_disk_s": first_from_disk - compiled,
        "eager_ratio": eager / (stats.nfe * bare), "compiled_ratio": compiled / (stats.nfe * bare),
        "td_ratio": td / (counted.calls * bare),
        "accepted": stats.n_accepted, "rejected": stats.n_rejected,
        "compiled_accepted": compiled_stats.n_accepted,
        "compiled_rejected": compiled_stats.n_rejected, "compiled_nfe": compiled_stats.nfe,
    }  # fmt: skip
    if with_diffrax:  # its time, compile time (tracing + XLA), steps, and the answers' errors
        row.update({
            "diffrax_ms": dx[0] * 1e3, "diffrax_compile_s": diffrax_first - dx[0],
            "diffrax_accepted": int(diffrax_stats["num_accepted_steps"]),
            "diffrax_rejected": int(diffrax_stats["num_rejected_steps"]),
            "diffrax_nfe": diffrax_nfe(func, z0, t),
        })  # fmt: skip
        z_diffrax = torch.from_numpy(np.array(z_diffrax))
        reference = reference_solution(z0, t)
        answers = {"eager": z_eager, "compiled": z_compiled, "td": z_td, "diffrax": z_diffrax}
        for name, z in answers.items():
            row[f"{name}_error"] = relative_difference(z, reference)
        row["diffrax_vs_ours"] = relative_difference(z_diffrax, z_eager)
        row["diffrax_vs_td"] = relative_difference(z_diffrax, z_td)
    return row


def diffrax_table(rows):
    """The second table: diffrax against the compiled solver, with the checks that the two
    solve the same problem (steps, evaluations, errors against float64)."""
    headers = [
        "batch", "compiled (ms)", "diffrax (ms)", "compiled / diffrax", "eager / diffrax",
        "compile, cold: compiled / diffrax (s)",
        "steps accepted+rejected: eager / compiled / diffrax",
        "nfe: eager / compiled / diffrax",
        "error vs float64: eager / compiled / torchdiffeq / diffrax",
        "diffrax vs ours / torchdiffeq", "agree",
    ]  # fmt: skip
    body = [
        [
            r["batch"],
            f"{r['compiled_ms']:.2f}",
            f"{r['diffrax_ms']:.2f}",
            f"**{r['compiled_ms'] / r['diffrax_ms']:.1f}x**",
            f"{r['eager_ms'] / r['diffrax_ms']:.1f}x",
            f"{r['compile_s']:.1f} / {r['diffrax_compile_s']:.1f}",
            f"{r['accepted']}+{r['rejected']} / {r['compiled_accepted']}+"
            f"{r['compiled_rejected']} / {r['diffrax_accepted']}+{r['diffrax_rejected']}",
            f"{r['nfe']} / {r['compiled_nfe']} / {r['diffrax_nfe']}",
            " / ".join(f"{r[k + '_error']:.1e}" for k in ("eager", "compiled", "td", "diffrax")),
            f"{r['diffrax_vs_ours']:.1e} / {r['diffrax_vs_td']:.1e}",
            "yes" if agrees(r["diffrax_vs_ours"]) and agrees(r["diffrax_vs_td"]) else "**NO**",
        ]  # fmt: skip
        for r in rows
    ]
    title = (
        f"#### 6b. Against diffrax {diffrax.__version__} (jax {jax.__version__}, the whole "
        "solve under jax.jit; the same weights, z0, output times and tolerances)\n\n"
        "Target: compiled within 3x of diffrax at batch 64 and 1024. Errors and 'diffrax "
        "vs' are max |difference| / max |z| over all outputs; 'agree' when both 'diffrax vs' "
        f"are within {AGREE:.0e} (float32 rounding). Threads: torch {torch.get_num_threads()}, "
        f"JAX its own pool; cores available: {len(os.sched_getaffinity(0))}.\n\n"
    )
    return title + table(headers, body)


def run(device="cpu", batches=(1, 64, 1024), repeats=10):
    rows = [measure(b, device, repeats) for b in batches]
    headers = [
        "batch", "bare eval (us)", "nfe", "eager (ms)", "overhead", "compiled (ms)", "overhead",
        "eager / compiled", "torchdiffeq (ms)", "overhead", "torchdiffeq / compiled",
        "compile (s): cold / cache warm",
    ]  # fmt: skip
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
            f"{r['compile_s']:.1f} / {r['compile_disk_s']:.1f}",
        ]  # fmt: skip
        for r in rows
    ]
    with_diffrax = "diffrax_ms" in rows[0]
    title = (
        f"### 6. The opt-in compiled solver ({device}, dopri5, float32, rtol {RTOL}, atol "
        f"{ATOL}, 10 output times, no_grad)\n\n`ne.solvers.compiled_odeint` compiles one whole "
        "step with torch.compile. Compile time = the first call minus a warm one, paid once "
        "per problem shape: 'cold' from an empty Inductor cache (a new problem on a new "
        "machine; the first row also pays Inductor's once-per-process start on an empty "
        "cache, which a trivial function's first compile costs as well), 'cache warm' traced "
        "again after `torch._dynamo.reset()` with Inductor's compiled code cached. Overhead = "
        "time / (nfe x one bare eager evaluation)."
        + (
            ""
            if with_diffrax or device != "cpu"
            else " diffrax is not installed: its table is left out (`make bench "
            "BENCH_EXTRAS=bench,diffrax` includes it)."
        )
        + "\n\n"
    )
    text = title + table(headers, body)
    if with_diffrax:
        text += "\n\n" + diffrax_table(rows)
    return text, rows


if __name__ == "__main__":
    print(run()[0])
