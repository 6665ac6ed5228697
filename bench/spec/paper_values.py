"""The published figures: loading ``paper_values.csv``, one row per metric of a model at a size
(and, where a paper trains one model several ways, per training ``setting``).

Each figure keeps its text as printed (so its precision), its source and, for a row marked
``known-deviation``, the entry of ``deviations.md`` that explains it. A throughput figure
(``images_per_s``) names the device and batch size it was timed on, which no other row may.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from bench.spec.data_files import EXPECTED_DIR, METRICS, MODEL_NAME, SETTING, THROUGHPUT, ExpectedError, read_rows
from bench.spec.deviations import DEFAULT_DEVIATIONS, Deviation, DeviationKey, explanation_for, load_deviations
from bench.spec.rounding import decimals, interval, parse_printed

__all__ = ["DEFAULT", "OFFICIAL_README", "OTHER", "PAPERS_WITH_CODE", "TIMM_RESULTS", "ExpectedFigure", "load_expected",
           "source_of"]

DEFAULT = EXPECTED_DIR / "paper_values.csv"
COLUMNS = ("model", "img_size", "metric", "published", "source", "note", "status_override")
# Optional: a training recipe of the same model (part of the row's key), and, for a throughput
# figure only, the device and batch size it was timed on.
OPTIONAL = ("setting", "device", "batch_size")
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
    setting: str = ""  # the training recipe the figure was published for ("+DeiT"); "" when one
    device: str = ""  # images_per_s only: the device it was timed on ("V100")
    batch_size: int | None = None  # images_per_s only: the batch size it was timed at
    where: str = field(default="", compare=False)  # "<file>, line <n>": for errors found after loading
    weights: Any = field(default=None, compare=False)  # top-1 only: the bench.spec.weights.Weights it is about

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
        """(model, img_size, metric), and the setting after them when there is one."""
        return (self.model, self.img_size, self.metric) + ((self.setting,) if self.setting else ())

    @property
    def architecture(self) -> str:
        """``sret_t.in1k`` -> ``sret_t``; an architecture name is its own architecture."""
        return self.model.split(".", 1)[0]

    @property
    def weights_tag(self) -> str:
        """The pretrained tag whose top-1 this figure is: its own name, or its setting's weights ("" when none)."""
        if self.weights is not None:
            return self.weights.tag
        return self.model if self.is_pretrained else ""

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
    for line, row, fail in read_rows(path, COLUMNS, "expected values", OPTIONAL):
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
        if row["setting"] and not SETTING.fullmatch(row["setting"]):
            raise fail("setting", f"{row['setting']!r} is not one word of letters, digits and + _ -")
        timed = _timed_on(row, fail)

        key = (row["model"], int(row["img_size"]), row["metric"]) + ((row["setting"],) if row["setting"] else ())
        if key in seen:
            raise fail("model", f"duplicate figure {' '.join(map(str, key))} (first on line {seen[key]}): "
                                "rows are unique on model, img_size, metric and setting")
        seen[key] = line
        if row["status_override"] and deviations is None:  # read only when a row needs it
            deviations = load_deviations(path.parent / DEFAULT_DEVIATIONS.name)

        figures.append(ExpectedFigure(
            model=row["model"], img_size=key[1], metric=row["metric"],
            published_text=row["published"], source=row["source"], note=row["note"],
            status_override=row["status_override"],
            deviation=explanation_for(row["status_override"], key, deviations or {}, fail),
            source_kind=source[0], source_row=source[1], setting=row["setting"], device=timed[0],
            batch_size=timed[1], where=f"{path}, line {line}",
        ))
    if not figures:
        raise ExpectedError(f"{path}: no figures (only a header)")
    return figures


def _timed_on(row: dict[str, str], fail) -> tuple[str, int | None]:
    """A throughput figure's device and batch size (both required); no other row has either."""
    if row["metric"] != THROUGHPUT:
        for column in ("device", "batch_size"):
            if row[column]:
                raise fail(column, f"only a {THROUGHPUT} figure names the {column} it was timed on")
        return "", None
    if not row["device"]:
        raise fail("device", f"a {THROUGHPUT} figure must name the device it was timed on (e.g. V100)")
    if not row["batch_size"].isdigit() or int(row["batch_size"]) <= 0:
        raise fail("batch_size", f"{row['batch_size']!r}: a {THROUGHPUT} figure needs the batch size it was "
                                 "timed at, a positive whole number")
    return row["device"], int(row["batch_size"])
