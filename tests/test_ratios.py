"""The one speed ratio (bench.core.ratios) and the statistics under it, on hand-made rounds."""
from __future__ import annotations

import pytest

from bench.core.ratios import paired_ratio
from bench.core.stats import percentile


def test_a_ratio_is_the_median_of_per_round_ratios_not_the_ratio_of_medians():
    # rounds 20/10, 30/20, 26/20 -> 2.0, 1.5, 1.3; the ratio of medians would be 26/20 = 1.3
    ratio = paired_ratio([20.0, 30.0, 26.0], [10.0, 20.0, 20.0])
    assert ratio.per_round == pytest.approx((2.0, 1.5, 1.3))
    assert (ratio.median, ratio.min, ratio.max) == pytest.approx((1.5, 1.3, 2.0))
    assert ratio.best is None


def test_an_even_number_of_rounds_takes_the_middle_two():
    assert paired_ratio([2.0, 3.0, 8.0, 10.0], [1.0, 1.0, 2.0, 2.0]).median == pytest.approx(3.5)  # 2, 3, 4, 5: (3 + 4) / 2


def test_the_ratio_of_best_calls_is_numerator_over_denominator():
    assert paired_ratio([1.0], [1.0], best=(30.0, 20.0)).best == pytest.approx(1.5)


def test_no_rounds_give_no_figures():
    ratio = paired_ratio([], [])
    assert (ratio.per_round, ratio.median, ratio.min, ratio.max) == ((), None, None, None)


def test_rounds_not_timed_together_are_refused():
    with pytest.raises(ValueError, match="same rounds"):
        paired_ratio([1.0, 2.0], [1.0])


def test_percentiles_are_numpys_linear_ones():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4, 5], 25) == 2
    with pytest.raises(ValueError):
        percentile([], 50)
