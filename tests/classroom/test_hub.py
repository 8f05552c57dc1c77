"""A class on a real JupyterHub: six students at once, the course by nbgitpuller link.

JupyterHub on 127.0.0.1 (tests/classroom/hub.py: configurable-http-proxy, a dummy
authenticator, one home folder per student). Six students log in and follow the teacher's
nbgitpuller link at the same time, which pulls the course (a git repository: a clone of
this checkout) into each home and opens lesson 00. Each Runs All of lesson 00, then of
lesson 06, all at once, in headless Chromium: every cell runs, no error and no widget
error, every widget and figure is drawn, and no figure's layout arrives empty (the race a
busy machine once showed: figures drawn with plotly's placeholders; node_edu/viz.py).

Then each student answers lesson 06's first exercise (half right, half wrong), checks it
and saves; the teacher commits a change to the course; each student follows the link
again. Every student's answer survives the pull, beside the teacher's change, and the
student's own record (ne.checks.progress) holds the checker's verdict. Last, the
teacher's report (python -m node_edu.progress) over the students' homes gives each
student's verdict again, from their saved notebook.
"""

import ast
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from node_edu.checks.base import solution_source
from tests.browser import lab, probes
from tests.browser.test_lessons import check_layout
from tests.classroom import hub

STUDENTS = [f"student{i}" for i in range(6)]


LESSON_00, LESSON_06 = hub.lesson_file("00"), hub.lesson_file("06")
_cells = nbformat.read(lab.ROOT / "lessons" / LESSON_06, as_version=4).cells
# Lesson 06's first exercise, and its title (the first line of its first cell).
EXERCISE = next(c.metadata["exercise"] for c in _cells if "exercise" in c.metadata)
TITLE = _cells[0].source.splitlines()[0]
UPDATE = TITLE + " (updated for this class)"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(lab.CHROMIUM).exists() and os.environ.get("CI") != "true",
        reason=f"no Chromium at {lab.CHROMIUM}",
    ),
    pytest.mark.skipif(
        hub.missing() is not None and os.environ.get("CI") != "true",
        reason=str(hub.missing()),
    ),
]


def answer(i, name):
    """Student i's answer: the reference for even i; for odd i, the reference that gives up
    before its first line (a checker says "not yet" and names the ValueError)."""
    source = solution_source(EXERCISE)
    if i % 2:
        function = ast.parse(source).body[0]
        first = function.body[0]
        docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        at = first.end_lineno if docstring else first.lineno - 1
        lines = source.splitlines(keepends=True)
        indent = " " * function.body[-1].col_offset
        lines.insert(at, f'{indent}raise ValueError("{name} has not finished")\n')
        source = "".join(lines)
    return f"# {name}'s answer\n{source}"


def arrive(page, lesson):
    """Wait until the link has spawned the server, pulled the course and opened ``lesson``."""
    hub.wait_for_lesson(page, f"{hub.COURSE}/lessons/{lesson}")


def run_all_at_once(pages, lesson):
    """Every student presses Run All at the same moment; then each page is checked."""
    started = [lab.start_run_all(page) for _, page in pages]
    for (name, page), start in zip(pages, started, strict=True):
        seconds = lab.wait_run_all(page, start, timeout=1500)
        print(f"{name}: {lesson} Run All to idle {seconds:.0f} s after the first press")
    for name, page in pages:
        lab.check_outputs(page, lesson)
        check_layout(page, lesson)
        assert page.evaluate(probes.EMPTY_LAYOUTS) == [], f"{name}: {lesson}: empty layouts"


def answer_and_save(page, source):
    """Put ``source`` in the exercise cell, run it and its checker, save; the checker's
    output."""
    page.evaluate(
        f"""([id, source]) => {{
            const nb = {lab.NOTEBOOK}.content;
            const cells = nb.model.cells;
            for (let i = 0; i < cells.length; i++)
                if (cells.get(i).getMetadata('exercise') === id) {{
                    cells.get(i).sharedModel.setSource(source);
                    nb.activeCellIndex = i;
                }}
        }}""",
        [EXERCISE, source],
    )
    for _ in range(2):  # the exercise cell, then the checker cell after it
        page.evaluate(
            "() => window.jupyterapp.commands.execute('notebook:run-cell-and-select-next')"
        )
        lab.wait_idle(page, timeout=300_000)
    text = page.evaluate(
        f"() => {lab.NOTEBOOK}.content.activeCell.model.sharedModel.source + ' '"
        f" + {lab.NOTEBOOK}.content.widgets[{lab.NOTEBOOK}.content.activeCellIndex - 1]"
        ".outputArea.node.textContent"
    )
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(f"() => !{lab.NOTEBOOK}.context.model.dirty", timeout=60_000)
    return text


@pytest.mark.timeout(3600)
def test_a_class_of_six_on_jupyterhub(tmp_path):
    repo, branch = hub.course(tmp_path)
    with hub.jupyterhub(tmp_path / "hub") as h, lab.chromium() as browser:
        pages = list(zip(STUDENTS, hub.log_in_class(browser, h, STUDENTS), strict=True))
        link = hub.pull_link(h, repo, branch, f"lessons/{LESSON_00}")
        for _, page in pages:  # everyone follows the link at once
            page.goto(link, wait_until="commit")
        for _, page in pages:
            arrive(page, LESSON_00)
        run_all_at_once(pages, LESSON_00)
        for name, page in pages:
            hub.open_lesson(page, h, name, LESSON_06)
        run_all_at_once(pages, LESSON_06)

        verdicts = {}
        for i, (name, page) in enumerate(pages):
            shown = answer_and_save(page, answer(i, name))
            verdicts[name] = "correct" if i % 2 == 0 else "not yet"
            assert ("\u2714 correct" in shown) == (i % 2 == 0), f"{name}: {shown[-400:]}"

        lesson = repo / "lessons" / LESSON_06  # the teacher updates the course
        lesson.write_text(lesson.read_text().replace(TITLE, UPDATE, 1))
        (repo / "NEWS.md").write_text("Lesson 06 updated.\n")
        hub.git(repo, "add", "-A")
        hub.git(repo, "commit", "--quiet", "-m", "Lesson 06: a note for this class")
        link = hub.pull_link(h, repo, branch, f"lessons/{LESSON_06}")
        for _, page in pages:
            page.goto(link, wait_until="commit")
        for _, page in pages:
            arrive(page, LESSON_06)

        for i, (name, _) in enumerate(pages):
            course = h.home(name) / hub.COURSE
            nb = nbformat.read(course / "lessons" / LESSON_06, as_version=4)
            (cell,) = [c for c in nb.cells if c.metadata.get("exercise") == EXERCISE]
            assert cell.source == answer(i, name), f"{name}: the answer was lost in the pull"
            assert nb.cells[0].source.startswith(UPDATE), f"{name}: the update did not arrive"
            assert (course / "NEWS.md").exists()
            record = json.loads((course / "lessons" / ".node_edu_progress.json").read_text())
            assert record[EXERCISE]["status"] == verdicts[name]

    out = tmp_path / "progress.csv"
    report = subprocess.run(
        [sys.executable, "-m", "node_edu.progress", str(h.homes), "--csv", str(out)],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=tmp_path,
        check=False,
    )
    assert report.returncode == 0, report.stderr
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    got = {r["student"]: r["status"] for r in rows if r["exercise"] == EXERCISE}
    assert got == verdicts
    others = {r["status"] for r in rows if r["exercise"] != EXERCISE}
    assert others == {"not attempted"}, [r for r in rows if r["status"] not in ("not attempted",)]
