"""Cells and tables of the report's Markdown, shared by every section (``bench.report``, ``bench.speed_report``)."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from tabulate import tabulate


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """A GitHub table of preformatted cells ("76.0" stays as printed)."""
    cleaned = [[cell(value) for value in row] for row in rows]
    return tabulate(cleaned, headers=list(headers), tablefmt="github", disable_numparse=True)


def cell(value: Any) -> str:
    text = "-" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


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
