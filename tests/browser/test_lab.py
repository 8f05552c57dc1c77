"""JupyterLab in headless Chromium: `make lab` serves the lessons and lesson 00's widget
renders and responds to its slider, as a student would see it.

Needs Debian's chromium at /usr/bin/chromium (CI installs it; elsewhere the test skips,
saying why). The server is started by the test on 127.0.0.1 and a free port, and stopped
by the test, by its process group.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """Start `make lab` as a student does; yield (base url, token); stop it.

    It serves a copy of lessons/, so running cells in the browser never writes to the
    repository's notebooks (JupyterLab saves what it runs).
    """
    port, token = free_port(), secrets.token_hex(16)
    lessons = shutil.copytree(ROOT / "lessons", tmp_path / "lessons")
    env = dict(
        os.environ,
        JUPYTER_TOKEN=token,
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        OMP_NUM_THREADS="1",
    )
    # Expose the app object so the test can run JupyterLab commands as the menus do.
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jupyter_lab_config.py").write_text(
        "c.LabApp.expose_app_in_browser = True\n"
    )
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(
        ["make", "lab", f"PORT={port}", f"LESSONS={lessons}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so we stop make and jupyter alike
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError(
                        "make lab did not serve: " + (tmp_path / "lab.log").read_text()
                    ) from None
                time.sleep(0.5)
        yield base, token
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_make_lab_serves_the_lessons_on_localhost(lab):
    base, token = lab
    with urllib.request.urlopen(f"{base}/api/contents?token={token}") as response:
        listing = response.read().decode()
    assert "00_welcome.ipynb" in listing


@pytest.mark.timeout(300)
def test_lesson_00_widget_renders_and_follows_its_slider(lab, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    base, token = lab
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/00_welcome.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_function("() => window.jupyterapp !== undefined", timeout=30_000)
            # JupyterLab may ask which kernel to start; a student clicks "Select".
            try:
                page.click(".jp-Dialog .jp-mod-accept", timeout=15_000)
            except playwright.TimeoutError:
                pass  # the kernel started without asking
            page.wait_for_function(
                "() => window.jupyterapp.shell.currentWidget?.sessionContext"
                "?.session?.kernel?.status === 'idle'",
                timeout=90_000,
            )
            # Run > Run All Cells. Fire the command without awaiting its promise (it
            # settles only once every cell has run).
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            plot = page.wait_for_selector(".js-plotly-plot", timeout=90_000)
            assert plot.is_visible()
            # The last cell drives the widget to N = 128; the label shows what it drew.
            label = page.locator(".widget-html-content", has_text="N = ").first
            label.wait_for(timeout=60_000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.widget-html-content')]"
                ".some(e => e.textContent.includes('N = 128'))",
                timeout=60_000,
            )
            # A student moves the slider one step with the keyboard: the figure follows.
            handle = page.locator(".noUi-handle").first
            handle.focus()
            page.keyboard.press("ArrowLeft")
            page.wait_for_function(
                "() => [...document.querySelectorAll('.widget-html-content')]"
                ".some(e => e.textContent.includes('N = 127'))",
                timeout=30_000,
            )
            errors = page.locator(".jp-OutputArea-output[data-mime-type*='error']")
            assert errors.count() == 0, "a cell failed in the browser"
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            print("screenshot of the failure:", tmp_path / "failure.png")
            raise
        finally:
            browser.close()
