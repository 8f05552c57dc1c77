"""Lesson 01: finite differences against the step h, and forward and reverse sweeps on a graph."""

import ipywidgets as W
import numpy as np

from node_edu import viz


class FiniteDifferenceWidget:
    """Lesson 01: the error of a finite difference against the step h, log-log.

    For f at x (exact derivative ``dfdx``), the figure shows |difference - exact| over
    ``hs`` in float64 (trace 0) and float32 (trace 1), and the chosen h as markers
    (trace 2: [float64, float32]). Large h: truncation error, falling like h (forward) or
    h^2 (central); small h: round-off, rising like eps / h. The V's bottom sits near
    sqrt(eps) for the forward difference.

    ``update(log10_h=None, scheme=None)``; after it: ``errors`` ({"float64": array,
    "float32": array} over ``hs``), ``current`` (the two errors at the chosen h).
    """

    DTYPES = {"float64": np.float64, "float32": np.float32}

    def __init__(self, f, dfdx, x, *, log10_h=-4.0, scheme="forward", hs=None):
        from node_edu.autodiff import finite_difference_errors

        self._errors = finite_difference_errors
        for name, fn in (("f", f), ("dfdx", dfdx)):
            if not callable(fn):
                raise TypeError(f"{name} must be a function of x, got {type(fn).__name__}")
        self.f, self.dfdx, self.x = f, dfdx, float(x)
        self.hs = np.logspace(-15, 0, 61) if hs is None else np.asarray(hs, dtype=float)
        self.fig = viz.figure(
            "finite difference error vs step h", "step h", "|error|", log_x=True, log_y=True
        )
        for name in self.DTYPES:
            self.fig.add_scatter(x=[], y=[], mode="lines", name=name)
        self.fig.add_scatter(x=[], y=[], mode="markers", marker=dict(size=11), name="chosen h")
        self.slider = W.FloatSlider(value=log10_h, min=-15, max=0, step=0.25, description="log10 h")
        self.scheme = W.ToggleButtons(options=["forward", "central"], value=scheme)
        self.label = W.HTML()
        self.slider.observe(lambda c: self.update(log10_h=c["new"]), names="value")
        self.scheme.observe(lambda c: self.update(scheme=c["new"]), names="value")
        self.widget = viz.panel([W.HBox([self.slider, self.scheme]), self.label, self.fig])
        self.update(log10_h, scheme)

    def update(self, log10_h=None, scheme=None):
        """Redraw for step h = 10**log10_h and ``scheme`` ("forward" or "central")."""
        log10_h = self.slider.value if log10_h is None else float(log10_h)
        scheme = self.scheme.value if scheme is None else scheme
        if scheme not in ("forward", "central"):
            raise ValueError(f'scheme must be "forward" or "central", got {scheme!r}')
        h = 10.0**log10_h
        self.errors, self.current = {}, {}
        for name, dtype in self.DTYPES.items():
            self.errors[name] = self._errors(self.f, self.dfdx, self.x, self.hs, dtype, scheme)
            self.current[name] = float(
                self._errors(self.f, self.dfdx, self.x, [h], dtype, scheme)[0]
            )
        with self.fig.batch_update():
            for k, name in enumerate(self.DTYPES):
                # a zero error cannot be drawn on a log axis: plotly skips None
                # x goes with y: a trace first shown with x but no y lost its x in the browser
                self.fig.data[k].update(
                    x=self.hs.tolist(), y=[e if e > 0 else None for e in self.errors[name]]
                )
            self.fig.data[2].x = [h, h]
            self.fig.data[2].y = [self.current["float64"], self.current["float32"]]
        self.label.value = (
            f"{scheme} difference, h = {h:.1e}: error {self.current['float64']:.2e} (float64), "
            f"{self.current['float32']:.2e} (float32)"
        )
        for control, value in ((self.slider, log10_h), (self.scheme, scheme)):
            if control.value != value:
                control.value = value
        return self


class SweepWidget:
    """Lesson 01: step through the forward and the reverse sweep of an ``autodiff.Graph``.

    ``mode="reverse"``: steps 1..N fill in the nodes' values in topological order (the
    forward sweep), steps N+1..2N fill in their adjoints from the output back to the inputs
    (the reverse sweep, seeded with adjoint 1 at the output). ``mode="forward"``: steps
    1..N carry value and tangent together (forward mode, seeded with ``seed``, one tangent
    per input). After ``update``: ``values``, ``adjoints``, ``tangents`` (label -> number,
    only for the nodes shown so far) and ``phase`` ("forward", "reverse" or "done").
    """

    COLOURS = {"todo": "#e6e6e6", "value": "#8ecae6", "adjoint": "#ffb703", "tangent": "#90be6d"}

    def __init__(self, graph, *, mode="reverse", seed=None, step=0):
        from node_edu.autodiff import Graph

        if not isinstance(graph, Graph):
            raise TypeError(f"graph must be an autodiff.Graph (ad.trace(f, ...)), got {graph!r}")
        if seed is not None and len(seed) != len(graph.inputs):
            raise ValueError(
                f"seed needs one tangent per input ({len(graph.inputs)}), got {seed!r}"
            )
        self.graph = graph
        self.n = len(graph.nodes)
        graph.backward()  # all adjoints once; the widget reveals them node by node
        self.seed = tuple(seed) if seed is not None else (1.0,) + (0.0,) * (len(graph.inputs) - 1)
        graph.forward_tangents(*self.seed)
        self.fig = viz.graph_figure(graph, "forward and reverse sweeps")
        self.slider = W.IntSlider(value=step, min=0, max=2 * self.n, description="step")
        self.mode = W.ToggleButtons(options=["reverse", "forward"], value=mode)
        self.label = W.HTML()
        self.slider.observe(lambda c: self.update(step=c["new"]), names="value")
        self.mode.observe(lambda c: self.update(mode=c["new"]), names="value")
        self.widget = viz.panel([W.HBox([self.slider, self.mode]), self.label, self.fig])
        self.update(step, mode)

    def update(self, step=None, mode=None):
        """Show the sweeps up to ``step`` (0 .. 2N in reverse mode, 0 .. N in forward)."""
        mode = self.mode.value if mode is None else mode
        if mode not in ("reverse", "forward"):
            raise ValueError(f'mode must be "reverse" or "forward", got {mode!r}')
        last = 2 * self.n if mode == "reverse" else self.n
        step = self.slider.value if step is None else step
        if not isinstance(step, int) or not 0 <= step <= last:
            raise ValueError(
                f"step must be an integer in [0, {last}] for mode {mode!r}, got {step!r}"
            )
        nodes = self.graph.nodes
        forward = nodes[: min(step, self.n)]
        backward = list(reversed(nodes))[: max(step - self.n, 0)] if mode == "reverse" else []
        self.values = {n.label: _scalar(n.value) for n in forward}
        self.tangents = {n.label: _scalar(n.tangent) for n in forward} if mode == "forward" else {}
        self.adjoints = {n.label: _scalar(n.adjoint) for n in backward}
        self.phase = "forward" if step <= self.n and step < last else "reverse"
        self.phase = "done" if step == last else self.phase
        colours, texts = [], []
        for n in nodes:
            text, colour = n.label, self.COLOURS["todo"]
            if n.label in self.values:
                text += f"<br>= {_fmt(self.values[n.label])}"
                colour = self.COLOURS["value"]
            if n.label in self.tangents:
                text += f"<br>dot = {_fmt(self.tangents[n.label])}"
                colour = self.COLOURS["tangent"]
            if n.label in self.adjoints:
                text += f"<br>bar = {_fmt(self.adjoints[n.label])}"
                colour = self.COLOURS["adjoint"]
            colours.append(colour)
            texts.append(text)
        with self.fig.batch_update():
            self.fig.data[1].marker.color = colours
            self.fig.data[1].text = texts
        current = forward[-1] if forward and not backward else (backward[-1] if backward else None)
        what = "" if current is None else f": last visited {current.label} ({current.op})"
        self.label.value = f"{mode} mode, step {step} of {last}, phase {self.phase}{what}"
        self.slider.max = last
        for control, value in ((self.mode, mode), (self.slider, step)):
            if control.value != value:
                control.value = value
        return self


def _scalar(a):
    """A plain float for a one-number array (for labels and asserts), else the array."""
    return float(np.asarray(a).reshape(-1)[0]) if np.size(a) == 1 else np.asarray(a)


def _fmt(a):
    return f"{a:.4g}" if isinstance(a, float) else np.array2string(np.asarray(a), precision=3)
