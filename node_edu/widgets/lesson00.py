"""Lesson 00's widgets: Euler steps on dz/dt = lam z; a trained neural ODE moving points."""

import math

import ipywidgets as W

from node_edu import viz


class EulerStepsWidget:
    """Lesson 00: Euler's method on dz/dt = lam * z, z(0) = 1, over [0, t1].

    A slider sets the number of Euler steps N. The figure shows the exact solution
    exp(lam * t) and the Euler polygon z_{k+1} = (1 + h lam) z_k with h = t1 / N, so a
    student sees the polygon approach the curve as N grows.

    Attributes: ``fig`` (FigureWidget: trace 0 exact, trace 1 Euler), ``slider``
    (IntSlider over N), ``widget`` (the box to display), ``error`` (|Euler - exact| at t1
    after the last ``update``).
    """

    def __init__(self, lam=-2.0, t1=2.0, n_steps=4, max_steps=64):
        self.lam, self.t1 = float(lam), float(t1)
        fine = [self.t1 * i / 200 for i in range(201)]
        self.fig = viz.figure("Euler's method on dz/dt = \u03bb z", "t", "z(t)")
        self.fig.add_scatter(x=fine, y=[math.exp(self.lam * s) for s in fine], name="exact")
        self.fig.add_scatter(x=[], y=[], mode="lines+markers", name="Euler")
        self.slider = W.IntSlider(value=n_steps, min=1, max=max_steps, description="steps N")
        self.label = W.HTML()
        # The observer only forwards the new value; update() is what tests call.
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.widget = viz.panel([self.slider, self.label, self.fig])
        self.update(n_steps)

    def update(self, n_steps):
        """Recompute the Euler polygon for ``n_steps`` (int >= 1) and redraw."""
        if not isinstance(n_steps, int) or n_steps < 1:
            raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
        h = self.t1 / n_steps
        ts, zs = [0.0], [1.0]
        for _ in range(n_steps):
            zs.append(zs[-1] * (1.0 + h * self.lam))  # one Euler step
            ts.append(ts[-1] + h)
        with self.fig.batch_update():
            self.fig.data[1].x, self.fig.data[1].y = ts, zs
        self.error = abs(zs[-1] - math.exp(self.lam * self.t1))
        self.label.value = f"N = {n_steps}, h = {h:.4g}, error at t1 = {self.error:.3e}"
        # Keep the slider in step with what is drawn (a slider clamps values past its max).
        self.slider.max = max(self.slider.max, n_steps)
        if self.slider.value != n_steps:
            self.slider.value = n_steps
        return self


class ClassifierFlowWidget:
    """Lesson 00: a trained neural ODE moving points of the plane, with a slider over time t.

    ``model`` is a trained ``node_edu.models.classifier.ODEClassifier``; ``x`` [batch, 2] its
    points and ``y`` [batch] their labels (0. or 1.). The paths z(t), t in [0, 1], are
    solved once, at ``n_times`` equally spaced times, so the slider only redraws.

    Figure (equal axes): trace 0 every point's path (grey), traces 1 and 2 the points of
    class 0 and 1 at time t, trace 3 the read-out's line w . z + b = 0, which separates the
    classes at t = 1. Attributes: ``times`` [n_times], ``z`` [n_times, batch, 2] (the paths),
    ``t`` and ``accuracy`` (the fraction of points on their class's side of the line at t)
    after the last ``update``.
    """

    def __init__(self, model, x, y, *, t=1.0, n_times=21):
        import torch

        from node_edu.models.classifier import ODEClassifier, accuracy

        if not isinstance(model, ODEClassifier):
            raise TypeError(f"model must be an ODEClassifier, got {type(model).__name__}")
        if isinstance(n_times, bool) or not isinstance(n_times, int) or n_times < 2:
            raise ValueError(f"n_times must be an integer >= 2, got {n_times!r}")
        self.model, self._accuracy, self.y = model, accuracy, y
        self.times = torch.linspace(0.0, 1.0, n_times, dtype=x.dtype)
        with torch.no_grad():
            self.z = model.flow(x, self.times)  # [n_times, batch, 2], solved once
        self.fig = viz.figure(
            "a trained neural ODE moving points", "z\u2081", "z\u2082", height=420
        )
        self._draw_static(torch)
        self.slider = W.FloatSlider(
            value=t, min=0.0, max=1.0, step=1.0 / (n_times - 1), description="time t"
        )
        self.label = W.HTML()
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.widget = viz.panel([self.slider, self.label, self.fig])
        self.update(t)

    def _draw_static(self, torch):
        """The paths and the read-out's line: they do not change with t."""
        paths_x, paths_y = [], []
        for k in range(self.z.shape[1]):
            paths_x += [*self.z[:, k, 0].tolist(), None]
            paths_y += [*self.z[:, k, 1].tolist(), None]
        lo, hi = float(self.z.min()) - 0.3, float(self.z.max()) + 0.3
        self.fig.add_scatter(x=paths_x, y=paths_y, mode="lines", name="paths",
                             line=dict(color="#cccccc", width=1), hoverinfo="skip")  # fmt: skip
        for label, colour in ((0, "#1f77b4"), (1, "#ff7f0e")):
            self.fig.add_scatter(x=[], y=[], mode="markers", name=f"class {label}",
                                 marker=dict(size=7, color=colour))  # fmt: skip
        w = self.model.readout.weight.detach()[0].tolist()
        b = float(self.model.readout.bias.detach()[0])
        if abs(w[1]) >= abs(w[0]):  # the line w0 z1 + w1 z2 + b = 0, drawn across the box
            line_x = [lo, hi]
            line_y = [-(b + w[0] * s) / w[1] for s in line_x]
        else:
            line_y = [lo, hi]
            line_x = [-(b + w[1] * s) / w[0] for s in line_y]
        self.fig.add_scatter(x=line_x, y=line_y, mode="lines", name="read-out line",
                             line=dict(color="black", dash="dash"))  # fmt: skip
        self.fig.update_xaxes(range=[lo, hi])
        self.fig.update_yaxes(range=[lo, hi], scaleanchor="x", scaleratio=1)

    def update(self, t):
        """Show the points at time ``t`` (a number in [0, 1], rounded to the time grid)."""
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 <= t <= 1.0:
            raise ValueError(f"t must be a number in [0, 1], got {t!r}")
        n = len(self.times) - 1
        k = round(t * n)
        self.t = k / n
        z = self.z[k]
        classes = self.y > 0.5
        with self.fig.batch_update():
            for trace, members in ((1, ~classes), (2, classes)):
                self.fig.data[trace].update(x=z[members, 0].tolist(), y=z[members, 1].tolist())
        self.accuracy = self._accuracy(self.model, z, self.y)
        right = round(self.accuracy * len(self.y))
        self.label.value = (
            f"t = {self.t:.2f}: {right} of {len(self.y)} points on their class's side of the line"
        )
        if self.slider.value != self.t:
            self.slider.value = self.t
        return self
