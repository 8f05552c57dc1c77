"""Lesson 02's dashboard: the cost of a full Jacobian, four ways."""

import pytest
import torch

from node_edu.widgets import JacobianCostWidget


def test_jacobian_cost_widget_counts_passes_and_agrees_with_finite_differences():
    w = JacobianCostWidget(4, input_sizes=(2, 6), repeats=1)
    rev, loop_vjp, fwd, loop_jvp = JacobianCostWidget.METHODS
    assert w.passes[rev] == w.passes[loop_vjp] == [4, 4]  # one VJP per output
    assert w.passes[fwd] == w.passes[loop_jvp] == [2, 6]  # one JVP per input
    assert w.f_calls[loop_jvp] == [2, 6] and w.f_calls[loop_vjp] == [1, 1]
    assert w.f_calls[fwd] == [1, 1]  # vmap runs f once on a batch of tangents
    assert w.max_discrepancy < 1e-5
    for k in range(4):
        assert len(w.fig.data[k].y) == 2 and min(w.fig.data[k].y) > 0
    w.update(1)
    assert w.passes[rev] == [1, 1] and list(w.fig.data[4].x) == [1, 1]


def test_jacobian_cost_widget_matrix_matches_finite_differences():
    """The Jacobian all four methods agree on is the right one: rebuild the widget's f from
    its seed and compare with central finite differences in float64."""
    w = JacobianCostWidget(3, input_sizes=(4,), repeats=1)
    gen = torch.Generator().manual_seed(w.seed)  # the widget draws W2, then W1 and x
    W2 = (torch.randn(3, w.hidden, generator=gen) / w.hidden**0.5).double()
    W1 = (torch.randn(w.hidden, 4, generator=gen) / 2.0).double()
    x = torch.randn(4, generator=gen).double()

    def f(x):
        return torch.tanh(W2 @ torch.tanh(W1 @ x))

    h = 1e-6
    fd = torch.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in torch.eye(4).double()], 1)
    assert w.jacobians[4].shape == (3, 4)
    assert torch.allclose(w.jacobians[4].double(), fd, atol=1e-5)
    assert w.max_discrepancy < 1e-5


def test_jacobian_cost_widget_rejects_a_bad_size():
    w = JacobianCostWidget(1, input_sizes=(2,), repeats=1)
    with pytest.raises(ValueError, match="n_out must be an integer >= 1, got 0"):
        w.update(0)


def test_jacobian_cost_widget_rejects_bad_input_sizes():
    with pytest.raises(ValueError, match="input_sizes must hold integers >= 1, got 0"):
        JacobianCostWidget(2, input_sizes=(0, 2))


def test_jacobian_cost_widget_counts_rather_than_assumes():
    """The counts come from what passed the input: a Jacobian of a function that ignores
    part of its work would still show them, and breaking the probe's count shows up here."""
    w = JacobianCostWidget(5, input_sizes=(3,), out_sizes=(5,), repeats=1)
    rev, loop_vjp, fwd, loop_jvp = JacobianCostWidget.METHODS
    assert (w.passes[rev], w.calls[rev]) == ([5], [1])  # m cotangents in one vmapped call
    assert (w.passes[loop_vjp], w.calls[loop_vjp]) == ([5], [5])
    assert (w.passes[fwd], w.calls[fwd]) == ([3], [1])  # n tangents in one vmapped call
    assert (w.passes[loop_jvp], w.calls[loop_jvp]) == ([3], [3])
