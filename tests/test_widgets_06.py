"""Lesson 06's TrainingWidget: the figures show what the trainer's history holds."""

import pytest
import torch

from node_edu.data.spiral import spiral
from node_edu.models.training import Trainer, VectorField
from node_edu.widgets.lesson06 import TrainingWidget


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    data = spiral(30, t1=6.0)
    trainer = Trainer(VectorField(hidden=8), data, batch_size=4, batch_time=4)
    trainer.train(7, every=3, progress=False)  # snapshots at 0, 3, 6, 7
    return trainer


def test_widget_before_training_is_empty_and_refuses_update():
    trainer = Trainer(VectorField(hidden=4), spiral(10))
    w = TrainingWidget(trainer)
    assert w.iteration is None and len(w.fig.data[1].x) == 0
    assert list(w.fig.data[0].y) == trainer.data.z[:, 1].tolist()  # the data is drawn at once
    with pytest.raises(ValueError, match=r"no snapshot yet: run trainer.train\(...\) first"):
        w.update()


def test_update_shows_the_snapshot_at_or_before_the_iteration(trained):
    w = TrainingWidget(trained)
    assert w.iteration == 7 and w.slider.max == 7 and w.slider.value == 7
    h = trained.history
    for asked, shown in ((0, 0), (2, 0), (3, 3), (5, 3), (6, 6), (100, 7)):
        w.update(asked)
        assert w.iteration == shown and w.slider.value == shown
        z = h.snapshots[shown]
        assert list(w.fig.data[1].x) == z[:, 0].tolist()
        assert list(w.fig.data[1].y) == z[:, 1].tolist()
        assert list(w.fig_loss.data[0].y or []) == h.loss[:shown]
        assert list(w.fig_loss.data[0].x or []) == list(range(shown))
        assert list(w.fig_nfe.data[0].y or []) == h.nfe_forward[:shown]
        assert list(w.fig_nfe.data[1].y or []) == h.nfe_backward[:shown]
        error = float((z - trained.data.z).abs().mean())
        assert f"{error:.3f}" in w.label.value


def test_slider_drives_update(trained):
    w = TrainingWidget(trained)
    w.slider.value = 4  # the observer calls update(4): snapshot 3
    assert w.iteration == 3 and w.slider.value == 3
    assert list(w.fig.data[1].x) == trained.history.snapshots[3][:, 0].tolist()


def test_live_callback_follows_training():
    torch.manual_seed(1)
    trainer = Trainer(VectorField(hidden=4), spiral(20, t1=4.0), batch_size=2, batch_time=3)
    w = TrainingWidget(trainer)
    shown = []
    trainer.train(
        4, every=2, progress=False, callback=lambda tr: shown.append(w.update().iteration)
    )
    assert shown == [0, 2, 4]


@pytest.mark.parametrize("bad", [-1, 2.5, True, "3"])
def test_update_rejects_bad_iterations(trained, bad):
    w = TrainingWidget(trained)
    with pytest.raises(ValueError, match="iteration must be an integer >= 0 or None"):
        w.update(bad)


def test_widget_needs_a_trainer():
    with pytest.raises(
        TypeError, match="trainer must be a node_edu.models.training.Trainer, got dict"
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
    assert w.iteration == 3 and len(w.fig_loss.data[0].y) == 3
    assert list(w.fig_nfe.data[0].y) == h.nfe_forward[:3]
    w.update()
    assert list(w.fig.data[0].x) == data.z[:, 0].tolist()  # trace 0: the data


def test_the_trajectory_is_drawn_on_a_dense_grid_that_passes_through_the_snapshot():
    torch.manual_seed(0)
    trainer = Trainer(VectorField(), spiral())
    w = TrainingWidget(trainer, n_dense=397)  # 397 = 4 * 99 + 1: every data time on the grid
    trainer.train(3, every=2, callback=lambda tr: w.update(), progress=False)
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
    trainer = Trainer(VectorField(), spiral())
    trainer.train(2, every=1, progress=False)
    w = TrainingWidget(trainer)  # sees only the latest snapshot being current
    w.update(2)
    assert len(w.fig.data[2].x) == 1000
    w.update(1)
    assert len(w.fig.data[2].x or ()) == 0 and len(w.fig.data[1].x) == 100


def test_n_dense_must_be_an_integer_of_at_least_two():
    trainer = Trainer(VectorField(), spiral())
    with pytest.raises(ValueError, match="n_dense"):
        TrainingWidget(trainer, n_dense=1)
