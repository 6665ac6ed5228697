"""The command that reproduces each table of the report, written under it.

Each results file gets its command back from what it recorded (``config``, seeds, device), one
function per kind. The page is annotated after it is rendered, so every section, in whichever
module it is written, gets its line: a table names the results files it shows (in its cells, or
in the text of its section before it), or its heading says which kind of file it comes from;
anything else is rendered from ``expected/`` and the results by ``bench.report`` itself.
"""
from __future__ import annotations

import re
import shlex
from typing import Any, Sequence

REPORT_COMMAND = "python -m bench.report > reports/latest.md"
PREFIX = "Reproduce: "
# Sections rendered from the verify results (heading prefixes; "###" claim headings are under them).
VERIFY_HEADINGS = ("What was checked", "The four Papers-with-Code figures", "Official README figures",
                   "Known deviations", "Claims of the paper's text", "What each released model computes",
                   "Three FLOP counters")
# Subsections whose tables come from expected/ rather than a measurement.
REPORT_HEADINGS = ("Where each figure comes from", "Claims of the paper this suite does not check")


def command_for(name: str, document: dict[str, Any]) -> str:
    """The command that wrote results file ``name``, as the file recorded it."""
    return shlex.join(document["argv"])


def _is_table(line: str) -> bool:
    return line.startswith("|")


def _named_files(text: str, files: dict[str, dict[str, Any]]) -> list[str]:
    """The results files a piece of the page names, in the order of their first mention."""
    positions = {name: text.find(name) for name in files if name in text}
    return sorted(positions, key=positions.get)


def commands_for_table(table: str, section_text: str, headings: Sequence[str],
                       files: dict[str, dict[str, Any]]) -> list[str]:
    """The commands under one table: see the module docstring for the order of the rules."""
    named = _named_files(table, files)
    if named:
        return [command_for(name, files[name]) for name in named]
    before = _named_files(section_text, files)
    if before:
        return [command_for(name, files[name]) for name in before]
    innermost = headings[-1] if headings else ""
    if not innermost.startswith(REPORT_HEADINGS):
        verify = [name for name, document in files.items() if document["kind"] == "verify"]
        if verify and any(heading.startswith(VERIFY_HEADINGS) for heading in headings):
            return [command_for(verify[0], files[verify[0]])]
    return [REPORT_COMMAND]


def annotate(page: str, files: dict[str, dict[str, Any]]) -> str:
    """``page`` with the reproducing command(s) written under every table."""
    lines = page.split("\n")
    out: list[str] = []
    headings: list[tuple[int, str]] = []  # (level, text) of the headings above, outermost first
    section: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        heading = re.match(r"(#{1,6}) (.*)", line)
        if heading:
            level = len(heading.group(1))
            headings = [entry for entry in headings if entry[0] < level] + [(level, heading.group(2))]
            section = [] if level <= 2 else section
        if _is_table(line):
            end = index
            while end < len(lines) and _is_table(lines[end]):
                end += 1
            table = "\n".join(lines[index:end])
            found = commands_for_table(table, "\n".join(section), [text for _, text in headings], files)
            out += lines[index:end]
            out += ["", PREFIX + "; ".join(f"`{command}`" for command in found)]
            section += lines[index:end]
            index = end
            continue
        out.append(line)
        section.append(line)
        index += 1
    return "\n".join(out)


def commands_on_page(page: str) -> list[str]:
    """Every command written under a table of ``page``, once each, in order."""
    found: list[str] = []
    for line in page.splitlines():
        if line.startswith(PREFIX):
            found += [command for command in re.findall(r"`([^`]+)`", line) if command not in found]
    return found
