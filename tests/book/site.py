"""Helpers the book's tests share: the built site, a local HTTP server over it, headless
Chromium with every request that would leave the machine recorded and refused, and the
figures each executed lesson displayed (the oracle for the figures each page must draw).

The tests read the site ``make book`` wrote (build/book/); they do not build it, since that
executes every lesson (minutes). Without it, or without Chromium, they skip, except under
CI=true, where .ci/run has run ``make book`` first and a missing site or browser is a
failure.
"""

import contextlib
import functools
import http.server
import json
import os
import threading
from pathlib import Path

import pytest

from tests.browser import lab
from tests.browser.lab import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
SITE = BUILD / "book"
INFO = BUILD / "book_info.json"
CI = os.environ.get("CI") == "true"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def need_site():
    """Skip (fail under CI) unless ``make book`` has written the site."""
    if not (SITE / "index.html").exists() or not INFO.exists():
        message = "no book at build/book: run `make book` first"
        if CI:
            pytest.fail(message)
        pytest.skip(message)


def need_chromium():
    if not Path(CHROMIUM).exists():
        if CI:
            pytest.fail(f"no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM}")


def info():
    return json.loads(INFO.read_text())


def lesson_pages():
    """(name, page path relative to the site) of every lesson the last build included."""
    return [(name, f"lessons/{name}.html") for name in info()["lessons"]]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder):
    """Serve ``folder`` on 127.0.0.1 at a free port; yield the base URL; stop on exit."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


browser = lab.chromium  # the browser tests' headless Chromium (Debian's)


class Watched:
    """A page whose requests beyond ``allowed`` (a URL prefix) are refused and recorded,
    and whose console errors and uncaught exceptions are recorded."""

    def __init__(self, context, allowed):
        self.page = context.new_page()
        self.outside, self.errors = [], []
        local = (allowed, "data:", "blob:", "about:")
        self.page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(local)
                else (self.outside.append(route.request.url), route.abort())
            ),
        )
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def open(self, url, timeout=30_000):
        """Load ``url`` and wait for its figures and formulas to be drawn (what is not drawn
        within ``timeout`` ms is recorded as an error, and the page returned as it is)."""
        from playwright.sync_api import TimeoutError

        self.page.goto(url, wait_until="load")
        try:
            self.page.wait_for_function(
                """() => [...document.querySelectorAll('.ne-static-figure')]
                          .every(f => f.querySelector('.main-svg'))""",
                timeout=timeout,
            )
            self.page.evaluate("() => window.MathJax?.startup?.promise")
        except TimeoutError:
            self.errors.append(f"figures not drawn within {timeout / 1000:.0f} s")
        return self.page


REPORT_JS = """() => {
  const shown = el => !!el && el.checkVisibility();
  const drawn = [...document.querySelectorAll('.js-plotly-plot')]
    .filter(g => g.querySelector('.main-svg') && g._fullLayout && shown(g));
  const figures = drawn.length;
  // live: not a static plot, a drag layer for zoom and pan, hover labels on
  const interactive = drawn.filter(g => !g._context.staticPlot
    && g.querySelector('.draglayer .nsewdrag') && g._fullLayout.hovermode !== false).length;
  const checks = [...document.querySelectorAll('.cell.tag_check')].map(c => ({
    input_shown: shown(c.querySelector('.cell_input pre')),
    output_shown: shown(c.querySelector('.cell_output')),
    toggle: !!c.querySelector('details.hide summary, .toggle-details__summary, summary'),
    text: (c.querySelector('.cell_output') || {}).textContent || '',
  }));
  const stubs = [...document.querySelectorAll('.cell .cell_input pre')]
    .filter(pre => /raise NotImplementedError/.test(pre.textContent) && shown(pre)).length;
  return {figures, interactive, checks, stubs};
}"""


def report(page):
    """What a lesson page shows: figures drawn (and of those, how many answer zoom, pan and
    hover), check cells (is the code folded, the output shown, a toggle there), visible
    exercise stubs."""
    return page.evaluate(REPORT_JS)


def executed_notebook(name, build=BUILD):
    """Lesson ``name`` as the last build executed it: its copy in the book's source folder,
    with the outputs jupyter-cache holds for it (myst-nb writes its outputs to
    _build/jupyter_execute only when it ran the lesson, not when it took it from the cache)."""
    import nbformat
    from jupyter_cache import get_cache

    cache = get_cache(str(build / ".book" / "_build" / ".jupyter_cache"))
    nb = nbformat.read(build / "book_src" / "lessons" / f"{name}.ipynb", as_version=4)
    return cache.merge_match_into_notebook(nb)[1]


def displayed_figures(name, build=BUILD):
    """How many plotly figures lesson ``name`` displayed when executed: counted from the
    widget views in its outputs and the widget state the kernel left (the live figures),
    not from the static copies the page draws."""
    nb = executed_notebook(name, build)
    state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})

    def figures(model_id):
        model = state.get(model_id, {}).get("state", {})
        if "_js2py_restyle" in model:  # plotly's FigureWidget
            return 1
        children = model.get("children", [])
        return sum(figures(c.removeprefix("IPY_MODEL_")) for c in children)

    count = 0
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view:
                count += figures(view["model_id"])
    return count
