"""Figures keep their layout, traces and updates when the browser is slow (a busy machine).

anywidget gives a widget 2 s from its creation to load and initialise its JavaScript;
after that it drops every message the kernel sends the widget. plotly's FigureWidget
loaded a fresh copy of plotly.js (5 MB) for each figure, and sent its layout in a message
right after the widget's creation, so on a busy machine a figure could be drawn with
plotly's placeholders ("Click to enter Plot title") and no traces: the race the browser
tests once saw in lessons 04 and 07. node_edu.viz shares one copy of plotly's code per
page and keeps the messages that arrive while it loads, and opens a figure's comm only
when the figure is shown, with all of it (see PlotlyCode and _OpensWhenShown there).

The page is made slow deterministically: turning a script into a loadable URL blocks its
only thread for 2.5 s, either for plotly's code alone ("slow plotly") or for every
widget's code ("starved": no widget meets the 2 s, as on a machine whose browser gets a
sliver of a core). A notebook makes three figures; a second cell changes them at once.
Slow plotly: each figure shows its changed title, axis titles and data, and anywidget
gives up on none. Starved: anywidget gives up on the widgets (their later messages are
lost: anywidget's rule), yet each figure still shows its title, axis titles and trace.
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

# A URL made from a script larger than SIZE bytes costs 2.5 s of the page's only thread.
SLOW_SCRIPTS = """
const createObjectURL = URL.createObjectURL.bind(URL);
URL.createObjectURL = blob => {
  if (blob.size > SIZE) { const end = Date.now() + 2500; while (Date.now() < end) {} }
  return createObjectURL(blob);
};
"""

N = 3
MAKE = f"""
from IPython.display import display
from node_edu import viz
figs = []
for i in range({N}):
    fig = viz.figure(f"figure {{i}}", "x axis", "y axis")
    fig.add_scatter(x=[0, 1, 2], y=[i, i + 1, i], name="line")
    figs.append(fig)
    display(fig)
"""
CHANGE = """
for i, fig in enumerate(figs):
    fig.update_layout(title=f"figure {i}, changed")
    fig.data[0].update(y=[i, i - 1, i])
"""

# What each drawn figure shows: its title, its axis titles, and its traces' y.
DRAWN = f"""() => [...{lab.NOTEBOOK}.node.querySelectorAll('.js-plotly-plot')].map(g => [
    g._fullLayout.title.text, g._fullLayout.xaxis.title.text, g._fullLayout.yaxis.title.text,
    g.data.map(d => Array.from(d.y))])"""


@pytest.mark.timeout(600)
@pytest.mark.parametrize("slow", ["slow plotly", "starved"])
def test_figures_keep_layout_and_traces_on_a_slow_page(tmp_path, slow):
    pytest.importorskip("playwright.sync_api")
    size = 1e6 if slow == "slow plotly" else 0
    with lab.make_lab(tmp_path) as (base, token, workspace), lab.chromium() as browser:
        workspace.mkdir(parents=True, exist_ok=True)
        cells = [nbformat.v4.new_code_cell(MAKE), nbformat.v4.new_code_cell(CHANGE)]
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(nb, workspace / "figures.ipynb")
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.add_init_script(SLOW_SCRIPTS.replace("SIZE", str(size)))
        lab.open_notebook(page, base, token, "figures.ipynb")
        lab.run_all(page)
        page.wait_for_function(f"() => ({DRAWN})().length === {N}", timeout=120_000, polling=250)
        page.wait_for_timeout(4000)  # anything late (a dropped message) has had its chance
        drawn = page.evaluate(DRAWN)
        gave_up = [e for e in errors if "Failed to initialize model" in e]
        if slow == "slow plotly":
            changed = [
                [f"figure {i}, changed", "x axis", "y axis", [[i, i - 1, i]]] for i in range(N)
            ]
            assert drawn == changed, f"figures drawn as {drawn}; page errors: {errors}"
            assert gave_up == [], errors
        else:
            titles = [d[:3] for d in drawn]
            assert all(t[1:] == ["x axis", "y axis"] for t in titles), f"{drawn}; {errors}"
            assert all(t[0].startswith(f"figure {i}") for i, t in enumerate(titles)), drawn
            assert [len(d[3]) for d in drawn] == [1] * N, drawn
            assert gave_up, "the page was meant to be too slow for anywidget's 2 s"
