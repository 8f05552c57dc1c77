"""The built book (build/book/, from `make book`) in headless Chromium, served from 127.0.0.1.

Every page loads with no console error and no request leaving 127.0.0.1; every lesson draws
as many plotly figures as it displayed when executed; every internal link resolves; the
search finds "adjoint"; the launch buttons point where the README's Binder badge and
nbgitpuller say; axe-core finds no serious or critical violation; at 390 px the prose never
scrolls sideways; opened from disk (file://) with the network refused, the pages still draw
everything and the search still finds, with no error. Check cells are folded, exercise stubs
shown, reference solutions absent.
"""

import ast
import html.parser
import json
import re
import urllib.parse
from pathlib import Path

import pytest

from book import citations
from tests.book import site

pytestmark = pytest.mark.browser

LESSONS_DIR = site.ROOT / "lessons"


@pytest.fixture(scope="module")
def built():
    site.need_site()
    return site.info()


@pytest.fixture(scope="module")
def chromium(built):
    site.need_chromium()
    pytest.importorskip("playwright.sync_api")
    with site.browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def server(built):
    with site.serve(site.SITE) as base:
        yield base


def pages(built):
    return ["index.html", "references.html", *(page for _, page in site.lesson_pages())]


# -- every page, over HTTP ------------------------------------------------------------


def test_every_page_loads_with_no_error_and_nothing_from_elsewhere(built, chromium, server):
    context = chromium.new_context()
    problems = {}
    for page in [*pages(built), "search.html", "genindex.html"]:
        watched = site.Watched(context, server)
        watched.open(f"{server}/{page}")
        if watched.outside or watched.errors:
            problems[page] = {"outside": watched.outside, "errors": watched.errors}
        watched.page.close()
    context.close()
    assert problems == {}


def test_every_lesson_draws_its_figures_folds_its_checks_and_shows_its_stubs(
    built, chromium, server
):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    wrong, figures = {}, {}
    for name, page in site.lesson_pages():
        p = site.Watched(context, server).open(f"{server}/{page}")
        shown = site.report(p)
        p.close()
        cells = [c for c in lesson_cells(name) if c["cell_type"] == "code"]
        expected = dict(
            figures=site.displayed_figures(name),
            checks=sum("check" in c["metadata"].get("tags", []) for c in cells),
            stubs=sum("exercise" in c["metadata"] for c in cells),
        )
        figures[name] = shown["figures"]
        folded = [c for c in shown["checks"] if c["toggle"] and not c["input_shown"]]
        if (
            shown["figures"] != expected["figures"]
            or shown["interactive"] != shown["figures"]
            or len(shown["checks"]) != expected["checks"]
            or len(folded) != expected["checks"]
            or not all(c["output_shown"] for c in shown["checks"])
            or shown["stubs"] < expected["stubs"]
        ):
            wrong[name] = dict(shown=shown, expected=expected)
    context.close()
    assert wrong == {}
    assert sum(figures.values()) > 0  # the oracle saw figures at all
    print("figures per lesson:", figures)


def test_a_figure_is_interactive(built, chromium, server):
    """The mouse over a data point brings plotly's hover label: the figure is live."""
    name = next(n for n, _ in site.lesson_pages() if site.displayed_figures(n))
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    p = site.Watched(context, server).open(f"{server}/lessons/{name}.html")
    graph = p.locator(".ne-static-figure .js-plotly-plot").first
    graph.scroll_into_view_if_needed()
    x, y = p.evaluate(
        """g => { // the middle point of the first trace, in the page's pixels
          const t = g._fullData[0], i = Math.floor(t.x.length / 2);
          const xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis, r = g.getBoundingClientRect();
          return [r.x + xa._offset + xa.d2p(t.x[i]), r.y + ya._offset + ya.d2p(t.y[i])]; }""",
        graph.element_handle(),
    )
    p.mouse.move(x - 5, y - 5)
    p.mouse.move(x, y, steps=5)
    p.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)
    context.close()


# -- links, search, launch buttons -------------------------------------------------------


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "link", "script", "img"):
                self.links.append(attrs[key])


def parse(path):
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_internal_link_resolves(built):
    html_files = [p for p in site.SITE.rglob("*.html") if "_static" not in p.parts]
    parsed = {p: parse(p) for p in html_files}
    broken, checked = [], 0
    for path, parser in parsed.items():
        for link in parser.links:
            url = urllib.parse.urlsplit(link)
            if url.scheme or link.startswith("//") or link.startswith("mailto:"):
                continue
            target = (path.parent / urllib.parse.unquote(url.path)).resolve() if url.path else path
            checked += 1
            if not target.exists():
                broken.append(f"{path.relative_to(site.SITE)} -> {link}")
            elif url.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if url.fragment not in ids:
                    broken.append(f"{path.relative_to(site.SITE)} -> {link} (no such id)")
    assert broken == []
    assert checked > 100


def test_search_for_adjoint_finds_the_adjoint_lessons(built, chromium, server):
    context = chromium.new_context()
    p = site.Watched(context, server).page
    p.goto(f"{server}/search.html?q=adjoint", wait_until="load")
    p.wait_for_selector("#search-results ul.search li", timeout=30_000)
    found = p.eval_on_selector_all(
        "#search-results ul.search li a", "links => links.map(a => a.getAttribute('href'))"
    )
    context.close()
    assert any("04_the_adjoint_method" in href for href in found), found
    assert any("05_the_adjoints_initial_condition" in href for href in found), found


def readme_binder_badge():
    """The README badge's Binder URL, split at the lesson path: (prefix, suffix)."""
    text = (site.ROOT / "README.md").read_text()
    url = re.search(r"\((https://mybinder\.org/v2/gh/[^)]+)\)", text).group(1)
    prefix, lesson = url.split("lessons/", 1)
    return prefix, lesson


def test_launch_buttons_point_at_binder_and_the_hub(built):
    prefix, _ = readme_binder_badge()
    hub = built["hub_url"].rstrip("/")
    for name, page in site.lesson_pages():
        links = parse(site.SITE / page).links
        assert f"{prefix}lessons/{name}.ipynb" in links  # exactly the README badge's form
        pulls = [link for link in links if "/hub/user-redirect/git-pull?" in link]
        if not hub:
            assert pulls == []  # no hub configured: no hub button
            continue
        (pull,) = pulls
        url = urllib.parse.urlsplit(pull)
        query = dict(urllib.parse.parse_qsl(url.query))
        assert f"{url.scheme}://{url.netloc}" == hub
        # nbgitpuller clones into a folder named after the repository, then opens the lesson
        assert query == {
            "repo": built["repo"],
            "branch": built["branch"],
            "urlpath": f"lab/tree/{built['repo'].rsplit('/', 1)[1]}/lessons/{name}.ipynb",
        }


def test_the_download_button_gives_the_lesson_as_it_is_in_the_repository(built):
    for name, page in site.lesson_pages():
        assert f"../_sources/lessons/{name}.ipynb" in parse(site.SITE / page).links
        download = site.SITE / "_sources" / "lessons" / f"{name}.ipynb"
        assert download.read_bytes() == (LESSONS_DIR / f"{name}.ipynb").read_bytes(), name


def test_progress_bars_show_where_they_ended(built):
    """A tqdm bar in a notebook is a widget, which a page could show only as first drawn
    (0%): the book's kernels draw text bars (book/kernel_startup.py), shown as they ended."""
    finished = 0
    for _, page in site.lesson_pages():
        text = (site.SITE / page).read_text()
        assert not re.search(r"\b0%\|", text), page
        finished += len(re.findall(r"\b100%\|", text))
    assert finished > 0  # the lessons that train show their finished bars


# -- what each lesson page holds ---------------------------------------------------------


def lesson_cells(name):
    return json.loads((LESSONS_DIR / f"{name}.ipynb").read_text())["cells"]


def solution_lines():
    """Distinctive lines of every reference solution (not also in a lesson's own cells)."""
    lessons_text = "\n".join(p.read_text() for p in LESSONS_DIR.glob("*.ipynb"))
    lines = set()
    for path in (site.ROOT / "node_edu" / "solutions").glob("lesson*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                for stmt in body:
                    for line in ast.unparse(stmt).splitlines():
                        line = line.strip()
                        if len(line) >= 30 and json.dumps(line)[1:-1] not in lessons_text:
                            lines.add(line)
    return lines


def test_no_reference_solution_is_in_the_book(built):
    lines = solution_lines()
    assert len(lines) > 20  # the oracle found solutions to look for
    leaked = {}
    for path in site.SITE.rglob("*"):
        if path.suffix in (".html", ".ipynb", ".txt", ".js") and "_static" not in path.parts:
            text = path.read_text(errors="replace")
            found = [line for line in lines if line in text]
            if found:
                leaked[str(path.relative_to(site.SITE))] = found[:3]
    assert leaked == {}


def test_each_lesson_lists_the_works_it_cites_and_the_references_page_all(built):
    entries = citations.read_bib()
    for name, page in site.lesson_pages():
        text = "\n\n".join(
            "".join(c["source"]) for c in lesson_cells(name) if c["cell_type"] == "markdown"
        )
        expected = citations.cited(text, entries)
        html = (site.SITE / page).read_text()
        section = html.split('<section id="references">', 1)
        listed = section[1].count('class="citation"') if len(section) == 2 else 0
        assert listed == len(expected), name
        for entry in expected:  # each by its year and first author, as the list prints them
            assert entry.year in section[1] and entry.surnames[0] in citations.fold(section[1])
    everything = (site.SITE / "references.html").read_text()
    assert everything.count('class="citation"') == len(entries)


# -- accessibility, phones, file:// --------------------------------------------------------


def test_no_serious_or_critical_accessibility_violation(built, chromium, server):
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    axe = axe_module.Axe()
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    found, counts = {}, {}
    for page in pages(built):
        p = site.Watched(context, server).open(f"{server}/{page}")
        result = axe.run(p)
        violations = result.response["violations"]
        counts[page] = {v["id"]: v["impact"] for v in violations}
        bad = [
            f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
        if bad:
            found[page] = bad
        missing_alt = p.evaluate(
            "() => [...document.images].filter(i => !(i.getAttribute('alt') || '').trim())"
            ".map(i => i.src)"
        )
        if missing_alt:
            found.setdefault(page, []).append(f"images without alt text: {missing_alt}")
        p.close()
    context.close()
    print("axe (minor and moderate, reported):", counts)
    assert found == {}


def test_at_390_px_the_prose_never_scrolls_sideways(built, chromium, server):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    problems = {}
    for page in pages(built):
        p = site.Watched(context, server).open(f"{server}/{page}")
        p.wait_for_timeout(300)  # the wide-math fit runs once MathJax is done
        result = p.evaluate(
            """() => {
              const page = [document.documentElement.scrollWidth, window.innerWidth];
              const figures = [...document.querySelectorAll('.js-plotly-plot')].filter(g => {
                const box = g.closest('.ne-static');
                const fits = g.getBoundingClientRect().width <= box.clientWidth + 1;
                const scrolls = getComputedStyle(box).overflowX === 'auto';
                return !(fits || scrolls);
              }).length;
              return {page, figures};
            }"""
        )
        if result["page"][0] > result["page"][1] or result["figures"]:
            problems[page] = result
        p.close()
    context.close()
    assert problems == {}


def test_from_disk_with_the_network_refused_everything_is_drawn_and_found(built, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    problems = {}
    for page in pages(built):
        url = Path(site.SITE / page).resolve().as_uri()
        watched = site.Watched(context, "file://")
        p = watched.open(url)
        drawn = site.report(p)["figures"]
        name = page.removeprefix("lessons/").removesuffix(".html")
        expected = site.displayed_figures(name) if page.startswith("lessons/") else 0
        formulas = p.evaluate("() => document.querySelectorAll('mjx-container').length")
        raw_tex = p.evaluate(
            "() => document.querySelectorAll('.math:not(:has(mjx-container))').length"
        )
        if watched.outside or watched.errors or drawn < expected or raw_tex:
            problems[page] = dict(
                outside=watched.outside,
                errors=watched.errors,
                drawn=drawn,
                figures=expected,
                formulas=formulas,
                undrawn_math=raw_tex,
            )
        p.close()
    watched = site.Watched(context, "file://")  # the search, from disk too
    search = (site.SITE / "search.html").resolve().as_uri()
    watched.page.goto(f"{search}?q=adjoint", wait_until="load")
    watched.page.wait_for_selector("#search-results ul.search li", timeout=30_000)
    watched.page.wait_for_timeout(1000)  # any excerpt the page would fetch
    found = watched.page.locator("#search-results ul.search li a").count()
    if watched.outside or watched.errors or not found:
        problems["search.html"] = dict(
            outside=watched.outside, errors=watched.errors[:3], results=found
        )
    context.close()
    assert problems == {}
