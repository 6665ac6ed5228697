"""The published figures: loading ``paper_values.csv``, one row per metric of a model at a size.

Each figure keeps its text as printed (so its precision), its source and, for a row marked
``known-deviation``, the entry of ``deviations.md`` that explains it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from bench.spec.data_files import EXPECTED_DIR, METRICS, MODEL_NAME, ExpectedError, read_rows
from bench.spec.deviations import DEFAULT_DEVIATIONS, Deviation, DeviationKey, explanation_for, load_deviations
from bench.spec.rounding import decimals, interval, parse_printed

__all__ = ["DEFAULT", "OFFICIAL_README", "OTHER", "PAPERS_WITH_CODE", "TIMM_RESULTS", "ExpectedFigure", "load_expected",
           "source_of"]

DEFAULT = EXPECTED_DIR / "paper_values.csv"
COLUMNS = ("model", "img_size", "metric", "published", "source", "note", "status_override")
# Where a figure was printed: the two public sources of SReT's figures, each naming its row.
PAPERS_WITH_CODE, OFFICIAL_README, TIMM_RESULTS, OTHER = "papers_with_code", "official_readme", "timm_results", "other"
_SOURCES = ((PAPERS_WITH_CODE, re.compile(r"Papers with Code .*: (?P<row>[^:]+)")),
            (OFFICIAL_README, re.compile(r"official README .*, row (?P<row>.+)")))


@dataclass(frozen=True)
class ExpectedFigure:
    """One published figure: a metric of a model (architecture or pretrained tag) at a size."""

    model: str
    img_size: int
    metric: str
    published_text: str
    source: str
    note: str = ""
    status_override: str = ""
    deviation: Deviation | None = None  # from deviations.md when status_override is set
    source_kind: str = ""  # PAPERS_WITH_CODE, OFFICIAL_README or TIMM_RESULTS
    source_row: str = ""  # the row of that source, as it names it (SReT-T, SReT_LT [8-4-1,2-1-1], a timm tag)

    @property
    def published(self) -> float:
        return float(parse_printed(self.published_text))

    @property
    def decimals(self) -> int:
        return decimals(self.published_text)

    @property
    def interval(self) -> tuple[float, float]:
        return interval(self.published_text)

    @property
    def key(self) -> DeviationKey:
        return (self.model, self.img_size, self.metric)

    @property
    def architecture(self) -> str:
        """``sret_t.in1k`` -> ``sret_t``; an architecture name is its own architecture."""
        return self.model.split(".", 1)[0]

    @property
    def is_pretrained(self) -> bool:
        """Whether the figure belongs to released weights (a ``name.tag``), not to a shape."""
        return "." in self.model


def source_of(text: str) -> tuple[str, str]:
    """(kind, row) of a figure's source: which public source printed it and the row it names there
    (``OTHER`` and the whole text for a source of neither form, e.g. a hand-made data folder)."""
    for kind, pattern in _SOURCES:
        found = pattern.fullmatch(text)
        if found:
            return kind, found.group("row")
    return OTHER, text


def load_expected(path: str | Path = DEFAULT,
                  deviations: Mapping[DeviationKey, Deviation] | None = None) -> list[ExpectedFigure]:
    """The published figures of ``paper_values.csv``, validated; errors name file, line, column.

    ``deviations`` (default: ``deviations.md`` beside ``path``) must explain every row marked
    ``known-deviation``.
    """
    path = Path(path)
    figures: list[ExpectedFigure] = []
    seen: dict[DeviationKey, int] = {}
    for line, row, fail in read_rows(path, COLUMNS, "expected values"):
        if not MODEL_NAME.fullmatch(row["model"]):
            raise fail("model", f"{row['model']!r} is not a model name such as 'sret_t' "
                                "or a pretrained tag such as 'sret_t.in1k'")
        if not row["img_size"].isdigit() or int(row["img_size"]) <= 0:
            raise fail("img_size", f"{row['img_size']!r} is not a positive whole number of pixels")
        if row["metric"] not in METRICS:
            raise fail("metric", f"unknown metric {row['metric']!r} (expected one of {', '.join(METRICS)})")
        try:
            parse_printed(row["published"])
        except ValueError as error:
            raise fail("published", str(error)) from None
        if not row["source"]:
            raise fail("source", "every published figure must name its source")
        source = source_of(row["source"])

        key = (row["model"], int(row["img_size"]), row["metric"])
        if key in seen:
            raise fail("model", f"duplicate figure {' '.join(map(str, key))} (first on line {seen[key]})")
        seen[key] = line
        if row["status_override"] and deviations is None:  # read only when a row needs it
            deviations = load_deviations(path.parent / DEFAULT_DEVIATIONS.name)

        figures.append(ExpectedFigure(
            model=row["model"], img_size=key[1], metric=row["metric"],
            published_text=row["published"], source=row["source"], note=row["note"],
            status_override=row["status_override"],
            deviation=explanation_for(row["status_override"], key, deviations or {}, fail),
            source_kind=source[0], source_row=source[1],
        ))
    if not figures:
        raise ExpectedError(f"{path}: no figures (only a header)")
    return figures
