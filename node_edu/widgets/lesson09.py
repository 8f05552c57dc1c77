"""Lesson 09: one series at a time, the latent ODE's and the RNN's continuations of it.

``SeriesWidget(latent_ode, rnn, data)`` precomputes, for every series of an
``IrregularSeries``, both models' predictions on a dense time grid from the window's start
to ``t_end`` (so moving the slider only swaps numbers, well within 100 ms), then shows the
chosen series: its noisy observations, the noiseless truth, the latent ODE (posterior mean
of z0, decoded) and the RNN, with the end of the observation window marked.
"""

import ipywidgets as W

from node_edu import viz
from node_edu.data.series import IrregularSeries
from node_edu.models.latent import LatentODE, RNNBaseline


class SeriesWidget:
    """Figure ``fig``, x(t) against t for the shown series:

    trace 0 the observations (markers), trace 1 the truth on the dense grid (dashed),
    trace 2 the latent ODE, trace 3 the RNN (lines on the dense grid); a dotted vertical
    line at t1, the end of the observation window (after it: extrapolation).

    ``update(series)``: show series ``series`` (an int in [0, B)). After it: ``series``,
    and ``errors``, ``{"latent ODE": (inside, after), "RNN": (inside, after)}``, the RMS
    error against the truth on the dense grid inside the window and after it.
    ``t_dense`` [k] and ``x_ode``, ``x_rnn``, ``x_true`` [B, k] hold what is drawn.
    """

    def __init__(self, latent_ode, rnn, data, *, t_end=10.0, n_dense=201, series=0):
        if not isinstance(latent_ode, LatentODE):
            raise TypeError(f"latent_ode must be a LatentODE, got {type(latent_ode).__name__}")
        if not isinstance(rnn, RNNBaseline):
            raise TypeError(f"rnn must be an RNNBaseline, got {type(rnn).__name__}")
        if not isinstance(data, IrregularSeries):
            raise TypeError(f"data must be an IrregularSeries, got {type(data).__name__}")
        t0, self.t1 = data.window
        if not t_end > self.t1:
            raise ValueError(f"t_end must be after the window's end {self.t1}, got {t_end!r}")
        self.data = data
        self.t_dense = data.dense_times(n_dense, t0, t_end)
        self.x_ode = latent_ode.predict(data.t, data.x, self.t_dense)[..., 0].cpu()
        self.x_rnn = rnn.predict(data.t, data.x, self.t_dense)[..., 0].cpu()
        self.x_true = data.truth(self.t_dense)[..., 0].cpu()
        self.inside = (self.t_dense <= self.t1).cpu()

        self.fig = viz.figure("one series: observations and continuations", "t", "x(t)")
        self.fig.add_scatter(x=[], y=[], mode="markers", name="observations",
                             marker=dict(size=7, color="#222222"))  # fmt: skip
        for name, style in (
            ("truth", dict(color="#999999", dash="dash")),
            ("latent ODE", dict(color="#1f77b4", width=3)),
            ("RNN", dict(color="#d62728", width=2)),
        ):
            self.fig.add_scatter(x=[], y=[], mode="lines", name=name, line=style)
        self.fig.add_vline(x=self.t1, line=dict(dash="dot", color="#555555"))
        self.slider = W.IntSlider(value=series, min=0, max=len(data) - 1, description="series")
        self.label = W.HTML()
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.widget = viz.panel([self.slider, self.label, self.fig])
        self.series = None
        self.update(series)

    def update(self, series):
        """Show series ``series``: its observations, the truth and both predictions."""
        if isinstance(series, bool) or not isinstance(series, int):
            raise TypeError(f"series must be an int, got {series!r}")
        if not 0 <= series < len(self.data):
            raise ValueError(f"series must be in [0, {len(self.data)}), got {series}")
        t = self.t_dense.cpu().tolist()
        with self.fig.batch_update():  # coordinates set together (see node_edu.viz)
            self.fig.data[0].update(
                x=self.data.t[series].cpu().tolist(), y=self.data.x[series, :, 0].cpu().tolist()
            )
            for i, x in ((1, self.x_true), (2, self.x_ode), (3, self.x_rnn)):
                self.fig.data[i].update(x=t, y=x[series].tolist())
        self.errors = {
            name: tuple(_rms(x[series][part] - self.x_true[series][part])
                        for part in (self.inside, ~self.inside))
            for name, x in (("latent ODE", self.x_ode), ("RNN", self.x_rnn))
        }  # fmt: skip
        self.series = series
        self.label.value = "; ".join(
            f"{name}: RMS error {inside:.3f} inside the window, {after:.3f} after it"
            for name, (inside, after) in self.errors.items()
        )
        if self.slider.value != series:
            self.slider.value = series  # the observer calls update again, which is cheap
        return self


def _rms(e):
    return float(e.pow(2).mean().sqrt())
