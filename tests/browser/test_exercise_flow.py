"""A student's exercise, end to end in JupyterLab: `make lab`, lesson 04, the stub is "not
attempted", a typical wrong answer gets its diagnosis, the reference answer passes, and
saving writes to the workspace only, never to the course's lessons/.
"""

import hashlib
import os
from pathlib import Path

import nbformat
import pytest

from node_edu.checks.base import solution_source
from tests.browser import lab

LESSON = "04_the_adjoint_method.ipynb"
EXERCISE = "04.running_cost"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(lab.CHROMIUM).exists() and os.environ.get("CI") != "true",
        reason=f"no Chromium at {lab.CHROMIUM}",
    ),
]

WRONG = """def running_cost_dynamics(f, g, t, z, a, theta):
    fz, pullback = torch.func.vjp(lambda z, theta: f(t, z, theta), z, theta)
    a_dfdz, a_dfdtheta = pullback(a)
    return fz, -a_dfdz + torch.func.grad(g)(z), -a_dfdtheta  # the cost's sign flipped
"""


def _exercise_index():
    nb = nbformat.read(lab.ROOT / "lessons" / LESSON, as_version=4)
    (i,) = [k for k, c in enumerate(nb.cells) if c.metadata.get("exercise") == EXERCISE]
    return i


def _checker_output(page, i):
    """The text the checker cell after cell ``i`` shows."""
    return page.evaluate(
        """(i) => {
            const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
            const next = cells.slice(i + 1).find(c => c.classList.contains('jp-CodeCell'));
            return next.querySelector('.jp-OutputArea').textContent;
        }""",
        i,
    )


def _answer_and_check(page, i, source):
    """Put ``source`` in cell i as the student would, run it and the checker after it."""
    page.evaluate(
        f"""([i, source]) => {{
            const nb = {lab.NOTEBOOK}.content;
            nb.model.cells.get(i).sharedModel.setSource(source);
            nb.activeCellIndex = i;
        }}""",
        [i, source],
    )
    for _ in range(2):  # the answer, then its checker
        page.evaluate(
            "() => window.jupyterapp.commands.execute('notebook:run-cell-and-select-next')"
        )
        lab.wait_idle(page)
    return _checker_output(page, i)


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.timeout(600)
def test_a_student_answers_an_exercise_and_saves(tmp_path):
    shipped = _digest(lab.ROOT / "lessons" / LESSON)
    i = _exercise_index()
    with lab.make_lab(tmp_path) as (base, token, workspace), lab.chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        lab.open_notebook(page, base, token, LESSON)
        lab.run_all(page)
        assert "not attempted yet" in _checker_output(page, i)

        wrong = _answer_and_check(page, i, WRONG)
        assert "not yet" in wrong and "the sign of dg/dz" in wrong, wrong

        right = _answer_and_check(page, i, solution_source(EXERCISE))
        assert "\u2714 correct" in right, right

        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function(f"() => !{lab.NOTEBOOK}.context.model.dirty", timeout=30_000)
        saved = nbformat.read(workspace / LESSON, as_version=4)
        assert saved.cells[i].source == solution_source(EXERCISE)  # the student's work, kept
    assert _digest(lab.ROOT / "lessons" / LESSON) == shipped  # the course is untouched
