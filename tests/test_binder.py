"""Binder must install what CI tests: the same pins, CPU torch, the same Python."""

import re
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parent.parent


def pins():
    """constraints.txt as {canonical name: exact version}."""
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            out[canonicalize_name(name)] = version
    return out


def declared():
    """Every requirement of node_edu and its extras, as installed from pyproject.toml."""
    from importlib import metadata

    return [Requirement(r) for r in metadata.requires("node_edu")]


def test_every_declared_dependency_is_pinned_within_its_range():
    exact = pins()
    for req in declared():
        name = canonicalize_name(req.name)
        assert name in exact, f"{req.name} is declared in pyproject.toml but not pinned"
        assert req.specifier.contains(exact[name], prereleases=True), (
            f"{req.name}=={exact[name]} in constraints.txt is outside {req.specifier}"
        )


def test_torch_is_pinned_to_the_tested_release():
    assert pins()["torch"] == "2.13.0"


def test_post_build_installs_with_the_constraints_and_cpu_torch():
    script = (ROOT / "binder" / "postBuild").read_text()
    assert script.startswith("#!/bin/bash")
    assert re.search(r"^set -e", script, re.M), "postBuild must stop at the first error"
    assert "-c constraints.txt" in script
    assert "download.pytorch.org/whl/cpu" in script
    assert re.search(r"-e \.\s*$", script, re.M), "postBuild installs this package"


def test_runtime_is_the_python_the_constraints_were_frozen_with():
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    header = (ROOT / "constraints.txt").read_text().splitlines()[0]
    version = re.search(r"python-(\d+\.\d+)", runtime).group(1)
    assert f"Python {version}" in header
    if version == f"{sys.version_info.major}.{sys.version_info.minor}":
        # Where the test runs under that Python, every pin must be installed as pinned.
        import sysconfig
        from importlib import metadata

        # this environment's site-packages only: setuptools puts its vendored copies
        # (importlib_metadata 8.x, ...) on sys.path once something imports it
        site = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
        for name, pinned in pins().items():
            dist = next(iter(metadata.distributions(name=name, path=site)), None)
            if dist is None:
                continue  # a pin for a package nothing here needs is harmless
            installed = dist.version.split("+")[0]
            assert installed == pinned, f"{name}: installed {installed}, pinned {pinned}"
