"""A small book built for real (Jupyter Book, an executing kernel, Chromium) from one fixture
lesson with what the course's lessons are gaining: a check cell, an exercise stub, two
citations, a dashboard, and a JupyterHub configured. The check cell's code is folded behind
a toggle and its "checked:" line shown; the stub is shown; the References section lists the
two papers; the hub button is an nbgitpuller link; the dashboard's figure is drawn."""

import json
import urllib.parse

import nbformat
import pytest

from book import build
from tests.book import site
from tests.book.test_prepare import fixture_notebook

pytestmark = pytest.mark.browser
HUB = "https://hub.example.edu"
README = """# a fixture course

**A course of one lesson.**
It exists for a test.

## The lessons

| lesson | what you learn |
|---|---|
| [99 a fixture](lessons/99_fixture.ipynb) | how the book shows a lesson |

"""


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    try:
        import jupyter_book  # noqa: F401
    except ImportError:
        if site.CI:
            raise
        pytest.skip("the book's packages are not installed: run `make book` once")
    root = tmp_path_factory.mktemp("fixture")
    (root / "lessons").mkdir()
    nb = fixture_notebook()
    (root / "lessons" / "99_fixture.ipynb").write_text(json.dumps(nb))
    (root / "README.md").write_text(README)
    layout = build.Layout(root=root, build=root / "build")
    info = build.build(layout, hub_url=HUB)
    return layout, info


def test_the_fixture_lesson_was_executed_and_its_page_written(book):
    layout, info = book
    assert info["executed"] == ["99_fixture"] and info["lessons"] == ["99_fixture"]
    assert (layout.out / "lessons" / "99_fixture.html").exists()
    assert (layout.out / "index.html").exists() and (layout.out / "references.html").exists()


def test_its_page_folds_the_check_shows_the_stub_and_lists_the_citations(book):
    site.need_chromium()
    layout, _ = book
    with site.serve(layout.out) as base, site.browser() as chromium:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        watched = site.Watched(context, base)
        page = watched.open(f"{base}/lessons/99_fixture.html")
        shown = site.report(page)
        assert shown["figures"] == site.displayed_figures("99_fixture", layout.build) == 1
        (check,) = shown["checks"]
        assert check["toggle"] and not check["input_shown"] and check["output_shown"]
        assert check["text"].strip().startswith("checked: five points")
        assert shown["stubs"] == 1
        # the toggle unfolds the asserts
        page.locator(".cell.tag_check summary").first.click()
        assert page.locator(".cell.tag_check .cell_input pre").first.is_visible()
        references = page.locator("section#references .citation[role=listitem]")
        assert references.count() == 2
        text = " ".join(references.all_inner_texts())
        assert "Neural ordinary differential equations" in text
        assert "Variational inference with normalizing flows" in text
        assert watched.outside == [] and watched.errors == []
        context.close()


def test_the_launch_buttons_point_at_binder_and_at_the_hub_through_nbgitpuller(book):
    layout, info = book
    html = (layout.out / "lessons" / "99_fixture.html").read_text()
    assert (
        'href="https://mybinder.org/v2/gh/node-edu/node_edu/main'
        '?urlpath=lab/tree/lessons/99_fixture.ipynb"' in html
    )
    (pull,) = [
        urllib.parse.unquote(h.split('"')[0]) for h in html.split('href="')[1:] if "git-pull" in h
    ]
    url = urllib.parse.urlsplit(pull.replace("&amp;", "&"))
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{HUB}/hub/user-redirect/git-pull"
    assert dict(urllib.parse.parse_qsl(url.query)) == {
        "repo": "https://github.com/node-edu/node_edu",
        "branch": "main",
        "urlpath": "lab/tree/node_edu/lessons/99_fixture.ipynb",
    }
    assert info["hub_url"] == HUB


def test_the_lesson_itself_was_not_changed(book):
    layout, _ = book
    nb = nbformat.read(layout.root / "lessons" / "99_fixture.ipynb", as_version=4)
    assert "hide-input" not in json.dumps(nb) and "References" not in json.dumps(nb)


def test_a_changed_script_or_style_reaches_the_site_with_no_page_changed(book):
    """Sphinx copies the static files only when some page is out of date: the build writes
    every page again (from the execution cache) when the site's copy of one differs, here
    as an earlier build, stopped after the source folder was written, would leave it."""
    layout, _ = book
    ours = build.HERE / "static" / "node_edu_book.js"
    stale = layout.work / "_build" / "html" / "_static" / ours.name
    stale.write_text("// the previous build's script\n")
    info = build.build(layout, hub_url=HUB)
    assert info["executed"] == []  # the lesson came from the cache
    assert (layout.out / "_static" / ours.name).read_bytes() == ours.read_bytes()
