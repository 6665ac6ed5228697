"""Statistics of a revision comparison, with the process pair as the unit of noise.

Two processes of the same code differ by several percent here (address layout, where threads
land), so rounds inside one process pair are not independent samples. Each pair gives one
number, the median of its per-round NEW/BASE ratios; the verdict rests on those pair medians:

* estimate: the geometric mean of the pair medians;
* interval: a Student t interval on their logarithms, exponentiated. Chosen over a bootstrap
  because a gate runs 4 to 8 pairs, and a percentile bootstrap over so few values is too narrow
  (it never reaches beyond the extreme pair); t is exact if log pair medians are normal, and a
  median of rounds is close to normal. Logs make a ratio and its inverse equally far from 1.

The variance components (Kalibera and Jones, ISMM 2013) say where the noise is: within a pair
(round to round) and between pairs (process to process); :func:`plan` turns them into how many
rounds per pair and how many pairs a comparison needs. No torch here.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

from scipy.stats import t as student_t

CONFIDENCE = 0.95
SLOWER, FASTER, NO_CHANGE, UNRELIABLE = "slower", "faster", "no significant change", "unreliable"

METHOD = ("ratio = NEW images/s over BASE images/s, timed in alternating rounds (ABBA) by two fresh worker "
          "processes per pair; per pair the median of its per-round ratios; estimate: the geometric mean of "
          f"the pair medians; {CONFIDENCE:.0%} interval: Student t on the log pair medians (n - 1 degrees of "
          "freedom), exponentiated; slower/faster only when the interval excludes 1 and |estimate - 1| > floor")


def pair_median(base_seconds: Sequence[float], new_seconds: Sequence[float]) -> float:
    """One pair's figure: the median over rounds of NEW images/s over BASE images/s (BASE s / NEW s)."""
    if not base_seconds or len(base_seconds) != len(new_seconds):
        raise ValueError("a pair needs the same number of rounds (at least one) on both sides")
    return statistics.median(b / n for b, n in zip(base_seconds, new_seconds))


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float | None
    high: float | None


def interval(pair_medians: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The geometric mean of the pair medians and its t interval; no interval from one pair."""
    logs = [math.log(value) for value in pair_medians]
    centre = statistics.fmean(logs)
    if len(logs) < 2:
        return Interval(math.exp(centre), None, None)
    half = student_t.ppf(0.5 + confidence / 2, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return Interval(math.exp(centre), math.exp(centre - half), math.exp(centre + half))


def verdict(found: Interval, floor: float) -> str:
    """``slower``/``faster`` only when the interval excludes 1 and the change passes the floor."""
    if found.low is None or found.high is None or abs(found.estimate - 1) <= floor:
        return NO_CHANGE
    if found.high < 1:
        return SLOWER
    if found.low > 1:
        return FASTER
    return NO_CHANGE


@dataclass(frozen=True)
class Components:
    """Variances of log ratios: round to round inside a pair, and pair to pair beyond that."""

    within: float
    between: float
    rounds: float  # rounds per pair they were estimated from (the mean)
    pairs: int

    def record(self) -> dict[str, float]:
        return {"within_pair_variance": self.within, "between_pair_variance": self.between,
                "within_pair_sd_percent": 100 * math.sqrt(self.within),
                "between_pair_sd_percent": 100 * math.sqrt(self.between),
                "rounds_per_pair": self.rounds, "pairs": self.pairs}


def components(pairs: Sequence[Sequence[float]]) -> Components:
    """One-way random-effects estimates from each pair's per-round log ratios.

    within: the pooled variance of rounds about their pair's mean; between: the variance of the
    pair means less the part the rounds explain (within / rounds), never below 0.
    """
    logged = [[math.log(value) for value in ratios] for ratios in pairs if len(ratios) >= 2]
    if len(logged) < 2:
        raise ValueError("variance components need at least two pairs of at least two rounds")
    within = statistics.fmean(statistics.variance(values) for values in logged)
    rounds = statistics.fmean(len(values) for values in logged)
    means = [statistics.fmean(values) for values in logged]
    between = max(0.0, statistics.variance(means) - within / rounds)
    return Components(within, between, rounds, len(logged))


def pooled(records: Sequence[Components]) -> Components:
    """Components of several comparisons pooled (weighted by pairs): one estimate for a plan."""
    weights = [record.pairs for record in records]
    total = sum(weights)
    return Components(sum(w * r.within for w, r in zip(weights, records)) / total,
                      sum(w * r.between for w, r in zip(weights, records)) / total,
                      sum(w * r.rounds for w, r in zip(weights, records)) / total, total)


@dataclass(frozen=True)
class Plan:
    rounds: int
    pairs: int
    half_width: float  # the expected half width of the log interval at that plan
    why: str


def plan(found: Components, pair_cost_s: float, round_cost_s: float, target_half_width: float,
         max_pairs: int, min_pairs: int = 4, round_bounds: tuple[int, int] = (4, 16)) -> Plan:
    """Rounds per pair and pairs for a comparison, from the noise at each level and its cost.

    Rounds: Kalibera and Jones' optimum sqrt((pair cost / round cost) * (within / between)), which
    stops adding rounds once the process-to-process noise dominates. Pairs: the fewest whose t
    interval is expected to be ``target_half_width`` wide (on logs), within ``max_pairs``.
    """
    low, high = round_bounds
    if found.between <= 0:
        rounds = high
    else:
        rounds = round(math.sqrt(pair_cost_s / round_cost_s * found.within / found.between))
    rounds = min(high, max(low, rounds))
    per_pair = found.between + found.within / rounds

    def half(n: int) -> float:
        return student_t.ppf(0.5 + CONFIDENCE / 2, n - 1) * math.sqrt(per_pair / n)

    pairs = min_pairs
    while pairs < max_pairs and half(pairs) > target_half_width:
        pairs += 1
    reached = "reached" if half(pairs) <= target_half_width else f"not reached within {max_pairs} pairs"
    why = (f"rounds = sqrt(pair cost {pair_cost_s:.1f} s / round cost {round_cost_s:.2f} s x within "
           f"{found.within:.2e} / between {found.between:.2e}) within {low}-{high}; pairs: fewest from "
           f"{min_pairs} whose expected 95% half width <= {target_half_width:.3f} on logs ({reached})")
    return Plan(rounds, pairs, half(pairs), why)
