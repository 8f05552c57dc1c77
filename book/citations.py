"""Which papers a lesson cites, read from its plain text.

A lesson cites the way a reader writes: "Chen et al. (2018)", "Rezende & Mohamed 2015",
"Kidger, Chen & Lyons (2021, ...)", "Hairer, Nørsett & Wanner (1993)", or a paper's full
title. JupyterLab shows that as written (a ``{cite}`` role would show as raw markup there).
The book's build matches each mention against ``book/references.bib``, the first author's
surname followed by the year, or the whole title (of five words or more: a shorter one,
"Augmented Neural ODEs", is also the name of an idea), and ends the lesson's page with the
entries it found; ``tests/book/test_citations.py`` fails on a mention that matches no entry.

The .bib reader here is deliberately small (the file is ours and written in one style):
``@type{key,`` then ``field = {value},`` lines, braces nested.
"""

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

BIB = Path(__file__).resolve().parent / "references.bib"


@dataclass(frozen=True)
class Entry:
    key: str
    surnames: tuple  # every author's surname, folded to ASCII ("Norsett")
    year: str
    title: str


def fold(text):
    """ASCII, so that "Nørsett" in a lesson matches "N{\\o}rsett" in the .bib and back."""
    text = text.replace("{\\o}", "o").replace("ø", "o").replace("Ø", "O")
    text = re.sub(r"\\[\"'`^~=.]\{?(\w)\}?", r"\1", text)  # {\"o} -> o
    text = unicodedata.normalize("NFKD", text)
    return (
        "".join(c for c in text if not unicodedata.combining(c)).replace("{", "").replace("}", "")
    )


def read_bib(path=BIB):
    """The entries of a .bib file, in file order."""
    text = Path(path).read_text(encoding="utf-8")
    entries = []
    for match in re.finditer(r"@(\w+)\s*\{\s*([^,\s]+)\s*,", text):
        body, depth, i = [], 1, match.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            body.append(text[i])
            i += 1
        fields = _fields("".join(body[:-1]))
        authors = fields.get("author", "")
        surnames = tuple(_surname(a) for a in re.split(r"\s+and\s+", authors) if a.strip())
        entries.append(
            Entry(match.group(2), surnames, fields.get("year", ""), fold(fields.get("title", "")))
        )
    return entries


def _fields(body):
    fields, i = {}, 0
    for match in re.finditer(r"(\w+)\s*=\s*", body):
        if match.start() < i:
            continue  # inside an earlier field's value
        name, j = match.group(1).lower(), match.end()
        if j < len(body) and body[j] == "{":
            depth, k = 1, j + 1
            while depth and k < len(body):
                depth += {"{": 1, "}": -1}.get(body[k], 0)
                k += 1
            fields[name], i = body[j + 1 : k - 1], k
        else:
            end = body.find(",", j)
            end = len(body) if end < 0 else end
            fields[name], i = body[j:end].strip().strip('"'), end
    return fields


def _surname(author):
    author = fold(author.strip())
    return author.split(",")[0].strip() if "," in author else author.split()[-1]


def _words(text):
    return " ".join(re.findall(r"[a-z0-9]+", fold(text).lower()))


# "Surname" then, within one stretch of text with no digit and no parenthesis, the year
# (an opening parenthesis may stand right before it): "Chen et al. (2018", "Kidger, Chen
# and Lyons (2021", "Rezende & Mohamed 2015", "Kidger (2022)".
_GAP = r"[^()\d]{0,80}?\(?"


def cited(text, entries):
    """The entries ``text`` cites, in the order of ``entries``."""
    folded, words = fold(text), _words(text)
    found = []
    for entry in entries:
        first = re.escape(entry.surnames[0]) if entry.surnames else None
        by_name = first and re.search(rf"\b{first}\b{_GAP}{entry.year}\b", folded)
        by_title = len(_words(entry.title).split()) >= 5 and _words(entry.title) in words
        if by_name or by_title:
            found.append(entry)
    return found


# What a citation looks like, whether or not the .bib has it: a capitalised surname with
# "et al.", or with co-authors joined by "&"/"and", or alone before "(year", then the year.
_NAME = r"[A-Z][a-z'\-]+"
CITATION = re.compile(
    rf"\b({_NAME})"
    rf"(?:\s+et\s+al\.,?\s+\(?"
    rf"|(?:,\s+{_NAME})*,?\s+(?:&|and)\s+{_NAME},?\s+\(?"
    rf"|\s+\()"
    r"((?:19|20)\d\d)\b"
)


def mentions(text):
    """Every (surname, year) written as a citation in ``text``."""
    return [(m.group(1), m.group(2)) for m in CITATION.finditer(fold(text))]


def unknown(text, entries):
    """The citations in ``text`` that match no entry (by first author and year)."""
    known = {(e.surnames[0], e.year) for e in entries if e.surnames}
    return sorted({m for m in mentions(text) if m not in known})
