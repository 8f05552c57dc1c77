"""Lesson 07 (continuous normalizing flows): two widgets and a figure.

``FlowWidget`` shows a trained ``node_edu.cnf.CNF`` at an intermediate time t in
[t0, t1]: the density p_t on a grid (a heatmap, each grid point's log p_t by a backward
solve from t to t0) and base samples pushed forward from t0 to t. At t = t0 the heatmap
is the standard normal; at t = t1 it is the learned density. ``ProbesWidget`` shows the
spread of Hutchinson's trace estimate as the number of probes grows.
"""

import ipywidgets as W
import torch

from node_edu import viz
from node_edu.cnf import CNF, grid, sample_noise


def _check_cnf(cnf):
    if not isinstance(cnf, CNF):
        raise TypeError(f"cnf must be a node_edu.cnf.CNF, got {type(cnf).__name__}")


def density_pair_figure(xs, learned, target, titles=("learned q", "target exp(-U)/Z")):
    """Two heatmaps side by side on the grid ``xs`` [n]: ``learned`` and ``target`` [n, n]
    (rows = z2). Trace 0 is ``learned``, trace 1 ``target``."""
    if learned.shape != target.shape or learned.shape != (len(xs), len(xs)):
        raise ValueError(
            f"learned and target must both be [{len(xs)}, {len(xs)}], "
            f"got {tuple(learned.shape)} and {tuple(target.shape)}"
        )
    fig = viz.figure(f"{titles[0]}  |  {titles[1]}", "z1", "z2", height=380)
    x = xs.tolist()
    vmax = float(max(learned.max(), target.max()))
    for i, values in enumerate((learned, target)):
        axis = "" if i == 0 else "2"
        fig.add_heatmap(
            x=x, y=x, z=values.tolist(), xaxis="x" + axis, yaxis="y" + axis,
            zmin=0.0, zmax=vmax, colorscale="Viridis", showscale=i == 1, name=titles[i],
        )  # fmt: skip
    fig.update_layout(
        xaxis=dict(domain=[0.0, 0.46]),
        xaxis2=dict(domain=[0.54, 1.0], title="z1"),
        yaxis2=dict(anchor="x2", scaleanchor="x2", showticklabels=False),  # z2, as on the left
        yaxis=dict(scaleanchor="x"),
    )
    return fig


class FlowWidget:
    """Lesson 07: the density of a CNF as it flows from N(0, I) at t0 to the data at t1.

    A slider over t redraws trace 0 (heatmap of p_t on an ``n`` x ``n`` grid over
    [-lim, lim]^2) and trace 1 (``n_samples`` base samples pushed to t). After each
    ``update`` ``mass`` is the grid integral of p_t (close to 1 while the density stays
    inside the square) and ``log_density`` the grid's log p_t ``[n*n]``.
    """

    def __init__(self, cnf, t=None, *, lim=4.0, n=40, n_samples=300, seed=0, steps=20):
        _check_cnf(cnf)
        self.cnf = cnf
        dtype = next(cnf.parameters(), torch.empty(0, dtype=torch.float64)).dtype
        self.xs, self.points, self.area = grid(lim, n, dtype=dtype)
        self.n = n
        gen = torch.Generator().manual_seed(seed)
        self.z0 = torch.randn(n_samples, 2, dtype=dtype, generator=gen)
        t = cnf.t0 if t is None else t
        self.fig = viz.figure("density p_t as it flows", "z1", "z2", height=420)
        self.fig.add_heatmap(colorscale="Viridis")
        self.fig.add_scatter(
            x=[], y=[], mode="markers", name="samples", marker=dict(size=3, color="white")
        )
        self.fig.update_yaxes(scaleanchor="x")
        span = cnf.t1 - cnf.t0
        self.slider = W.FloatSlider(
            value=t, min=cnf.t0, max=cnf.t1, step=span / steps, description="t",
            continuous_update=False,
        )  # fmt: skip
        self.label = W.HTML()
        # The observer only forwards the new value; update() is what tests call.
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.widget = viz.panel([self.slider, self.label, self.fig])
        # t -> (log p_t on the grid, samples at t); the CNF must not change afterwards
        self._results = {}
        self.update(t)

    def update(self, t):
        """Redraw p_t and the samples at time ``t`` in [t0, t1]."""
        if t not in self._results:  # the same numbers each time: computed once per t
            with torch.no_grad():
                self._results[t] = (
                    self.cnf.log_prob(self.points, t=t),
                    self.cnf.sample(self.z0, t=t)[0],
                )
        self.log_density, x = self._results[t]
        density = self.log_density.exp()
        self.mass = float(density.sum() * self.area)
        with self.fig.batch_update():
            # x and y go with every z: a heatmap shown before it had a z lost its x and y
            # in the browser (plotly 7's FigureWidget), and was drawn on grid indices.
            xs = self.xs.tolist()
            self.fig.data[0].update(x=xs, y=xs, z=density.reshape(self.n, self.n).tolist())
            self.fig.data[1].x, self.fig.data[1].y = x[:, 0].tolist(), x[:, 1].tolist()
        self.label.value = f"t = {t:.3g}: grid integral of p_t = {self.mass:.4f}"
        if self.slider.value != t:
            self.slider.value = t
        return self


class ProbesWidget:
    """Lesson 07: Hutchinson's estimate of tr(J) averaged over K probes, repeated.

    For a square matrix ``J`` (e.g. df/dz at one point) each of ``repeats`` trials
    averages K probes eps^T J eps; a slider over K redraws one histogram of the trials per
    noise kind (traces 0 Rademacher, 1 Gaussian) and trace 2, the exact trace (a vertical
    line). After ``update`` ``means[kind]`` and ``stds[kind]`` are the trials' mean and
    standard deviation, to compare with tr(J) and sqrt(hutchinson_variance(J) / K).
    """

    KINDS = ("rademacher", "gaussian")

    def __init__(self, J, n_probes=1, *, repeats=400, max_probes=256, seed=0):
        if not isinstance(J, torch.Tensor) or J.dim() != 2 or J.shape[0] != J.shape[1]:
            raise ValueError(f"J must be a square matrix tensor, got {getattr(J, 'shape', J)!r}")
        self.J, self.repeats, self.seed = J.detach(), repeats, seed
        self.exact = float(torch.trace(self.J))
        self.fig = viz.figure("Hutchinson's estimate of tr(J), K probes", "estimate", "trials")
        for kind in self.KINDS:
            self.fig.add_histogram(x=[], name=kind, opacity=0.6, nbinsx=40)
        self.fig.add_scatter(x=[self.exact] * 2, y=[0, repeats / 4], mode="lines", name="exact")
        self.fig.update_layout(barmode="overlay")
        self.slider = W.IntSlider(value=n_probes, min=1, max=max_probes, description="probes K")
        self.label = W.HTML()
        # The observer only forwards the new value; update() is what tests call.
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.widget = viz.panel([self.slider, self.label, self.fig])
        self.update(n_probes)

    def update(self, n_probes):
        """Redraw the histograms for ``n_probes`` (int >= 1) probes per trial."""
        if isinstance(n_probes, bool) or not isinstance(n_probes, int) or n_probes < 1:
            raise ValueError(f"n_probes must be an integer >= 1, got {n_probes!r}")
        gen = torch.Generator().manual_seed(self.seed)
        d = self.J.shape[0]
        self.means, self.stds = {}, {}
        with self.fig.batch_update():
            for i, kind in enumerate(self.KINDS):
                eps = sample_noise(
                    (self.repeats, n_probes, d), kind, dtype=self.J.dtype, generator=gen
                )
                trials = torch.einsum("rki,ij,rkj->rk", eps, self.J, eps).mean(dim=1)
                self.means[kind], self.stds[kind] = float(trials.mean()), float(trials.std())
                self.fig.data[i].x = trials.tolist()
        self.label.value = (
            f"K = {n_probes}: std over {self.repeats} trials, Rademacher "
            f"{self.stds['rademacher']:.3g}, Gaussian {self.stds['gaussian']:.3g}"
        )
        self.slider.max = max(self.slider.max, n_probes)
        if self.slider.value != n_probes:
            self.slider.value = n_probes
        return self
