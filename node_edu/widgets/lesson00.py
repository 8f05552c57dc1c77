"""Lesson 00's widget: Euler steps on dz/dt = lam z."""

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
