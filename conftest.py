"""Collect each lesson twice: as shipped (nbval does that) and with its exercises solved.

See tests/solved_lessons.py. The solved copy is run by nbval too, as its own file, so
pytest-xdist's ``--dist loadfile`` gives it a worker of its own.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent


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
