"""Build the course's book: every lesson executed as shipped, as a static site in build/book/.

    python -m book.build [--hub-url URL] [--lessons 00 03]     (``make book`` runs this)

Jupyter Book 1 (Sphinx, myst-nb, sphinx-book-theme) does the work. This script prepares its
source folder, build/book_src/, from the repository:

- each lesson, copied, with its ``check`` cells tagged ``hide-input`` (the code behind a
  toggle, the "checked: ..." line shown), and a References section appended that lists the
  papers its text cites (book/citations.py);
- index.md, the front page, from the README's lesson table; references.md, the whole
  bibliography; _toc.yml, every lesson in order; _config.yml, from book/_config.yml with the
  hub's URL filled in;
- _assets/ (the site's _static/): plotly.js (from the plotly package) and MathJax (from
  django-static-mathjax), so that no page fetches anything from elsewhere.

A lesson is copied again only when it changed, and the first code cell of each copy carries
a hash of the library (node_edu/), so jupyter-cache, which keys on code cells, re-executes a
lesson when it or the library changed and takes everything else from its cache
(build/.book/_build/.jupyter_cache). The kernels run with ``KERNEL_ENV``: each dashboard
carries a static, still interactive, copy of its figures (node_edu/viz_static.py), and
book/kernel_startup.py makes the progress bars text. The site is copied to build/book/.
"""

import argparse
import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from book import citations

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "book"
REPO = "https://github.com/node-edu/node_edu"  # the README's Binder badge points here
BRANCH = "main"
CHECK_TAG, HIDE_TAG = "check", "hide-input"


@dataclass(frozen=True)
class Layout:
    """Where a build reads and writes. ``root`` holds lessons/ and README.md (the repository;
    a test builds a small book from a folder of its own)."""

    root: Path = ROOT
    build: Path = ROOT / "build"

    @property
    def src(self):  # Jupyter Book's source folder, generated
        return self.build / "book_src"

    @property
    def work(self):  # Jupyter Book's output: _build/html, _build/.jupyter_cache
        return self.build / ".book"

    @property
    def out(self):  # the site
        return self.build / "book"

    @property
    def info(self):  # what the last build did (tests/book read it)
        return self.build / "book_info.json"


# A lesson's file name: its number (two digits, a letter for a lesson split in parts:
# 06b), an underscore, its title in snake case.
LESSON_NAME = re.compile(r"^(\d\d[a-z]?)_\w+\.ipynb$")


def lesson_number(path):
    """``"06b"`` for lessons/06b_name.ipynb."""
    return LESSON_NAME.match(Path(path).name).group(1)


def lessons(root=ROOT, only=()):
    """Every lesson notebook in lessons/, in order (the book has no list of its own, so a new
    lesson appears by itself); ``only``: lesson numbers ("00", "06b") to keep."""
    found = sorted(p for p in (root / "lessons").glob("*.ipynb") if LESSON_NAME.match(p.name))
    return [p for p in found if not only or lesson_number(p) in only]


# The lessons' kernels run with this: each dashboard carries its static copy
# (node_edu/viz_static.py). book/kernel_startup.py runs first in each of them (text progress
# bars); library_hash() covers it, so that a change of it runs the lessons again.
KERNEL_ENV = {"NODE_EDU_STATIC_FIGURES": "1"}
STARTUP = HERE / "kernel_startup.py"


def library_hash(library=ROOT / "node_edu", extra=(STARTUP,)):
    """A hash of every file of the library (a lesson's outputs depend on all of them) and of
    the ``extra`` files the book's kernels run."""
    digest = hashlib.sha256()
    for path in sorted(Path(library).rglob("*.py")):
        digest.update(path.relative_to(library).as_posix().encode())
        digest.update(path.read_bytes())
    for path in extra:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def transform(nb, number, entries, library):
    """The book's copy of one lesson (a notebook dict; the argument is not changed).

    Check cells get ``hide-input``; the first code cell records ``library``; a References
    section (``number`` prefixes its citation keys: a key may appear once per page) lists
    the ``entries`` the markdown cites.
    """
    nb = json.loads(json.dumps(nb))
    first_code = True
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        meta = cell.setdefault("metadata", {})
        tags = meta.get("tags", [])
        if CHECK_TAG in tags and not any(t.startswith(("hide-", "remove-")) for t in tags):
            meta["tags"] = [*tags, HIDE_TAG]
        if first_code:
            meta["node_edu_book"] = {"library": library, "kernel_env": KERNEL_ENV}
            first_code = False
    text = "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    cited = citations.cited(text, entries)
    if cited:
        nb["cells"].append(references_cell(number, cited))
    return nb


def references_cell(number, cited):
    """A markdown cell: the cited entries, marked cited on this page (``{cite:empty}``) and
    listed by a bibliography of this page's citations. Its keys carry the prefix ``lNN-``:
    sphinxcontrib-bibtex warns when two bibliographies list the same key."""
    prefix = f"l{number}-"
    marks = "".join(f"{{cite:empty}}`{prefix}{e.key}`" for e in cited)
    source = (
        "## References\n\n"
        "The works this lesson cites; the course's whole list is on the "
        "[References](../references.md) page.\n\n"
        f"{marks}\n\n"
        "```{bibliography}\n"
        f":keyprefix: {prefix}\n"
        ":filter: docname in docnames\n"
        "```\n"
    )
    meta = {"node_edu_book": "references"}
    return {"cell_type": "markdown", "id": "references", "metadata": meta, "source": source}


def lesson_title(path):
    """A lesson's title, from its opening heading: "# 03 · ODE solvers" -> "03 ODE solvers"."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        heading = re.search(r"^#\s+(.+)$", "".join(cell["source"]), re.M)
        if cell["cell_type"] == "markdown" and heading:
            return heading.group(1).replace(" · ", " ").strip()
    return Path(path).stem.replace("_", " ")


def lesson_rows(readme_rows, paths):
    """The front page's lesson table: one row per lesson in ``paths``, in order. A lesson
    keeps its README row (the row that links lessons/its_name.ipynb); one the README does
    not list yet gets a row of its title; a README row of no such lesson is left out."""
    rows = readme_rows.strip().splitlines()
    head, body = rows[:2], rows[2:]
    table = []
    for path in paths:
        link = f"](lessons/{path.name})"
        mine = [row for row in body if link in row]
        table += mine[:1] or [f"| [{lesson_title(path)}](lessons/{path.name}) | |"]
    return "\n".join(head + table)


def front_page(readme, paths):
    """index.md: the README's opening paragraph and a table of the lessons ``paths`` (the
    README's row of each, linked to its page)."""
    text = readme.read_text(encoding="utf-8")
    intro = re.search(r"^\*\*(.+?)\*\*\n(.*?)\n\n", text, re.S | re.M)
    table = re.search(r"^## The lessons\n\n(\|.*?)\n\n", text, re.S | re.M)
    if not intro or not table:
        raise ValueError("README.md has no bold opening paragraph or no '## The lessons' table")
    rows = lesson_rows(table.group(1), paths)  # links lessons/NN_name.ipynb: the pages
    return (
        "# node_edu: an interactive course on neural ODEs\n\n"
        f"**{intro.group(1)}**\n{intro.group(2)}\n\n"
        "## How to read this book\n\n"
        "- Every page is a lesson, executed as it ships: the exercise cells hold their stubs, "
        'and their checkers answer "not attempted yet".\n'
        "- The figures are live: zoom, pan and hover. A dashboard's controls show the values "
        "the page was built with; to move them, open the lesson with the launch button (the "
        "rocket at the top of each page) on Binder, or on your course's JupyterHub.\n"
        '- A cell that only checks the claim before it prints one "checked: ..." line; its '
        "code is folded away, and the toggle beside it shows the asserts.\n"
        "- Each lesson ends with the works it cites; [References](references.md) lists all "
        "of them. The search box searches the whole course.\n\n"
        "## The lessons\n\n"
        f"{rows}\n"
    )


REFERENCES_PAGE = """# References

Every paper and book the course cites. Each lesson's page ends with the ones it uses.

```{bibliography}
:all:
```
"""


def write_if_changed(path, content):
    """Write only when the content differs, so Sphinx sees an unchanged file as unchanged."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == data:
        return False
    path.write_bytes(data)
    return True


def differing(source, target):
    """The files of the folder ``source`` whose copy in ``target`` is missing or differs."""
    files = sorted(p for p in Path(source).rglob("*") if p.is_file())
    copies = [(p, Path(target) / p.relative_to(source)) for p in files]
    return [p for p, c in copies if not c.exists() or not filecmp.cmp(p, c, shallow=False)]


def copy_tree_if_changed(source, target):
    for path in differing(source, target):
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)


def static_files(static):
    """plotly.js and MathJax, from their Python packages, and our CSS and JavaScript, into
    ``static``."""
    import mathjax  # django-static-mathjax: MathJax 3's files, no Django needed
    import plotly

    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    write_if_changed(static / "plotly" / "plotly.min.js", plotly_js.read_bytes())
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    copy_tree_if_changed(es5, static / "mathjax")
    copy_tree_if_changed(HERE / "static", static)


def config(layout, hub_url):
    cfg = yaml.safe_load((HERE / "_config.yml").read_text(encoding="utf-8"))
    cfg["launch_buttons"]["jupyterhub_url"] = hub_url or ""
    cfg["repository"].update(url=REPO, branch=BRANCH)
    cfg["sphinx"]["local_extensions"] = {"book.sphinx_ext": str(ROOT)}
    cfg["execute"]["cache"] = str(layout.work / "_build" / ".jupyter_cache")
    return cfg


def prepare(layout=Layout(), hub_url="", only=()):
    """Write Jupyter Book's source folder; returns the lesson copies it (re)wrote."""
    src = layout.src
    entries = citations.read_bib()
    library = library_hash()
    chosen = lessons(layout.root, only)
    changed = []
    for path in chosen:
        nb = json.loads(path.read_text(encoding="utf-8"))
        book_nb = transform(nb, lesson_number(path), entries, library)
        text = json.dumps(book_nb, indent=1, ensure_ascii=False) + "\n"
        if write_if_changed(src / "lessons" / path.name, text):
            changed.append(path.name)
    keep = {p.name for p in chosen}
    for stale in (src / "lessons").glob("*.ipynb"):
        if stale.name not in keep:
            stale.unlink()
    write_if_changed(src / "index.md", front_page(layout.root / "README.md", chosen))
    write_if_changed(src / "references.md", REFERENCES_PAGE)
    write_if_changed(src / "references.bib", (HERE / "references.bib").read_bytes())
    toc = {
        "format": "jb-book",
        "root": "index",
        "chapters": [{"file": f"lessons/{p.stem}"} for p in chosen] + [{"file": "references"}],
    }
    write_if_changed(src / "_toc.yml", yaml.safe_dump(toc, sort_keys=False))
    cfg = config(layout, hub_url)
    write_if_changed(src / "_config.yml", yaml.safe_dump(cfg, sort_keys=False))
    static_files(src / "_assets")
    return changed


def run_jupyter_book(layout=Layout(), every_page=False):
    """Run ``jupyter-book build``; returns (exit code, its output). ``every_page``: write
    every page again (from the execution cache), as a changed static file needs: Sphinx
    copies the static files only when some page is out of date, and each page names them
    with their checksum."""
    ipython = layout.work / "ipython"  # the kernels' IPYTHONDIR: our startup file only
    startup = ipython / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    write_if_changed(startup / "00-node_edu_book.py", STARTUP.read_bytes())
    env = {**os.environ, **KERNEL_ENV, "IPYTHONDIR": str(ipython)}
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(layout.src)]
    command += ["--path-output", str(layout.work), "--builder", "html"]
    command += ["--all"] if every_page else []
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line)
    return proc.wait(), "".join(lines)


def executed(log):
    """The lessons the log says were executed, and those taken from the cache."""
    ran = re.findall(r"lessons/(\w+)\.ipynb: Executing notebook", log)
    cached = re.findall(r"lessons/(\w+)\.ipynb: Using cached notebook", log)
    return sorted(set(ran)), sorted(set(cached))


def build(layout=Layout(), hub_url="", only=()):
    """Prepare, run Jupyter Book, copy the site to ``layout.out``; returns what it did (the
    dict also written to ``layout.info``). Raises RuntimeError when the build failed."""
    start = time.perf_counter()
    hub_url = hub_url.strip()
    changed = prepare(layout, hub_url, only)
    stale = differing(layout.src / "_assets", layout.work / "_build" / "html" / "_static")
    code, log = run_jupyter_book(layout, every_page=bool(stale))
    if code != 0 or "Executing notebook failed" in log:
        raise RuntimeError(f"jupyter-book build failed (exit code {code}); see its output above")
    if layout.out.exists():
        shutil.rmtree(layout.out)
    shutil.copytree(layout.work / "_build" / "html", layout.out)
    for path in lessons(layout.root, only):  # the download button gives the lesson as it is
        source = layout.out / "_sources" / "lessons" / path.name
        if source.exists():
            shutil.copyfile(path, source)
    ran, cached = executed(log)
    info = dict(
        hub_url=hub_url,
        repo=REPO,
        branch=BRANCH,
        lessons=[p.stem for p in lessons(layout.root, only)],
        seconds=round(time.perf_counter() - start, 1),
        executed=ran,
        cached=cached,
        copies_rewritten=changed,
        warnings=re.findall(r"^.*: WARNING: .*$", log, re.M),  # Sphinx's, not the kernels'
        load=round(os.getloadavg()[0], 2),
    )
    layout.info.write_text(json.dumps(info, indent=1) + "\n")
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub-url", default="", help="JupyterHub for the launch buttons")
    parser.add_argument("--lessons", nargs="*", default=(), help="only these (e.g. 00 03)")
    args = parser.parse_args(argv)
    try:
        info = build(hub_url=args.hub_url, only=tuple(args.lessons))
    except RuntimeError as error:
        print(f"book: {error}", file=sys.stderr)
        return 1
    print(
        f"book: build/book/index.html in {info['seconds']:.0f} s; executed "
        f"{len(info['executed'])} lesson(s), {len(info['cached'])} from the cache; "
        f"{len(info['warnings'])} warning(s); load {info['load']:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
