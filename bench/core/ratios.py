"""The one speed ratio: two subjects timed in the same interleaved rounds, compared round by round.

Interleaving exposes both sides of a round to the same drift of a shared machine, so the figure
to quote is the median of the per-round ratios; their min and max are its spread. Every speed
kind (throughput, slicing, model speed, the kernel scan, the GPU run) computes its ratios here,
so "ratio" means one thing in every results file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bench.core.stats import percentile


@dataclass(frozen=True)
class Ratio:
    """Numerator over denominator, per round, and of the best calls when they were given."""

    per_round: tuple[float, ...]
    best: float | None = None

    @property
    def median(self) -> float | None:
        """The median of the per-round ratios (None when no round was timed): the figure to quote."""
        return percentile(self.per_round, 50) if self.per_round else None

    @property
    def min(self) -> float | None:
        return min(self.per_round) if self.per_round else None

    @property
    def max(self) -> float | None:
        return max(self.per_round) if self.per_round else None


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float],
                 best: tuple[float, float] | None = None) -> Ratio:
    """``numerator``'s per-round rates (images/s, calls/s) over ``denominator``'s, timed in the same rounds.

    ``best`` is (numerator's, denominator's) rate of its fastest call, for the ratio of best calls
    (timeit's rule: interference only ever slows a call down). Rounds of two subjects timed side by
    side are as many on each side; a different count means they were not, and is refused.
    """
    if len(numerator) != len(denominator):
        raise ValueError(f"{len(numerator)} rounds over {len(denominator)}: not timed in the same rounds")
    return Ratio(tuple(a / b for a, b in zip(numerator, denominator)),
                 None if best is None else best[0] / best[1])
