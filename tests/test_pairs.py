"""bench.gate.pairs: the process pair as the unit of noise, against values worked out by hand.

Student t quantiles are from the printed table (two-sided 95%: 12.706 for 1 degree of freedom,
3.182 for 3, 2.571 for 5), not from scipy, which the code uses.
"""
from __future__ import annotations

import math
import statistics

import pytest

from bench.gate import pairs

T_975 = {1: 12.706, 3: 3.182, 5: 2.571}


def test_a_pair_is_the_median_of_its_per_round_ratios_as_images_per_s():
    # BASE 1.0 s and NEW 1.1 s a round: NEW makes 1/1.1 of BASE's images/s.
    assert pairs.pair_median([1.0, 1.0, 1.0], [1.1, 1.0, 0.5]) == pytest.approx(1.0)
    assert pairs.pair_median([2.0, 2.0], [2.2, 2.2]) == pytest.approx(1 / 1.1)
    with pytest.raises(ValueError):
        pairs.pair_median([1.0], [1.0, 2.0])


def test_the_interval_is_a_t_interval_on_log_pair_medians():
    medians = [0.97, 0.98, 0.96, 0.975]
    logs = [math.log(m) for m in medians]
    mean = sum(logs) / 4
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / 3)
    half = T_975[3] * sd / 2
    found = pairs.interval(medians)
    assert found.estimate == pytest.approx(math.exp(mean))
    assert found.low == pytest.approx(math.exp(mean - half), rel=1e-4)
    assert found.high == pytest.approx(math.exp(mean + half), rel=1e-4)
    assert found.high < 1  # four pairs all 2-4% slower: the interval excludes 1


def test_one_pair_gives_no_interval_and_no_verdict():
    found = pairs.interval([0.5])
    assert found.low is None and pairs.verdict(found, 0.0) == pairs.NO_CHANGE


def test_two_wide_pairs_use_twelve_point_seven():
    found = pairs.interval([0.9, 1.1])
    logs = [math.log(0.9), math.log(1.1)]
    half = T_975[1] * statistics.stdev(logs) / math.sqrt(2)
    assert math.log(found.high) - math.log(found.estimate) == pytest.approx(half, rel=1e-4)


@pytest.mark.parametrize("found, floor, expected", [
    (pairs.Interval(0.97, 0.96, 0.98), 0.02, pairs.SLOWER),
    (pairs.Interval(0.97, 0.96, 0.98), 0.04, pairs.NO_CHANGE),  # the floor: |0.97 - 1| is not above 0.04
    (pairs.Interval(0.97, 0.94, 1.01), 0.0, pairs.NO_CHANGE),  # the interval reaches 1
    (pairs.Interval(1.05, 1.02, 1.08), 0.02, pairs.FASTER),
])
def test_a_verdict_needs_the_interval_clear_of_1_and_the_change_past_the_floor(found, floor, expected):
    assert pairs.verdict(found, floor) == expected


def test_variance_components_split_round_noise_from_pair_noise():
    # Two pairs of two rounds, on logs: pair means -0.01 and +0.01, each round +-0.005 about its mean.
    within_sd, offset = 0.005, 0.01
    data = [[math.exp(-offset - within_sd), math.exp(-offset + within_sd)],
            [math.exp(offset - within_sd), math.exp(offset + within_sd)]]
    found = pairs.components(data)
    within = 2 * within_sd ** 2  # the sample variance of (m - d, m + d) is 2 d^2
    assert found.within == pytest.approx(within)
    # variance of the pair means (2 * offset^2) less within / rounds
    assert found.between == pytest.approx(2 * offset ** 2 - within / 2)
    assert found.pairs == 2 and found.rounds == 2


def test_when_rounds_explain_all_the_spread_between_pairs_is_zero():
    data = [[math.exp(0.02), math.exp(-0.02)], [math.exp(-0.02), math.exp(0.02)]]
    assert pairs.components(data).between == 0.0


def test_the_plan_follows_kalibera_and_jones_and_stops_at_the_target():
    # within 1e-4, between 1e-5: sqrt(10 s / 0.5 s * 10) = sqrt(200) = 14.1 -> 14 rounds.
    found = pairs.Components(within=1e-4, between=1e-5, rounds=8, pairs=20)
    planned = pairs.plan(found, pair_cost_s=10.0, round_cost_s=0.5, target_half_width=0.01, max_pairs=12)
    assert planned.rounds == 14
    per_pair = 1e-5 + 1e-4 / 14
    # the fewest pairs from 4 whose t half width is within 0.01: n = 4 gives 3.182 * sqrt(per_pair / 4) = 0.0066
    assert planned.pairs == 4
    assert planned.half_width == pytest.approx(T_975[3] * math.sqrt(per_pair / 4), rel=1e-3)


def test_a_plan_that_cannot_reach_its_target_says_so_at_the_cap():
    found = pairs.Components(within=1e-3, between=1e-3, rounds=8, pairs=20)
    planned = pairs.plan(found, pair_cost_s=10.0, round_cost_s=0.5, target_half_width=0.001, max_pairs=6)
    assert planned.pairs == 6 and "not reached within 6 pairs" in planned.why
    assert planned.rounds == 4  # sqrt(20 * 1) = 4.5 -> 4
