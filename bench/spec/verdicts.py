"""Statuses: how a measurement stands against a published figure, by the rounding rule.

"pass" when it rounds to the figure; "known-deviation" for a row marked so while the measurement
still rounds to the value its explanation records; "fail" otherwise; "not-measured" without a
measurement, and "subset" for a top-1 measured on anything but the full ImageNet-1k val.
Pure: no printing, no measuring.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from bench.spec.deviations import KNOWN_DEVIATION, Deviation
from bench.spec.rounding import agrees, exact_interval, is_finite

if TYPE_CHECKING:
    from bench.spec.paper_values import ExpectedFigure

__all__ = ["KNOWN_DEVIATION", "STATUSES", "SUBSET", "Verdict", "judge", "shown", "status"]

SUBSET = "subset"  # a top-1 measured on anything but the full ImageNet-1k val: neither pass nor fail
STATUSES = ("pass", "fail", KNOWN_DEVIATION, SUBSET, "not-measured")


def shown(value: float | int | Decimal) -> str:
    """A measurement as a comparison quotes it: a float at its shortest round-trip decimal."""
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
                               f"{shown(measured)} ({comparison})")
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
    low, high = exact_interval(figure.published_text)
    if not is_finite(measured):
        return Verdict("fail", f"measured value is {shown(measured)}, not a number; published "
                               f"{figure.published_text} accepts [{low}, {high})")
    deviation = figure.deviation if figure.status_override == KNOWN_DEVIATION else None
    if agrees(measured, figure.published_text):
        return judge(True, measured, f"measured {shown(measured)} agrees with published "
                                     f"{figure.published_text}", deviation)
    return judge(False, measured, f"measured {shown(measured)} is outside [{low}, {high}), the "
                                  f"values that round to published {figure.published_text}", deviation)
