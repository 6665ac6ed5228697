"""The data folder's files: where the shipped folder is, the names a row may use, and how a CSV
file is read so that every error is one line naming the file, the line and the column."""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Callable

from bench.core.io import ResultsError

__all__ = ["EXPECTED_DIR", "METRICS", "MODEL_NAME", "PAPERS_DIR", "SETTING", "THROUGHPUT", "ExpectedError", "read_rows"]

EXPECTED_DIR = Path(__file__).resolve().parents[2] / "expected"
PAPERS_DIR = Path(__file__).resolve().parents[2] / "papers"  # one folder per paper but SReT's (expected/)
THROUGHPUT = "images_per_s"  # published images/s, tied to the device and batch size it was timed on
# gmacs: 10^9 multiply-adds, what the paper prints as "GFLOPs"
METRICS = ("gmacs", "params_m", "top1", THROUGHPUT)
SETTING = re.compile(r"[A-Za-z0-9+_-]+")  # a training setting: one word, so also a word of a deviations heading
MODEL_NAME = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)?")  # an architecture, or a pretrained tag name.tag


class ExpectedError(ResultsError):
    """A malformed file in the data folder; one line naming the file, line and column.

    A :class:`bench.core.io.ResultsError`, so every command reports it as one line, exit 2.
    """


Fail = Callable[[str, str], ExpectedError]


def _failing(path: Path, line: int) -> Fail:
    def fail(column: str, problem: str) -> ExpectedError:
        return ExpectedError(f"{path}, line {line}, column '{column}': {problem}")
    return fail


def read_rows(path: Path, columns: tuple[str, ...], what: str,
              optional: tuple[str, ...] = ()) -> list[tuple[int, dict[str, str], Fail]]:
    """Rows of a CSV with exactly ``columns`` (and any of ``optional``, empty where the file lacks
    them), each with its line number and ``fail(column, problem)``, the one-line error naming the
    file, that line and the column."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except FileNotFoundError:
        raise ExpectedError(f"{what} file {path} does not exist") from None
    except OSError as error:
        raise ExpectedError(f"{what} file {path} cannot be read ({error.strerror})") from None
    with handle:
        try:
            reader = csv.DictReader(handle)
            header = reader.fieldnames
            if header is None:
                raise ExpectedError(f"{path}: empty file, expected the header {','.join(columns)}")
            missing = [name for name in columns if name not in header]
            extra = [name for name in header if name not in columns + optional]
            if missing or extra:
                problem = f"missing column(s) {', '.join(missing)}" if missing else \
                    f"unknown column(s) {', '.join(extra)}"
                also = f" (optional: {','.join(optional)})" if optional else ""
                raise ExpectedError(f"{path}, line 1: {problem}; expected {','.join(columns)}{also}")
            rows = []
            for row in reader:
                if None in row or any(value is None for value in row.values()):
                    raise ExpectedError(
                        f"{path}, line {reader.line_num}: expected {len(header)} fields "
                        f"({','.join(header)})")
                rows.append((reader.line_num, {name: (row.get(name) or "").strip() for name in columns + optional},
                             _failing(path, reader.line_num)))
        except (csv.Error, UnicodeDecodeError) as error:
            raise ExpectedError(f"{path}: not a readable CSV file ({error})") from None
    return rows
