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
