"""The bibliography (book/references.bib) and how a lesson's text cites it (book/citations.py).
No build and no browser: these run everywhere."""

import json
from pathlib import Path

import pytest

from book import citations

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = citations.read_bib()


def markdown(path):
    cells = json.loads(path.read_text())["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def test_every_entry_has_authors_a_year_and_a_title_and_a_key_of_its_own():
    keys = [e.key for e in ENTRIES]
    assert len(keys) == len(set(keys)) >= 15
    for entry in ENTRIES:
        assert entry.surnames and entry.title and len(entry.year) == 4, entry
    # the works the course was built on are all there
    wanted = {
        ("Chen", "2018"), ("Grathwohl", "2019"), ("Dupont", "2019"), ("Finlay", "2020"),
        ("Kidger", "2021"), ("Rubanova", "2019"), ("Rezende", "2015"), ("Dormand", "1980"),
        ("Hairer", "1993"), ("Ott", "2021"), ("Kelly", "2020"),
    }  # fmt: skip
    assert wanted <= {(e.surnames[0], e.year) for e in ENTRIES}


@pytest.mark.parametrize("lesson", sorted(p.name for p in (ROOT / "lessons").glob("*.ipynb")))
def test_every_citation_in_a_lesson_is_in_the_bibliography(lesson):
    text = markdown(ROOT / "lessons" / lesson)
    assert citations.unknown(text, ENTRIES) == []


def test_every_entry_is_cited_by_a_lesson():
    """The References page says it lists the works the course cites: each one, then, is
    cited in some lesson's text (an entry nobody cites any more is removed, or cited)."""
    lessons = sorted((ROOT / "lessons").glob("*.ipynb"))
    cited = {e.key for path in lessons for e in citations.cited(markdown(path), ENTRIES)}
    assert [e.key for e in ENTRIES if e.key not in cited] == []


KEYS = {(e.surnames[0], e.year): e.key for e in ENTRIES}


@pytest.mark.parametrize(
    "text, found",
    [
        ("Neural ODEs (Chen et al., 2018) replace", ["chen2018neural"]),
        ("Notation of Chen et al. (2018, Theorem 1): z", ["chen2018neural"]),
        ("the seminorm of Kidger, Chen & Lyons (2021, 'Hey')", ["kidger2021hey"]),
        ("Finlay, Jacobsen, Nurbekyan &\nOberman (2020), 'How to", ["finlay2020train"]),
        ("Rezende & Mohamed 2015, Table 1", ["rezende2015variational"]),
        ("as in Hairer, Nørsett & Wanner (1993)", ["hairer1993solving"]),
        ("Dormand–Prince (Dormand & Prince 1980)", ["dormand1980family"]),
        ("Baydin et al., *Automatic differentiation in machine learning: a survey*",
         ["baydin2018automatic"]),
        # not citations: no year, another year, a short title that is also an idea's name
        ("Chen et al.'s Algorithm 1 integrates, as in 2019", []),
        ("Chen et al. (2019) did something else", []),
        ("augmented neural ODEs go around each other", []),
    ],
)  # fmt: skip
def test_a_citation_is_found_by_first_author_and_year_or_by_title(text, found):
    assert [e.key for e in citations.cited(text, ENTRIES)] == found


def test_a_citation_missing_from_the_bibliography_is_reported():
    text = "as Smith et al. (2017) and Doe & Roe (2020, p. 3) and Kidger (2022) say"
    assert citations.unknown(text, ENTRIES) == [("Doe", "2020"), ("Smith", "2017")]
    assert citations.mentions("In 2018 the field grew; see Python 3") == []


def test_bib_reader_reads_nested_braces_and_accents():
    hairer = next(e for e in ENTRIES if e.key == "hairer1993solving")
    assert hairer.surnames == ("Hairer", "Norsett", "Wanner")
    assert hairer.title == "Solving Ordinary Differential Equations I: Nonstiff Problems"
    assert citations.fold('N{\\o}rsett, J{\\"o}rn') == "Norsett, Jorn"
