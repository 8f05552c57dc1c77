"""The first figure comes quickly: importing node_edu and showing lesson 00's dashboard
loads neither jsonschema (plotly pulls it in through nbformat) nor SymPy; both still load
when something uses them. Timings themselves are in benchmarks/widgets.py."""

import json
import os
import subprocess
import sys

import pytest

from node_edu import widgets


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
