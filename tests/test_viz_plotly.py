"""What node_edu.viz relies on inside plotly, checked in a fresh interpreter.

viz imports plotly's renderers with nbformat marked missing (nbformat imports jsonschema,
whose format checkers take about a second to build) and hands them a stand-in that imports
nbformat on first use. That leans on plotly internals (``_plotly_utils.optional_imports.
_not_importable`` and ``plotly.io._renderers.nbformat``); if a plotly upgrade changes them,
viz quietly falls back to importing nbformat, and the first figure gets slower. These
tests fail loudly instead."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(code):
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_viz_imports_plotly_without_nbformat():
    code = (
        "import sys\n"
        "import node_edu.viz\n"
        "import plotly.io._renderers as r\n"
        "from _plotly_utils import optional_imports\n"
        "print('nbformat' in sys.modules, type(r.nbformat).__name__,\n"
        "      'nbformat' in optional_imports._not_importable)\n"
    )
    assert run(code) == "False _DeferredNbformat False"


def test_the_stand_in_gives_plotly_the_real_nbformat_on_first_use():
    code = (
        "import node_edu.viz\n"
        "import plotly.io._renderers as r\n"
        "import nbformat\n"
        "print(bool(r.nbformat), r.nbformat.__version__ == nbformat.__version__)\n"
    )
    assert run(code) == "True True"


def test_without_the_stand_in_plotly_would_import_nbformat():
    """The saving is real: plotly's renderers alone import nbformat."""
    code = "import sys\nimport plotly.io._renderers\nprint('nbformat' in sys.modules)\n"
    assert run(code) == "True"
