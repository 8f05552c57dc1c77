"""Helpers the browser tests share: a JupyterLab server started with `make lab` (as a
student starts it), headless Chromium through playwright, and JavaScript probes that read
a notebook's state out of the running JupyterLab.

The server binds 127.0.0.1 on a free port, serves a fresh workspace (make lab copies the
lessons into it), and is stopped by its process group. Its user settings turn notebook
windowing off, so every cell is rendered and can be read, not only those in view.
"""

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.browser import probes

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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def make_lab(tmp, *, threads=1):
    """Start `make lab` over a fresh workspace in ``tmp``; yield (base url, token, folder)."""
    tmp = Path(tmp)
    port, token = free_port(), secrets.token_hex(16)
    workspace = tmp / "workspace"
    config, settings = tmp / "config", tmp / "settings"
    config.mkdir(parents=True, exist_ok=True)
    # Expose the app object so the tests can run JupyterLab commands as the menus do.
    (config / "jupyter_lab_config.py").write_text("c.LabApp.expose_app_in_browser = True\n")
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True, exist_ok=True)
    # Render every cell (JupyterLab 4 otherwise renders only the cells in view).
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = dict(
        os.environ,
        JUPYTER_TOKEN=token,
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        OMP_NUM_THREADS=str(threads),
    )
    log_path = tmp / "lab.log"
    log = open(log_path, "w")
    server = subprocess.Popen(
        ["make", "lab", f"PORT={port}", f"WORKSPACE={workspace}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so we stop make and jupyter alike
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # 300 s: the first `make lab` of a checkout builds .venv
        wait_until_serving(f"{base}/api/status?token={token}", server, log_path, 300, "make lab")
        yield base, token, workspace
    finally:
        stop(server)
        log.close()


def wait_until_serving(url, process, log_path, timeout, what):
    """Poll ``url`` until it answers. If ``process`` (the server) ends first, or ``timeout``
    seconds pass, raise a RuntimeError carrying the server's log (``log_path``)."""
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{what} did not serve: " + log_path.read_text()) from None
            time.sleep(0.5)


def stop(server):
    """Stop a server started with start_new_session=True, by its process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@contextlib.contextmanager
def chromium(viewport=(1400, 1000)):
    """A headless Chromium browser (Debian's, never one playwright downloads)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_notebook(page, base, token, name, timeout=90_000):
    """Open ``name`` alone in JupyterLab (``reset``: no tab of an earlier page restored)
    and wait until its kernel is idle."""
    page.goto(f"{base}/lab/tree/{name}?reset&token={token}")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=30_000)
    page.wait_for_function(f"() => {KERNEL} === 'idle'", timeout=timeout)


NOTEBOOK = "window.jupyterapp.shell.currentWidget"
KERNEL = f"{NOTEBOOK}?.sessionContext?.session?.kernel?.status"

# The code cells' execution counts, from the notebook's model (null: not run).
EXECUTION_COUNTS = f"""() => {{
    const cells = {NOTEBOOK}.content.model.cells;
    const out = [];
    for (let i = 0; i < cells.length; i++) {{
        const c = cells.get(i);
        if (c.type === 'code') out.push(c.executionCount);
    }}
    return out;
}}"""


def run_all(page, timeout=300):
    """Run > Run All Cells; wait until every code cell has run afresh and the kernel is
    idle. Returns the seconds from the command to idle."""
    return wait_run_all(page, start_run_all(page), timeout)


def start_run_all(page):
    """Run > Run All Cells, without waiting (several students' pages at once, say); pass
    what it returns to ``wait_run_all``."""
    before = page.evaluate(EXECUTION_COUNTS)
    floor = max([c for c in before if c is not None], default=0)
    start = time.perf_counter()
    # Fire the command without awaiting its promise (it settles once every cell has run).
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    return floor, start


def wait_run_all(page, started, timeout=300):
    """Wait until the Run All that ``start_run_all`` began is done; returns its seconds."""
    floor, start = started
    page.wait_for_function(ran_all(floor), timeout=timeout * 1000, polling=200)
    return time.perf_counter() - start


def ran_all(floor):
    """JavaScript: true once every code cell has run after execution count ``floor`` and
    the kernel is idle."""
    return f"""() => {{
        const counts = ({EXECUTION_COUNTS})();
        const stuck = document.querySelectorAll('.jp-InputPrompt');
        const busy = [...stuck].some(p => p.textContent.includes('*'));
        return {KERNEL} === 'idle' && !busy && counts.every(c => c !== null && c > {floor});
    }}"""


def wait_idle(page, timeout=60_000):
    """Wait until the kernel has finished what the page asked of it."""
    page.wait_for_timeout(200)  # let the comm message reach the kernel
    page.wait_for_function(f"() => {KERNEL} === 'idle'", timeout=timeout, polling=100)


def kernel_eval(page, code):
    """Run ``code`` in the notebook's kernel (not as a cell); return what it prints."""
    return page.evaluate(
        f"""async (code) => {{
            const kernel = {NOTEBOOK}.sessionContext.session.kernel;
            const future = kernel.requestExecute({{code, silent: false, store_history: false}});
            let text = '';
            future.onIOPub = msg => {{
                // stdout only: a warning on stderr is not the answer
                if (msg.header.msg_type === 'stream' && msg.content.name === 'stdout')
                    text += msg.content.text;
                if (msg.header.msg_type === 'error') text += msg.content.ename + ': '
                    + msg.content.evalue;
            }};
            await future.done;
            return text;
        }}""",
        code,
    )


def check_outputs(page, lesson):
    """Everything a student would see wrong after a Run All; returns the output summary."""
    page.wait_for_function(
        f"() => !({probes.OUTPUTS})().loading", timeout=30_000, polling=250
    )  # "Loading widget" may show a moment; it must not last
    out = page.evaluate(probes.OUTPUTS)
    assert out["errors"] == [], f"{lesson}: a cell failed: {out['errors'][0]}"
    assert out["widgetErrors"] == [], f"{lesson}: {out['widgetErrors']}"
    shown = page.evaluate(probes.DISPLAYED)
    assert out["widgets"] == len(shown["ids"]), (
        f"{lesson}: the kernel displayed {len(shown['ids'])} widgets, {out['widgets']} shown"
    )
    kernel = json.loads(kernel_eval(page, probes.COUNT_FIGURES.format(ids=shown["ids"])))
    closed = json.dumps(kernel["closed"])
    with contextlib.suppress(Exception):  # a view may take a moment to render; reported below
        page.wait_for_function(
            f"() => ({probes.OUTPUTS})().unrendered.every(i => {closed}.includes(i))",
            timeout=30_000,
            polling=250,
        )
    out = page.evaluate(probes.OUTPUTS)
    unrendered = sorted(set(out["unrendered"]) - set(kernel["closed"]))
    assert unrendered == [], f"{lesson}: widget outputs {unrendered} did not render"
    figures = kernel["figures"]
    expected = figures + shown["staticPlots"]
    # plotly draws asynchronously after the widget view appears
    page.wait_for_function(
        f"() => ({probes.OUTPUTS})().plots >= {expected}", timeout=30_000, polling=250
    )
    drawn = page.evaluate(probes.OUTPUTS)["plots"]
    assert drawn == expected, f"{lesson}: the kernel displayed {expected} figures, {drawn} drawn"
    return out
