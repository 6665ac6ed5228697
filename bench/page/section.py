"""The page as data: sections of blocks, each table knowing the results files it shows.

A section has a title (its heading), a key other sections link to, and blocks: Markdown text,
tables and subsections. A table names the results files it was read from, so the command under
it is the argv those files recorded, and a link to a section is looked up by its key, never by
searching the rendered page for a heading. One short command follows its table on one line;
several, or a long one, follow it as a shell block, one command a line.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence, Union

from bench.page.markdown import anchor, table

REPORT_COMMAND = "python -m bench.report > reports/latest.md"
REPRODUCE = "Reproduce: "
FENCE = "```sh"
ONE_LINE = 200  # the longest "Reproduce: `...`" line; longer, or several commands: a shell block


@dataclass
class Table:
    """A GitHub table and the results files its cells come from (none: ``expected/`` alone)."""

    rows: Sequence[Sequence[Any]]
    headers: Sequence[str]
    files: Sequence[str] = ()


@dataclass
class Section:
    """A heading and what follows it, up to the next heading of its level or above."""

    title: str
    blocks: list[Union[str, Table, "Section"]] = field(default_factory=list)
    key: str = ""  # what other sections link to it by; defaults to the title
    level: int = 2

    def add(self, *blocks: Union[str, Table, "Section"]) -> "Section":
        self.blocks.extend(blocks)
        return self

    def walk(self) -> Iterator["Section"]:
        yield self
        for block in self.blocks:
            if isinstance(block, Section):
                yield from block.walk()


def command(document: Mapping[str, Any]) -> str:
    """The command that wrote a results document, as it recorded it."""
    return shlex.join(document["argv"])


def anchors(sections: Sequence[Section]) -> dict[str, str]:
    """Each section's key -> the anchor GitHub gives its heading (repeated headings numbered)."""
    seen: dict[str, int] = {}
    found = {}
    for top in sections:
        for section in top.walk():
            base = anchor(section.title)
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.setdefault(section.key or section.title, base if count == 0 else f"{base}-{count}")
    return found


def _commands(files: Sequence[str], documents: Mapping[str, Mapping[str, Any]]) -> list[str]:
    commands = [command(documents[name]) for name in files]
    return list(dict.fromkeys(commands)) or [REPORT_COMMAND]


def reproduce_lines(commands: Sequence[str]) -> list[str]:
    """The commands under a table: one line, or a shell block when several or long."""
    line = f"{REPRODUCE}`{commands[0]}`"
    if len(commands) == 1 and len(line) <= ONE_LINE:
        return [line]
    return [REPRODUCE.rstrip(), "", FENCE, *commands, "```"]


def render(section: Section, documents: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The section as Markdown lines, every table followed by the commands that reproduce it."""
    lines = ["#" * section.level + " " + section.title, ""]
    for block in section.blocks:
        if isinstance(block, Section):
            lines += render(block, documents)
        elif isinstance(block, Table):
            lines += [table(block.rows, block.headers), "", *reproduce_lines(_commands(block.files, documents)), ""]
        else:
            lines += [block, ""]
    return lines


def commands_on_page(page: str) -> list[str]:
    """Every command written under a table of a rendered page, once each, in order."""
    found: list[str] = []
    lines = page.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(REPRODUCE):
            commands = [line[len(REPRODUCE):].strip("`")]
        elif line == REPRODUCE.rstrip() and lines[index + 2:index + 3] == [FENCE]:
            block = lines[index + 3:]
            commands = block[:block.index("```")]
        else:
            continue
        found += [command for command in commands if command not in found]
    return found
