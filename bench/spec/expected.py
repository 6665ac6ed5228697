"""The published SReT figures as data: loading ``expected/``, the rounding rule, and statuses.

A figure printed as ``1.1`` means "rounds to 1.1": a measurement agrees with it when it lies
in the half-open interval [1.05, 1.15), decided exactly with :class:`decimal.Decimal`. No
function here widens that interval; a figure that is known not to hold is marked
``known-deviation`` in ``paper_values.csv`` and explained in ``deviations.md``, and the
explanation covers the one measurement it records, not any: when the measurement moves
away from that value, the row fails again. Everything here is pure: no printing, errors
are :class:`ExpectedError` (one line).
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable, Collection, Mapping, Sequence

from bench.core.io import ResultsError

__all__ = [
    "Claim", "Deviation", "ExpectedError", "ExpectedFigure", "Verdict", "agrees", "interval", "judge",
    "load_claims", "load_deviations", "load_expected", "read_rows", "status",
]

EXPECTED_DIR = Path(__file__).resolve().parents[2] / "expected"
DEFAULT = EXPECTED_DIR / "paper_values.csv"
DEFAULT_DEVIATIONS = EXPECTED_DIR / "deviations.md"
DEFAULT_CLAIMS = EXPECTED_DIR / "claims.csv"

METRICS = ("gmacs", "params_m", "top1")  # gmacs: 10^9 multiply-adds, what the paper prints as "GFLOPs"
KNOWN_DEVIATION = "known-deviation"
SUBSET = "subset"  # a top-1 measured on anything but the full ImageNet-1k val: neither pass nor fail
STATUSES = ("pass", "fail", KNOWN_DEVIATION, SUBSET, "not-measured")
COLUMNS = ("model", "img_size", "metric", "published", "source", "note", "status_override")
CLAIM_COLUMNS = ("claim_id", "claim", "source", "check", "models", "low", "high", "unit")

DeviationKey = tuple  # (model, img_size, metric) as in paper_values.csv, or ("claim", claim_id)

# A printed figure: digits, optionally a point and more digits. No exponent, sign or unit,
# so that the number of decimals (the published precision) is never ambiguous.
PRINTED_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
MODEL_NAME = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)?")
# Where a figure was printed: the two public sources of SReT's figures, each naming its row.
PAPERS_WITH_CODE, OFFICIAL_README, TIMM_RESULTS, OTHER = "papers_with_code", "official_readme", "timm_results", "other"
_SOURCES = ((PAPERS_WITH_CODE, re.compile(r"Papers with Code .*: (?P<row>[^:]+)")),
            (OFFICIAL_README, re.compile(r"official README .*, row (?P<row>.+)")))
# The first line of every deviations.md entry: the measurement the explanation was written for.
_RECORDED = re.compile(r"Measured:\s*(\S+)")
RECORDED_FORMAT = "Measured: <the value it explains, as the gate prints it, e.g. 21.091>"


class ExpectedError(ResultsError):
    """A malformed file in ``expected/``; one line naming the file, line and column.

    A :class:`bench.core.io.ResultsError`, so every command reports it as one line, exit 2.
    """


# --- the rounding rule ----------------------------------------------------------------

def _parse_printed(text: str) -> Decimal:
    if not isinstance(text, str) or not PRINTED_NUMBER.fullmatch(text.strip()):
        raise ValueError(f"published value {text!r} is not a plain decimal number such as '1.1'")
    return Decimal(text.strip())


def _decimals(text: str) -> int:
    return -_parse_printed(text).as_tuple().exponent


def _exact_interval(published_text: str) -> tuple[Decimal, Decimal]:
    value = _parse_printed(published_text)
    half = Decimal(5).scaleb(value.as_tuple().exponent - 1)  # "1.1" -> 0.05, "76" -> 0.5
    return value - half, value + half


def _as_decimal(measured: float | int | Decimal) -> Decimal:
    # A float is taken at its shortest round-trip decimal (its repr): 1.15 is 1.15, not the
    # binary 1.149999..., so a value that prints as the bound is treated as the bound.
    if isinstance(measured, Decimal):
        return measured
    if isinstance(measured, bool) or not isinstance(measured, (int, float)):
        raise TypeError(f"measured value must be a number, got {type(measured).__name__}")
    return Decimal(repr(measured)) if isinstance(measured, float) else Decimal(measured)


def _is_finite(measured: float | int | Decimal) -> bool:
    if isinstance(measured, Decimal):
        return measured.is_finite()
    return math.isfinite(measured)


def interval(published_text: str) -> tuple[float, float]:
    """The half-open interval [low, high) of values that round to ``published_text``."""
    low, high = _exact_interval(published_text)
    return float(low), float(high)


def agrees(measured: float | int | Decimal, published_text: str) -> bool:
    """Whether ``measured`` rounds to the printed figure: "1.1" accepts [1.05, 1.15)."""
    if not _is_finite(measured):
        return False
    low, high = _exact_interval(published_text)
    return low <= _as_decimal(measured) < high


# --- the published figures ------------------------------------------------------------

@dataclass(frozen=True)
class Deviation:
    """An entry of ``deviations.md``: the measurement it explains (as printed) and why."""

    measured_text: str  # e.g. "21.091": the explanation holds while a measurement rounds to it
    explanation: str

    def covers(self, measured: float | int | Decimal) -> bool:
        """Whether ``measured`` is still the measurement explained (same rounding rule as figures)."""
        return agrees(measured, self.measured_text)


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
        return float(_parse_printed(self.published_text))

    @property
    def decimals(self) -> int:
        return _decimals(self.published_text)

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


def _failing(path: Path, line: int) -> Callable[[str, str], ExpectedError]:
    def fail(column: str, problem: str) -> ExpectedError:
        return ExpectedError(f"{path}, line {line}, column '{column}': {problem}")
    return fail


def read_rows(path: Path, columns: tuple[str, ...],
              what: str) -> list[tuple[int, dict[str, str], Callable[[str, str], ExpectedError]]]:
    """Rows of a CSV with exactly ``columns``, each with its line number and ``fail(column, problem)``,
    the one-line error naming the file, that line and the column."""
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
            extra = [name for name in header if name not in columns]
            if missing or extra:
                problem = f"missing column(s) {', '.join(missing)}" if missing else \
                    f"unknown column(s) {', '.join(extra)}"
                raise ExpectedError(f"{path}, line 1: {problem}; expected {','.join(columns)}")
            rows = []
            for row in reader:
                if None in row or any(value is None for value in row.values()):
                    raise ExpectedError(
                        f"{path}, line {reader.line_num}: expected {len(columns)} fields "
                        f"({','.join(columns)})")
                rows.append((reader.line_num, {name: row[name].strip() for name in columns},
                             _failing(path, reader.line_num)))
        except (csv.Error, UnicodeDecodeError) as error:
            raise ExpectedError(f"{path}: not a readable CSV file ({error})") from None
    return rows


def explanation_for(override: str, key: DeviationKey, deviations: Mapping[DeviationKey, Deviation],
                    fail: Callable[[str, str], ExpectedError]) -> Deviation | None:
    """A row's ``status_override``: empty, or ``known-deviation`` with its entry in ``deviations``."""
    if override not in ("", KNOWN_DEVIATION):
        raise fail("status_override", f"{override!r} is not empty or '{KNOWN_DEVIATION}'")
    if not override:
        return None
    if key not in deviations:
        raise fail("status_override", f"'{KNOWN_DEVIATION}' without an explanation: add a heading "
                                      f"'## {' '.join(map(str, key))}' to the deviations file")
    return deviations[key]


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
    rows = read_rows(path, COLUMNS, "expected values")
    figures: list[ExpectedFigure] = []
    seen: dict[DeviationKey, int] = {}

    for line, row, fail in rows:
        if not MODEL_NAME.fullmatch(row["model"]):
            raise fail("model", f"{row['model']!r} is not a model name such as 'sret_t' "
                                "or a pretrained tag such as 'sret_t.in1k'")
        if not row["img_size"].isdigit() or int(row["img_size"]) <= 0:
            raise fail("img_size", f"{row['img_size']!r} is not a positive whole number of pixels")
        if row["metric"] not in METRICS:
            raise fail("metric", f"unknown metric {row['metric']!r} (expected one of "
                                 f"{', '.join(METRICS)})")
        try:
            _parse_printed(row["published"])
        except ValueError as error:
            raise fail("published", str(error)) from None
        if not row["source"]:
            raise fail("source", "every published figure must name its source")
        source = source_of(row["source"])

        key = (row["model"], int(row["img_size"]), row["metric"])
        if key in seen:
            raise fail("model", f"duplicate figure {' '.join(map(str, key))} "
                                f"(first on line {seen[key]})")
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


# --- known deviations -----------------------------------------------------------------

def load_deviations(path: str | Path = DEFAULT_DEVIATIONS) -> dict[DeviationKey, Deviation]:
    """Explanations keyed ``(model, img_size, metric)``: a ``## model img_size metric``
    heading, then a ``Measured: <value>`` line (the measurement explained, as printed), then
    the explanation up to the next heading; a text claim's is keyed ``("claim", claim_id)``
    from a ``## claim <claim_id>`` heading. Fenced code blocks are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ExpectedError(f"deviations file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ExpectedError(f"deviations file {path} cannot be read ({error})") from None

    entries: dict[DeviationKey, Deviation] = {}
    heading: tuple[DeviationKey, int] | None = None
    body: list[tuple[int, str]] = []

    def close() -> None:
        if heading is None:
            return
        key, line = heading
        name = f"'## {' '.join(map(str, key))}'"
        filled = [(number, text) for number, text in body if text.strip()]
        if not filled:
            raise ExpectedError(f"{path}, line {line}: heading {name} has no explanation under it")
        number, first = filled[0]
        recorded = _RECORDED.fullmatch(first.strip())
        if recorded is None:
            raise ExpectedError(f"{path}, line {number}: entry {name} records no measured value: "
                                f"its first line must be '{RECORDED_FORMAT}'")
        if not PRINTED_NUMBER.fullmatch(recorded.group(1)):
            raise ExpectedError(f"{path}, line {number}: entry {name}: recorded value "
                                f"{recorded.group(1)!r} is not a plain decimal number such as '21.091'")
        explanation = "\n".join(text for n, text in body if n > number).strip()
        if not explanation:
            raise ExpectedError(f"{path}, line {line}: heading {name} has no explanation under "
                                "its measured value")
        entries[key] = Deviation(recorded.group(1), explanation)

    in_fence = False
    for number, raw in enumerate(lines, start=1):
        if raw.lstrip().startswith("```"):
            in_fence = not in_fence
        if not in_fence and raw.startswith("## "):
            close()
            parts = raw[3:].split()
            if len(parts) == 2 and parts[0] == "claim":  # a text claim: '## claim <claim_id>'
                key = ("claim", parts[1])
            elif (len(parts) != 3 or not MODEL_NAME.fullmatch(parts[0]) or not parts[1].isdigit()
                    or parts[2] not in METRICS):
                raise ExpectedError(
                    f"{path}, line {number}: heading {raw.strip()!r} is not "
                    f"'## <model> <img_size> <metric>' (metric one of {', '.join(METRICS)}) "
                    "or '## claim <claim_id>'")
            else:
                key = (parts[0], int(parts[1]), parts[2])
            if key in entries:
                raise ExpectedError(f"{path}, line {number}: second explanation for "
                                    f"{' '.join(parts)}")
            heading, body = (key, number), []
        elif heading is not None:
            if not in_fence and raw.startswith("# "):  # a new top-level section ends the entry
                close()
                heading, body = None, []
            else:
                body.append((number, raw))
    close()
    return entries


# --- statuses -------------------------------------------------------------------------

def _show(value: float | int | Decimal) -> str:
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Verdict:
    """How a measurement stands against what was published: its status, the comparison in words
    (or why nothing was measured), and the explanation of deviations.md that covers it, if any."""

    status: str
    comparison: str
    deviation: str | None = None  # the explanation (one line) of a known deviation, or of a stale one
    stale_deviation: bool = False  # marked a known deviation, but the measurement now agrees


def judge(holds: bool, measured: float | int | Decimal, comparison: str,
          deviation: Deviation | None) -> Verdict:
    """The verdict on a finite measurement that does or does not agree with the paper.

    ``comparison`` says how it compares. A marked measurement (``deviation`` given) that does
    not agree is a known deviation only while it still rounds to the value the explanation
    records; otherwise the explanation no longer matches and it fails. A marked measurement
    that agrees passes, and its deviation is stale.
    """
    explanation = None if deviation is None else " ".join(deviation.explanation.split())
    if holds:
        return Verdict("pass", comparison, explanation, stale_deviation=deviation is not None)
    if deviation is None:
        return Verdict("fail", comparison)
    if not deviation.covers(measured):
        return Verdict("fail", f"the explanation in deviations.md no longer matches the measurement: it "
                               f"explains measured {deviation.measured_text}, but the measurement is "
                               f"{_show(measured)} ({comparison})")
    return Verdict(KNOWN_DEVIATION, comparison, explanation)


def status(figure: ExpectedFigure, measured: float | int | Decimal | None,
           reason: str | None = None) -> Verdict:
    """The verdict on a measurement against its published figure.

    "not-measured" when ``measured`` is None (the comparison is ``reason``); otherwise "pass"
    when it rounds to the figure, else "known-deviation" for a row marked so while the
    measurement still rounds to the value its explanation records (:func:`judge`), else "fail".
    """
    if measured is None:
        return Verdict("not-measured", reason or "no measurement")
    low, high = _exact_interval(figure.published_text)
    if not _is_finite(measured):
        return Verdict("fail", f"measured value is {_show(measured)}, not a number; published "
                               f"{figure.published_text} accepts [{low}, {high})")
    deviation = figure.deviation if figure.status_override == KNOWN_DEVIATION else None
    if agrees(measured, figure.published_text):
        return judge(True, measured, f"measured {_show(measured)} agrees with published "
                                     f"{figure.published_text}", deviation)
    return judge(False, measured, f"measured {_show(measured)} is outside [{low}, {high}), the "
                                  f"values that round to published {figure.published_text}", deviation)


# --- text claims ----------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    """A claim of the paper's text, with its published bounds where it states numbers."""

    claim_id: str
    claim: str
    source: str
    check: str
    models: tuple[str, ...] = ()
    low_text: str = ""
    high_text: str = ""
    unit: str = ""

    @property
    def low(self) -> float | None:
        return float(_parse_printed(self.low_text)) if self.low_text else None

    @property
    def high(self) -> float | None:
        return float(_parse_printed(self.high_text)) if self.high_text else None

    @property
    def published_text(self) -> str:
        return f"{self.low_text}-{self.high_text}"

    def _bounds(self) -> tuple[Decimal, Decimal] | None:
        if not (self.low_text and self.high_text):
            return None
        return _exact_interval(self.low_text)[0], _exact_interval(self.high_text)[1]

    def agrees(self, measured: float | int | Decimal) -> bool:
        """Whether ``measured`` rounds, at the printed precision, into [low, high]:
        "13-15" accepts [12.5, 15.5), the values that round to 13, 14 or 15."""
        bounds = self._bounds()
        if bounds is None or not _is_finite(measured):
            return False
        return bounds[0] <= _as_decimal(measured) < bounds[1]

    def worst(self, values: Sequence[float | int | Decimal]) -> float | int | Decimal:
        """The value to show for several: the one farthest outside the range, or, when all
        agree, the one nearest an end of it (so the shown value agrees only if all do)."""
        bounds = self._bounds()

        def badness(value: float | int | Decimal) -> tuple[bool, Decimal]:
            if bounds is None or not _is_finite(value):
                return True, Decimal("Infinity")
            exact = _as_decimal(value)
            return not self.agrees(value), max(bounds[0] - exact, exact - bounds[1])

        return max(values, key=badness)  # max keeps the first of equals

    def judge(self, values: Sequence[float | int | Decimal], unmet: Sequence[str] = (),
              deviation: Deviation | None = None) -> tuple[Verdict, float | int | Decimal]:
        """The verdict and the value shown for a claim measured as ``values`` (one per model
        or part, all must agree) with ``unmet`` the stated conditions that did not hold.

        A deviation explains one measurement: the claim is a known deviation only when the
        shown value is the one value outside the range, every condition holds, and it still
        rounds to the value the explanation records (:func:`judge`).
        """
        if not values:
            raise ValueError(f"claim {self.claim_id!r} measured no value")
        shown = self.worst(values)
        bounds = self._bounds()
        accepts = f"[{bounds[0]}, {bounds[1]})" if bounds else "no range"
        outside = [value for value in values if not self.agrees(value)]
        if not outside and not unmet:
            return judge(True, shown, f"measured {_show(shown)} agrees with published "
                                      f"{self.published_text} {self.unit}", deviation), shown
        problems = list(unmet)
        if outside:
            problems.insert(0, f"measured {', '.join(map(_show, outside))} outside {accepts}, the "
                               f"values that round into published {self.published_text} {self.unit}")
        comparison = "; ".join(problems)
        if deviation is not None and (unmet or len(outside) > 1):
            return Verdict("fail", f"{comparison}; the explanation in deviations.md covers one "
                                   f"measurement (measured {deviation.measured_text}), not these"), shown
        return judge(False, shown, comparison, deviation), shown


def load_claims(path: str | Path = DEFAULT_CLAIMS,
                measured_ids: Collection[str] | None = None) -> list[Claim]:
    """The text claims of ``claims.csv``, validated like :func:`load_expected`.

    With ``measured_ids`` (the claims the code can measure), a claim without a measurement
    is an error here, at load, rather than a failure halfway through a run.
    """
    path = Path(path)
    claims: list[Claim] = []
    seen: dict[str, int] = {}
    for line, row, fail in read_rows(path, CLAIM_COLUMNS, "claims"):
        for column in ("claim_id", "claim", "source", "check"):
            if not row[column]:
                raise fail(column, "must not be empty")
        if row["claim_id"] in seen:
            raise fail("claim_id", f"duplicate claim {row['claim_id']!r} "
                                   f"(first on line {seen[row['claim_id']]})")
        seen[row["claim_id"]] = line
        if measured_ids is not None and row["claim_id"] not in measured_ids:
            raise fail("claim_id", f"no measurement for claim {row['claim_id']!r} in the code "
                                   f"(known: {', '.join(sorted(measured_ids))})")
        for column in ("low", "high"):
            if row[column]:
                try:
                    _parse_printed(row[column])
                except ValueError as error:
                    raise fail(column, str(error)) from None
        if bool(row["low"]) != bool(row["high"]):
            raise fail("high" if row["low"] else "low", "give both bounds or neither")
        if row["low"] and Decimal(row["low"]) > Decimal(row["high"]):
            raise fail("low", f"low {row['low']} is above high {row['high']}")
        if row["low"] and not row["unit"]:
            raise fail("unit", "numeric bounds need a unit")
        models = tuple(name.strip() for name in row["models"].split(";") if name.strip())
        for name in models:
            if not MODEL_NAME.fullmatch(name):
                raise fail("models", f"{name!r} is not a model name")
        claims.append(Claim(
            claim_id=row["claim_id"], claim=row["claim"], source=row["source"],
            check=row["check"], models=models, low_text=row["low"], high_text=row["high"],
            unit=row["unit"],
        ))
    if not claims:
        raise ExpectedError(f"{path}: no claims (only a header)")
    return claims
