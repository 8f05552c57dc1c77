"""Lesson 00's widget, driven headless as nbval and the slider drive it."""

import math

import pytest

from node_edu.widgets import EulerStepsWidget


def test_update_draws_the_euler_polygon_of_the_closed_form():
    w = EulerStepsWidget(lam=-1.5, t1=1.0, n_steps=3)
    w.update(10)
    h = 1.0 / 10
    xs, ys = list(w.fig.data[1].x), list(w.fig.data[1].y)
    assert len(xs) == 11 and math.isclose(xs[-1], 1.0)
    for k, y in enumerate(ys):  # z_k = (1 + h lam)^k, computed here independently
        assert math.isclose(y, (1 - 1.5 * h) ** k, rel_tol=1e-12)
    assert math.isclose(w.error, abs(ys[-1] - math.exp(-1.5)))


def test_moving_the_slider_redraws_through_update():
    w = EulerStepsWidget(n_steps=4)
    w.slider.value = 9
    assert len(w.fig.data[1].x) == 10
    assert "N = 9" in w.label.value


def test_update_past_the_slider_range_keeps_slider_and_figure_in_step():
    w = EulerStepsWidget(n_steps=4, max_steps=64)
    w.update(128)
    assert len(w.fig.data[1].x) == 129
    assert w.slider.value == 128 and w.slider.max >= 128


def test_exact_trace_is_the_exponential():
    w = EulerStepsWidget(lam=0.5, t1=2.0)
    for x, y in zip(w.fig.data[0].x, w.fig.data[0].y, strict=True):
        assert math.isclose(y, math.exp(0.5 * x), rel_tol=1e-12)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "4"])
def test_bad_step_count_is_a_clear_error(bad):
    w = EulerStepsWidget()
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1"):
        w.update(bad)


def test_update_redraws_the_lessons_polygon():  # moved from lesson 00 (it tests the widget)
    w = EulerStepsWidget(lam=-2.0, t1=2.0, n_steps=4)
    before = list(w.fig.data[1].y)
    w.update(32)
    after = list(w.fig.data[1].y)
    assert after != before and len(after) == 32 + 1


# --- the trained neural ODE moving points ---------------------------------------------

import torch  # noqa: E402

from node_edu.data.moons import labelled_moons  # noqa: E402
from node_edu.models.classifier import ODEClassifier  # noqa: E402
from node_edu.widgets import ClassifierFlowWidget  # noqa: E402


def _flow_widget(**kwargs):
    torch.manual_seed(0)
    model = ODEClassifier(hidden=8)
    torch.nn.init.normal_(model.readout.weight)
    x, y = labelled_moons(20, seed=0)
    return ClassifierFlowWidget(model, x, y, **kwargs), model, x, y


def test_flow_widget_draws_each_class_where_the_ode_has_carried_it():
    w, model, x, y = _flow_widget(n_times=5)
    t = torch.linspace(0.0, 1.0, 5, dtype=torch.float64)
    with torch.no_grad():  # oracle: the model's own solve, on its own
        z = model.flow(x, t)
    for k, tk in enumerate((0.0, 0.25, 0.5, 0.75, 1.0)):
        w.update(tk)
        assert w.t == tk
        for trace, label in ((1, 0.0), (2, 1.0)):
            drawn = torch.tensor([w.fig.data[trace].x, w.fig.data[trace].y], dtype=torch.float64).T
            assert torch.allclose(drawn, z[k][y == label], rtol=0, atol=1e-12)
        right = ((model.score(z[k]) > 0) == (y > 0.5)).double().mean().item()
        assert w.accuracy == right and f"{round(right * 20)} of 20" in w.label.value
    assert torch.equal(w.z[0], x)  # the paths start at the data


def test_flow_widget_paths_and_line():
    w, model, x, y = _flow_widget(n_times=3)
    xs = [v for v in w.fig.data[0].x]
    assert xs.count(None) == 20 and len(xs) == 20 * (3 + 1)  # one path of 3 times per point
    (w0, w1), b = model.readout.weight.detach()[0].tolist(), float(model.readout.bias.detach())
    for px, py in zip(w.fig.data[3].x, w.fig.data[3].y, strict=True):  # on the line w.z + b = 0
        assert abs(w0 * px + w1 * py + b) < 1e-9
    assert w.fig.layout.yaxis.scaleanchor == "x"  # equal axes: a phase portrait


def test_flow_widget_slider_moves_the_points_and_snaps_to_the_time_grid():
    w, *_ = _flow_widget(n_times=11, t=1.0)
    w.slider.value = 0.3
    assert w.t == 0.3 and "t = 0.30" in w.label.value
    w.update(0.34)  # between grid times: the nearest one
    assert w.t == 0.3 and w.slider.value == 0.3


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.5", True])
def test_flow_widget_rejects_a_bad_time(bad):
    w, *_ = _flow_widget(n_times=3)
    with pytest.raises(ValueError, match="t must be a number in"):
        w.update(bad)


def test_flow_widget_rejects_bad_arguments():
    _, model, x, y = _flow_widget(n_times=3)
    with pytest.raises(TypeError, match="model must be an ODEClassifier"):
        ClassifierFlowWidget(torch.nn.Linear(2, 1), x, y)
    with pytest.raises(ValueError, match="n_times must be an integer >= 2, got 1"):
        ClassifierFlowWidget(model, x, y, n_times=1)
