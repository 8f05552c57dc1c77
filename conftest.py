"""Collect each lesson twice: as shipped (nbval does that) and with its exercises solved.

See tests/solved_lessons.py. The solved copy is run by nbval too, as its own file, so
pytest-xdist's ``--dist loadfile`` gives it a worker of its own.

The checkers' record of results goes to a temporary file, not into lessons/.

Also the browser tests' summary: Run-All-to-idle seconds of every lesson, printed at the
end. The lesson tests record them with ``record_property("run_all_seconds", ...)``; it is
here, in the root conftest, because under pytest-xdist only the controller prints and it
loads no conftest below the root.
"""

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def pytest_configure(config):
    """Checkers keep the student's record in the working directory (see
    node_edu/checks/record.py). The tests run lessons/ itself, which stays as shipped, so
    their record goes to a file of their own; the kernels nbval starts inherit it."""
    if "NODE_EDU_RECORD" not in os.environ:
        folder = tempfile.mkdtemp(prefix="node_edu_record_")
        os.environ["NODE_EDU_RECORD"] = os.path.join(folder, "record.json")


def pytest_collect_file(file_path, parent):
    opt = parent.config.option
    if not (getattr(opt, "nbval", False) or getattr(opt, "nbval_lax", False)):
        return None
    if file_path.suffix != ".ipynb" or file_path.parent != ROOT / "lessons":
        return None
    from nbval.plugin import IPyNbFile

    from tests.solved_lessons import write_solved

    target = write_solved(file_path)
    if target is None:
        return None
    return IPyNbFile.from_parent(parent, path=target)


def pytest_terminal_summary(terminalreporter):
    rows = []
    for report in terminalreporter.stats.get("passed", []):
        for key, value in getattr(report, "user_properties", []):
            if key == "run_all_seconds" and report.when == "call":
                rows.append(value)
    if rows:
        terminalreporter.section("Run All to idle in JupyterLab, seconds")
        terminalreporter.write_line(f"{'lesson':44s} {'first':>7s} {'second':>7s}")
        for lesson, first, second in sorted(rows):
            terminalreporter.write_line(f"{lesson:44s} {first:7.1f} {second:7.1f}")
