"""A dashboard's static copy for the book (node_edu/viz_static.py): what it draws, and that
it is there only while the book is built, refreshed when the displaying cell ends."""

import json
import math
import os
import re

import ipywidgets as W
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from node_edu import viz, viz_static
from node_edu.widgets import EulerStepsWidget, FiniteDifferenceWidget, SolverWidget

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def plotly_calls(html):
    """(div id, data, layout) of every Plotly.newPlot(...) in ``html``, parsed as JSON."""
    calls = []
    for match in re.finditer(
        r'Plotly\.newPlot\(\s*"([^"]+)",\s*(\[.*?\]),\s*(\{.*?\}),\s*\{', html, re.S
    ):
        calls.append((match.group(1), json.loads(match.group(2)), json.loads(match.group(3))))
    return calls


def test_a_dashboard_becomes_its_figure_and_its_controls_in_their_state():
    euler = EulerStepsWidget(lam=-2.0, t1=2.0, n_steps=5)
    html = viz_static.to_html(euler.widget, "euler")
    ((div, data, layout),) = plotly_calls(html)
    assert div == "euler-0" and f'id="{div}"' in html
    # the Euler polygon drawn: the closed form (1 + h lam)^k, h = t1 / 5
    assert data[1]["y"] == pytest.approx([(1 - 2.0 * 0.4) ** k for k in range(6)], rel=1e-12)
    assert layout["xaxis"]["title"]["text"] == "t"
    assert 'aria-label="Interactive figure: Euler' in html
    # the slider, disabled, at 5 of 1..64, with its readout; the label's text as shown
    assert re.search(r'<input type="range" disabled min="1" max="64" step="any" value="5">', html)
    assert '<output class="ne-static-value">5</output>' in html
    assert euler.label.value in html
    assert viz_static.NOTE in html


def test_toggle_buttons_and_log_sliders_show_their_values():
    fd = FiniteDifferenceWidget(np.sin, np.cos, 1.0, log10_h=-3.0, scheme="central")
    html = viz_static.to_html(fd.widget)
    assert "<option selected>central</option>" in html and "<option>forward</option>" in html
    solver = SolverWidget()
    html = viz_static.to_html(solver.widget)
    for slider in (solver.step, solver.rtol):
        bar = re.search(rf'min="{slider.min}" max="{slider.max}" step="any" value="([^"]+)"', html)
        # the bar moves in the exponent: log10 of the value
        assert float(bar.group(1)) == pytest.approx(math.log10(slider.value), abs=1e-12)
        assert f'<output class="ne-static-value">{format(slider.value, ".3g")}</output>' in html
    assert f"<option selected>{solver.method.value}</option>" in html


def test_a_figure_alone_gets_no_note_about_controls_and_ids_stay_unique():
    fig = viz.figure("alone", "x", "y")
    fig.add_scatter(x=[0, 1], y=[1, 2])
    html = viz_static.to_html(viz.panel([fig, viz.figure("second", "x", "y")]), "p")
    assert viz_static.NOTE not in html
    assert [c[0] for c in plotly_calls(html)] == ["p-0", "p-1"]
    box = W.VBox([W.Label("<b>&</b>")])  # a Label is text, escaped
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in viz_static.to_html(box)


def test_outside_the_book_a_panel_is_only_the_live_widget(monkeypatch):
    monkeypatch.delenv(viz_static.ENV, raising=False)
    euler = EulerStepsWidget()
    with pytest.raises(NotImplementedError):  # IPython then falls back to the mimebundle
        euler.widget._ipython_display_()
    with pytest.raises(NotImplementedError):
        euler.fig._ipython_display_()
    assert set(euler.widget._repr_mimebundle_()) == {"text/plain", WIDGET_VIEW}
    monkeypatch.setenv(viz_static.ENV, "1")
    assert viz_static.enabled()
    monkeypatch.setenv(viz_static.ENV, "0")
    assert not viz_static.enabled()


CELLS = [
    "from node_edu.widgets import EulerStepsWidget\n"
    "euler = EulerStepsWidget(n_steps=3)\n"
    "display(euler.widget)\n"
    "euler.update(7)  # in the same cell: the copy shows 7",
    "euler.update(9)  # a later cell: the copy keeps 7",
    "euler.fig",
]


def run(cells, env):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute(env=env)
    return nb


def static_outputs(nb, index):
    return [o for o in nb.cells[index].outputs if "text/html" in o.get("data", {})]


@pytest.mark.parametrize("book", [True, False], ids=["book", "lab"])
def test_in_a_kernel_the_copy_follows_its_cell_and_only_while_the_book_is_built(book):
    env = dict(os.environ)
    env.pop(viz_static.ENV, None)
    if book:
        env[viz_static.ENV] = "1"
    nb = run(CELLS, env)
    displayed = [o for o in nb.cells[0].outputs if o.output_type == "display_data"]
    assert len(displayed) == 1 and WIDGET_VIEW in displayed[0]["data"]  # the live widget
    if not book:
        assert all(static_outputs(nb, i) == [] for i in range(len(CELLS)))
        return
    ((_, data, _),) = plotly_calls(displayed[0]["data"]["text/html"])
    assert len(data[1]["x"]) == 8  # 7 steps: the state when the displaying cell ended
    assert static_outputs(nb, 1) == []
    (alone,) = static_outputs(nb, 2)  # a bare figure is shown through a panel too
    ((_, data, _),) = plotly_calls(alone["data"]["text/html"])
    assert len(data[1]["x"]) == 10 and WIDGET_VIEW in alone["data"]
