"""A real JupyterHub for the classroom test and benchmark, on 127.0.0.1.

JupyterHub (``jupyterhub`` from PyPI) behind configurable-http-proxy (npm, installed by
``make classroom`` into build/classroom/), a dummy authenticator (any user name, one
password) and a local-process spawner that gives each student a home folder of their own
(``SimpleLocalProcessSpawner``: every server runs as the hub's own user, which is fine on
127.0.0.1 and for nothing else). Each student's server is ``jupyterhub-singleuser`` from
this checkout's .venv, so JupyterLab, nbgitpuller and node_edu are this checkout's.

The course reaches the students as a class's would: an nbgitpuller link pulls a git
repository (here a local clone of this checkout, named node_edu) into each home, at
``~/node_edu``. ``stop`` ends the hub and every process it started, by PID: the proxy,
the servers, their kernels.
"""

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tests.browser import lab

ROOT = lab.ROOT
BIN = Path(sys.executable).parent
CHP = ROOT / "build" / "classroom" / "node_modules" / ".bin" / "configurable-http-proxy"
PASSWORD = "classroom"
COURSE = "node_edu"  # the repository's name: nbgitpuller pulls it into ~/node_edu


def missing():
    """What this machine lacks to run a hub (None: nothing)."""
    try:
        import jupyterhub  # noqa: F401
        import nbgitpuller  # noqa: F401
    except ImportError as err:
        return f"{err.name} is not installed (make classroom installs it)"
    if not CHP.exists() and shutil.which("configurable-http-proxy") is None:
        return "configurable-http-proxy is not installed (make classroom installs it with npm)"
    if shutil.which("git") is None:
        return "git is not installed (nbgitpuller pulls the course with it)"
    if not (BIN / "jupyterhub-singleuser").exists():
        return f"no jupyterhub-singleuser in {BIN}"
    return None


def lesson_file(number):
    """The course's lesson ``number`` ("06") by its name, lessons/06_*.ipynb: the first,
    should a lesson be split into 06_... and 06b_..."""
    return sorted((ROOT / "lessons").glob(f"{number}_*.ipynb"))[0].name


def course(tmp):
    """A git repository holding the course as committed here: (its path, its branch)."""
    repo = Path(tmp) / "teacher" / COURSE
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(repo)], check=True)
    branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    return repo, branch


def git(repo, *args):
    """Run git in ``repo`` as the teacher; its output."""
    who = ["-c", "user.name=Teacher", "-c", "user.email=teacher@example.org"]
    out = subprocess.run(["git", *who, *args], cwd=repo, check=True, capture_output=True)
    return out.stdout.decode().strip()


def pull_link(hub, repo, branch, path):
    """The nbgitpuller link a teacher hands out: pull ``repo`` and open ``path`` (relative
    to the course folder) in JupyterLab."""
    query = urllib.parse.urlencode(
        {"repo": str(repo), "branch": branch, "urlpath": f"lab/tree/{COURSE}/{path}"}
    )
    return f"{hub.url}/hub/user-redirect/git-pull?{query}"


class Hub:
    """A running hub: its URL, the students' homes, its process (see ``jupyterhub``)."""

    def __init__(self, url, homes, process, log):
        self.url, self.homes, self.process, self.log = url, homes, process, log

    def home(self, user):
        return self.homes / user

    def server_url(self, user):
        return f"{self.url}/user/{user}"

    def processes(self):
        """psutil.Process of the hub and everything it started (proxy, servers, kernels)."""
        import psutil

        hub = psutil.Process(self.process.pid)
        return [hub, *hub.children(recursive=True)]

    def servers(self):
        """{user: [server process, its kernels...]} from the running processes."""
        import psutil

        found = {}
        for p in self.processes():
            with contextlib.suppress(psutil.Error):
                if any("jupyterhub-singleuser" in part for part in p.cmdline()[:3]):
                    user = p.environ().get("JUPYTERHUB_USER")
                    found[user] = [p, *p.children(recursive=True)]
        return found


@contextlib.contextmanager
def jupyterhub(tmp, *, threads=1):
    """Start a hub with its state in ``tmp``; yield the Hub; stop everything after."""
    tmp = Path(tmp)
    port, hub_port, api_port = lab.free_port(), lab.free_port(), lab.free_port()
    homes, config_dir, settings = tmp / "home", tmp / "jupyter-config", tmp / "lab-settings"
    homes.mkdir(parents=True, exist_ok=True)
    config_dir.mkdir(exist_ok=True)
    # As the browser tests' JupyterLab: the app object exposed, every cell rendered.
    (config_dir / "jupyter_lab_config.py").write_text("c.LabApp.expose_app_in_browser = True\n")
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True, exist_ok=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    proxy = CHP if CHP.exists() else Path(shutil.which("configurable-http-proxy"))
    config = {
        "JupyterHub": {
            "ip": "127.0.0.1",
            "port": port,
            "hub_ip": "127.0.0.1",
            "hub_port": hub_port,
            "authenticator_class": "jupyterhub.auth.DummyAuthenticator",
            "spawner_class": "jupyterhub.spawner.SimpleLocalProcessSpawner",
            "db_url": f"sqlite:///{tmp / 'jupyterhub.sqlite'}",
            "cookie_secret_file": str(tmp / "jupyterhub_cookie_secret"),
            "cleanup_servers": True,
        },
        "ConfigurableHTTPProxy": {
            "command": [str(proxy)],
            "api_url": f"http://127.0.0.1:{api_port}",
            "pid_file": str(tmp / "proxy.pid"),
            "auth_token": secrets.token_hex(16),
        },
        "DummyAuthenticator": {"password": PASSWORD},
        "Authenticator": {"allow_all": True},
        "SimpleLocalProcessSpawner": {"home_dir_template": str(homes / "{username}")},
        "Spawner": {
            "cmd": [str(BIN / "jupyterhub-singleuser")],
            "args": ["--ServerApp.allow_root=True"],
            "default_url": "/lab",
            "start_timeout": 600,
            "http_timeout": 600,
            "environment": {
                "JUPYTER_CONFIG_DIR": str(config_dir),
                "JUPYTERLAB_SETTINGS_DIR": str(settings),
                "OMP_NUM_THREADS": str(threads),
                "MKL_NUM_THREADS": str(threads),
                "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            },
        },
    }
    lines = [f"c.{section}.{key} = {value!r}" for section, values in config.items()
             for key, value in values.items()]  # fmt: skip
    (tmp / "jupyterhub_config.py").write_text("\n".join(lines) + "\n")
    log_path = tmp / "jupyterhub.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [str(BIN / "jupyterhub"), "-f", str(tmp / "jupyterhub_config.py")],
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    hub = Hub(f"http://127.0.0.1:{port}", homes, process, log_path)
    try:
        lab.wait_until_serving(f"{hub.url}/hub/api", process, log_path, 180, "JupyterHub")
        yield hub
    finally:
        stop(hub)
        log.close()


def stop(hub):
    """Stop the hub (it stops the proxy and the servers, which stop their kernels), then
    kill, by PID, whatever of what it started is still running."""
    import psutil

    try:
        started = hub.processes()[1:]
    except psutil.Error:
        started = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(hub.process.pid, signal.SIGTERM)
    try:
        hub.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(hub.process.pid, signal.SIGKILL)
        hub.process.wait()
    _, alive = psutil.wait_procs(started, timeout=20)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()  # psutil checks the PID still names the process it found
    psutil.wait_procs(alive, timeout=10)


def log_in(page, hub, user):
    """Log ``user`` in through the hub's login form (the dummy authenticator)."""
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(lambda url: "/hub/login" not in url, timeout=120_000, wait_until="commit")


def log_in_class(browser, hub, users):
    """A page per user, each in a browser context of its own (its own cookies), logged in;
    returned in the order of ``users``."""
    pages = []
    for user in users:
        page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        log_in(page, hub, user)
        pages.append(page)
    return pages


def open_lesson(page, hub, user, lesson, timeout=300_000):
    """Open ``lessons/<lesson>`` of the pulled course alone in the student's JupyterLab
    and wait for its kernel."""
    lab.open_notebook(page, hub.server_url(user), "", f"{COURSE}/lessons/{lesson}", timeout)


def wait_for_lesson(page, path, timeout=900):
    """Wait (through the spawn page, nbgitpuller's page and JupyterLab's start) until
    JupyterLab shows the notebook at ``path`` with its kernel idle."""
    from playwright.sync_api import Error

    shown = f"""() => {{
        const nb = window.jupyterapp?.shell?.currentWidget;
        return nb?.context?.path === {json.dumps(path)}
            && nb.sessionContext?.session?.kernel?.status === 'idle';
    }}"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Error):  # the page may be between two pages
            if page.evaluate(shown):
                return
        time.sleep(1)
    raise TimeoutError(f"{path} not open after {timeout} s; the page is at {page.url}")
