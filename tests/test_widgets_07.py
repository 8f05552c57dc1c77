"""Lesson 07's widget and figure, driven through update() as the notebook does."""

import pytest
import torch

from node_edu.cnf import CNF, PlanarCNF, grid, hutchinson_variance, standard_normal_log_prob
from node_edu.widgets.lesson07 import FlowWidget, ProbesWidget, density_pair_figure

F64 = torch.float64


def linear_cnf():
    A = torch.tensor([[0.3, -1.0], [0.5, 0.2]], dtype=F64)
    return A, CNF(lambda t, z: z @ A.T, rtol=1e-9, atol=1e-11)


def test_flow_widget_shows_the_exact_density_of_a_linear_flow():
    A, cnf = linear_cnf()
    widget = FlowWidget(cnf, lim=5.0, n=30, n_samples=50)
    _, pts, area = grid(5.0, 30)
    assert torch.allclose(widget.log_density, standard_normal_log_prob(pts))  # t = t0
    widget.update(0.6)
    M = torch.linalg.matrix_exp(0.6 * A)
    exact = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=F64), M @ M.T)
    assert torch.allclose(widget.log_density, exact.log_prob(pts), atol=1e-8)
    heat = torch.tensor(widget.fig.data[0].z, dtype=F64)
    assert torch.allclose(heat, exact.log_prob(pts).exp().reshape(30, 30), atol=1e-10)
    # The samples are the base samples pushed by e^{0.6 A}.
    xs = torch.tensor([widget.fig.data[1].x, widget.fig.data[1].y], dtype=F64).T
    assert torch.allclose(xs, widget.z0 @ M.T, atol=1e-8)
    assert abs(widget.mass - float(exact.log_prob(pts).exp().sum() * area)) < 1e-10
    assert abs(widget.mass - 1) < 1e-2
    assert widget.slider.value == 0.6 and "0.6" in widget.label.value


def test_slider_drives_update():
    _, cnf = linear_cnf()
    widget = FlowWidget(cnf, n=10, n_samples=5)
    before = widget.fig.data[0].z
    widget.slider.value = 1.0
    assert widget.fig.data[0].z != before
    assert "t = 1" in widget.label.value


def test_planar_widget_runs_with_float64_parameters():
    torch.manual_seed(0)
    cnf = CNF(PlanarCNF(width=3, hidden=4).double(), method="rk4", step_size=0.25)
    widget = FlowWidget(cnf, n=12, n_samples=10).update(0.5)
    assert widget.log_density.dtype == F64 and len(widget.fig.data[1].x) == 10


def test_density_pair_figure():
    xs = torch.linspace(-1, 1, 4, dtype=F64)
    a, b = torch.rand(4, 4, dtype=F64), torch.rand(4, 4, dtype=F64)
    fig = density_pair_figure(xs, a, b)
    assert len(fig.data) == 2
    assert torch.allclose(torch.tensor(fig.data[0].z, dtype=F64), a)
    assert fig.data[1].xaxis == "x2"
    with pytest.raises(ValueError, match="learned and target"):
        density_pair_figure(xs, a, b[:3])


def test_widget_rejects_a_non_cnf():
    with pytest.raises(TypeError, match="cnf must be"):
        FlowWidget(lambda t, z: z)


def test_probes_widget_spread_follows_the_exact_variance():
    J = torch.tensor([[0.5, -1.2, 0.3], [0.4, 0.1, 0.9], [-0.7, 0.2, -0.3]], dtype=F64)
    widget = ProbesWidget(J, repeats=4000)
    exact = float(torch.trace(J))
    for k in (1, 16):
        widget.update(k)
        for i, kind in enumerate(ProbesWidget.KINDS):
            expected_std = (float(hutchinson_variance(J, kind)) / k) ** 0.5
            assert abs(widget.stds[kind] / expected_std - 1) < 0.05, (k, kind)
            assert abs(widget.means[kind] - exact) < 4 * expected_std / 4000**0.5
            assert len(widget.fig.data[i].x) == 4000
    assert widget.fig.data[2].x == (exact, exact)
    assert widget.slider.value == 16 and "K = 16" in widget.label.value


def test_probes_widget_is_exact_for_a_diagonal_matrix_with_rademacher():
    widget = ProbesWidget(torch.diag(torch.tensor([1.0, -3.0], dtype=F64)), repeats=50)
    assert widget.stds["rademacher"] == 0.0 and widget.means["rademacher"] == -2.0
    assert widget.stds["gaussian"] > 0


def test_probes_widget_errors():
    with pytest.raises(ValueError, match="J must be"):
        ProbesWidget(torch.zeros(2, 3))
    widget = ProbesWidget(torch.eye(2, dtype=F64), repeats=10)
    with pytest.raises(ValueError, match="n_probes"):
        widget.update(0)


def test_flow_widget_of_a_planar_flow_shows_its_density():
    # Moved from lesson 07: at t1 the heatmap is cnf.log_prob, and p_t integrates to one.
    torch.manual_seed(1)
    cnf = CNF(PlanarCNF(width=4, hidden=8).double(), method="rk4", step_size=0.25)
    widget = FlowWidget(cnf, lim=6.0, n=40, n_samples=30)
    _, pts, _ = grid(6.0, 40)
    for t in (0.5, 1.0):
        widget.update(t)
        assert abs(widget.mass - 1) < 0.02, (t, widget.mass)
    with torch.no_grad():
        assert torch.allclose(widget.log_density, cnf.log_prob(pts), atol=1e-12)
    assert len(widget.fig.data[1].x) == 30 and len(widget.fig.data[0].z) == 40


def test_probes_widget_rademacher_spreads_less_than_gaussian():
    # Moved from lesson 07: for a non-diagonal J, Rademacher probes have the smaller spread.
    J = torch.tensor([[0.5, -1.2], [0.4, 0.1]], dtype=F64)
    widget = ProbesWidget(J, repeats=2000)
    for k in (1, 4, 64):
        widget.update(k)
        assert widget.stds["rademacher"] < widget.stds["gaussian"], k
