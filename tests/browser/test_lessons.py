"""Every lesson as a student runs it: JupyterLab in headless Chromium, Run All, twice.

For each lesson (every lessons/*.ipynb, so a new lesson is covered by adding it): Run All
and wait until idle; every code cell ran; no error output and no traceback; no "Error
displaying widget" and no lasting "Loading widget"; every widget rendered; the browser drew
as many plotly figures as the kernel displayed; the figures' layout, read from the drawn
SVG, is clean (no title over a legend or an axis, nothing cut off, every axis titled,
phase portraits to scale). Then one control per dashboard is moved (a slider by keyboard,
a dropdown, a button) and its figure's data must change in the browser; then Run All
again and all of the above once more. A full-page screenshot of each lesson is written to
the test's temporary folder; the Run-All-to-idle seconds are printed at the end of the
session (tests/browser/conftest.py).

One JupyterLab server (`make lab`, on 127.0.0.1 and a free port) and one browser serve
the whole module; each lesson gets its own page and kernel, shut down after it.
"""

import contextlib
import json
import os
from pathlib import Path

import pytest

from tests.browser import lab, probes

LESSONS = sorted(p.name for p in (lab.ROOT / "lessons").glob("*.ipynb"))

# Layout flaws of figures a lesson builds itself (not a node_edu dashboard), to be fixed
# in the lesson: reported, not failed on; listed here so that no new flaw slips in.
KNOWN_LAYOUT_FLAWS = set()  # (lesson, problem) pairs reported but not failed on

KNOWN = {name: {p for lesson, p in KNOWN_LAYOUT_FLAWS if lesson == name} for name in LESSONS}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(lab.CHROMIUM).exists() and os.environ.get("CI") != "true",
        reason=f"no Chromium at {lab.CHROMIUM}",
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with lab.make_lab(tmp_path_factory.mktemp("lab")) as served:
        yield served


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("playwright.sync_api")
    with lab.chromium() as b:
        yield b


def check_layout(page, lesson):
    """No title over a legend or an axis, nothing cut off, every axis titled, to scale."""
    # a figure drawn a moment ago may still be laying itself out; reported below
    with contextlib.suppress(Exception):
        page.wait_for_function(
            f"""() => ({probes.LAYOUT})().every(p => {json.dumps(sorted(KNOWN[lesson]))}
                .includes(p))""",
            timeout=60_000,  # under load plotly may draw an empty layout first
            polling=1000,
        )
    problems = page.evaluate(probes.LAYOUT)
    known = [p for p in problems if p in KNOWN[lesson]]
    if known:
        print(f"{lesson}: known layout flaws, to be fixed in the lesson: {known}")
    new = [p for p in problems if p not in KNOWN[lesson]]
    assert new == [], f"{lesson}: figure layout: {new}"


def move(page, output, kind, k):
    """Move the k-th control of its kind in ``output`` as a student does."""
    if kind == "slider":
        handle = output.locator(".noUi-handle").nth(k)
        at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        handle.focus()
        page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    elif kind == "dropdown":
        select = output.locator("select").nth(k)
        n = select.locator("option").count()
        current = select.evaluate("s => s.selectedIndex")
        select.select_option(index=(current + 1) % n)
    elif kind == "toggle":
        output.locator("button.widget-toggle-button:not(.mod-active)").first.click()
    else:
        output.locator("button.jupyter-button:not(.widget-toggle-button)").first.click()


def move_one_control_per_dashboard(page, lesson):
    """A student moves a control of every dashboard; its figure must follow. Controls are
    tried in order until one changes the figure (a step-size slider does nothing while
    the dashboard shows an adaptive method, say); at least one must."""
    moved = []
    for i, kinds in page.evaluate(probes.DASHBOARDS):
        output = page.locator(".jp-OutputArea-output:not([data-mime-type])").nth(i)
        seen = {}
        for kind in kinds:
            k = seen[kind] = seen.get(kind, -1) + 1
            before = page.evaluate(probes.FIGURE_DATA, i)
            move(page, output, kind, k)
            with contextlib.suppress(Exception):
                page.wait_for_function(
                    f"([i, before]) => ({probes.FIGURE_DATA})(i) !== before",
                    arg=[i, before],
                    timeout=30_000,
                    polling=100,
                )
            lab.wait_idle(page)
            if page.evaluate(probes.FIGURE_DATA, i) != before:
                moved.append(kind)
                wait_for_what_follows(page, i, before)
                break
        else:
            raise AssertionError(f"{lesson}: dashboard {i}: no control changed its figure")
    return moved


def wait_for_what_follows(page, i, before):
    """A figure drawn dimmed after a move (work left until the control rests) must come
    back at full opacity, with new data, within 30 s."""
    dimmed = set()
    for _ in range(300):
        now = page.evaluate(probes.DIMMED, i)
        dimmed |= set(now)
        if not now:
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError(f"dashboard {i}: figures {now} still dimmed 30 s after the move")
    old, new = json.loads(before), json.loads(page.evaluate(probes.FIGURE_DATA, i))
    unchanged = [k for k in dimmed if old[k] == new[k]]
    assert unchanged == [], f"dashboard {i}: figures {unchanged} came back with the old data"
    if dimmed:
        print(f"dashboard {i}: figures {sorted(dimmed)} dimmed after the move, then redrawn")


def screenshot(page, path):
    """The whole notebook in one PNG: the viewport grows to the notebook's height."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('.jp-WindowedPanel-outer,"
        " .jp-Notebook')].map(e => e.scrollHeight))"
    )
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 200, 30_000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_in_the_browser(server, browser, lesson, tmp_path, record_property):
    base, token, _ = server
    # a laptop's window with the file browser open: the notebook is about 600 px wide,
    # less than plotly's default figure width, so a figure that does not fit shows
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    try:
        lab.open_notebook(page, base, token, lesson)
        first = lab.run_all(page)
        lab.check_outputs(page, lesson)
        check_layout(page, lesson)
        moved = move_one_control_per_dashboard(page, lesson)
        lab.check_outputs(page, lesson)
        second = lab.run_all(page)
        lab.check_outputs(page, lesson)
        check_layout(page, lesson)
        record_property("run_all_seconds", (lesson, first, second))
        print(f"{lesson}: Run All to idle {first:.1f} s, again {second:.1f} s; moved {moved}")
        screenshot(page, tmp_path / f"{Path(lesson).stem}.png")
        print("screenshot:", tmp_path / f"{Path(lesson).stem}.png")
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"))
        print("screenshot of the failure:", tmp_path / "failure.png")
        raise
    finally:
        page.evaluate(f"() => {lab.NOTEBOOK}?.sessionContext?.shutdown()")
        page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
        page.close()
