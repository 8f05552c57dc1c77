"""Lesson 09's SeriesWidget: the figure shows the chosen series and both models' predictions."""

import pytest
import torch

from node_edu.data.series import damped_oscillations
from node_edu.models.latent import LatentODE, RNNBaseline
from node_edu.widgets.lesson09 import SeriesWidget


@pytest.fixture(scope="module")
def widget():
    torch.manual_seed(0)
    data = damped_oscillations(5, 6)
    return SeriesWidget(LatentODE(hidden=8), RNNBaseline(hidden=8), data, n_dense=41)


def test_update_draws_the_series_the_truth_and_both_models(widget):
    data = widget.data
    dense = torch.linspace(0.0, 10.0, 41)
    for b in (3, 0, 4):
        widget.update(b)
        assert widget.series == b and widget.slider.value == b
        fig = widget.fig
        assert list(fig.data[0].x) == data.t[b].tolist()
        assert list(fig.data[0].y) == data.x[b, :, 0].tolist()
        for trace in fig.data[1:]:
            assert torch.allclose(torch.tensor(trace.x), dense)
        truth = data.truth(dense)[b, :, 0]
        assert torch.allclose(torch.tensor(fig.data[1].y), truth, atol=1e-6)
        ode = widget_model_prediction(widget, "ode")[b]
        rnn = widget_model_prediction(widget, "rnn")[b]
        assert torch.allclose(torch.tensor(fig.data[2].y), ode, atol=1e-6)
        assert torch.allclose(torch.tensor(fig.data[3].y), rnn, atol=1e-6)
        inside = dense <= 6.0
        for name, pred in (("latent ODE", ode), ("RNN", rnn)):
            e_in = float((pred[inside] - truth[inside]).pow(2).mean().sqrt())
            e_out = float((pred[~inside] - truth[~inside]).pow(2).mean().sqrt())
            assert widget.errors[name] == pytest.approx((e_in, e_out), rel=1e-5)
            assert f"{e_in:.3f}" in widget.label.value


def widget_model_prediction(widget, which):
    return widget.x_ode if which == "ode" else widget.x_rnn


def test_precomputed_predictions_are_the_models():
    torch.manual_seed(1)
    data = damped_oscillations(3, 5)
    ode, rnn = LatentODE(hidden=8), RNNBaseline(hidden=8)
    w = SeriesWidget(ode, rnn, data, t_end=8.0, n_dense=17)
    dense = torch.linspace(0.0, 8.0, 17)
    assert torch.allclose(w.t_dense, dense)
    assert torch.allclose(w.x_ode, ode.predict(data.t, data.x, dense)[..., 0])
    assert torch.allclose(w.x_rnn, rnn.predict(data.t, data.x, dense)[..., 0])
    assert [s.x0 for s in w.fig.layout.shapes] == [6.0]  # the window's end is marked


def test_slider_drives_update(widget):
    widget.slider.value = 2
    assert widget.series == 2
    assert list(widget.fig.data[0].y) == widget.data.x[2, :, 0].tolist()


@pytest.mark.parametrize(("bad", "error"), [(-1, ValueError), (5, ValueError), (1.0, TypeError)])
def test_bad_series_is_named(widget, bad, error):
    with pytest.raises(error, match="series must be"):
        widget.update(bad)


def test_widget_checks_its_arguments():
    data = damped_oscillations(2, 3)
    with pytest.raises(TypeError, match="latent_ode must be a LatentODE"):
        SeriesWidget(RNNBaseline(), RNNBaseline(), data)
    with pytest.raises(TypeError, match="rnn must be an RNNBaseline"):
        SeriesWidget(LatentODE(), LatentODE(), data)
    with pytest.raises(ValueError, match="t_end must be after the window's end"):
        SeriesWidget(LatentODE(), RNNBaseline(), data, t_end=5.0)


def test_update_answers_within_100_ms(widget):
    import time

    times = []
    for b in (1, 2, 3, 4, 0):
        start = time.perf_counter()
        widget.update(b)
        times.append(time.perf_counter() - start)
    assert sorted(times)[2] < 0.1  # the median: the predictions are precomputed
