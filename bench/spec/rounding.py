"""The rounding rule: a figure printed as ``1.1`` means "rounds to 1.1".

A measurement agrees with it when it lies in the half-open interval [1.05, 1.15), decided
exactly with :class:`decimal.Decimal`. Nothing here widens that interval.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal

__all__ = ["PRINTED_NUMBER", "agrees", "as_decimal", "decimals", "exact_interval", "interval", "is_finite",
           "parse_printed"]

# A printed figure: digits, optionally a point and more digits. No exponent, sign or unit,
# so that the number of decimals (the published precision) is never ambiguous.
PRINTED_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def parse_printed(text: str) -> Decimal:
    """``"1.10"`` -> ``Decimal("1.10")``; ``ValueError`` for anything but a plain printed number."""
    if not isinstance(text, str) or not PRINTED_NUMBER.fullmatch(text.strip()):
        raise ValueError(f"published value {text!r} is not a plain decimal number such as '1.1'")
    return Decimal(text.strip())


def decimals(text: str) -> int:
    """The printed precision: ``"76.0"`` -> 1, ``"76"`` -> 0."""
    return -parse_printed(text).as_tuple().exponent


def exact_interval(published_text: str) -> tuple[Decimal, Decimal]:
    """[low, high) as exact decimals: ``"1.1"`` -> (1.05, 1.15), ``"76"`` -> (75.5, 76.5)."""
    value = parse_printed(published_text)
    half = Decimal(5).scaleb(value.as_tuple().exponent - 1)  # "1.1" -> 0.05, "76" -> 0.5
    return value - half, value + half


def as_decimal(measured: float | int | Decimal) -> Decimal:
    """A measurement as a decimal. A float is taken at its shortest round-trip decimal (its repr):
    1.15 is 1.15, not the binary 1.149999..., so a value that prints as the bound is the bound."""
    if isinstance(measured, Decimal):
        return measured
    if isinstance(measured, bool) or not isinstance(measured, (int, float)):
        raise TypeError(f"measured value must be a number, got {type(measured).__name__}")
    return Decimal(repr(measured)) if isinstance(measured, float) else Decimal(measured)


def is_finite(measured: float | int | Decimal) -> bool:
    if isinstance(measured, Decimal):
        return measured.is_finite()
    return math.isfinite(measured)


def interval(published_text: str) -> tuple[float, float]:
    """The half-open interval [low, high) of values that round to ``published_text``."""
    low, high = exact_interval(published_text)
    return float(low), float(high)


def agrees(measured: float | int | Decimal, published_text: str) -> bool:
    """Whether ``measured`` rounds to the printed figure: "1.1" accepts [1.05, 1.15)."""
    if not is_finite(measured):
        return False
    low, high = exact_interval(published_text)
    return low <= as_decimal(measured) < high
