"""Statuses (``bench.spec.verdicts``): pass, fail, known deviation and not measured, against
hand-computed intervals."""
from __future__ import annotations

import pytest

from bench.spec.deviations import Deviation
from bench.spec.paper_values import ExpectedFigure
from bench.spec.verdicts import Verdict, status


def figure(published: str, override: str = "", deviation: Deviation | None = None) -> ExpectedFigure:
    return ExpectedFigure("sret_t", 224, "gmacs", published, "hand-made", "", override, deviation)


def test_status_pass_and_fail():
    passed = status(figure("1.1"), 1.12, None)
    assert (passed.status, passed.deviation, passed.stale_deviation) == ("pass", None, False)
    failed = status(figure("1.1"), 1.15, None)
    assert failed.status == "fail" and "1.15" in failed.comparison and "[1.05, 1.15)" in failed.comparison


def test_status_not_measured_keeps_reason():
    assert status(figure("76.0"), None, "checkpoint absent") == Verdict("not-measured", "checkpoint absent")
    assert status(figure("76.0"), None, None).status == "not-measured"


def test_status_non_finite_is_a_failure():
    assert status(figure("1.1"), float("nan"), None).status == "fail"


def test_known_deviation_reports_measured_value_and_explanation():
    marked = figure("0.7", "known-deviation", Deviation("0.62", "The ExT configuration\nwas never published."))
    verdict = status(marked, 0.62, None)
    assert verdict.status == "known-deviation" and "0.62" in verdict.comparison
    assert verdict.deviation == "The ExT configuration was never published."


def test_known_deviation_never_widens_but_stale_one_passes():
    marked = figure("0.7", "known-deviation", Deviation("0.62", "why"))
    verdict = status(marked, 0.70, None)
    assert verdict.status == "pass" and verdict.stale_deviation and verdict.deviation == "why"
    assert status(marked, None, "no model").status == "not-measured"


@pytest.mark.parametrize("measured, expected", [
    # "21.091" covers [21.0905, 21.0915): the count it was written for, 21,091,212 parameters, and
    # nothing a real change would give (100,000 parameters more: 21.191212).
    (21.091212, "known-deviation"), (21.0905, "known-deviation"), (21.09149, "known-deviation"),
    (21.0915, "fail"), (21.09049, "fail"), (21.191212, "fail"), (50.0, "fail"),
    (21.0, "pass"),  # agrees with the published figure: the deviation is stale
])
def test_an_explanation_covers_the_one_measurement_it_records(measured, expected):
    marked = ExpectedFigure("sret_s_wo_slice_384.distill_in1k", 384, "params_m", "21.0", "README", "",
                            "known-deviation", Deviation("21.091", "The README truncates."))
    verdict = status(marked, measured, None)
    assert verdict.status == expected
    if expected == "fail":
        assert "no longer matches the measurement" in verdict.comparison and verdict.deviation is None
        assert "explains measured 21.091" in verdict.comparison and f"measurement is {measured!r}" in verdict.comparison
