"""Lesson 05 (the adjoint's initial condition): the adjoint read off ``ne.odeint_adjoint``,
its jumps at observation times drawn against the exact answer, and the gap between
discretise-then-optimise and optimise-then-discretise.

* ``adjoint_by_segments``: a(t) = dL/dz(t) at chosen times, from ``ne.odeint_adjoint``
  alone: the solve is cut into segments and autograd reports the gradient reaching each
  cut (the upstream gradient of the segment before it). At an observation time it gives
  both sides of the jump.
* ``JumpWidget``: for dz/dt = A z and the mean loss over observation times, the exact a(t)
  (``node_edu.linear.LinearODE``) with its jumps, and the numbers from
  ``ne.odeint_adjoint`` on top.
* ``euler_gap`` / ``gap_figure``: |dL/dz0 by backprop through N Euler steps - the exact
  continuous dL/dz0| against h, and its log-log slope (1: the gap is O(h)).

Conventions (``node_edu.linear``): L = c sum_i |z(t_i) - y_i|^2 with c = 1/m ("mean"); the
adjoint jumps UP by dL/dz(t_i) = 2 c (z(t_i) - y_i) when going backwards past t_i; a(t_i^-)
includes the jump, a(t_i^+) does not.
"""

from typing import NamedTuple

import ipywidgets as W
import numpy as np
import torch

from node_edu import viz
from node_edu.adjoint import odeint_adjoint
from node_edu.linear import LinearODE
from node_edu.widgets.base import WhenRested
from node_edu.widgets.lesson03 import loglog_slope

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def _check_times(times, t0, t1, name="times"):
    times = [float(t) for t in times]
    if not times:
        raise ValueError(f"{name}: expected at least one observation time, got none")
    if any(b <= a for a, b in zip(times, times[1:], strict=False)):
        raise ValueError(f"{name}: expected strictly increasing times, got {times}")
    if times[0] <= t0 or times[-1] > t1:
        raise ValueError(f"{name}: expected times in (t0, t1] = ({t0}, {t1}], got {times}")
    return times


def adjoint_by_segments(func, z0, grid, times, targets, **solver_options):
    """a(t) = dL/dz(t) at every time of ``grid``, from ``ne.odeint_adjoint`` segment by segment.

    The loss is the mean over observations, L = (1/m) sum_i |z(t_i) - y_i|^2. The solve
    from grid[0] to grid[-1] is cut at every grid time; each piece is one
    ``odeint_adjoint`` call whose output feeds the next. After ``L.backward()`` the
    gradient autograd delivers to the state at a cut is dL/dz there: exactly the
    ``grad_output`` the later segment hands to the earlier one, i.e. the initial condition
    of the earlier segment's adjoint solve.

    Args:
        func: ``func(t, z)``, the vector field.
        z0: the state at grid[0], shape [n] (its dtype and device are followed).
        grid: increasing times [K], starting at t0; every observation time must be in it.
        times: observation times t_1 < ... < t_m, each in grid[1:].
        targets: y_i, shape [m, n].
        solver_options: passed to ``odeint_adjoint`` (rtol, atol, method, ...).

    Returns a dict of float64 CPU tensors (whatever z0's device): ``"grid"`` [K];
    ``"a_minus"`` [K, n] = a(s^-), the total dL/dz(s) (the jump at s included);
    ``"a_plus"`` [K, n] = a(s^+), what reaches s from later times only; ``"jumps"`` [m, n]
    = a(t_i^-) - a(t_i^+); ``"z"`` [K, n]; ``"loss"`` a 0-dim tensor.
    """
    grid = [float(s) for s in grid]
    if len(grid) < 2 or any(b <= a for a, b in zip(grid, grid[1:], strict=False)):
        raise ValueError(f"grid: expected at least 2 strictly increasing times, got {grid}")
    times = _check_times(times, grid[0], grid[-1])
    missing = [t for t in times if t not in grid]
    if missing:
        raise ValueError(f"times: every observation time must be a grid time; {missing} are not")
    targets = torch.as_tensor(targets, dtype=z0.dtype, device=z0.device)
    if targets.shape != (len(times), z0.numel()):
        raise ValueError(
            f"targets: expected shape ({len(times)}, {z0.numel()}) (one target per time), "
            f"got {tuple(targets.shape)}"
        )
    z = z0.detach().clone().requires_grad_(True)
    states, inputs = [z], [z]  # z(s) at each cut, and the tensor the next segment starts from
    for s, s_next in zip(grid, grid[1:], strict=False):
        start = states[-1].clone()  # a separate node: its .grad is a(s^+) alone
        start.retain_grad()
        inputs[-1] = start
        pair = torch.tensor([s, s_next], dtype=z0.dtype, device=z0.device)
        z = odeint_adjoint(func, start, pair, **solver_options)[-1]
        z.retain_grad()
        states.append(z)
        inputs.append(z)
    observed = torch.stack([states[grid.index(t)] for t in times])
    loss = (observed - targets).pow(2).sum(dim=1).mean()
    loss.backward()

    def grad_or_zero(x):
        return torch.zeros_like(x) if x.grad is None else x.grad.detach()

    def plain(x):  # results on the CPU in float64: for plots and comparisons
        return x.detach().to("cpu", torch.float64)

    a_minus = plain(torch.stack([grad_or_zero(x) for x in states]))
    a_plus = torch.stack([grad_or_zero(x) for x in inputs[:-1]] + [torch.zeros_like(z0)])
    a_plus = plain(a_plus)
    jumps = torch.stack([a_minus[grid.index(t)] - a_plus[grid.index(t)] for t in times])
    return {
        "grid": torch.tensor(grid, dtype=torch.float64),
        "a_minus": a_minus,
        "a_plus": a_plus,
        "jumps": jumps,
        "z": plain(torch.stack(states)),
        "loss": plain(loss),
    }


def observation_times(m, t1):
    """m equally spaced observation times t1 k / m, k = 1..m, as exact-friendly floats."""
    if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 1:
        raise ValueError(f"m: expected an integer >= 1, got {m!r}")
    return [float(t1) * k / int(m) for k in range(1, int(m) + 1)]


def default_targets(times):
    """Data to fit: y(t) = (cos 2t, -sin 2t) / 2, rounded to 3 decimals (exact in SymPy)."""
    t = np.asarray(times, dtype=np.float64)
    return np.round(np.stack([np.cos(2 * t), -np.sin(2 * t)], axis=1) / 2, 3)


class _Args(NamedTuple):
    """JumpWidget's checked arguments; ``key`` (times, targets' bytes) names a result."""

    key: tuple
    times: list
    targets: np.ndarray
    shift: float


class JumpWidget:
    """Lesson 05: the adjoint of dz/dt = A z under the mean loss over observation times.

    a(t) is drawn exactly (``LinearODE.gradients(...).adjoint_on_grid``), jumps included as
    vertical segments at each t_i: traces 0..n-1, one per component. On top, markers with
    the values ``ne.odeint_adjoint`` gives at the plot's marker times
    (``adjoint_by_segments``): traces n..2n-1. Trace 2n marks the observation times on the
    time axis.

    ``update(m=None, shift=None, times=None, targets=None)``: m equally spaced observation
    times in (t0, t1] (a slider), or explicit ``times``; ``targets`` default to
    ``default_targets(times) + shift`` (a slider in [-1, 1]: every target moved by
    (shift, shift), so the residuals and with them the jumps change). After it: ``times``,
    ``targets`` [m, n], ``exact`` (the ``Gradients`` of ``LinearODE``), ``jumps_exact``
    [m, n] (float), ``numeric`` (the dict of ``adjoint_by_segments``), ``jumps_numeric``
    [m, n].

    Moving a slider in JupyterLab redraws the exact curve at once (tens of milliseconds)
    and the markers once the slider has rested for ``SETTLE_S`` seconds: they take one
    ``odeint_adjoint`` call per segment, about 0.1 s, too slow to repeat for every value a
    drag passes. Until they are in, ``pending`` is True and ``numeric`` and
    ``jumps_numeric`` are None. Outside a running event loop both are drawn at once.
    """

    SETTLE_S = 0.25  # how long a slider rests before the adjoint is solved

    def __init__(self, A, z0, *, t1=1.5, m=3, shift=0.0, n_markers=7, rtol=1e-9, atol=1e-11):
        if not isinstance(A, torch.Tensor) or A.dim() != 2 or A.shape[0] != A.shape[1]:
            raise TypeError(f"A: expected a square matrix tensor [n, n], got {A!r}")
        if not isinstance(z0, torch.Tensor) or z0.shape != A.shape[:1]:
            raise ValueError(
                f"z0: expected a tensor of shape [{A.shape[0]}] (A is {tuple(A.shape)}), got {z0!r}"
            )
        if isinstance(n_markers, bool) or not isinstance(n_markers, int) or n_markers < 2:
            raise ValueError(f"n_markers: expected an integer >= 2, got {n_markers!r}")
        self.A, self.z0 = A.detach().to(z0.dtype), z0.detach()
        self.t0, self.t1 = 0.0, float(t1)
        self.n_markers, self.tol = n_markers, dict(rtol=rtol, atol=atol)
        # the exact oracle, built once (SymPy keeps exp(At) for every update)
        self.system = LinearODE(self.A.cpu().tolist(), self.z0.cpu().tolist(), 0, self.t1)
        n = self.z0.numel()
        self.fig = viz.figure(
            "adjoint a(t) = dL/dz(t): exact (lines), ne.odeint_adjoint (markers)", "t", "a_k(t)"
        )
        for k in range(n):
            color = COLORS[k % len(COLORS)]
            self.fig.add_scatter(x=[], y=[], mode="lines", name=f"a{k} exact", line_color=color)
        for k in range(n):
            color = COLORS[k % len(COLORS)]
            self.fig.add_scatter(
                x=[], y=[], mode="markers", name=f"a{k} odeint_adjoint", marker_color=color
            )
        self.fig.add_scatter(
            x=[], y=[], mode="markers", name="observation t_i",
            marker=dict(symbol="line-ns-open", size=14, color="black"),
        )  # fmt: skip
        self.m_slider = W.IntSlider(value=m, min=1, max=5, description="m obs.")
        self.shift_slider = W.FloatSlider(
            value=shift, min=-1.0, max=1.0, step=0.1, description="target shift"
        )
        self.label = W.HTML()
        self._syncing = False
        self._exact = {}  # (times, targets) -> what _solve_exact returned
        self._numeric = {}  # (times, targets) -> what _solve_numeric returned
        self.rested = WhenRested(self.SETTLE_S)  # runs the adjoint once a slider rests
        self.pending = False
        self.m_slider.observe(lambda c: self._moved(m=c["new"]), names="value")
        self.shift_slider.observe(lambda c: self._moved(shift=c["new"]), names="value")
        self.widget = viz.panel([W.HBox([self.m_slider, self.shift_slider]), self.label, self.fig])
        self.update(m=m, shift=shift)

    def field(self, t, z):
        return self.A @ z

    def exact_curve(self, n_fine=121):
        return self._exact_curve(self.times, self.exact, self.jumps_exact, n_fine)

    def _exact_curve(self, times, exact, jumps_exact, n_fine=121):
        """The exact a(t) on [t0, t1] for plotting: (times [K], values [K, n]).

        Between two jumps, on (lo, hi], a(s) = sum_{t_j >= hi} exp(A^T (t_j - s)) g_j: one
        smooth piece, drawn from a(lo^+) to a(hi^-). Each t_i thus appears twice, once as
        a(t_i^-) (end of the piece before it in t) and once as a(t_i^+) = a(t_i^-) - g_i
        (start of the next piece), and plotly draws the jump as a vertical segment.
        """
        fine = np.linspace(self.t0, self.t1, n_fine)
        ends = [self.t0, *times] + ([self.t1] if times[-1] < self.t1 else [])
        xs, values = [], []
        for i, (lo, hi) in enumerate(zip(ends, ends[1:], strict=False)):
            s = np.array([lo, *fine[(fine > lo) & (fine < hi)], hi])
            a = exact.adjoint_on_grid(s)  # a(s^-): at s = lo it includes the jump at lo
            if i > 0:  # lo = t_{i}: start the piece at a(lo^+)
                a[0] -= jumps_exact[i - 1]
            xs += s.tolist()
            values.append(a)
        return xs, np.concatenate(values)

    def update(self, m=None, shift=None, times=None, targets=None):
        """Recompute and redraw everything at once (see the class docstring)."""
        if self._syncing:  # a slider being moved by update itself
            return self
        args = self._args(m, shift, times, targets)
        self.rested.cancel()
        self._show_exact(args)
        self._show_numeric(args)
        self._set_sliders(args)
        return self

    def _moved(self, m=None, shift=None):
        """A slider moved: the exact curve now, the markers when the slider rests."""
        if self._syncing:
            return
        args = self._args(m, shift, None, None)
        self._show_exact(args)
        self.rested.after_move(
            lambda: self._show_numeric(args),
            ready=args.key in self._numeric,
            waiting=self._show_waiting,
            on_error=self._failed,
        )

    def _failed(self, error):
        self.label.value = f"the adjoint solve failed: {type(error).__name__}: {error}"

    def _args(self, m, shift, times, targets):
        """The checked arguments of ``update`` as ``_Args``."""
        if times is None:
            m = self.m_slider.value if m is None else m
            times = observation_times(m, self.t1)
        times = _check_times(times, self.t0, self.t1)
        shift = self.shift_slider.value if shift is None else shift
        if isinstance(shift, bool) or not isinstance(shift, int | float) or abs(shift) > 1:
            raise ValueError(f"shift: expected a number in [-1, 1], got {shift!r}")
        n = self.z0.numel()
        if targets is None:
            targets = default_targets(times) + float(shift)
        targets = np.asarray(targets, dtype=np.float64)
        if targets.shape != (len(times), n):
            raise ValueError(
                f"targets: expected shape ({len(times)}, {n}), got {tuple(targets.shape)}"
            )
        return _Args((tuple(times), targets.tobytes()), times, targets, float(shift))

    def _set_sliders(self, args):
        self._syncing = True
        try:
            if len(args.times) <= self.m_slider.max:
                self.m_slider.value = len(args.times)
            self.shift_slider.value = args.shift
        finally:
            self._syncing = False

    def _show_exact(self, args):
        times = args.times
        if args.key not in self._exact:  # the same numbers each time: computed once per value
            self._exact[args.key] = self._solve_exact(times, args.targets)
        self.times, self.targets = times, args.targets
        self.exact, self.jumps_exact, (px, pa) = self._exact[args.key]
        n = self.z0.numel()
        with self.fig.batch_update():
            for k in range(n):
                self.fig.data[k].x, self.fig.data[k].y = px, pa[:, k].tolist()
            self.fig.data[2 * n].x, self.fig.data[2 * n].y = times, [0.0] * len(times)

    def _show_waiting(self):
        self.pending, self.numeric, self.jumps_numeric = True, None, None
        n = self.z0.numel()
        with self.fig.batch_update():
            for k in range(n):  # the markers of the previous values, dimmed
                self.fig.data[n + k].marker.opacity = 0.3
        self.label.value = (
            f"{len(self.times)} observation time(s): the markers (ne.odeint_adjoint) follow "
            "when the slider rests..."
        )

    def _show_numeric(self, args):
        if args.key not in self._numeric:
            self._numeric[args.key] = self._solve_numeric(args.times, args.targets)
        self.numeric, self.jumps_numeric = self._numeric[args.key]
        self.pending = False
        n = self.z0.numel()
        grid = self.numeric["grid"].tolist()
        with self.fig.batch_update():
            for k in range(n):
                self.fig.data[n + k].x = grid
                self.fig.data[n + k].y = self.numeric["a_minus"][:, k].tolist()
                self.fig.data[n + k].marker.opacity = 1.0
        worst = float(np.abs(self.jumps_numeric - self._exact[args.key][1]).max())
        self.label.value = (
            f"{len(args.times)} observation time(s); jumps dL/dz(t_i) = (2/m)(z(t_i) - y_i): "
            f"largest difference odeint_adjoint vs exact {worst:.1e}"
        )

    def _solve_exact(self, times, targets):
        """The exact adjoint (SymPy; dL/dA is not needed), its jumps and its curve."""
        exact = self.system.gradients(targets.tolist(), times=times, loss="mean",
                                      with_dA=False)  # fmt: skip
        jumps_exact = np.array([[float(x) for x in g] for g in exact.dLdz])
        return exact, jumps_exact, self._exact_curve(times, exact, jumps_exact)

    def _solve_numeric(self, times, targets):
        """The library's adjoint at the marker times and the observation times."""
        markers = np.linspace(self.t0, self.t1, self.n_markers).tolist()
        grid = sorted(set(markers) | set(times))
        numeric = adjoint_by_segments(self.field, self.z0, grid, times, targets, **self.tol)
        return numeric, numeric["jumps"].cpu().numpy()


def euler_gap(system, y, steps, times=None):
    """Discretise-then-optimise against optimise-then-discretise on a ``LinearODE``.

    For each N in ``steps``: dL/dz0 by exact backpropagation through N explicit Euler
    steps (``system.euler_gradients``), and its distance to the exact continuous dL/dz0
    (``system.gradients``), for the mean loss at ``times`` (default [t1]; each must be on
    every Euler grid). Returns ``{"steps": [N], "h": [h], "gap": [|dz0_N - dz0|],
    "slope": log-log slope of gap against h}``.
    """
    steps = [int(N) for N in steps]
    if len(steps) < 2 or min(steps) < 1:
        raise ValueError(f"steps: expected at least two integers >= 1, got {steps!r}")
    exact = system.gradients(y, times=times)
    dz0 = np.array([float(x) for x in exact.dz0])
    h, gap = [], []
    for N in steps:
        euler = system.euler_gradients(y, N, times=times)
        h.append(float((system.t1 - system.t0) / N))
        gap.append(float(np.linalg.norm(np.array([float(x) for x in euler.dz0]) - dz0)))
    return {"steps": steps, "h": h, "gap": gap, "slope": loglog_slope(h, gap)}


def gap_figure(table):
    """Log-log |dL/dz0 (Euler backprop) - dL/dz0 (exact)| against h; trace 0 the
    measurements, trace 1 a reference line of slope 1 through the first point."""
    fig = viz.figure(
        f"discretise-then-optimise vs exact adjoint: slope {table['slope']:.2f}",
        "step size h", "gradient gap", log_x=True, log_y=True,
    )  # fmt: skip
    h, gap = np.asarray(table["h"]), np.asarray(table["gap"])
    fig.add_scatter(x=h.tolist(), y=gap.tolist(), mode="lines+markers", name="|gap|")
    fig.add_scatter(
        x=h.tolist(), y=(gap[0] * h / h[0]).tolist(), mode="lines",
        line=dict(dash="dot", color="gray"), name="slope 1",
    )  # fmt: skip
    return fig
