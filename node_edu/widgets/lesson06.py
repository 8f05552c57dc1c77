"""Lesson 06: a live view of a neural ODE being trained on the spiral.

``TrainingWidget(trainer)`` draws three figures from a ``node_edu.models.training.Trainer``'s
``History``: the trajectory predicted from z(0) against the data (phase plane), the loss
per evaluation, and the function evaluations of each solve. During training it is the
trainer's callback, so the figures move as the model learns; afterwards the slider
replays the snapshots.
"""

import ipywidgets as W
import torch

from node_edu import viz
from node_edu.models.training import Trainer
from node_edu.validation import check_instance, check_int


class TrainingWidget:
    """Figures of a ``Trainer``'s progress, up to a chosen evaluation of the loss.

    ``fig``: phase plane z_1 vs z_2 (equal axes); trace 0 the data (markers), trace 1 the
    trajectory predicted from data.z[0] by the model as it was at the shown evaluation, at
    the data's times (the history's snapshot, small markers), trace 2 the same trajectory
    on a dense grid of ``n_dense`` times (a line: a spiral drawn through its 100 output
    times alone would show as a polygon), both at the training tolerance. The dense curve
    is solved when the snapshot is taken (``update`` as the trainer's callback, or at
    construction for the latest snapshot), since only then is the model in that state; a
    snapshot the widget did not see being taken has no dense curve, and trace 2 is then
    empty.
    ``fig_loss``: trace 0 the loss of every evaluation so far (log axis).
    ``fig_nfe``: trace 0 forward, trace 1 backward function evaluations per evaluation of
    the loss (the backward ones are 0 for backprop through the solver). In both, a dotted
    vertical line marks where each stage of the curriculum begins.

    ``update(evaluation=None)``: show the latest snapshot at or before ``evaluation``
    (None: the latest there is). Use ``trainer.train(callback=lambda tr: widget.update())``
    for a live figure. After it: ``evaluation`` (the snapshot shown).
    """

    def __init__(self, trainer, *, n_dense=1000):
        check_instance("trainer", trainer, Trainer, what="a node_edu.models.training.Trainer")
        n_dense = check_int("n_dense", n_dense, minimum=2)
        self.trainer = trainer
        t = trainer.data.t
        self.t_dense = torch.linspace(float(t[0]), float(t[-1]), n_dense, dtype=t.dtype,
                                      device=t.device)  # fmt: skip
        self.dense = {}  # evaluation -> z [n_dense, 2] on the dense grid
        z = trainer.data.z.detach().cpu()
        self.fig = viz.figure("trajectory from z(0): model vs data", "z\u2081", "z\u2082")
        self.fig.add_scatter(
            x=z[:, 0].tolist(), y=z[:, 1].tolist(), mode="markers", name="data",
            marker=dict(size=5, color="#888888"),
        )  # fmt: skip
        self.fig.add_scatter(
            x=[], y=[], mode="markers", name="model at the data's times",
            marker=dict(size=3, color="#1f77b4"),
        )  # fmt: skip
        self.fig.add_scatter(x=[], y=[], mode="lines", name="model", line=dict(color="#1f77b4"))
        self.fig.update_yaxes(scaleanchor="x", scaleratio=1)  # a circle looks round
        self.fig_loss = viz.figure(
            "loss (mse over every window)", "evaluation of the loss", "loss", height=280,
            log_y=True,
        )  # fmt: skip
        self.fig_loss.add_scatter(x=[], y=[], mode="lines", name="loss")
        self.fig_nfe = viz.figure(
            "function evaluations per solve", "evaluation of the loss", "nfe", height=280
        )
        self.fig_nfe.add_scatter(x=[], y=[], mode="lines", name="forward")
        self.fig_nfe.add_scatter(x=[], y=[], mode="lines", name="backward (adjoint)")
        self.slider = W.IntSlider(value=0, min=0, max=0, description="evaluation")
        self.label = W.HTML()
        self._syncing = False
        self.slider.observe(lambda c: self.update(c["new"]), names="value")
        self.widget = viz.panel([self.slider, self.label, self.fig, self.fig_loss, self.fig_nfe])
        self.evaluation = None
        if trainer.history.snapshots:
            self.update()

    def update(self, evaluation=None):
        """Show the snapshot at the largest stored evaluation <= ``evaluation`` (an int >=
        0; None: the latest snapshot), and the loss and nfe curves up to it."""
        if self._syncing:  # the slider being moved by update itself
            return self
        history = self.trainer.history
        if not history.snapshots:
            raise ValueError("no snapshot yet: run trainer.train(...) first")
        evaluation = check_int("evaluation", evaluation, minimum=0, allow_none=True)
        if evaluation is None:
            evaluation = max(history.snapshots)
        shown = max(
            (k for k in history.snapshots if k <= evaluation), default=min(history.snapshots)
        )
        if shown == len(history) and shown not in self.dense:
            # no evaluation since this snapshot: the model is as it was then
            self.dense[shown] = self.trainer.predict(self.t_dense, tight=False).cpu()
        z = history.snapshots[shown].detach().cpu()
        dense = self.dense.get(shown, torch.empty(0, 2))
        its = list(range(shown))
        with self.fig.batch_update():
            self.fig.data[1].update(x=z[:, 0].tolist(), y=z[:, 1].tolist())
            self.fig.data[2].update(x=dense[:, 0].tolist(), y=dense[:, 1].tolist())
        lines = [
            dict(type="line", x0=k, x1=k, y0=0, y1=1, yref="paper", line=dict(dash="dot"))
            for k, _ in history.stages
            if 0 < k < shown
        ]
        with self.fig_loss.batch_update():
            self.fig_loss.data[0].x, self.fig_loss.data[0].y = its, history.loss[:shown]
            self.fig_loss.layout.shapes = lines
        with self.fig_nfe.batch_update():
            self.fig_nfe.data[0].x, self.fig_nfe.data[0].y = its, history.nfe_forward[:shown]
            self.fig_nfe.data[1].x, self.fig_nfe.data[1].y = its, history.nfe_backward[:shown]
            self.fig_nfe.layout.shapes = lines
        self.evaluation = shown
        error = float((z - self.trainer.data.z.detach().cpu()).abs().mean())
        stage = max((b for k, b in history.stages if k <= max(shown - 1, 0)), default=None)
        self.label.value = (
            f"evaluation {shown}: mean |z_model - z_data| over the whole trajectory {error:.4f}"
            + (f", loss {history.loss[shown - 1]:.2e}" if shown else "")
            + (f", windows of {stage} observations" if stage and shown else "")
        )
        self._syncing = True
        try:
            self.slider.max = max(history.snapshots)
            self.slider.value = shown
        finally:
            self._syncing = False
        return self
