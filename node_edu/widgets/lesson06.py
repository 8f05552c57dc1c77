"""Lesson 06: a live view of a neural ODE being trained on the spiral.

``TrainingWidget(trainer)`` draws three figures from a ``node_edu.models.training.Trainer``'s
``History``: the trajectory predicted from z(0) against the data (phase plane), the batch
loss per iteration, and the function evaluations of the forward and backward solves per
iteration. During training it is the trainer's callback, so the figures move as the model
learns; afterwards the slider replays the snapshots.
"""

import ipywidgets as W
import torch

from node_edu import viz
from node_edu.models.training import Trainer


class TrainingWidget:
    """Figures of a ``Trainer``'s progress, up to a chosen iteration.

    ``fig``: phase plane z_1 vs z_2 (equal axes); trace 0 the data (markers), trace 1 the
    trajectory predicted from data.z[0] by the model as it was at the shown iteration, at
    the data's times (the history's snapshot, small markers), trace 2 the same trajectory
    on a dense grid of ``n_dense`` times (a line: a spiral drawn through its 100 output
    times alone would show as a polygon). The dense curve is solved when the snapshot is
    taken (``update`` as the trainer's callback, or at construction for the latest
    snapshot), since only then is the model in that state; a snapshot the widget did not
    see being taken has no dense curve, and trace 2 is then empty.
    ``fig_loss``: trace 0 the batch loss of every iteration so far (log axis).
    ``fig_nfe``: trace 0 forward, trace 1 backward function evaluations per iteration.

    ``update(iteration=None)``: show the latest snapshot at or before ``iteration`` (None:
    the latest there is). Use ``trainer.train(n, callback=lambda tr: widget.update())``
    for a live figure. After it: ``iteration`` (the snapshot shown).
    """

    def __init__(self, trainer, *, n_dense=1000):
        if not isinstance(trainer, Trainer):
            raise TypeError(
                f"trainer must be a node_edu.models.training.Trainer, got {type(trainer).__name__}"
            )
        if isinstance(n_dense, bool) or not isinstance(n_dense, int) or n_dense < 2:
            raise ValueError(f"n_dense must be an integer >= 2, got {n_dense!r}")
        self.trainer = trainer
        t = trainer.data.t
        self.t_dense = torch.linspace(float(t[0]), float(t[-1]), n_dense, dtype=t.dtype,
                                      device=t.device)  # fmt: skip
        self.dense = {}  # iteration -> z [n_dense, 2] on the dense grid
        z = trainer.data.z.detach().cpu()
        self.fig = viz.figure("trajectory from z(0): model vs data", "z\u2081", "z\u2082")
        self.fig.add_scatter(
            x=z[:, 0].tolist(), y=z[:, 1].tolist(), mode="markers", name="data",
            marker=dict(size=4, color="#888888"),
        )  # fmt: skip
        self.fig.add_scatter(
            x=[], y=[], mode="markers", name="model at the data's times",
            marker=dict(size=3, color="#1f77b4"),
        )  # fmt: skip
        self.fig.add_scatter(x=[], y=[], mode="lines", name="model", line=dict(color="#1f77b4"))
        self.fig.update_yaxes(scaleanchor="x", scaleratio=1)  # a circle looks round
        self.fig_loss = viz.figure("batch loss", "iteration", "loss", height=280, log_y=True)
        self.fig_loss.add_scatter(x=[], y=[], mode="lines", name="loss")
        self.fig_nfe = viz.figure(
            "function evaluations per iteration", "iteration", "nfe", height=280
        )
        self.fig_nfe.add_scatter(x=[], y=[], mode="lines", name="forward")
        self.fig_nfe.add_scatter(x=[], y=[], mode="lines", name="backward (adjoint)")
        self.slider = W.IntSlider(value=0, min=0, max=0, description="iteration")
        self.label = W.HTML()
        self._syncing = False
        self.slider.observe(lambda c: self.update(c["new"]), names="value")
        self.widget = viz.panel([self.slider, self.label, self.fig, self.fig_loss, self.fig_nfe])
        self.iteration = None
        if trainer.history.snapshots:
            self.update()

    def update(self, iteration=None):
        """Show the snapshot at the largest stored iteration <= ``iteration`` (an int >= 0;
        None: the latest snapshot), and the loss and nfe curves up to that iteration."""
        if self._syncing:  # the slider being moved by update itself
            return self
        history = self.trainer.history
        if not history.snapshots:
            raise ValueError("no snapshot yet: run trainer.train(...) first")
        if iteration is None:
            iteration = max(history.snapshots)
        if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
            raise ValueError(f"iteration must be an integer >= 0 or None, got {iteration!r}")
        shown = max(
            (k for k in history.snapshots if k <= iteration), default=min(history.snapshots)
        )
        if shown == len(history) and shown not in self.dense:
            # no step since this snapshot: the model is as it was then
            self.dense[shown] = self.trainer.predict(self.t_dense).cpu()
        z = history.snapshots[shown].detach().cpu()
        dense = self.dense.get(shown, torch.empty(0, 2))
        its = list(range(shown))
        with self.fig.batch_update():
            self.fig.data[1].update(x=z[:, 0].tolist(), y=z[:, 1].tolist())
            self.fig.data[2].update(x=dense[:, 0].tolist(), y=dense[:, 1].tolist())
        with self.fig_loss.batch_update():
            self.fig_loss.data[0].x, self.fig_loss.data[0].y = its, history.loss[:shown]
        with self.fig_nfe.batch_update():
            self.fig_nfe.data[0].x, self.fig_nfe.data[0].y = its, history.nfe_forward[:shown]
            self.fig_nfe.data[1].x, self.fig_nfe.data[1].y = its, history.nfe_backward[:shown]
        self.iteration = shown
        error = float((z - self.trainer.data.z.detach().cpu()).abs().mean())
        self.label.value = (
            f"iteration {shown}: mean |z_model - z_data| over the whole trajectory {error:.3f}"
            + (f", last batch loss {history.loss[shown - 1]:.4f}" if shown else "")
        )
        self._syncing = True
        try:
            self.slider.max = max(history.snapshots)
            self.slider.value = shown
        finally:
            self._syncing = False
        return self
