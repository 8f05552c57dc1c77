"""Dashboards that answer at once, without changing a number.

The first figure comes quickly: importing node_edu and showing lesson 00's dashboard loads
neither jsonschema (plotly pulls it in through nbformat) nor SymPy; both still load when
something uses them. Dashboards with heavy work compute each control value once: coming
back to a value shows exactly what a fresh widget computes. Timings themselves are in
benchmarks/widgets.py."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from node_edu import widgets
from node_edu.cnf import CNF, PlanarCNF
from node_edu.widgets import DriftWidget, FlowWidget, JacobianCostWidget, JumpWidget


def modules_after(code):
    """The set of module names loaded after running ``code`` in a fresh interpreter."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, check=True, timeout=120)  # fmt: skip
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_first_dashboard_loads_neither_jsonschema_nor_sympy():
    loaded = modules_after(
        "import node_edu as ne\n"
        "from node_edu.widgets import EulerStepsWidget\n"
        "EulerStepsWidget().widget"
    )
    assert "plotly.graph_objs._figurewidget" in loaded  # the figure was built
    assert "jsonschema" not in loaded and "nbformat.validator" not in loaded
    assert "sympy" not in loaded


def test_fig_show_still_finds_nbformat_when_it_needs_it():
    loaded = modules_after(
        "import node_edu.viz\n"
        "import plotly.graph_objects as go, plotly.io as pio\n"
        "pio.show(go.Figure(), renderer='notebook')"  # checks nbformat's version first
    )
    assert "nbformat.validator" in loaded


def test_every_dashboard_name_resolves_and_an_unknown_one_is_an_attribute_error():
    for name in widgets.__all__:
        cls = getattr(widgets, name)
        assert cls.__name__ == name and cls.__module__.startswith("node_edu.widgets.")
    assert set(widgets.__all__) <= set(dir(widgets))
    with pytest.raises(AttributeError, match="NoSuchWidget"):
        widgets.NoSuchWidget  # noqa: B018


F64 = torch.float64


def test_drift_widget_shows_the_same_numbers_when_a_slider_comes_back():
    A = torch.tensor([[-1.0, -9.0], [0.0, -10.0]], dtype=F64)
    z0 = torch.tensor([1.0, 0.5], dtype=F64)
    w = DriftWidget(A, z0, t1=1.0, log10_rtol=-5.0)
    w.update(t1=2.0)
    w.update(t1=1.0)  # from the cache
    fresh = DriftWidget(A, z0, t1=1.0, log10_rtol=-5.0)  # oracle: computed afresh
    assert w.drift == fresh.drift and w.grad_error == fresh.grad_error
    assert torch.equal(w.z_backward, fresh.z_backward)
    assert w.fig.data[2].y == fresh.fig.data[2].y


def test_jump_widget_shows_the_same_numbers_when_a_slider_comes_back():
    A = torch.tensor([[0.0, 1.0], [-2.0, -3.0]], dtype=F64)
    z0 = torch.tensor([1.0, 0.5], dtype=F64)
    w = JumpWidget(A, z0, m=3)
    w.update(m=2, shift=0.3)
    w.update(m=3, shift=0.0)  # from the cache
    fresh = JumpWidget(A, z0, m=3)
    assert np.array_equal(w.jumps_numeric, fresh.jumps_numeric)
    assert np.array_equal(w.jumps_exact, fresh.jumps_exact)
    assert w.fig.data[0].y == fresh.fig.data[0].y and w.fig.data[2].y == fresh.fig.data[2].y


def test_flow_widget_shows_the_same_density_when_the_slider_comes_back():
    torch.manual_seed(0)
    flow = CNF(PlanarCNF(dim=2, width=4, hidden=8).to(F64), method="rk4", step_size=0.25)
    w = FlowWidget(flow, n=8, n_samples=10)
    w.update(0.5)
    w.update(0.0)  # from the cache
    with torch.no_grad():  # oracle: the CNF itself
        assert torch.equal(w.log_density, flow.log_prob(w.points, t=0.0))
    w.update(0.5)
    assert w.fig.data[0].z == FlowWidget(flow, 0.5, n=8, n_samples=10).fig.data[0].z


def test_jacobian_cost_widget_measures_each_output_size_once():
    w = JacobianCostWidget(4, input_sizes=(2, 8), out_sizes=(1, 4), repeats=1)
    first = dict(w.times)
    w.update(1)
    w.update(4)
    assert w.times == first  # the measurement is shown again, not retaken
    assert w.passes[w.METHODS[1]] == [4, 4]  # m VJPs for every n


def test_the_benchmark_moves_each_control_across_its_whole_range():
    import ipywidgets as W

    from benchmarks.widgets import MAX_VALUES, controls, values

    assert values(W.IntSlider(value=2, min=1, max=5)) == [1, 2, 3, 4, 5]
    logs = values(W.FloatLogSlider(value=1e-4, base=10, min=-10, max=-1, step=0.5))
    assert len(logs) == 19 and np.isclose(logs[0], 1e-10) and np.isclose(logs[-1], 0.1)
    assert values(W.Dropdown(options=["euler", "rk4"], value="rk4")) == ["euler", "rk4"]
    many = values(W.FloatSlider(value=0, min=-15, max=0, step=0.25))
    assert len(many) == MAX_VALUES and many[0] == -15 and many[-1] == 0
    w = JacobianCostWidget(4, input_sizes=(2,), out_sizes=(1, 4), repeats=1)
    assert [name for name, _ in controls(w)] == ["slider"]
