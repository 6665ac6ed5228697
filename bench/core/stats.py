"""The statistics every speed figure is made of: percentiles and a median with its spread.

Torch-free, so the gate and the page summarize rounds the way the timing engine does.
"""
from __future__ import annotations

from typing import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation between order statistics.

    The same definition as ``numpy.percentile(..., method="linear")``, so figures can be
    checked by hand: p50 of [1, 2, 3, 4] is 2.5, p90 of 1..11 is 10.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0..100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median and spread (IQR = p75 - p25, min, max): noisy timings need all of them."""
    return {
        "median": percentile(values, 50),
        "iqr": percentile(values, 75) - percentile(values, 25),
        "min": min(values),
        "max": max(values),
    }
