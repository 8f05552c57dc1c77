"""Lesson 03 (ODE solvers): helpers, figures and the solver widget.

Everything here runs the library's own solver (``ne.odeint`` and the pieces in
``node_edu.solvers``); nothing re-implements a method. What is added is what a lesson
needs to *look at* a solver: the steps an adaptive solve took, a fixed-step run of any
tableau (dopri5's included), the stability function read off a Butcher tableau, log-log
slopes, and plotly figures of all of these.

Conventions: states and matrices are float64 tensors unless given otherwise; ``func(t,
z)`` follows ``ne.odeint`` (``t`` a 0-dim tensor, result of z's shape).
"""

import math
from dataclasses import dataclass, field

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch

from node_edu import viz
from node_edu.solvers import TABLEAUX, ButcherTableau, SolverStats, odeint
from node_edu.solvers.reference import explicit_rk_step  # the textbook step, re-exported

FIXED_METHODS = ("euler", "midpoint", "rk4")
COLORS = {"euler": "#d62728", "midpoint": "#ff7f0e", "rk4": "#2ca02c", "dopri5": "#1f77b4"}


def _tableau(method):
    if isinstance(method, ButcherTableau):
        return method
    if method not in TABLEAUX:
        raise ValueError(f"method: expected one of {tuple(TABLEAUX)}, got {method!r}")
    return TABLEAUX[method]


def _interval(t0, t1):
    t0, t1 = float(t0), float(t1)
    if not t1 > t0:
        raise ValueError(f"t1: expected t1 > t0 = {t0}, got t1 = {t1}")
    return t0, t1


# -- Butcher tableaux as data --------------------------------------------------------------


def tableau_rows(method):
    """The Butcher tableau of ``method`` as rows of strings, the way textbooks print it::

        c_i | a_i1 ... a_i,i-1
        ----+-----------------
            | b_1  ...  b_s

    Numbers are printed to 4 significant digits. Returns a list of str (join with "\\n").
    """
    tab = _tableau(method)
    s = tab.n_stages

    def fmt(x):
        return f"{x:.4g}"

    rows = []
    for c, a in zip(tab.c, tab.a, strict=True):
        rows.append([fmt(c), *[fmt(x) for x in a], *[""] * (s - len(a))])
    rows.append(["", *[fmt(x) for x in tab.b]])
    width = max(len(x) for row in rows for x in row)
    lines = [f"{row[0]:>{width}} | " + " ".join(f"{x:>{width}}" for x in row[1:]) for row in rows]
    lines.insert(len(lines) - 1, "-" * (width + 1) + "+" + "-" * (s * (width + 1) + 1))
    return lines


def stability_polynomial(method):
    """Coefficients of the stability function R(w) of an explicit Runge-Kutta method.

    One step on dz/dt = lambda z multiplies z by R(h lambda). With the tableau (A, b, c)
    and w = h lambda, R(w) = 1 + w b^T (I - w A)^{-1} 1, and since A is strictly lower
    triangular, (I - w A)^{-1} = sum_k (w A)^k, so R is the polynomial
    R(w) = 1 + sum_{k>=0} (b^T A^k 1) w^(k+1). Returns a float64 numpy array ``p`` with
    R(w) = sum_j p[j] w^j (length n_stages + 1; exact zeros kept).
    """
    tab = _tableau(method)
    s = tab.n_stages
    a = np.zeros((s, s))
    for i, row in enumerate(tab.a):
        a[i, : len(row)] = row
    b, power = np.asarray(tab.b), np.ones(s)  # power = A^k 1
    coeffs = [1.0]
    for _ in range(s):
        coeffs.append(float(b @ power))
        power = a @ power
    return np.asarray(coeffs)


def stability_function(method, w):
    """R(w) (complex numpy array of w's shape): the growth factor of one step, w = h lambda.

    A step is stable for that eigenvalue when |R(w)| <= 1 (the region of absolute
    stability)."""
    p = stability_polynomial(method)
    return np.polynomial.polynomial.polyval(np.asarray(w, dtype=complex), p)


# -- running the library's solver and recording what it did ----------------------------------


def fixed_step_solve(func, z0, t0, t1, n_steps, method):
    """``n_steps`` equal steps of ``method`` from t0 to t1 (``explicit_rk_step``).

    Works for every tableau, dopri5's included (its 5th-order solution with the error
    control switched off), which is how lesson 03 measures dopri5's order. For euler,
    midpoint and rk4 it agrees with ``ne.odeint(func, z0, [t0, t1], method=...,
    step_size=(t1 - t0) / n_steps)``. Returns z(t1), a tensor of z0's shape.
    """
    _tableau(method)
    t0, t1 = _interval(t0, t1)
    if not isinstance(n_steps, int) or isinstance(n_steps, bool) or n_steps < 1:
        raise ValueError(f"n_steps: expected an integer >= 1, got {n_steps!r}")
    h, z = (t1 - t0) / n_steps, z0
    for n in range(n_steps):
        z = explicit_rk_step(method, func, t0 + n * h, z, h)
    return z


@dataclass
class StepLog:
    """The steps one adaptive (dopri5) solve took.

    ``t``, ``h``: start and size of each accepted step (lists of floats); ``z``: the state
    at each step's start (list of tensors), ``z1``: the state at t1; ``rejected_before``:
    for each accepted step, how many attempts were rejected just before it (at the same
    start time); ``stats``: the ``SolverStats`` of the solve.
    """

    t: list = field(default_factory=list)
    h: list = field(default_factory=list)
    z: list = field(default_factory=list)
    rejected_before: list = field(default_factory=list)
    z1: torch.Tensor | None = None
    stats: SolverStats = field(default_factory=SolverStats)

    @property
    def rejected_at(self):
        """Start times of the rejected attempts (one entry per rejection)."""
        return [t for t, r in zip(self.t, self.rejected_before, strict=True) for _ in range(r)]


def adaptive_steps(func, z0, t0, t1, *, rtol=1e-7, atol=1e-9, method="dopri5"):
    """Solve from t0 to t1 with ``ne.odeint`` (an adaptive ``method``: dopri5, bosh3,
    tsit5), recording each accepted step (``SolverStats(record_steps=True)``). Returns a
    :class:`StepLog`; ``log.z1`` is ``ne.odeint(...)[-1]``.
    """
    t0, t1 = _interval(t0, t1)
    log = StepLog(stats=SolverStats(record_steps=True))
    t = torch.tensor([t0, t1], dtype=z0.dtype, device=z0.device)
    log.z1 = odeint(func, z0, t, method=method, rtol=rtol, atol=atol, stats=log.stats)[-1]
    for t_start, h, y, rejected_before in log.stats.steps:
        log.t.append(t_start)
        log.h.append(h)
        log.z.append(y.view(z0.shape))
        log.rejected_before.append(rejected_before)
    return log


def loglog_slope(x, y):
    """Least-squares slope of log(y) against log(x): the p in y ~ C x^p."""
    x, y = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if x.shape != y.shape or x.size < 2:
        raise ValueError(
            f"x, y: expected two sequences of equal length >= 2, got {x.size}, {y.size}"
        )
    return float(np.polyfit(x, y, 1)[0])


def linear_flow(A, z0, ts):
    """exp(A (t - ts[0])) z0 at every t in ts (float64, torch.linalg.matrix_exp): [len(ts), n]."""
    ts = torch.as_tensor(ts, dtype=A.dtype)
    return torch.linalg.matrix_exp((ts - ts[0])[:, None, None] * A) @ z0


# -- figures ---------------------------------------------------------------------------


def convergence_figure(results):
    """Log-log error against step size. ``results``: {method: (step sizes, errors)}.

    One trace per method (markers+lines, named "<method> (slope p)")."""
    fig = viz.figure(
        "Error at t1 against step size", "step size h", "error", log_x=True, log_y=True
    )
    for method, (hs, errors) in results.items():
        fig.add_scatter(
            x=list(hs),
            y=list(errors),
            mode="lines+markers",
            name=f"{method} (slope {loglog_slope(hs, errors):.2f})",
            line=dict(color=COLORS.get(method)),
        )
    return fig


def stability_figure(methods=tuple(TABLEAUX), points=(), extent=4.0, n_grid=161):
    """Regions of absolute stability |R(w)| <= 1 in the complex w = h lambda plane.

    One contour trace per method (the curve |R(w)| = 1; the region is the inside that
    contains small negative w), then one marker trace for ``points`` (complex w values,
    e.g. h times the eigenvalues of A)."""
    x = np.linspace(-extent, 1.0, n_grid)
    y = np.linspace(-extent, extent, n_grid)
    w = x[None, :] + 1j * y[:, None]
    fig = viz.figure(
        "Regions of absolute stability |R(h\u03bb)| \u2264 1",
        "Re(h\u03bb)",
        "Im(h\u03bb)",
        height=420,
    )
    for method in methods:
        fig.add_trace(
            go.Contour(
                x=x,
                y=y,
                z=np.abs(stability_function(method, w)),
                name=method,
                showlegend=True,
                contours=dict(start=1.0, end=1.0, size=1.0, coloring="none"),
                showscale=False,
                line=dict(color=COLORS.get(method), width=2),
                hoverinfo="skip",
            )
        )
    pts = np.asarray(points, dtype=complex)
    fig.add_scatter(
        x=pts.real,
        y=pts.imag,
        mode="markers",
        name="h\u03bb",
        marker=dict(color="black", size=9, symbol="x"),
    )
    fig.update_yaxes(scaleanchor="x")
    return fig


def steps_figure(log):
    """Accepted step sizes along t (trace 0) and rejected attempts (trace 1) of a StepLog."""
    fig = viz.figure("dopri5: step size along t", "t", "step size h", log_y=True)
    fig.add_scatter(x=log.t, y=log.h, mode="lines+markers", name="accepted", line_shape="hv")
    rejected = [(t, h) for t, h, r in zip(log.t, log.h, log.rejected_before, strict=True) if r]
    fig.add_scatter(
        x=[t for t, _ in rejected],
        y=[h for _, h in rejected],
        mode="markers",
        name="rejected before this step",
        marker=dict(color="red", size=10, symbol="x"),
    )
    return fig


# -- the widget ------------------------------------------------------------------------


class SolverWidget:
    """Lesson 03: one method on a 2-D linear system dz/dt = A z, against the exact flow.

    Controls: a method dropdown, a step-size slider (euler, midpoint, rk4) and an rtol
    slider (the adaptive bosh3, dopri5, tsit5; atol = rtol / 1000). The figure (phase
    plane z_1, z_2) has trace 0 the exact flow exp(A t) z0 on a fine grid and trace 1 the
    solver's points: every grid point for a fixed step (joined by lines: a fixed-step
    method gives nothing between them), every accepted step for an adaptive method
    (markers, with trace 2 its dense output on the fine grid: the curve the solver itself
    defines between its steps; else empty).

    Attributes after ``update``: ``error`` (|z_numerical(t1) - z_exact(t1)|), ``nfe``,
    ``n_steps`` (accepted steps), ``fig``, ``widget`` (the box to display).
    """

    def __init__(
        self,
        A=((-0.1, -1.0), (1.0, -0.1)),
        z0=(1.0, 0.0),
        t1=10.0,
        method="rk4",
        step_size=0.5,
        rtol=1e-4,
    ):
        self.A = torch.as_tensor(A, dtype=torch.float64)
        self.z0 = torch.as_tensor(z0, dtype=torch.float64)
        if self.A.shape != (2, 2) or self.z0.shape != (2,):
            raise ValueError(
                f"A, z0: expected a 2 x 2 matrix and a 2-vector (a phase plane), got shapes "
                f"{tuple(self.A.shape)} and {tuple(self.z0.shape)}"
            )
        self.t0, self.t1 = _interval(0.0, t1)
        self.fine_t = torch.linspace(self.t0, self.t1, 400, dtype=torch.float64)
        fine = linear_flow(self.A, self.z0, self.fine_t)
        self.z_exact = linear_flow(self.A, self.z0, [self.t0, self.t1])[-1]
        self.fig = viz.figure("dz/dt = A z in the phase plane", "z\u2081", "z\u2082", height=420)
        self.fig.add_scatter(
            x=fine[:, 0].tolist(),
            y=fine[:, 1].tolist(),
            name="exact",
            line=dict(color="black", dash="dot"),
        )
        self.fig.add_scatter(x=[], y=[], mode="lines+markers", name="solver")
        self.fig.add_scatter(x=[], y=[], mode="lines", name="dense output", showlegend=False)
        self.fig.update_yaxes(scaleanchor="x")
        self.method = W.Dropdown(options=list(TABLEAUX), value=method, description="method")
        self.step = W.FloatLogSlider(
            value=step_size, base=10, min=-2, max=0.3, step=0.05, description="step h"
        )
        self.rtol = W.FloatLogSlider(
            value=rtol, base=10, min=-10, max=-1, step=0.5, description="rtol"
        )
        self.label = W.HTML()
        self._syncing = False  # True while update() moves the controls itself
        for control in (self.method, self.step, self.rtol):
            control.observe(self._on_change, names="value")
        self.widget = viz.panel([W.HBox([self.method, self.step, self.rtol]), self.label, self.fig])
        self.update(method, step_size, rtol)

    def update(self, method, step_size=None, rtol=None):
        """Solve with ``method`` (and ``step_size`` for fixed-grid methods, ``rtol`` for
        dopri5; None keeps the slider's value) and redraw trace 1."""
        _tableau(method)
        step_size = self.step.value if step_size is None else step_size
        rtol = self.rtol.value if rtol is None else rtol
        if method in FIXED_METHODS:
            if not (isinstance(step_size, int | float) and 0 < step_size <= self.t1 - self.t0):
                raise ValueError(
                    f"step_size: expected a number in (0, {self.t1 - self.t0}], got {step_size!r}"
                )
            n = math.ceil((self.t1 - self.t0) / step_size - 1e-9)
            grid = torch.tensor(
                [min(self.t0 + k * step_size, self.t1) for k in range(n + 1)], dtype=torch.float64
            )
            stats = SolverStats()
            points = odeint(self._f, self.z0, grid, method=method, stats=stats)
            self.nfe, self.n_steps = stats.nfe, stats.n_accepted
            text = f"h = {step_size:.3g}"
            dense = None
        else:
            if not (isinstance(rtol, int | float) and 0 < rtol < 1):
                raise ValueError(f"rtol: expected a number in (0, 1), got {rtol!r}")
            tol = dict(rtol=rtol, atol=rtol / 1000)
            log = adaptive_steps(self._f, self.z0, self.t0, self.t1, method=method, **tol)
            points = torch.stack([*log.z, log.z1])
            self.nfe, self.n_steps = log.stats.nfe, log.stats.n_accepted
            # the same steps, read between them by dopri5's interpolant (not counted above)
            dense = odeint(self._f, self.z0, self.fine_t, method=method, **tol)
            text = f"rtol = {rtol:.1e}, {log.stats.n_rejected} rejected"
        self.error = float(torch.linalg.vector_norm(points[-1] - self.z_exact))
        with self.fig.batch_update():
            self.fig.data[1].x, self.fig.data[1].y = points[:, 0].tolist(), points[:, 1].tolist()
            self.fig.data[1].name = method
            self.fig.data[1].mode = "lines+markers" if dense is None else "markers"
            color = COLORS.get(method, "#444444")  # any tableau
            self.fig.data[1].line.color = self.fig.data[2].line.color = color
            self.fig.data[2].update(
                x=[] if dense is None else dense[:, 0].tolist(),
                y=[] if dense is None else dense[:, 1].tolist(),
            )
        self.label.value = (
            f"{method}: {text}, {self.n_steps} steps, {self.nfe} evaluations "
            f"of f, error at t1 = {self.error:.2e}"
        )
        # Keep the controls in step with what is drawn (without triggering a redraw).
        self._syncing = True
        try:
            self.method.value = method
            self.step.value, self.rtol.value = step_size, rtol
        finally:
            self._syncing = False
        return self

    def _on_change(self, _change):
        # Observers only forward the controls' values; update() does the work.
        if not self._syncing:
            self.update(self.method.value, self.step.value, self.rtol.value)

    def _f(self, t, z):
        return self.A @ z
