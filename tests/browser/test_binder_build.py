"""Binder, rehearsed: build the environment from binder/ alone, serve it, open lesson 00.

As repo2docker does: a fresh virtual environment with the Python that binder/runtime.txt
names, then binder/postBuild run from a copy of the repository's committed files. Where
PyTorch's CPU index cannot be reached (no network), postBuild's ``--extra-index-url`` to it
is dropped and pip resolves torch from its configured index, the only change. Then
JupyterLab from that environment serves the copy, the README badge's ``urlpath`` is opened
in Chromium, lesson 00 is run, and its widget must render.

Cost: a full install into a new environment (about 2-4 minutes on 2 cores from local
wheels; longer from the network), plus a lesson run. repo2docker itself (a Docker image)
is not run here; its base environment's own JupyterLab is replaced by ours.
"""

import os
import re
import secrets
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.browser import lab

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(lab.CHROMIUM).exists() and os.environ.get("CI") != "true",
        reason=f"no Chromium at {lab.CHROMIUM}",
    ),
]


def runtime_python():
    """The interpreter binder/runtime.txt asks for ("python-3.11" -> python3.11)."""
    runtime = (lab.ROOT / "binder" / "runtime.txt").read_text().strip()
    version = re.fullmatch(r"python-(\d+\.\d+)", runtime).group(1)
    return version, shutil.which(f"python{version}")


def reachable(url):
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except OSError:
        return False


def committed_copy(target):
    """The repository as Binder clones it: the files git tracks, nothing built."""
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=lab.ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = lab.ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def badge_urlpath():
    readme = (lab.ROOT / "README.md").read_text()
    match = re.search(r"mybinder\.org/v2/[^)\s]*[?&]urlpath=([^)\s&]+)", readme)
    assert match, "the README has no Binder badge with a urlpath"
    return match.group(1)


@pytest.mark.timeout(1800)
def test_binder_environment_builds_and_opens_lesson_00(tmp_path):
    version, python = runtime_python()
    if python is None:
        pytest.skip(f"no python{version} (binder/runtime.txt) on this machine")
    repo = tmp_path / "repo"
    committed_copy(repo)
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    post_build = (repo / "binder" / "postBuild").read_text()
    if not reachable(TORCH_CPU_INDEX + "/"):
        post_build = post_build.replace(f"--extra-index-url {TORCH_CPU_INDEX}", "")
    script = tmp_path / "postBuild"
    script.write_text(post_build)
    env = dict(os.environ, PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)  # the new environment's node_edu, not this checkout's
    env.pop("VIRTUAL_ENV", None)
    build = subprocess.run(
        ["bash", str(script)], cwd=repo, env=env, capture_output=True, text=True, timeout=1500
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import node_edu, torch; print(node_edu.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert str(repo) in check.stdout  # postBuild's editable install of the copy

    port, token = lab.free_port(), secrets.token_hex(16)
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_lab_config.py").write_text("c.LabApp.expose_app_in_browser = True\n")
    server_env = dict(env, JUPYTER_TOKEN=token, JUPYTER_CONFIG_DIR=str(config),
                      JUPYTER_RUNTIME_DIR=str(tmp_path / "run"), OMP_NUM_THREADS="1")  # fmt: skip
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(
        [str(venv / "bin" / "jupyter"), "lab", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--allow-root", "--no-browser",
         f"--ServerApp.root_dir={repo}"],
        cwd=repo, env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        lab.wait_until_serving(
            f"{base}/api/status?token={token}", server, tmp_path / "lab.log", 120, "jupyter lab"
        )
        with lab.chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/{badge_urlpath()}?token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_function("() => window.jupyterapp !== undefined", timeout=30_000)
            page.wait_for_function(f"() => {lab.KERNEL} === 'idle'", timeout=90_000)
            lab.run_all(page)
            # every widget rendered, except one the kernel closed (a finished tqdm bar with
            # leave=False), and every figure the kernel displayed drawn
            out = lab.check_outputs(page, "00_welcome.ipynb")
            assert out["widgets"] >= 1
            page.screenshot(path=str(tmp_path / "binder_lesson_00.png"))
    finally:
        lab.stop(server)
        log.close()
