"""Lesson 08 (what a neural ODE can and cannot learn): figures and two dashboards.

* ``lines_figure``: trajectories as lines (1-D flows against t, augmented flows in a plane).
* ``boundary_figure``: a classifier's score on a grid (heatmap), its decision boundary
  (the 0 level) and the data points.
* ``DepthWidget``: a ResNet of N blocks on dz/dt = A z is N Euler steps; a slider over N
  draws its hidden states against the exact flow exp(A t) z0.
* ``RegularisationWidget``: trainings precomputed at a few regularisation weights; a slider
  over the weight shows the function evaluations per iteration, the fit and the cost.
"""

import ipywidgets as W
import torch

from node_edu import viz
from node_edu.models.regularisation import FitHistory
from node_edu.solvers import odeint
from node_edu.solvers.validation import check_positive
from node_edu.widgets.lesson03 import linear_flow


def lines_figure(curves, title, x_title, y_title, *, names=None, equal=False, height=360):
    """One line per curve; ``curves`` a list of ``(x, y)`` sequences (tensors or lists).
    ``equal``: equal axis scales (phase portraits)."""
    fig = viz.figure(title, x_title, y_title, height=height)
    for i, (x, y) in enumerate(curves):
        name = names[i] if names is not None else None
        fig.add_scatter(
            x=torch.as_tensor(x).tolist(), y=torch.as_tensor(y).tolist(), mode="lines",
            name=name, showlegend=name is not None, line=dict(width=1.5),
        )  # fmt: skip
    if equal:
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def boundary_figure(xs, scores, x, y, title):
    """A classifier on the square grid ``xs`` [n] x ``xs``: trace 0 the heatmap of
    ``scores`` [n, n] (rows = x2), trace 1 its 0 level (the decision boundary), traces 2
    and 3 the points ``x`` [N, 2] with labels ``y`` [N] = -1 and +1."""
    xs = torch.as_tensor(xs).tolist()
    scores = torch.as_tensor(scores)
    if scores.shape != (len(xs), len(xs)):
        raise ValueError(f"scores must be [{len(xs)}, {len(xs)}], got {tuple(scores.shape)}")
    fig = viz.figure(title, "x\u2081", "x\u2082", height=380)
    z = scores.tolist()
    fig.add_heatmap(x=xs, y=xs, z=z, colorscale="RdBu", zmid=0.0, name="score",
                    colorbar=dict(title="score"))  # fmt: skip
    fig.add_contour(
        x=xs, y=xs, z=z, contours=dict(start=0.0, end=0.0, size=1.0, coloring="lines"),
        line=dict(width=3, color="black"), showscale=False, name="boundary (score 0)",
    )  # fmt: skip
    for label, color in ((-1, "#b2182b"), (1, "#2166ac")):
        pts = x[y == label]
        fig.add_scatter(
            x=pts[:, 0].tolist(), y=pts[:, 1].tolist(), mode="markers", name=f"y = {label:+d}",
            marker=dict(size=5, color=color, line=dict(width=0.5, color="white")),
        )  # fmt: skip
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


class DepthWidget:
    """A ResNet of ``depth`` blocks z <- z + h A z (h = t1 / depth) against exp(A t) z0.

    ``fig``: phase plane; trace 0 the exact flow on a dense grid, trace 1 the ResNet's
    hidden states z_0, ..., z_depth (the Euler steps of ``ne.odeint(method="euler")``).
    After ``update``: ``depth``, ``error`` = |z_depth - exp(A t1) z0|.
    """

    def __init__(self, A=((-0.1, -2.0), (2.0, -0.1)), z0=(1.0, 0.0), t1=3.0, depth=8,
                 max_depth=128):  # fmt: skip
        self.A = torch.as_tensor(A, dtype=torch.float64)
        self.z0 = torch.as_tensor(z0, dtype=torch.float64)
        if self.A.shape != (2, 2) or self.z0.shape != (2,):
            raise ValueError(
                f"A, z0 must be a 2 x 2 matrix and a 2-vector, got shapes "
                f"{tuple(self.A.shape)} and {tuple(self.z0.shape)}"
            )
        self.t1 = check_positive("t1", t1)
        dense = linear_flow(self.A, self.z0, torch.linspace(0.0, self.t1, 400))
        self.z_exact = dense[-1]
        self.fig = viz.figure("ResNet hidden states and the ODE's flow", "z\u2081", "z\u2082",
                              height=420)  # fmt: skip
        self.fig.add_scatter(
            x=dense[:, 0].tolist(),
            y=dense[:, 1].tolist(),
            mode="lines",
            name="exact flow exp(At) z0",
            line=dict(color="black", dash="dot"),
        )
        self.fig.add_scatter(x=[], y=[], mode="lines+markers", name="ResNet blocks")
        self.fig.update_yaxes(scaleanchor="x", scaleratio=1)
        self.slider = W.IntSlider(value=depth, min=1, max=max_depth, description="depth N")
        self.label = W.HTML()
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.widget = viz.panel([self.slider, self.label, self.fig])
        self.update(depth)

    def update(self, depth):
        """Draw the ResNet with ``depth`` (an int >= 1) blocks."""
        depth = check_positive("depth", depth, integer=True)
        grid = torch.linspace(0.0, self.t1, depth + 1, dtype=torch.float64)
        states = odeint(lambda t, z: self.A @ z, self.z0, grid, method="euler")
        self.depth = depth
        self.error = float(torch.linalg.vector_norm(states[-1] - self.z_exact))
        with self.fig.batch_update():
            self.fig.data[1].update(x=states[:, 0].tolist(), y=states[:, 1].tolist())
        self.label.value = (
            f"{depth} blocks, h = t1/N = {self.t1 / depth:.3g}: |z_N - z(t1)| = {self.error:.3g}"
        )
        if self.slider.value != depth:
            self.slider.value = depth  # its observer calls update(depth) again: harmless
        return self


class RegularisationWidget:
    """Trainings at a few regularisation weights, side by side with the unregularised one.

    ``histories``: ``{weight: FitHistory}`` including weight 0 (the baseline).
    ``boundaries`` (optional): ``(xs [n], {weight: scores [n, n]})``, each trained model's
    score on a grid, drawn as a heatmap with its decision boundary.
    ``fig_nfe``: trace 0 the baseline's function evaluations per iteration, trace 1 the
    shown weight's. ``fig_loss``: the same for the fit loss (log axis). ``fig_boundary``
    (when ``boundaries`` is given): trace 0 the heatmap, trace 1 its 0 level.
    ``update(weight)`` shows one of the precomputed weights; ``weight`` after it.
    """

    def __init__(self, histories, boundaries=None, weight=None):
        if not isinstance(histories, dict) or 0.0 not in histories:
            raise ValueError("histories must be a dict {weight: FitHistory} holding weight 0")
        for w, h in histories.items():
            if not isinstance(h, FitHistory):
                raise TypeError(f"histories[{w!r}] must be a FitHistory, got {type(h).__name__}")
        self.histories = histories
        self.weights = sorted(histories)
        base = histories[0.0]
        its = list(range(len(base.nfe)))
        self.fig_nfe = viz.figure("solver work", "iteration", "function evaluations", height=300)
        self.fig_nfe.add_scatter(x=its, y=base.nfe, mode="lines", name="weight 0")
        self.fig_nfe.add_scatter(x=[], y=[], mode="lines", name="regularised")
        self.fig_loss = viz.figure("fit", "iteration", "fit loss (MSE)", height=300, log_y=True)
        self.fig_loss.add_scatter(x=its, y=base.loss, mode="lines", name="weight 0")
        self.fig_loss.add_scatter(x=[], y=[], mode="lines", name="regularised")
        self.boundaries = boundaries
        self.fig_boundary = None
        # Stacked, not side by side: two FigureWidgets of plotly's default width overflow
        # a notebook's output area and get cut off.
        boxes = [self.fig_nfe, self.fig_loss]
        if boundaries is not None:
            xs, _ = boundaries
            self.xs = torch.as_tensor(xs).tolist()
            self.fig_boundary = viz.figure("the trained classifier", "x\u2081", "x\u2082",
                                           height=380)  # fmt: skip
            self.fig_boundary.add_heatmap(x=self.xs, y=self.xs, z=[], colorscale="RdBu", zmid=0.0)
            self.fig_boundary.add_contour(
                x=self.xs, y=self.xs, z=[], showscale=False, line=dict(width=3, color="black"),
                contours=dict(start=0.0, end=0.0, size=1.0, coloring="lines"),
            )  # fmt: skip
            self.fig_boundary.update_yaxes(scaleanchor="x", scaleratio=1)
            boxes.append(self.fig_boundary)
        self.slider = W.SelectionSlider(options=self.weights, value=self.weights[-1],
                                        description="weight \u03bb")  # fmt: skip
        self.label = W.HTML()
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.widget = viz.panel([self.slider, self.label, *boxes])
        self.update(self.weights[-1] if weight is None else weight)

    def update(self, weight):
        """Show the training at ``weight`` (one of the precomputed weights)."""
        if weight not in self.histories:
            raise ValueError(f"weight must be one of {self.weights}, got {weight!r}")
        h = self.histories[weight]
        its = list(range(len(h.nfe)))
        with self.fig_nfe.batch_update():
            self.fig_nfe.data[1].update(x=its, y=h.nfe, name=f"weight {weight:g}")
        with self.fig_loss.batch_update():
            self.fig_loss.data[1].update(x=its, y=h.loss, name=f"weight {weight:g}")
        if self.fig_boundary is not None:
            z = torch.as_tensor(self.boundaries[1][weight]).tolist()
            with self.fig_boundary.batch_update():
                self.fig_boundary.data[0].update(x=self.xs, y=self.xs, z=z)
                self.fig_boundary.data[1].update(x=self.xs, y=self.xs, z=z)
        cells = "".join(
            f"<tr><td>{w:g}</td><td>{r['nfe']:.1f}</td><td>{r['fit']:.4f}</td>"
            f"<td>{r['seconds']:.2f}</td><td>{r['kinetic']:.3g}</td><td>{r['jacobian']:.3g}</td></tr>"
            for w, r in ((w, self.histories[w].summary()) for w in sorted({0.0, weight}))
        )
        self.label.value = (
            "<table><tr><th>weight</th><th>nfe / iteration</th><th>final fit</th>"
            "<th>seconds</th><th>E_K</th><th>E_J</th></tr>" + cells + "</table>"
        )
        self.weight = weight
        if self.slider.value != weight:
            self.slider.value = weight
        return self
