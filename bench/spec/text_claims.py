"""The paper's text claims: loading ``claims.csv``, and a claim's verdict on its measured values.

A claim states a range ("13-15M parameters"); it holds when every value measured for it (one
per model or part) rounds, at the printed precision, into that range and every condition it
states holds. Each claim names its ``kind``: one of the checks the gate knows
(:data:`CLAIM_KINDS`, each measured by ``bench.measure.claims``); a paper's claims are data
of those kinds, and a kind the gate does not know is refused when the file is loaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Collection, Sequence

from bench.spec.data_files import EXPECTED_DIR, MODEL_NAME, ExpectedError, read_rows
from bench.spec.deviations import Deviation
from bench.spec.rounding import as_decimal, exact_interval, is_finite, parse_printed
from bench.spec.verdicts import Verdict, judge, shown

__all__ = ["CLAIM_KINDS", "DEFAULT_CLAIMS", "Claim", "load_claims"]

DEFAULT_CLAIMS = EXPECTED_DIR / "claims.csv"
CLAIM_COLUMNS = ("claim_id", "kind", "claim", "source", "check", "models", "low", "high", "unit")
# The checks the gate knows, each a measurement of bench.measure.claims (a test holds the two equal):
# parameters recursion adds; the FLOPs slicing saves; parameters of a >100-layer and of a 1000-layer model.
CLAIM_KINDS = ("recursion_adds_no_params", "slicing_cuts_flops_10_30", "deep_sliced_recursion_compact",
               "thousand_shared_layers_compact")


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
    kind: str = ""  # the check that measures it, one of CLAIM_KINDS

    @property
    def low(self) -> float | None:
        return float(parse_printed(self.low_text)) if self.low_text else None

    @property
    def high(self) -> float | None:
        return float(parse_printed(self.high_text)) if self.high_text else None

    @property
    def published_text(self) -> str:
        return f"{self.low_text}-{self.high_text}"

    def _bounds(self) -> tuple[Decimal, Decimal] | None:
        if not (self.low_text and self.high_text):
            return None
        return exact_interval(self.low_text)[0], exact_interval(self.high_text)[1]

    def agrees(self, measured: float | int | Decimal) -> bool:
        """Whether ``measured`` rounds, at the printed precision, into [low, high]:
        "13-15" accepts [12.5, 15.5), the values that round to 13, 14 or 15."""
        bounds = self._bounds()
        if bounds is None or not is_finite(measured):
            return False
        return bounds[0] <= as_decimal(measured) < bounds[1]

    def worst(self, values: Sequence[float | int | Decimal]) -> float | int | Decimal:
        """The value to show for several: the one farthest outside the range, or, when all
        agree, the one nearest an end of it (so the shown value agrees only if all do)."""
        bounds = self._bounds()

        def badness(value: float | int | Decimal) -> tuple[bool, Decimal]:
            if bounds is None or not is_finite(value):
                return True, Decimal("Infinity")
            exact = as_decimal(value)
            return not self.agrees(value), max(bounds[0] - exact, exact - bounds[1])

        return max(values, key=badness)  # max keeps the first of equals

    def judge(self, values: Sequence[float | int | Decimal], unmet: Sequence[str] = (),
              deviation: Deviation | None = None) -> tuple[Verdict, float | int | Decimal]:
        """The verdict and the value shown for a claim measured as ``values`` (one per model
        or part, all must agree) with ``unmet`` the stated conditions that did not hold.

        A deviation explains one measurement: the claim is a known deviation only when the
        shown value is the one value outside the range, every condition holds, and it still
        rounds to the value the explanation records (:func:`bench.spec.verdicts.judge`).
        """
        if not values:
            raise ValueError(f"claim {self.claim_id!r} measured no value")
        value = self.worst(values)
        bounds = self._bounds()
        accepts = f"[{bounds[0]}, {bounds[1]})" if bounds else "no range"
        outside = [v for v in values if not self.agrees(v)]
        if not outside and not unmet:
            return judge(True, value, f"measured {shown(value)} agrees with published "
                                      f"{self.published_text} {self.unit}", deviation), value
        problems = list(unmet)
        if outside:
            problems.insert(0, f"measured {', '.join(map(shown, outside))} outside {accepts}, the "
                               f"values that round into published {self.published_text} {self.unit}")
        comparison = "; ".join(problems)
        if deviation is not None and (unmet or len(outside) > 1):
            return Verdict("fail", f"{comparison}; the explanation in deviations.md covers one "
                                   f"measurement (measured {deviation.measured_text}), not these"), value
        return judge(False, value, comparison, deviation), value


def load_claims(path: str | Path = DEFAULT_CLAIMS, kinds: Collection[str] = CLAIM_KINDS) -> list[Claim]:
    """The text claims of ``claims.csv``, validated like the figures.

    A claim of a ``kind`` the gate does not know (``kinds``: those it can measure) is an error
    here, at load, rather than a failure halfway through a run.
    """
    path = Path(path)
    claims: list[Claim] = []
    seen: dict[str, int] = {}
    for line, row, fail in read_rows(path, CLAIM_COLUMNS, "claims"):
        for column in ("claim_id", "kind", "claim", "source", "check"):
            if not row[column]:
                raise fail(column, "must not be empty")
        if row["claim_id"] in seen:
            raise fail("claim_id", f"duplicate claim {row['claim_id']!r} (first on line {seen[row['claim_id']]})")
        seen[row["claim_id"]] = line
        if row["kind"] not in kinds:
            raise fail("kind", f"unknown claim kind {row['kind']!r}: the gate measures no such check "
                               f"(known: {', '.join(sorted(kinds))})")
        for column in ("low", "high"):
            if row[column]:
                try:
                    parse_printed(row[column])
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
            unit=row["unit"], kind=row["kind"],
        ))
    if not claims:
        raise ExpectedError(f"{path}: no claims (only a header)")
    return claims
