"""How the book's build prepares a lesson (book/build.py), on a notebook fixture that has
what the lessons are gaining: check cells, exercise stubs, citations. No Jupyter Book run."""

import json
from pathlib import Path

import nbformat
import pytest
import yaml

from book import build, citations

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = citations.read_bib()


def fixture_notebook():
    """A lesson in miniature: a teaching cell, its check cell, an exercise and its checker,
    a summary that cites two papers."""
    nb = nbformat.v4.new_notebook()
    check = nbformat.v4.new_code_cell(
        "assert len(euler.fig.data[1].x) == 5  # counted by hand: 4 steps, 5 points\n"
        'print("checked: five points for four Euler steps, counted by hand")'
    )
    check.metadata.update(tags=["check"], jupyter={"source_hidden": True})
    stub = nbformat.v4.new_code_cell(
        'def twice(x):\n    """Return 2 x."""\n    raise NotImplementedError  # your code here'
    )
    stub.metadata["exercise"] = "99.twice"
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 · A fixture\n\nAs Chen et al. (2018) put it: ..."),
        nbformat.v4.new_code_cell(
            "from node_edu.widgets import EulerStepsWidget\n"
            "euler = EulerStepsWidget(n_steps=4)\neuler.widget"
        ),
        check,
        stub,
        nbformat.v4.new_code_cell(
            'try:\n    twice(1)\nexcept NotImplementedError:\n    print("not attempted yet")'
        ),
        nbformat.v4.new_markdown_cell("## Summary\n\nThe planar flow: Rezende & Mohamed (2015)."),
    ]
    return json.loads(nbformat.writes(nb))


def test_a_check_cell_is_folded_and_nothing_else_changes():
    nb = fixture_notebook()
    before = json.dumps(nb)
    book_nb = build.transform(nb, "99", ENTRIES, "abc")
    assert json.dumps(nb) == before  # the lesson itself is not touched
    cells = book_nb["cells"]
    assert cells[2]["metadata"]["tags"] == ["check", "hide-input"]
    assert cells[2]["metadata"]["jupyter"] == {"source_hidden": True}
    for i in (3, 4):  # the stub and its checker stay as they are, shown
        assert "tags" not in cells[i]["metadata"]
        assert cells[i]["source"] == nb["cells"][i]["source"]
    assert cells[3]["metadata"]["exercise"] == "99.twice"
    # a check cell its author already folds another way keeps its own tag only
    nb["cells"][2]["metadata"]["tags"] = ["check", "hide-cell"]
    assert build.transform(nb, "99", ENTRIES, "abc")["cells"][2]["metadata"]["tags"] == [
        "check",
        "hide-cell",
    ]


def test_the_references_section_lists_what_the_text_cites():
    book_nb = build.transform(fixture_notebook(), "99", ENTRIES, "abc")
    last = book_nb["cells"][-1]
    assert last["cell_type"] == "markdown" and last["source"].startswith("## References")
    assert "{cite:empty}`l99-chen2018neural`" in last["source"]
    assert "{cite:empty}`l99-rezende2015variational`" in last["source"]
    assert last["source"].count("{cite:empty}") == 2
    assert ":keyprefix: l99-" in last["source"]
    nbformat.validate(nbformat.reads(json.dumps(book_nb), as_version=4))
    uncited = fixture_notebook()
    uncited["cells"] = [c for c in uncited["cells"] if c["cell_type"] == "code"]
    assert len(build.transform(uncited, "99", ENTRIES, "abc")["cells"]) == 4  # no section


def test_the_library_hash_puts_a_lesson_again_through_the_execution_cache(tmp_path, monkeypatch):
    """jupyter-cache keys a notebook on its code cells: the copy's first code cell carries
    the library's hash and the kernels' settings, so a change of either runs every lesson
    again, and only that."""
    cache = pytest.importorskip("jupyter_cache.cache.main")
    library = tmp_path / "node_edu"
    library.mkdir()
    (library / "a.py").write_text("x = 1\n")
    h1 = build.library_hash(library)
    (library / "a.py").write_text("x = 2\n")
    h2 = build.library_hash(library)
    assert h1 != h2 and len(h1) == 16
    jc = cache.JupyterCacheBase(str(tmp_path / "cache"))

    def key(nb):
        return jc.create_hashed_notebook(nbformat.reads(json.dumps(nb), as_version=4))[1]

    nb = fixture_notebook()
    same = key(build.transform(nb, "99", ENTRIES, h1))
    assert key(build.transform(nb, "99", ENTRIES, h1)) == same
    assert key(build.transform(nb, "99", ENTRIES, h2)) != same  # the library changed
    prose = fixture_notebook()
    prose["cells"][0]["source"] += " More prose."
    assert key(build.transform(prose, "99", ENTRIES, h1)) == same  # prose: no re-run
    code = fixture_notebook()
    code["cells"][1]["source"] += "\n1 + 1"
    assert key(build.transform(code, "99", ENTRIES, h1)) != same  # code: re-run
    monkeypatch.setattr(build, "KERNEL_ENV", {**build.KERNEL_ENV, "OTHER": "1"})
    assert key(build.transform(nb, "99", ENTRIES, h1)) != same  # the kernels' settings
    startup = tmp_path / "startup.py"
    startup.write_text("a = 1\n")
    h3 = build.library_hash(library, extra=[startup])
    startup.write_text("a = 2\n")
    assert build.library_hash(library, extra=[startup]) != h3  # the kernels' startup file


def test_the_front_page_is_the_readme_lesson_table_linked_to_the_pages(tmp_path):
    paths = build.lessons()
    page = build.front_page(ROOT / "README.md", paths)
    readme = (ROOT / "README.md").read_text()
    for path in sorted((ROOT / "lessons").glob("*.ipynb")):
        (row,) = [line for line in page.splitlines() if f"](lessons/{path.name})" in line]
        assert row in readme  # the README's own row, as it is
    assert page.startswith("# node_edu")
    bad = tmp_path / "README.md"
    bad.write_text("**node_edu**\nis a course.\n\nNo table here.\n")
    with pytest.raises(ValueError, match="lessons"):
        build.front_page(bad, paths)


def lesson_file(folder, name, title):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nWhy it matters.")]
    (folder / name).write_text(nbformat.writes(nb))


def test_the_lessons_come_from_the_lessons_folder_a_new_one_by_itself(tmp_path, monkeypatch):
    """No list of lessons in the book: a lesson added to lessons/ (06b, a part of a split
    lesson, which the README does not list yet) is in the table of contents and on the
    front page, in order; a README row whose lesson is gone is left out."""
    root = tmp_path / "course"
    (root / "lessons").mkdir(parents=True)
    lesson_file(root / "lessons", "06_training.ipynb", "06 · Training")
    lesson_file(root / "lessons", "06b_training_in_practice.ipynb", "06b · Training in practice")
    lesson_file(root / "lessons", "07_flows.ipynb", "07 · Flows")
    lesson_file(root / "lessons", "notes.ipynb", "not a lesson")
    (root / "README.md").write_text(
        "# x\n\n**A course.**\nFor a test.\n\n## The lessons\n\n"
        "| lesson | what you learn |\n|---|---|\n"
        "| [06 training](lessons/06_training.ipynb) | to train |\n"
        "| [05 gone](lessons/05_gone.ipynb) | a lesson that left |\n"
        "| [07 flows](lessons/07_flows.ipynb) | flows |\n\n## Next\n"
    )
    paths = build.lessons(root)
    assert [p.name for p in paths] == [
        "06_training.ipynb",
        "06b_training_in_practice.ipynb",
        "07_flows.ipynb",
    ]
    assert [build.lesson_number(p) for p in paths] == ["06", "06b", "07"]
    assert [p.name for p in build.lessons(root, only=("06b",))] == [paths[1].name]
    table = build.front_page(root / "README.md", paths).split("## The lessons\n\n")[1]
    assert table.strip().splitlines() == [
        "| lesson | what you learn |",
        "|---|---|",
        "| [06 training](lessons/06_training.ipynb) | to train |",
        "| [06b Training in practice](lessons/06b_training_in_practice.ipynb) | |",
        "| [07 flows](lessons/07_flows.ipynb) | flows |",
    ]
    layout = build.Layout(root=root, build=tmp_path / "build")
    monkeypatch.setattr(build, "static_files", lambda static: None)  # not needed here
    build.prepare(layout)
    toc = yaml.safe_load((layout.src / "_toc.yml").read_text())
    assert [c["file"] for c in toc["chapters"]] == [
        "lessons/06_training",
        "lessons/06b_training_in_practice",
        "lessons/07_flows",
        "references",
    ]
