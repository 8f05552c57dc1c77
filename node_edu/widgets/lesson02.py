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

    After ``update(n_out)``, each a list over the input sizes: ``times[method]`` (seconds),
    ``passes[method]`` (the VJPs or JVPs evaluated: cotangents or tangents counted as they
    pass the input, ``ad.probe``), ``calls[method]`` (how many calls carried them: 1 when
    vmap batches them), ``f_calls[method]`` (how often f itself ran); and
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

    def _jacobians(self, f, x, m, seen=None):
        """The four methods as (name, thunk); each thunk returns the Jacobian. The loops add
        each call, and the one vector it carries, to ``seen`` (an ``ad.VectorCount``)."""
        n = x.shape[0]
        eye_m, eye_n = (torch.eye(k, dtype=x.dtype, device=x.device) for k in (m, n))

        def loop_vjp():  # one reverse pass per output: row i is e_i^T J
            _, pullback = torch.func.vjp(f, x)
            return torch.stack([_tallied(seen, "vjp", pullback(e)[0]) for e in eye_m])

        def loop_jvp():  # one forward pass per input: column j is J e_j
            columns = [_tallied(seen, "jvp", torch.func.jvp(f, (x,), (e,))[1]) for e in eye_n]
            return torch.stack(columns, dim=1)

        return [
            (self.METHODS[0], lambda: torch.func.jacrev(f)(x)),
            (self.METHODS[1], loop_vjp),
            (self.METHODS[2], lambda: torch.func.jacfwd(f)(x)),
            (self.METHODS[3], loop_jvp),
        ]

    def update(self, n_out):
        """Time the four methods for output size ``n_out`` (int >= 1) and redraw."""
        if not isinstance(n_out, int) or n_out < 1:
            raise ValueError(f"n_out must be an integer >= 1, got {n_out!r}")
        if n_out not in self._results:  # measured once per m; moving back shows it again
            self._results[n_out] = self._measure(n_out)
        (self.times, self.passes, self.calls, self.f_calls, self.max_discrepancy,
         self.jacobians) = self._results[n_out]  # fmt: skip
        self._draw(n_out)
        return self

    def _measure(self, n_out):
        """Build, count and time the four Jacobians for output size ``n_out``, every n."""
        from node_edu.autodiff import count_vectors, probe

        gen = torch.Generator().manual_seed(self.seed)
        W2 = (torch.randn(n_out, self.hidden, generator=gen) / self.hidden**0.5).to(self.device)
        lists = ("times", "passes", "calls", "f_calls")
        self.times, self.passes, self.calls, self.f_calls = (
            {k: [] for k in self.METHODS} for _ in lists
        )
        self.max_discrepancy, self.jacobians = 0.0, {}
        for n in self.input_sizes:
            W1 = (torch.randn(self.hidden, n, generator=gen) / n**0.5).to(self.device)
            x = torch.randn(n, generator=gen).to(self.device)
            f_runs = [0]

            def f(x, W1=W1):
                return torch.tanh(W2 @ torch.tanh(W1 @ x))

            def f_counted(x, f=f, f_runs=f_runs, probed=False):
                f_runs[0] += 1  # how often f itself runs (once per JVP in the loop)
                return f(probe(x) if probed else x)

            def f_probed(x, f_counted=f_counted):  # counts the cotangents / tangents at x
                return f_counted(x, probed=True)

            reference = None
            timed = self._jacobians(f, x, n_out)
            for name, thunk in timed:
                f_runs[0] = 0
                batched = name in (self.METHODS[0], self.METHODS[2])
                with count_vectors() as seen:  # vmap's batches: counted by the probe
                    counted = dict(  # the loops: their calls, counted as they are made
                        self._jacobians(f_probed, x, n_out)
                        if batched
                        else self._jacobians(f_counted, x, n_out, seen)
                    )
                    J = counted[name]()  # also the warm-up: the first call pays one-off costs
                self.f_calls[name].append(f_runs[0])
                reverse = seen.vjps > 0
                self.passes[name].append(seen.vjps if reverse else seen.jvps)
                self.calls[name].append(seen.vjp_calls if reverse else seen.jvp_calls)
                reference = J if reference is None else reference
                self.jacobians[n] = reference
                self.max_discrepancy = max(self.max_discrepancy, float((J - reference).abs().max()))
                self.times[name].append(self._best_time(thunk))  # timed without counting
        return (self.times, self.passes, self.calls, self.f_calls, self.max_discrepancy,
                self.jacobians)  # fmt: skip

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


def _tallied(seen, kind, vector):
    """``vector``, after adding one call carrying one vector of ``kind`` to ``seen``."""
    if seen is not None:
        setattr(seen, kind + "_calls", getattr(seen, kind + "_calls") + 1)
        setattr(seen, kind + "s", getattr(seen, kind + "s") + 1)
    return vector
