"""Lesson 08's figures and dashboards: what they draw is what they were given or computed."""

import pytest
import torch

from node_edu.models.regularisation import FitHistory
from node_edu.widgets.lesson08 import (
    DepthWidget,
    RegularisationWidget,
    boundary_figure,
    lines_figure,
)

A = ((-0.1, -2.0), (2.0, -0.1))


def test_depth_widget_draws_the_resnets_states_against_the_exact_flow():
    w = DepthWidget(A=A, z0=(1.0, 0.0), t1=3.0, depth=8)
    At = torch.tensor(A, dtype=torch.float64)
    z0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    exact = torch.linalg.matrix_exp(3.0 * At) @ z0
    assert w.fig.data[0].x[-1] == pytest.approx(float(exact[0]), abs=1e-12)
    assert w.fig.data[0].y[-1] == pytest.approx(float(exact[1]), abs=1e-12)
    for depth in (1, 8, 50):
        w.update(depth)
        M = torch.eye(2, dtype=torch.float64) + (3.0 / depth) * At
        last = torch.linalg.matrix_power(M, depth) @ z0  # (I + hA)^N z0, Euler's closed form
        assert len(w.fig.data[1].x) == len(w.fig.data[1].y) == depth + 1
        assert w.fig.data[1].x[-1] == pytest.approx(float(last[0]), abs=1e-10)
        assert w.fig.data[1].y[-1] == pytest.approx(float(last[1]), abs=1e-10)
        assert w.error == pytest.approx(float((last - exact).norm()), abs=1e-10)
        assert w.depth == depth == w.slider.value and f"{depth} blocks" in w.label.value
    w.slider.value = 20  # the observer calls update(20)
    assert w.depth == 20 and len(w.fig.data[1].x) == 21


def test_depth_widget_rejects_bad_arguments():
    with pytest.raises(ValueError, match="A, z0 must be a 2 x 2 matrix and a 2-vector"):
        DepthWidget(A=((1.0,),))
    w = DepthWidget()
    with pytest.raises(ValueError, match="depth must be finite and > 0"):
        w.update(0)
    with pytest.raises(TypeError, match="depth must be an int > 0"):
        w.update(2.5)


def _history(scale):
    h = FitHistory(loss=[1.0 * scale, 0.5 * scale, 0.25 * scale], nfe=[20, 26 + scale, 32])
    h.seconds, h.final_fit, h.kinetic, h.jacobian = 1.5 * scale, 0.2 * scale, 3.0, 4.0
    return h


def test_regularisation_widget_shows_the_chosen_weight_against_weight_zero():
    histories = {0.0: _history(1), 0.1: _history(2), 0.5: _history(3)}
    xs = torch.linspace(-1, 1, 3)
    scores = {w: torch.full((3, 3), float(w)) - 0.2 for w in histories}
    w = RegularisationWidget(histories, boundaries=(xs, scores))
    assert w.weight == 0.5  # the largest weight first
    assert list(w.fig_nfe.data[0].y) == histories[0.0].nfe
    for weight in (0.1, 0.0, 0.5):
        w.update(weight)
        h = histories[weight]
        assert list(w.fig_nfe.data[1].y) == h.nfe and list(w.fig_nfe.data[1].x) == [0, 1, 2]
        assert list(w.fig_loss.data[1].y) == h.loss
        z = [list(row) for row in w.fig_boundary.data[0].z]
        assert z == scores[weight].tolist() and list(w.fig_boundary.data[0].x) == xs.tolist()
        assert f"<td>{weight:g}</td><td>{sum(h.nfe) / 3:.1f}</td>" in w.label.value
        assert f"{h.final_fit:.4f}" in w.label.value and w.slider.value == weight
    w.slider.value = 0.1
    assert w.weight == 0.1


def test_regularisation_widget_rejects_bad_input():
    with pytest.raises(ValueError, match="must be a dict"):
        RegularisationWidget({0.1: _history(1)})
    with pytest.raises(TypeError, match=r"histories\[0.1\] must be a FitHistory"):
        RegularisationWidget({0.0: _history(1), 0.1: [1, 2]})
    w = RegularisationWidget({0.0: _history(1), 0.1: _history(2)})
    assert w.fig_boundary is None
    with pytest.raises(ValueError, match=r"weight must be one of \[0.0, 0.1\], got 0.3"):
        w.update(0.3)


def test_boundary_and_lines_figures_hold_their_data():
    xs = torch.linspace(-2, 2, 4)
    scores = torch.arange(16.0).reshape(4, 4) - 8
    x = torch.tensor([[0.0, 0.1], [1.2, 0.0], [0.0, -1.3]])
    y = torch.tensor([-1.0, 1.0, 1.0])
    fig = boundary_figure(xs, scores, x, y, "a classifier")
    assert [list(r) for r in fig.data[0].z] == scores.tolist()
    assert fig.data[1].contours.start == 0.0 == fig.data[1].contours.end  # the 0 level
    assert list(fig.data[2].x) == [0.0] and list(fig.data[3].y) == pytest.approx([0.0, -1.3])
    assert fig.layout.yaxis.scaleanchor == "x"
    with pytest.raises(ValueError, match=r"scores must be \[4, 4\]"):
        boundary_figure(xs, scores[:2], x, y, "bad")
    lines = lines_figure([([0, 1], [2, 3]), ([0, 1], [1, 0])], "t", "t", "z", equal=True)
    assert len(lines.data) == 2 and list(lines.data[1].y) == [1, 0]
    assert lines.layout.xaxis.title.text == "t" and lines.layout.yaxis.scaleanchor == "x"
