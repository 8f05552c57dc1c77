"""Lesson 04: what autograd stores, and the drift of z reconstructed backwards in time.

* (The byte counts of what autograd keeps live in ``node_edu.adjoint.memory``.)
* ``DriftWidget``: on a contracting linear system dz/dt = A z, the forward z(t), the z(t)
  recomputed backwards from z(t1) (what ``adjoint="backsolve"`` does), and the error of
  dL/dA from both adjoints against the exact gradient (autograd through
  ``torch.linalg.matrix_exp``).
"""

import math

import ipywidgets as W
import torch

from node_edu import viz
from node_edu.adjoint import odeint_adjoint
from node_edu.solvers import SolverStats, odeint
from node_edu.widgets.base import WhenRested


class DriftWidget:
    """Lesson 04: reverse-time reconstruction of z on a contracting system dz/dt = A z.

    Forward in time the eigenvalues of A (all with negative real part) damp every
    component; backwards in time they amplify, so any error made while recomputing z
    backwards (``adjoint="backsolve"``) grows like exp(|lambda| (t1 - t)). The loss is
    L = |z(t1)|^2 and its exact gradient dL/dA comes from autograd through
    ``torch.linalg.matrix_exp`` (independent of the solvers).

    Figure ``fig``: |z_k(t)| on a log axis, forward solve (traces 0..n-1, solid) and z
    recomputed backwards from the forward z(t1) with the same tolerance (traces n..2n-1,
    dashed). Figure ``fig_error``: max |dL/dA - exact| for backsolve and checkpoint
    (trace 0, bars; a zero error is drawn as nothing on the log axis).

    ``update(t1=None, log10_rtol=None)`` (atol = rtol / 100) computes everything at once;
    after it: ``ts`` [M], ``z_forward`` and ``z_backward`` [M, n], ``drift``
    {"backsolve", "checkpoint"}: the library's ``stats.backward.drift[0]``, ``grad_error``
    {"backsolve", "checkpoint"}, ``exact_grad`` [n, n].

    Moving a slider in JupyterLab redraws the curves at once (two plain solves, tens of
    milliseconds) and the gradient bars once the slider has rested for ``SETTLE_S``
    seconds: the two adjoint solves behind them are one VJP per evaluation and take up to
    a second at rtol 1e-10, too slow to repeat for every value a drag passes. Until they
    are in, ``pending`` is True and ``drift`` and ``grad_error`` are None. Outside a
    running event loop (a script, a test) a slider move computes both at once.
    """

    MODES = ("backsolve", "checkpoint")
    SETTLE_S = 0.25  # how long a slider rests before the adjoints are solved

    def __init__(self, A, z0, *, t1=3.0, log10_rtol=-6.0, n_plot=61):
        if not isinstance(A, torch.Tensor) or A.dim() != 2 or A.shape[0] != A.shape[1]:
            raise TypeError(f"A must be a square matrix tensor [n, n], got {A!r}")
        if not isinstance(z0, torch.Tensor) or z0.shape != A.shape[:1]:
            raise ValueError(
                f"z0 must be a tensor of shape [{A.shape[0]}] (A is {tuple(A.shape)}), got {z0!r}"
            )
        if int(n_plot) < 2:
            raise ValueError(f"n_plot must be at least 2, got {n_plot!r}")
        self.A = A.detach().to(z0.dtype)
        self.z0 = z0.detach()
        self.n_plot = int(n_plot)
        n = self.z0.numel()
        self.fig = viz.figure("|z_k(t)|: forward vs recomputed backwards", "t", "|z_k|", log_y=True)
        for k in range(n):
            self.fig.add_scatter(x=[], y=[], mode="lines", name=f"forward z{k}")
        for k in range(n):
            self.fig.add_scatter(
                x=[], y=[], mode="lines", line=dict(dash="dash"), name=f"backwards z{k}"
            )
        self.fig_error = viz.figure(
            "gradient error max|dL/dA - exact|", "adjoint", "error", height=300, log_y=True
        )
        self.fig_error.add_bar(x=[], y=[])
        self.t1_slider = W.FloatSlider(value=t1, min=0.5, max=4.0, step=0.25, description="t1")
        self.rtol_slider = W.FloatSlider(
            value=log10_rtol, min=-10.0, max=-3.0, step=0.5, description="log10 rtol"
        )
        self.label = W.HTML()
        self._syncing = False
        self._curves = {}  # (t1, log10_rtol) -> what _solve_curves returned
        self._gradients = {}  # (t1, log10_rtol) -> what _solve_gradients returned
        self.rested = WhenRested(self.SETTLE_S)  # runs the adjoints once a slider rests
        self.pending = False
        self.t1_slider.observe(lambda c: self._moved(t1=c["new"]), names="value")
        self.rtol_slider.observe(lambda c: self._moved(log10_rtol=c["new"]), names="value")
        self.widget = viz.panel(
            [W.HBox([self.t1_slider, self.rtol_slider]), self.label, self.fig, self.fig_error]
        )
        self.update(t1, log10_rtol)

    def field(self, A):
        return lambda t, z: A @ z

    def update(self, t1=None, log10_rtol=None):
        """Recompute for end time ``t1`` in [0.5, 4] and rtol = 10**log10_rtol, log10_rtol
        in [-10, -3] (the sliders' ranges): curves and gradients, both at once."""
        if self._syncing:  # the sliders being moved by update itself
            return self
        key = self._key(t1, log10_rtol)
        self.rested.cancel()
        self._show_curves(key)
        self._show_gradients(key)
        self._set_sliders(key)
        return self

    def _moved(self, t1=None, log10_rtol=None):
        """A slider moved: the curves now, the gradients when the slider rests."""
        if self._syncing:
            return
        key = self._key(t1, log10_rtol)
        self._show_curves(key)
        self.rested.after_move(
            lambda: self._show_gradients(key),
            ready=key in self._gradients,
            waiting=lambda: self._show_waiting(key),
            on_error=self._failed,
        )

    def _failed(self, error):
        self.label.value = f"the adjoint solves failed: {type(error).__name__}: {error}"

    def _key(self, t1, log10_rtol):
        """The sliders' values, checked: (t1, log10_rtol) as floats."""
        t1 = self.t1_slider.value if t1 is None else t1
        log10_rtol = self.rtol_slider.value if log10_rtol is None else log10_rtol
        if isinstance(t1, bool) or not isinstance(t1, (int, float)) or not 0.5 <= t1 <= 4:
            raise ValueError(f"t1 must be a number in [0.5, 4], got {t1!r}")
        if (
            isinstance(log10_rtol, bool)
            or not isinstance(log10_rtol, (int, float))
            or not -10 <= log10_rtol <= -3
        ):
            raise ValueError(f"log10_rtol must be a number in [-10, -3], got {log10_rtol!r}")
        return float(t1), float(log10_rtol)

    def _set_sliders(self, key):
        self._syncing = True
        try:
            self.t1_slider.value, self.rtol_slider.value = key
        finally:
            self._syncing = False

    def _show_curves(self, key):
        if key not in self._curves:  # the same numbers each time: computed once per value
            self._curves[key] = self._solve_curves(*key)
        self.ts, self.z_forward, self.z_backward = self._curves[key]
        n = self.z0.numel()
        ts = self.ts.tolist()
        with self.fig.batch_update():
            for k in range(n):
                for trace, z in ((k, self.z_forward), (n + k, self.z_backward)):
                    self.fig.data[trace].x = ts
                    self.fig.data[trace].y = [_positive(v) for v in z[:, k].abs().tolist()]

    def _show_waiting(self, key):
        self.pending, self.drift, self.grad_error = True, None, None
        t1, log10_rtol = key
        self.fig_error.data[0].marker.opacity = 0.3  # the bars of the previous values
        self.label.value = (
            f"t1 = {t1:g}, rtol = {10.0**log10_rtol:.0e}: the adjoint solves start when the "
            "slider rests..."
        )

    def _show_gradients(self, key):
        if key not in self._gradients:
            self._gradients[key] = self._solve_gradients(*key)
        self.exact_grad, self.drift, self.grad_error = self._gradients[key]
        self.pending = False
        # x goes with y: a trace first shown with x but no y lost its x in the browser
        self.fig_error.data[0].update(
            x=list(self.MODES),
            y=[_positive(self.grad_error[m]) for m in self.MODES],
            marker_opacity=1.0,
        )
        t1, log10_rtol = key
        self.label.value = (
            f"t1 = {t1:g}, rtol = {10.0**log10_rtol:.0e}: drift of z(t0) recomputed backwards "
            f"{self.drift['backsolve']:.2e} (backsolve), {self.drift['checkpoint']:.0e} "
            f"(checkpoint); gradient error {self.grad_error['backsolve']:.2e} vs "
            f"{self.grad_error['checkpoint']:.2e}"
        )

    def _tolerances(self, log10_rtol):
        rtol = 10.0**log10_rtol
        return dict(rtol=rtol, atol=rtol / 100)

    def _solve_curves(self, t1, log10_rtol):
        """z(t) forward, and recomputed backwards from z(t1) as backsolve does (there with a)."""
        tol = self._tolerances(log10_rtol)
        ts = torch.linspace(0.0, t1, self.n_plot, dtype=self.z0.dtype, device=self.z0.device)
        f = self.field(self.A)
        z_forward = odeint(f, self.z0, ts, **tol)
        z_backward = odeint(f, z_forward[-1], ts.flip(0), **tol).flip(0)
        return ts, z_forward, z_backward

    def _solve_gradients(self, t1, log10_rtol):
        """The exact dL/dA, and both adjoints' drift and gradient error."""
        tol = self._tolerances(log10_rtol)
        dtype, device = self.z0.dtype, self.z0.device
        A = self.A.clone().requires_grad_(True)
        z1 = torch.linalg.matrix_exp(A * t1) @ self.z0
        (exact_grad,) = torch.autograd.grad(z1.pow(2).sum(), A)
        t = torch.tensor([0.0, t1], dtype=dtype, device=device)
        drift, grad_error = {}, {}
        for mode in self.MODES:
            A = self.A.clone().requires_grad_(True)
            stats = SolverStats()
            z = odeint_adjoint(self.field(A), self.z0, t, params=[A], adjoint=mode, stats=stats,
                               **tol)  # fmt: skip
            (grad,) = torch.autograd.grad(z[-1].pow(2).sum(), A)
            drift[mode] = stats.backward.drift[0]
            grad_error[mode] = (grad - exact_grad).abs().max().item()
        return exact_grad, drift, grad_error


def _positive(v):
    """A value a log axis can draw: plotly skips None (zero, negative or not finite)."""
    return v if v > 0 and math.isfinite(v) else None
