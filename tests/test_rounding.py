"""The rounding rule (``bench.spec.rounding``): a printed figure accepts the half-open interval of the
values that round to it, worked out by hand below."""
from __future__ import annotations

from decimal import Decimal

import pytest

from bench.spec.rounding import agrees, decimals, interval


@pytest.mark.parametrize("measured, published, expected", [
    (1.0999, "1.1", True), (1.15, "1.1", False), (1.05, "1.1", True), (1.0499, "1.1", False),
    (1.1, "1.1", True), (1.149999, "1.1", True),
    (75.95, "76.0", True), (76.05, "76.0", False), (76.0, "76.0", True), (75.9499, "76.0", False),
    (42.75, "42.8", True), (42.85, "42.8", False), (42.8499, "42.8", True), (42.7499, "42.8", False),
    (0.649, "0.7", False), (0.65, "0.7", True), (0.7499, "0.7", True), (0.75, "0.7", False),
    (4.75, "4.8", True), (4.85, "4.8", False), (18.45, "18.5", True), (18.55, "18.5", False),
    (20.85, "20.9", True), (20.95, "20.9", False),
    (76, "76", True), (76.5, "76", False), (75.5, "76", True),
    (1.12, "1.12", True), (1.125, "1.12", False), (1.115, "1.12", True),
    (Decimal("1.15"), "1.1", False), (Decimal("1.05"), "1.1", True),
])
def test_rounding_rule(measured, published, expected):
    assert agrees(measured, published) is expected


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_never_agrees(bad):
    assert not agrees(bad, "1.1")


@pytest.mark.parametrize("published, low, high", [
    ("1.1", 1.05, 1.15), ("76.0", 75.95, 76.05), ("42.8", 42.75, 42.85), ("0.7", 0.65, 0.75),
    ("4.8", 4.75, 4.85), ("18.5", 18.45, 18.55), ("20.9", 20.85, 20.95), ("76", 75.5, 76.5),
])
def test_interval(published, low, high):
    assert interval(published) == (low, high)


@pytest.mark.parametrize("bad", ["", "1.1G", "abc", "1e3", "nan", "1.", ".5", "1,1"])
def test_rounding_rule_rejects_unprinted_numbers(bad):
    with pytest.raises(ValueError):
        agrees(1.0, bad)




@pytest.mark.parametrize("printed, places", [("76.0", 1), ("42.8", 1), ("76", 0), ("1.12", 2)])
def test_the_printed_precision_is_the_number_of_decimals(printed, places):
    assert decimals(printed) == places
