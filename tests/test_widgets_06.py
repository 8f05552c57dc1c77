"""Lesson 06's TrainingWidget: the figures show what the trainer's history holds."""

import re

import pytest
import torch

from node_edu.data.spiral import spiral
from node_edu.models.training import Trainer, VectorField
from node_edu.widgets.lesson06 import TrainingWidget


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    data = spiral(30, t1=6.0)
    trainer = Trainer(VectorField(hidden=8), data, stages=((4, 7),), optimizer="adam")
    trainer.train(every=3, progress=False)  # snapshots at 0, 3, 6, 7
    return trainer


def test_widget_before_training_is_empty_and_refuses_update():
    trainer = Trainer(VectorField(hidden=4), spiral(10))
    w = TrainingWidget(trainer)
    assert w.evaluation is None and len(w.fig.data[1].x) == 0
    assert list(w.fig.data[0].y) == trainer.data.z[:, 1].tolist()  # the data is drawn at once
    with pytest.raises(ValueError, match=r"no snapshot yet: run trainer.train\(...\) first"):
        w.update()


def test_update_shows_the_snapshot_at_or_before_the_evaluation(trained):
    w = TrainingWidget(trained)
    assert w.evaluation == 7 and w.slider.max == 7 and w.slider.value == 7
    h = trained.history
    for asked, shown in ((0, 0), (2, 0), (3, 3), (5, 3), (6, 6), (100, 7)):
        w.update(asked)
        assert w.evaluation == shown and w.slider.value == shown
        z = h.snapshots[shown]
        assert list(w.fig.data[1].x) == z[:, 0].tolist()
        assert list(w.fig.data[1].y) == z[:, 1].tolist()
        assert list(w.fig_loss.data[0].y or []) == h.loss[:shown]
        assert list(w.fig_loss.data[0].x or []) == list(range(shown))
        assert list(w.fig_nfe.data[0].y or []) == h.nfe_forward[:shown]
        assert list(w.fig_nfe.data[1].y or []) == h.nfe_backward[:shown]
        error = float((z - trained.data.z).abs().mean())
        assert f"{error:.4f}" in w.label.value


def test_slider_drives_update(trained):
    w = TrainingWidget(trained)
    w.slider.value = 4  # the observer calls update(4): snapshot 3
    assert w.evaluation == 3 and w.slider.value == 3
    assert list(w.fig.data[1].x) == trained.history.snapshots[3][:, 0].tolist()


def test_live_callback_follows_training():
    torch.manual_seed(1)
    trainer = Trainer(VectorField(hidden=4), spiral(20, t1=4.0), stages=((3, 4),),
                      optimizer="adam", batch_size=2)  # fmt: skip
    w = TrainingWidget(trainer)
    shown = []
    trainer.train(every=2, progress=False, callback=lambda tr: shown.append(w.update().evaluation))
    assert shown == [0, 2, 4]


def exactly(message):
    """A ``match`` for the whole message, literally."""
    return f"^{re.escape(message)}$"


@pytest.mark.parametrize(
    "bad, error, given",
    [(-1, ValueError, "-1"), (2.5, TypeError, "2.5"), (True, TypeError, "True (bool)"),
     ("3", TypeError, "'3' (str)")],
)  # fmt: skip
def test_update_rejects_bad_evaluations(trained, bad, error, given):
    w = TrainingWidget(trained)
    with pytest.raises(
        error, match=exactly(f"evaluation must be an integer >= 0 or None, got {given}")
    ):
        w.update(bad)


def test_widget_needs_a_trainer():
    with pytest.raises(
        TypeError,
        match=exactly("trainer must be a node_edu.models.training.Trainer, got {} (dict)"),
    ):
        TrainingWidget({})


def test_figure_shows_the_snapshots_and_the_counts_lesson_06_asserted(trained):
    """What lesson 06 once asserted on its own figure, kept here: the untrained snapshot
    drawn as the fit trace, its error as the whole-trajectory error, the loss and nfe
    traces cut at the snapshot shown, and trace 0 the data."""
    w = TrainingWidget(trained)
    h, data = trained.history, trained.data
    w.update(0)
    z_shown = torch.tensor([w.fig.data[1].x, w.fig.data[1].y]).T
    assert torch.allclose(z_shown, h.snapshots[0])
    error = (h.snapshots[0] - data.z).abs().mean()
    assert abs((z_shown - data.z).abs().mean() - error) < 1e-6
    w.update(5)  # the latest snapshot at or before 5: 3
    assert w.evaluation == 3 and len(w.fig_loss.data[0].y) == 3
    assert list(w.fig_nfe.data[0].y) == h.nfe_forward[:3]
    w.update()
    assert list(w.fig.data[0].x) == data.z[:, 0].tolist()  # trace 0: the data


def test_the_trajectory_is_drawn_on_a_dense_grid_that_passes_through_the_snapshot():
    torch.manual_seed(0)
    trainer = Trainer(VectorField(), spiral(), stages=((2, 3),), optimizer="adam")
    w = TrainingWidget(trainer, n_dense=397)  # 397 = 4 * 99 + 1: every data time on the grid
    trainer.train(every=2, callback=lambda tr: w.update(), progress=False)
    for k in (0, 2, 3):
        w.update(k)
        x, y = w.fig.data[2].x, w.fig.data[2].y
        assert len(x) == len(y) == 397
        dense = torch.tensor([x, y]).T
        # oracle: the trainer's own snapshot at the data's times, every 4th dense point
        assert torch.allclose(dense[::4], trainer.history.snapshots[k], atol=1e-4)
    assert w.fig.layout.yaxis.scaleanchor == "x"  # a phase portrait keeps equal axes


def test_a_snapshot_the_widget_did_not_see_has_no_dense_curve():
    torch.manual_seed(0)
    trainer = Trainer(VectorField(), spiral(), stages=((2, 2),), optimizer="adam")
    trainer.train(every=1, progress=False)
    w = TrainingWidget(trainer)  # sees only the latest snapshot being current
    w.update(2)
    assert len(w.fig.data[2].x) == 1000
    w.update(1)
    assert len(w.fig.data[2].x or ()) == 0 and len(w.fig.data[1].x) == 100


def test_n_dense_must_be_an_integer_of_at_least_two():
    trainer = Trainer(VectorField(), spiral())
    with pytest.raises(ValueError, match=exactly("n_dense must be an integer >= 2, got 1")):
        TrainingWidget(trainer, n_dense=1)
    with pytest.raises(
        TypeError, match=exactly("n_dense must be an integer >= 2, got True (bool)")
    ):
        TrainingWidget(trainer, n_dense=True)
    with pytest.raises(TypeError, match=exactly("n_dense must be an integer >= 2, got 50.0")):
        TrainingWidget(trainer, n_dense=50.0)


def test_stage_boundaries_are_drawn_and_named():
    torch.manual_seed(0)
    trainer = Trainer(VectorField(hidden=4), spiral(20, t1=4.0), stages=((2, 3), (4, 3)),
                      optimizer="adam")  # fmt: skip
    trainer.train(every=2, progress=False)
    w = TrainingWidget(trainer)
    w.update()  # the last snapshot, 6: one boundary, at evaluation 3
    assert (
        [s.x0 for s in w.fig_loss.layout.shapes] == [3] == [s.x0 for s in w.fig_nfe.layout.shapes]
    )
    assert "windows of 4 observations" in w.label.value
    w.update(2)  # before the second stage: no line yet, windows of 2
    assert len(w.fig_loss.layout.shapes) == 0 and "windows of 2 observations" in w.label.value
