"""Lesson 02: the cost of a full Jacobian, four ways, against the input size."""

import time

import ipywidgets as W
import torch

from node_edu import viz


class JacobianCostWidget:
    """Lesson 02: the cost of a full Jacobian of f: R^n -> R^m, f(x) = tanh(W2 tanh(W1 x)).

    For the chosen output size m and every input size n in ``input_sizes``, it builds the
    m x n Jacobian four ways and times each (best of ``repeats``): ``torch.func.jacrev``
    (m VJPs, batched with vmap), a Python loop of m ``torch.func.vjp`` pullbacks,
    ``torch.func.jacfwd`` (n JVPs batched with vmap) and a loop of n ``torch.func.jvp``.
    Trace k of the figure is method k's time against n; trace 4 marks n = m.

    After ``update(n_out)``: ``times[method]`` (seconds per n), ``passes[method]`` (VJPs or
    JVPs evaluated per n), ``f_calls[method]`` (how often f itself ran per n), and
    ``max_discrepancy`` (largest |J_method - J_jacrev| over all methods and sizes) and
    ``jacobians`` (n -> jacrev's m x n Jacobian).
    Timings are noisy: read them, do not assert on their ratios. Every m the slider offers
    is measured once, when the widget is built, so moving the slider only redraws.
    """

    METHODS = ("jacrev (vmap of VJPs)", "loop of VJPs", "jacfwd (vmap of JVPs)", "loop of JVPs")

    def __init__(
        self,
        n_out=16,
        *,
        input_sizes=(2, 8, 32, 128),
        hidden=32,
        repeats=3,
        out_sizes=(1, 4, 16, 64, 128),
        device="cpu",
        seed=0,
    ):
        for name, value in (
            ("hidden", hidden),
            ("repeats", repeats),
            *(("input_sizes", n) for n in input_sizes),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must hold integers >= 1, got {value!r}")
        self.input_sizes, self.hidden, self.repeats = tuple(input_sizes), hidden, repeats
        self.device, self.seed = torch.device(device), seed
        self.fig = viz.figure(
            "time for a full m x n Jacobian", "input size n", "time [ms]", log_x=True, log_y=True
        )
        for name in self.METHODS:
            self.fig.add_scatter(x=[], y=[], mode="lines+markers", name=name)
        self.fig.add_scatter(
            x=[], y=[], mode="lines", line=dict(dash="dot", color="gray"), name="n = m"
        )
        self.slider = W.SelectionSlider(
            options=sorted({*out_sizes, n_out}), value=n_out, description="outputs m"
        )
        self.label = W.HTML()
        self._results = {}  # n_out -> what _measure returned
        self.slider.observe(lambda c: self.update(c["new"]), names="value")
        self.widget = viz.panel([self.slider, self.label, self.fig])
        # Every size now, once (a few hundred ms), rather than on each first move.
        for m in self.slider.options:
            self._results[m] = self._measure(m)
        self.update(n_out)

    def _jacobians(self, f, x, m):
        """The four methods as (name, thunk, passes); each thunk returns the Jacobian."""
        n = x.shape[0]
        eye_m, eye_n = (torch.eye(k, dtype=x.dtype, device=x.device) for k in (m, n))

        def loop_vjp():  # one reverse pass per output: row i is e_i^T J
            _, pullback = torch.func.vjp(f, x)
            return torch.stack([pullback(e)[0] for e in eye_m])

        def loop_jvp():  # one forward pass per input: column j is J e_j
            return torch.stack([torch.func.jvp(f, (x,), (e,))[1] for e in eye_n], dim=1)

        return [
            (self.METHODS[0], lambda: torch.func.jacrev(f)(x), m),
            (self.METHODS[1], loop_vjp, m),
            (self.METHODS[2], lambda: torch.func.jacfwd(f)(x), n),
            (self.METHODS[3], loop_jvp, n),
        ]

    def update(self, n_out):
        """Time the four methods for output size ``n_out`` (int >= 1) and redraw."""
        if not isinstance(n_out, int) or n_out < 1:
            raise ValueError(f"n_out must be an integer >= 1, got {n_out!r}")
        if n_out not in self._results:  # measured once per m; moving back shows it again
            self._results[n_out] = self._measure(n_out)
        self.times, self.passes, self.f_calls, self.max_discrepancy, self.jacobians = self._results[
            n_out
        ]
        self._draw(n_out)
        return self

    def _measure(self, n_out):
        """Build and time the four Jacobians for output size ``n_out``, every input size."""
        gen = torch.Generator().manual_seed(self.seed)
        W2 = (torch.randn(n_out, self.hidden, generator=gen) / self.hidden**0.5).to(self.device)
        self.times = {k: [] for k in self.METHODS}
        self.passes = {k: [] for k in self.METHODS}
        self.f_calls = {k: [] for k in self.METHODS}
        self.max_discrepancy, self.jacobians = 0.0, {}
        for n in self.input_sizes:
            W1 = (torch.randn(self.hidden, n, generator=gen) / n**0.5).to(self.device)
            x = torch.randn(n, generator=gen).to(self.device)
            calls = [0]

            def f(x, W1=W1, calls=calls):
                calls[0] += 1  # counts how often f itself runs (once per JVP in the loop)
                return torch.tanh(W2 @ torch.tanh(W1 @ x))

            reference = None
            for name, thunk, passes in self._jacobians(f, x, n_out):
                calls[0] = 0
                J = thunk()  # also a warm-up: the first call pays one-off costs
                self.f_calls[name].append(calls[0])
                self.passes[name].append(passes)
                reference = J if reference is None else reference
                self.jacobians[n] = reference
                self.max_discrepancy = max(self.max_discrepancy, float((J - reference).abs().max()))
                self.times[name].append(self._best_time(thunk))
        return self.times, self.passes, self.f_calls, self.max_discrepancy, self.jacobians

    def _draw(self, n_out):
        with self.fig.batch_update():
            for k, name in enumerate(self.METHODS):
                # x goes with y: a trace first shown with x but no y lost its x in the browser
                self.fig.data[k].update(
                    x=list(self.input_sizes), y=[1e3 * s for s in self.times[name]]
                )
            all_ms = [1e3 * s for ts in self.times.values() for s in ts]
            self.fig.data[4].x = [n_out, n_out]
            self.fig.data[4].y = [min(all_ms), max(all_ms)]
        sizes = range(len(self.input_sizes))
        fastest = [min(self.METHODS, key=lambda k: self.times[k][i]) for i in sizes]
        self.label.value = "fastest: " + ", ".join(
            f"n={n}: {w}" for n, w in zip(self.input_sizes, fastest, strict=True)
        )
        if n_out not in self.slider.options:  # keep the slider in step with the figure
            self.slider.options = tuple(sorted({*self.slider.options, n_out}))
        if self.slider.value != n_out:
            self.slider.value = n_out

    def _best_time(self, thunk):
        best = float("inf")
        for _ in range(self.repeats):
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            start = time.perf_counter()
            thunk()
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            best = min(best, time.perf_counter() - start)
        return best
