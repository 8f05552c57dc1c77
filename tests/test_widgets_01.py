"""Lesson 01's dashboards: finite differences against h, and sweeps on a graph."""

import math

import numpy as np
import pytest
import torch

import node_edu.autodiff as ad
from node_edu import viz
from node_edu.widgets import FiniteDifferenceWidget, SweepWidget


def g(x1):  # f(x1, x2 = 5) of lesson 01, in numpy; keeps float32 as float32
    return np.log(x1) + x1 * 5.0 - math.sin(5.0)


def dg(x1):
    return 1.0 / x1 + 5.0


def test_finite_difference_widget_draws_the_errors_of_a_hand_computation():
    w = FiniteDifferenceWidget(g, dg, 2.0, log10_h=-3.0)
    h = 1e-3
    for k, dtype in enumerate((np.float64, np.float32)):
        x, hh = dtype(2.0), dtype(h)
        by_hand = abs(float((g(x + hh) - g(x)) / hh) - 5.5)
        assert math.isclose(w.fig.data[2].y[k], by_hand, rel_tol=1e-6)
    w.slider.value = -6.0  # what dragging the slider does: the observer calls update
    assert math.isclose(w.fig.data[2].x[0], 1e-6)
    w.scheme.value = "central"
    x, hh = np.float64(2.0), np.float64(1e-6)
    by_hand = abs((g(x + hh) - g(x - hh)) / (2 * hh) - 5.5)
    assert math.isclose(w.current["float64"], by_hand, rel_tol=1e-6)


def test_finite_difference_widget_shows_the_v_with_bottom_near_sqrt_eps():
    w = FiniteDifferenceWidget(g, dg, 2.0)
    for k, name in enumerate(("float64", "float32")):
        err = np.array([np.nan if e is None else e for e in w.fig.data[k].y], dtype=float)
        h_best = w.hs[np.nanargmin(err)]
        eps = np.finfo(name).eps
        assert math.sqrt(eps) / 30 < h_best < math.sqrt(eps) * 30, (name, h_best)
        # both arms rise: truncation at h = 1, round-off at h = 1e-15
        assert err[-1] > 100 * np.nanmin(err) and err[0] > 100 * np.nanmin(err)


def test_finite_difference_widget_rejects_a_bad_scheme():
    w = FiniteDifferenceWidget(g, dg, 2.0)
    with pytest.raises(ValueError, match="scheme must be"):
        w.update(scheme="backward")


def _baydin(lib):
    return lambda x1, x2: lib.log(x1) + x1 * x2 - lib.sin(x2)


def test_sweep_widget_reverse_mode_reveals_values_then_adjoints_that_torch_agrees_with():
    graph = ad.trace(_baydin(ad), 2.0, 5.0)
    w = SweepWidget(graph)
    n = len(graph.nodes)
    w.update(3)
    assert list(w.values) == [nd.label for nd in graph.nodes[:3]] and w.adjoints == {}
    assert w.phase == "forward"
    w.slider.value = n + 2
    assert w.phase == "reverse" and len(w.adjoints) == 2
    assert w.adjoints[graph.output.label] == 1.0
    w.update(2 * n)
    assert w.phase == "done"
    x = torch.tensor([2.0, 5.0], dtype=torch.float64)
    grad = torch.func.grad(lambda x: _baydin(torch)(x[0], x[1]))(x)
    assert math.isclose(w.adjoints["x1"], grad[0]) and math.isclose(w.adjoints["x2"], grad[1])
    colours = w.fig.data[1].marker.color
    assert all(c == SweepWidget.COLOURS["adjoint"] for c in colours)
    assert all("bar =" in t for t in w.fig.data[1].text)


def test_sweep_widget_forward_mode_carries_tangents_like_torch_jvp():
    graph = ad.trace(_baydin(ad), 2.0, 5.0)
    w = SweepWidget(graph, mode="forward", seed=(0.0, 1.0))
    w.update(len(graph.nodes))
    one = torch.tensor(1.0, dtype=torch.float64)
    _, dx2 = torch.func.jvp(_baydin(torch), (2.0 * one, 5.0 * one), (0.0 * one, one))
    assert math.isclose(w.tangents[graph.output.label], dx2)
    assert w.phase == "done" and w.adjoints == {}
    with pytest.raises(ValueError, match="step must be an integer in"):
        w.update(len(graph.nodes) + 1)  # forward mode has only N steps
    with pytest.raises(ValueError, match="mode must be"):
        w.update(0, mode="sideways")


def test_graph_positions_put_every_edge_left_to_right():
    graph = ad.trace(_baydin(ad), 2.0, 5.0)
    xs, ys = viz.graph_positions(graph)
    assert all(xs[i] < xs[j] for i, j in graph.edges)
    assert len(set(zip(xs, ys, strict=True))) == len(graph.nodes)  # no two nodes overlap


def test_widget_constructors_reject_bad_arguments():
    with pytest.raises(TypeError, match="f must be a function of x, got float"):
        FiniteDifferenceWidget(1.0, dg, 2.0)
    with pytest.raises(TypeError, match="graph must be an autodiff.Graph"):
        SweepWidget(lambda x: x)
    graph = ad.trace(_baydin(ad), 2.0, 5.0)
    with pytest.raises(ValueError, match=r"seed needs one tangent per input \(2\)"):
        SweepWidget(graph, seed=(1.0,))


def test_sweep_widget_between_the_sweeps():  # moved from lesson 01 (they test the widget)
    graph = ad.trace(_baydin(ad), 2.0, 5.0)
    w, n = SweepWidget(graph), len(graph.nodes)
    w.update(n)  # the forward sweep is done: every value, no adjoint yet
    assert w.adjoints == {}
    assert math.isclose(w.values[graph.output.label], math.log(2) + 10 - math.sin(5))
    w.update(n + 1)  # the reverse sweep starts at the output with adjoint 1
    assert w.adjoints == {graph.output.label: 1.0}
