"""JupyterLab in headless Chromium: `make lab` serves the lessons and lesson 00's widget
renders and responds to its slider, as a student would see it.

Needs Debian's chromium at /usr/bin/chromium (CI installs it; elsewhere the test skips,
saying why). The server is started by the test on 127.0.0.1 and a free port, and stopped
by the test, by its process group.
"""

import contextlib
import shutil
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.browser.lab import CHROMIUM, CHROMIUM_ARGS, make_lab

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"),
]


@pytest.fixture
def lab(tmp_path):
    """Start `make lab` as a student does; yield (base url, token, served folder); stop it.

    It serves a fresh workspace (make lab copies the lessons into it, as on a student's
    first run), so running cells in the browser never writes to the
    repository's notebooks (JupyterLab saves what it runs).
    """
    with make_lab(tmp_path) as served:
        yield served


def test_make_lab_serves_the_lessons_on_localhost(lab):
    base, token, _ = lab
    with urllib.request.urlopen(f"{base}/api/contents?token={token}") as response:
        listing = response.read().decode()
    assert "00_welcome.ipynb" in listing


@contextlib.contextmanager
def browser_page(tmp_path):
    """A Chromium page; on failure a screenshot is saved and its path printed."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield page
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            print("screenshot of the failure:", tmp_path / "failure.png")
            raise
        finally:
            browser.close()


def open_and_run_all(page, base, token, name):
    """Open notebook ``name`` in JupyterLab, wait for its kernel, and run all its cells."""
    page.goto(f"{base}/lab/tree/{name}?token={token}")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=30_000)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.sessionContext"
        "?.session?.kernel?.status === 'idle'",
        timeout=90_000,
    )
    # Run > Run All Cells. Fire the command without awaiting its promise (it settles only
    # once every cell has run).
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def wait_for_text(page, selector, text, timeout=60_000):
    page.wait_for_function(
        f"() => [...document.querySelectorAll({selector!r})]"
        f".some(e => e.textContent.includes({text!r}))",
        timeout=timeout,
    )


def assert_no_cell_failed(page):
    errors = page.locator(".jp-OutputArea-output[data-mime-type*='error']")
    assert errors.count() == 0, "a cell failed in the browser"


@pytest.mark.timeout(300)
def test_lesson_00_widget_renders_and_follows_its_slider(lab, tmp_path):
    base, token, _ = lab
    with browser_page(tmp_path) as page:
        open_and_run_all(page, base, token, "00_welcome.ipynb")
        plot = page.wait_for_selector(".js-plotly-plot", timeout=90_000)
        assert plot.is_visible()
        # The last cell drives the widget to N = 128; the label shows what it drew.
        wait_for_text(page, ".widget-html-content", "N = 128")
        # A student moves the slider one step with the keyboard: the figure follows.
        page.locator(".noUi-handle").first.focus()
        page.keyboard.press("ArrowLeft")
        wait_for_text(page, ".widget-html-content", "N = 127", timeout=30_000)
        # The label and the figure are two widgets, each updated by its own message: wait
        # (bounded) for the figure's Euler polygon, which has N + 1 points, to follow.
        polygon = "() => document.querySelector('.js-plotly-plot').data?.[1]?.x?.length"
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        with contextlib.suppress(PlaywrightTimeout):  # then the assert says what it shows
            page.wait_for_function(f"() => ({polygon})() === 127 + 1", timeout=30_000)
        assert page.evaluate(polygon) == 127 + 1
        assert_no_cell_failed(page)


DASHBOARDS = [
    "import numpy as np\n"
    "import torch\n"
    "import node_edu.autodiff as ad\n"
    "from node_edu.cnf import CNF, PlanarCNF\n"
    "from node_edu.data.spiral import spiral\n"
    "from node_edu.models.training import Trainer, VectorField\n"
    "from node_edu.widgets import (\n"
    "    DriftWidget, FiniteDifferenceWidget, FlowWidget, JacobianCostWidget, JumpWidget,\n"
    "    ProbesWidget, SolverWidget, SweepWidget, TrainingWidget,\n"
    ")\n"
    "torch.manual_seed(0)\n"
    "f64 = torch.float64\n"
    "flow = CNF(PlanarCNF(dim=2, width=4, hidden=8).double(), method='rk4', step_size=0.25)\n"
    "A = torch.tensor([[-1.0, -9.0], [0.0, -10.0]], dtype=f64)\n"
    "R = torch.tensor([[-0.1, -1.0], [1.0, -0.1]], dtype=f64)\n"
    "z0 = torch.tensor([1.0, 0.5], dtype=f64)\n"
    "graph = ad.trace(lambda a, b: ad.log(a) + a * b - ad.sin(b), 2.0, 5.0)\n"
    "trainer = Trainer(VectorField(), spiral())\n"
    "trainer.train(2, progress=False)\n"
    "ws = [\n"
    "    FiniteDifferenceWidget(np.sin, np.cos, 1.0),\n"
    "    JacobianCostWidget(4, input_sizes=(2, 8), out_sizes=(1, 4), repeats=1),\n"
    "    DriftWidget(A, z0, t1=1.0),\n"
    "    FlowWidget(flow, lim=4.0, n=12, n_samples=20),\n"
    "    SweepWidget(graph),\n"
    "    SolverWidget(),\n"
    "    JumpWidget(R, z0),\n"
    "    ProbesWidget(torch.tensor([[1.0, 0.5], [0.2, -0.3]], dtype=f64), repeats=50),\n"
    "    TrainingWidget(trainer),\n"
    "]",
    *[f"ws[{i}].widget" for i in range(9)],
    "ws[0].update(-5.0)\nws[1].update(1)\nws[2].update(t1=1.5)\nws[3].update(0.5)\n"
    "ws[4].update(step=3)\nws[5].update('rk4', step_size=0.25)\nws[6].update(m=2)\n"
    "ws[7].update(8)\nws[8].update(1)\n"
    "print('updated')",
]

# Every trace that holds data (y, or z for a heatmap) must have its x in the browser too.
TRACES_WITHOUT_X = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap((g, i) =>
    g.data.filter(d => (d.y && d.y.length) || (d.z && d.z.length))
          .filter(d => d.x === undefined || d.x === null)
          .map(d => `plot ${i}: ${d.type} ${d.name || ''}`))"""


@pytest.mark.timeout(300)
def test_dashboards_keep_their_coordinates_in_the_browser(lab, tmp_path):
    """Regression: traces created with x but no y (or a heatmap with x, y but no z) and
    later given only y (z) lost their x in the browser: plots drawn on indices (log-log
    error curves, the CNF density heatmap), although Python's figure was right."""
    base, token, served = lab
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in DASHBOARDS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, Path(served) / "dashboards_check.ipynb")
    with browser_page(tmp_path) as page:
        open_and_run_all(page, base, token, "dashboards_check.ipynb")
        wait_for_text(page, ".jp-OutputArea-output", "updated", timeout=120_000)
        page.wait_for_function(
            "() => document.querySelectorAll('.js-plotly-plot').length >= 12", timeout=30_000
        )
        assert page.evaluate(TRACES_WITHOUT_X) == []
        heatmap_x = page.evaluate(
            "() => [...document.querySelectorAll('.js-plotly-plot')]"
            ".flatMap(g => g.data).find(d => d.type === 'heatmap').x"
        )
        assert heatmap_x == pytest.approx([-4.0 + 8.0 * i / 11 for i in range(12)])
        assert_no_cell_failed(page)
