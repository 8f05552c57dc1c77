"""Target 4: peak resident memory of odeint_adjoint against backprop through the solver,
fixed rk4 steps from 100 to 10,000, each measurement in a fresh subprocess.

The worker solves the spiral MLP (batch 64, float32) over t in [0, 1] with step_size
1/steps and 10 output times, runs backward, and prints ``resource.getrusage``'s peak RSS
(ru_maxrss) before and after. Backprop keeps every step's graph; the adjoint keeps the
outputs only. Run ``python -m benchmarks.memory`` for the table.
"""

import json
import os
import resource
import subprocess
import sys

from .problems import table

STEPS = (100, 1_000, 10_000)
MODES = ("odeint_adjoint", "checkpoint", "backprop", "torchdiffeq_adjoint")


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def worker(mode, steps):
    import torchdiffeq

    import node_edu as ne

    from .problems import SpiralMLP, initial_state, times

    func = SpiralMLP()
    z0 = initial_state(64).requires_grad_(True)
    t = times(10) / 10.0  # [0, 1]
    # warm up every code path on a tiny solve, so the baseline includes torch's own memory
    for solver in (ne.odeint, ne.odeint_adjoint):
        solver(func, z0, t, method="rk4", step_size=0.5).sum().backward()
    baseline = _peak_mb()
    kw = dict(method="rk4")
    if mode == "odeint_adjoint":
        z = ne.odeint_adjoint(func, z0, t, step_size=1.0 / steps, **kw)
    elif mode == "checkpoint":  # keeps one state per step: grows, but far below backprop
        z = ne.odeint_adjoint(func, z0, t, step_size=1.0 / steps, adjoint="checkpoint", **kw)
    elif mode == "backprop":
        z = ne.odeint(func, z0, t, step_size=1.0 / steps, **kw)
    else:
        z = torchdiffeq.odeint_adjoint(func, z0, t, options=dict(step_size=1.0 / steps), **kw)
    z.square().sum().backward()
    print(json.dumps({"baseline_mb": baseline, "peak_mb": _peak_mb()}))


def measure(mode, steps):
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "--worker", mode, str(steps)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(steps_list=STEPS):
    results = {(m, s): measure(m, s) for m in MODES for s in steps_list}
    headers = ["rk4 steps"] + [f"{m}: peak RSS MB (+ over baseline)" for m in MODES]
    body = []
    for s in steps_list:
        row = [s]
        for m in MODES:
            r = results[m, s]
            row.append(f"{r['peak_mb']:.0f} (+{r['peak_mb'] - r['baseline_mb']:.0f})")
        body.append(row)
    first, last = steps_list[0], steps_list[-1]
    growth = (
        results["odeint_adjoint", last]["peak_mb"] / results["odeint_adjoint", first]["peak_mb"]
    )
    bp_growth = results["backprop", last]["peak_mb"] / results["backprop", first]["peak_mb"]
    verdict = "ok" if growth <= 1.10 and bp_growth > 1.10 else "MISSED (flat within 10%)"
    text = (
        "### 4. Peak resident memory (cpu, rk4 fixed steps, float32, batch 64, "
        "forward + backward, one subprocess per cell)\n\n"
        + table(headers, body)
        + f"\n\nodeint_adjoint peak {last} steps / {first} steps: **{growth:.3f}x**; "
        f"backprop: {bp_growth:.2f}x. Target (adjoint flat within 10%): {verdict}."
    )
    return text, {"adjoint_growth": growth, "backprop_growth": bp_growth, "raw": {
        f"{m}/{s}": r for (m, s), r in results.items()}}  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]))
    else:
        print(run()[0])
