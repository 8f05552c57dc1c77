"""A figure keeps its layout and traces when plotly's code is slow to load (a busy machine).

anywidget gives a widget 2 s from its creation to load and initialise its JavaScript; after
that it drops every message the kernel sends the widget. plotly's FigureWidget loads a fresh
copy of plotly.js for each figure, and its layout reaches the browser in a message after the
widget's creation, so on a busy machine a figure could be drawn with plotly's placeholders
("Click to enter Plot title") and no traces. node_edu's FigureWidget shares one copy of
plotly's code per page (see node_edu.viz.PlotlyCode) and keeps the messages that arrive
while it loads.

Here the machine is made slow where it matters, deterministically: in the page, turning a
large script (plotly's code) into a loadable URL blocks for 2.5 s. A notebook then makes
three figures at once; each must be drawn with its title, axis titles and trace, and
anywidget must report no widget it gave up on.
"""

import os
from pathlib import Path

import nbformat
import pytest

from tests.browser import lab

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(lab.CHROMIUM).exists() and os.environ.get("CI") != "true",
        reason=f"no Chromium at {lab.CHROMIUM}",
    ),
]

# Every URL made from a script larger than 1 MB costs 2.5 s of the page's only thread.
SLOW_LARGE_SCRIPTS = """
const createObjectURL = URL.createObjectURL.bind(URL);
URL.createObjectURL = blob => {
  if (blob.size > 1e6) { const end = Date.now() + 2500; while (Date.now() < end) {} }
  return createObjectURL(blob);
};
"""

N = 3
CODE = f"""
from IPython.display import display
from node_edu import viz
for i in range({N}):
    fig = viz.figure(f"figure {{i}}", "x axis", "y axis")
    fig.add_scatter(x=[0, 1, 2], y=[i, i + 1, i], name="line")
    display(fig)
"""

# What each drawn figure shows: its title, its axis titles, and how many traces.
DRAWN = f"""() => [...{lab.NOTEBOOK}.node.querySelectorAll('.js-plotly-plot')].map(g => [
    g._fullLayout.title.text, g._fullLayout.xaxis.title.text, g._fullLayout.yaxis.title.text,
    g.data.length])"""


@pytest.mark.timeout(600)
def test_figures_keep_layout_and_traces_when_plotly_loads_slowly(tmp_path):
    pytest.importorskip("playwright.sync_api")
    with lab.make_lab(tmp_path) as (base, token, workspace), lab.chromium() as browser:
        workspace.mkdir(parents=True, exist_ok=True)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CODE)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(nb, workspace / "figures.ipynb")
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.add_init_script(SLOW_LARGE_SCRIPTS)
        lab.open_notebook(page, base, token, "figures.ipynb")
        lab.run_all(page)
        page.wait_for_function(f"() => ({DRAWN})().length === {N}", timeout=120_000, polling=250)
        page.wait_for_timeout(3000)  # anything late (a dropped message) has had its chance
        drawn = page.evaluate(DRAWN)
        expected = [[f"figure {i}", "x axis", "y axis", 1] for i in range(N)]
        assert drawn == expected, f"figures drawn as {drawn}; page errors: {errors}"
        assert not [e for e in errors if "anywidget" in e], errors
