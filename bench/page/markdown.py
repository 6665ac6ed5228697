"""The page's Markdown pieces, in one place: tables, cells and heading anchors.

Every section of the report, in whichever module it is written, formats its tables here, so
they look alike and a link to a heading uses the anchor GitHub gives it.
"""
from __future__ import annotations

import re
import textwrap
from typing import Any, Iterable, Sequence

from tabulate import tabulate


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """A GitHub table of preformatted cells ("76.0" stays as printed)."""
    cleaned = [[cell(value) for value in row] for row in rows]
    return tabulate(cleaned, headers=list(headers), tablefmt="github", disable_numparse=True)


def cell(value: Any) -> str:
    text = "-" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading's text: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def headings(markdown: str) -> list[str]:
    """The text of every ``#``-heading of a page, outside fenced code, in order."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.append(line.lstrip("#").strip())
    return found


def anchors(markdown: str) -> set[str]:
    """The anchors a page defines (GitHub numbers repeated headings: ``name``, ``name-1``, ...)."""
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(markdown):
        base = anchor(heading)
        count = seen.get(base, 0)
        result.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return result


def number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def significant(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def device_label(environment: dict[str, Any]) -> str:
    """"CPU (AMD EPYC)" or "GPU (NVIDIA H100)": GPU wording only when the file names a GPU."""
    kind = "GPU" if environment.get("device_type") == "gpu" else "CPU"
    name = environment.get("device_name")
    return f"{kind} ({name})" if name else kind


def date(document: dict[str, Any]) -> str:
    return str(document["environment"].get("date") or "undated")


PROSE = 200  # the longest prose line a page keeps; tables and code are left as they are
WRAP = 200


def wrap_prose(lines: Sequence[str]) -> list[str]:
    """Prose lines over :data:`PROSE` characters wrapped at :data:`WRAP` (Markdown joins them again):
    a page reads in an editor and a diff as it does on GitHub. Tables, headings, images and code stay."""
    out, fenced = [], False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        if fenced or len(line) <= PROSE or line.startswith(("|", "#", "![", "    ")):
            out.append(line)
            continue
        indent = "> " if line.startswith("> ") else "  " if line.startswith("- ") else ""
        out += textwrap.wrap(line, WRAP, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
    return out


def unwrap(markdown: str) -> str:
    """The page with each paragraph on one line, as Markdown joins the lines :func:`wrap_prose` split."""
    out: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        block = line.startswith(("|", "#", "```", "![", "- "))
        if line.startswith("```"):
            fenced = not fenced
        previous = out[-1] if out else ""
        if (line and previous and not block and not fenced and not previous.startswith(("|", "#", "```", "!["))
                and not line.startswith("Reproduce")):
            out[-1] = previous + " " + (line[2:] if line.startswith(("> ", "  ")) else line)
        else:
            out.append(line)
    return "\n".join(out)
