"""Helpers of the data-file tests: writing a file into a temporary folder, the one-line error a bad
one gives, and the Markdown tables of the independent transcription ``fixtures/PAPER_VALUES.md``."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest

from bench.core.io import ResultsError
from bench.spec.data_files import ExpectedError

PAPER_VALUES = Path(__file__).resolve().parent / "fixtures" / "PAPER_VALUES.md"


def write(tmp_path: Path, text: str, name: str = "paper_values.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def one_line_error(path: Path, loader: Callable[[Path], object]) -> str:
    """The message of the :class:`ExpectedError` that ``loader(path)`` raises: one line naming the file."""
    with pytest.raises(ExpectedError) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert isinstance(info.value, ResultsError)
    return message


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of ``text``, as rows of stripped cells (header row included)."""
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r"-+", cell) for cell in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables
