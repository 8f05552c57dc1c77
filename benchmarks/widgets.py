"""Dashboards that answer at once: kernel-side time from a control's new value to the
figure's update, for every dashboard of every lesson, set up as its lesson sets it up.

Each control (slider, dropdown, toggle buttons) is moved across its whole range, one value
after the other (at most ``MAX_VALUES`` of them, evenly spread), as a student drags it;
each move is timed from ``control.value = v`` to its return (the observer runs ``update``,
which redraws the figure). Target: median <= 100 ms, worst <= 250 ms per control, on 2
cores. Moving on without a browser, no message is sent to a front end, so this is the
kernel's share of the delay a student sees.

Also the time to the first figure: in a fresh kernel, after ``import torch``, the seconds
for ``import node_edu`` and lesson 00's first dashboard displayed (target <= 0.5 s).

``python -m benchmarks.widgets`` prints the tables alone.
"""

import asyncio
import math
import statistics
import time

import ipywidgets as W
import numpy as np
import torch

from .problems import table

MAX_VALUES = 25
TARGET_MEDIAN_MS, TARGET_WORST_MS = 100.0, 250.0


def dashboards():
    """(lesson, name, factory) for every dashboard, with its lesson's arguments."""
    import node_edu.autodiff as ad
    from node_edu import widgets
    from node_edu.cnf import CNF, PlanarCNF
    from node_edu.data.spiral import spiral
    from node_edu.models.training import Trainer, VectorField

    f64 = torch.float64

    def finite_difference():
        return widgets.FiniteDifferenceWidget(
            lambda x1: np.log(x1) + x1 * 5.0 - math.sin(5.0), lambda x1: 1 / x1 + 5.0, x=2.0
        )

    def sweep():
        graph = ad.trace(
            lambda x1, x2: ad.log(x1) + x1 * x2 - ad.sin(x2), 2.0, 5.0, labels=["x1", "x2"]
        )
        return widgets.SweepWidget(graph)

    def drift():
        A = torch.tensor([[-1.0, -9.0], [0.0, -10.0]], dtype=f64)
        return widgets.DriftWidget(A, torch.tensor([1.0, 0.5], dtype=f64), t1=3.0)

    def jump():
        A = torch.tensor([[0.0, 1.0], [-2.0, -3.0]], dtype=f64)
        return widgets.JumpWidget(A, torch.tensor([1.0, 0.5], dtype=f64), t1=1.5, m=3)

    def training():
        torch.manual_seed(0)
        trainer = Trainer(VectorField(), spiral())
        w = widgets.TrainingWidget(trainer)
        trainer.train(30, every=15, callback=lambda tr: w.update(), progress=False)
        return w

    def flow():
        torch.manual_seed(0)
        cnf = CNF(PlanarCNF(dim=2, width=16, hidden=32).to(f64), method="rk4", step_size=0.125)
        return widgets.FlowWidget(cnf, lim=4.0, n=40, n_samples=300)

    def probes():
        torch.manual_seed(0)
        return widgets.ProbesWidget(torch.randn(2, 2, dtype=f64), n_probes=4, repeats=400)

    def regularisation():  # lesson 08's three trainings, shortened: the widget only shows them
        from node_edu.cnf import grid
        from node_edu.data.limits import circles
        from node_edu.models.augmented import ODEMap
        from node_edu.models.regularisation import fit

        x, y = circles(64, generator=torch.Generator().manual_seed(1))
        xs, pts, _ = grid(lim=2.0, n=41)
        pts = pts.to(torch.float32)
        histories, boundaries = {}, {}
        for weight in (0.0, 0.01, 0.1):
            torch.manual_seed(0)
            model = ODEMap(2, extra=1, hidden=16, readout=True,
                           solver=dict(method="dopri5", rtol=1e-4, atol=1e-6))  # fmt: skip
            histories[weight] = fit(model, x, y, n_iters=5, lr=0.03, weight=weight, progress=False)
            with torch.no_grad():
                boundaries[weight] = model(pts)[:, 0].reshape(41, 41)
        return widgets.RegularisationWidget(histories, boundaries=(xs, boundaries))

    def series():  # lesson 09's dashboard on untrained models: the same work per move
        from node_edu.data.series import damped_oscillations
        from node_edu.models.latent import LatentODE, RNNBaseline

        torch.manual_seed(0)
        test = damped_oscillations(64, 10, seed=1)
        return widgets.SeriesWidget(LatentODE(latent_dim=4, hidden=16), RNNBaseline(hidden=12),
                                    test, t_end=10.0)  # fmt: skip

    def classifier_flow():  # lesson 00's trained neural ODE, trained as the lesson does
        from node_edu.data.moons import labelled_moons
        from node_edu.models.classifier import ODEClassifier, fit

        x, y = labelled_moons(128, seed=0)
        torch.manual_seed(0)
        model = ODEClassifier(hidden=16)
        fit(model, x, y, progress=False)
        return widgets.ClassifierFlowWidget(model, x, y, t=0.0)

    return [
        ("00", "EulerStepsWidget", lambda: widgets.EulerStepsWidget(-2.0, 2.0, 4)),
        ("00", "ClassifierFlowWidget", classifier_flow),
        ("01", "FiniteDifferenceWidget", finite_difference),
        ("01", "SweepWidget", sweep),
        ("02", "JacobianCostWidget", lambda: widgets.JacobianCostWidget(n_out=16)),
        ("03", "SolverWidget", lambda: widgets.SolverWidget(method="euler", step_size=0.5)),
        ("04", "DriftWidget", drift),
        ("05", "JumpWidget", jump),
        ("06", "TrainingWidget", training),
        ("07", "FlowWidget", flow),
        ("07", "ProbesWidget", probes),
        ("08", "DepthWidget", lambda: widgets.DepthWidget(t1=3.0, depth=16)),
        ("08", "RegularisationWidget", regularisation),
        ("09", "SeriesWidget", series),
    ]


def values(control):
    """The values a student passes through moving ``control`` from end to end."""
    if isinstance(control, W.widgets.widget_selection._Selection):
        vals = [v for _, v in control._options_full]
    elif isinstance(control, W.FloatLogSlider):
        n = round((control.max - control.min) / control.step) + 1
        vals = [control.base ** (control.min + k * control.step) for k in range(n)]
    else:
        n = round((control.max - control.min) / control.step) + 1
        vals = [control.min + k * control.step for k in range(n)]
        vals = [type(control.value)(v) for v in vals]
    if len(vals) > MAX_VALUES:
        vals = [vals[round(k * (len(vals) - 1) / (MAX_VALUES - 1))] for k in range(MAX_VALUES)]
    return vals


def controls(dashboard):
    """(name, control) for every slider, dropdown and toggle of a dashboard."""
    kinds = (W.widgets.widget_selection._Selection, W.IntSlider, W.FloatSlider,
             W.FloatLogSlider)  # fmt: skip
    return [(k, v) for k, v in vars(dashboard).items() if isinstance(v, kinds)]


def time_control(control, dashboard):
    """Milliseconds for each move across the range (first visits), then for each move
    back across it (values seen before: a dashboard may show what it computed then).

    The moves run inside an event loop, as in a kernel. A dashboard that leaves heavy work
    until its slider rests (``pending`` True after the move) is waited for before the next
    move; each move's wait until ``pending`` clears (the timer's delay included) goes to
    ``settled``: (first, back, settled), settled empty for a dashboard that defers nothing.
    """
    return asyncio.run(_time_control(control, dashboard))


async def _time_control(control, dashboard):
    start = control.value
    path = values(control)
    out, settled = [], []
    for sweep in (path, [*reversed(path), start]):
        times = []
        for v in sweep:
            if v == control.value:
                continue
            t0 = time.perf_counter()
            control.value = v
            times.append(1e3 * (time.perf_counter() - t0))
            if getattr(dashboard, "pending", False):
                while dashboard.pending:
                    await asyncio.sleep(0.001)
                settled.append(1e3 * (time.perf_counter() - t0))
        out.append(times)
    return (*out, settled)


FIRST_FIGURE = """
import time
start = time.perf_counter()
import node_edu as ne
from node_edu.widgets import EulerStepsWidget
from IPython.display import display
display(EulerStepsWidget(lam=-2.0, t1=2.0, n_steps=4).widget)
print("SECONDS", time.perf_counter() - start)
"""


def first_figure(repeats=3):
    """Seconds from ``import node_edu`` to the first dashboard displayed, each in a fresh
    kernel that has imported torch already; the best of ``repeats`` kernels."""
    from jupyter_client.manager import start_new_kernel

    best = float("inf")
    for _ in range(repeats):
        km, kc = start_new_kernel(kernel_name="python3")
        try:
            kc.execute_interactive("import torch", timeout=120)
            out = []
            kc.execute_interactive(
                FIRST_FIGURE,
                timeout=120,
                output_hook=lambda m, out=out: out.append(m["content"].get("text", "")),
            )
            seconds = float("".join(out).split("SECONDS")[1])
            best = min(best, seconds)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return best


def run():
    """The tables (markdown) and the raw rows."""
    rows = []
    for lesson, name, factory in dashboards():
        dashboard = factory()
        for attr, control in controls(dashboard):
            first, back, settled = time_control(control, dashboard)
            if not first:
                continue
            rows.append(
                dict(
                    lesson=lesson,
                    dashboard=name,
                    control=attr,
                    moves=len(first),
                    median_ms=statistics.median(first),
                    worst_ms=max(first),
                    back_median_ms=statistics.median(back) if back else float("nan"),
                    back_worst_ms=max(back) if back else float("nan"),
                    settled_median_ms=statistics.median(settled) if settled else None,
                    settled_worst_ms=max(settled) if settled else None,
                )
            )
    body = [
        [r["lesson"], r["dashboard"], r["control"], r["moves"], f"{r['median_ms']:.1f}",
         f"{r['worst_ms']:.1f}",
         "yes" if r["median_ms"] <= TARGET_MEDIAN_MS and r["worst_ms"] <= TARGET_WORST_MS
         else "NO", f"{r['back_median_ms']:.1f}", f"{r['back_worst_ms']:.1f}",
         *((f"{r['settled_median_ms']:.0f}", f"{r['settled_worst_ms']:.0f}")
           if r["settled_median_ms"] is not None else ("-", "-"))]
        for r in rows
    ]  # fmt: skip
    text = (
        "## Dashboards: kernel time from a control's new value to the figure's update\n\n"
        f"Every control moved across its range (at most {MAX_VALUES} values), torch on "
        f'{torch.get_num_threads()} threads, then back across it ("back": values seen '
        f"before). Target: median <= {TARGET_MEDIAN_MS:.0f} ms and worst <= "
        f"{TARGET_WORST_MS:.0f} ms. A dashboard that draws its heavy part once the slider "
        'rests (lesson 04\'s gradient bars) is timed to its first redraw; "rested" is the '
        "time from the move to the rest drawn, the wait before it starts included.\n\n"
        + table(
            [
                "lesson",
                "dashboard",
                "control",
                "moves",
                "median ms",
                "worst ms",
                "on target",
                "back: median ms",
                "back: worst ms",
                "rested: median ms",
                "rested: worst ms",
            ],
            body,
        )  # fmt: skip
    )
    seconds = first_figure()
    text += (
        "\n\nTime to the first figure (fresh kernel, after `import torch`: `import node_edu` "
        f"and lesson 00's dashboard displayed), best of 3 kernels: {seconds:.2f} s "
        "(target <= 0.5 s)."
    )
    return text, {"controls": rows, "first_figure_s": seconds}


if __name__ == "__main__":
    print(run()[0])
