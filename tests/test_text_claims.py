"""The paper's text claims (``bench.spec.text_claims``): ``claims.csv`` against ``PAPER_VALUES.md``, a
claim's range by the rounding rule, its verdict on several values, and one-line errors for bad rows."""
from __future__ import annotations

import pytest

from _expected_files import PAPER_VALUES, one_line_error, write
from bench.spec.deviations import Deviation
from bench.spec.text_claims import CLAIM_KINDS, DEFAULT_CLAIMS, Claim, load_claims

CLAIM_HEADER = "claim_id,kind,claim,source,check,models,low,high,unit\n"
KIND = "recursion_adds_no_params"  # a check the gate knows


def test_claims():
    claims = {c.claim_id: c for c in load_claims(DEFAULT_CLAIMS)}
    assert len(claims) == 4
    no_params, slicing, deep, thousand = claims.values()
    assert (no_params.low, no_params.high) == (0.0, 0.0)
    assert no_params.models == ("sret_t", "sret_lt", "sret_s")
    assert (slicing.low_text, slicing.high_text, slicing.unit) == ("10", "30", "% FLOPs reduction")
    assert slicing.models == ("sret_t", "sret_lt", "sret_s")
    # one sentence, checked in its two parts: more than 100, and even 1000 shared layers
    assert deep.claim == thousand.claim and "more than 100 or even 1000 shared layers" in deep.claim
    assert "'100' part" in deep.check and "'1000' part" in thousand.check
    for part in (deep, thousand):
        assert (part.low_text, part.high_text, part.unit) == ("13", "15", "M parameters")
    text = PAPER_VALUES.read_text(encoding="utf-8")
    assert "10-30%" in text and "13-15M" in text
    assert "more than 100 or even 1000 shared\n  layers at a compact size (13-15M parameters)" in text


@pytest.mark.parametrize("measured, expected", [
    (12.49, False), (12.5, True), (14.0, True), (15.49, True), (15.5, False),
])
def test_claim_range_follows_rounding_rule(measured, expected):
    claim = Claim("deep", "c", "s", "k", (), "13", "15", "M parameters")
    assert claim.agrees(measured) is expected
    assert not Claim("x", "c", "s", "k").agrees(1.0)


SLICING = Claim("slicing", "cuts 10-30%", "s", "k", ("a", "b", "c"), "10", "30", "% FLOPs reduction")


@pytest.mark.parametrize("values, expected, shown", [
    ([18.4, 17.7, 10.6], "pass", 10.6),  # all in [9.5, 30.5); the one nearest an end is shown
    ([18.4, 35.0, 10.6], "fail", 35.0),  # the claim is checked whole: one model out fails it
    ([9.4, 35.0, 18.4], "fail", 35.0),   # the one farthest out is shown (4.5 above vs 0.1 below)
    ([30.5, 18.4], "fail", 30.5),        # 30.5 rounds to 31
    ([30.49, 9.5], "pass", 9.5),
])
def test_a_claim_holds_only_when_every_value_does(values, expected, shown):
    verdict, value = SLICING.judge(values)
    assert (verdict.status, value) == (expected, shown)
    if expected == "fail":
        assert "[9.5, 30.5)" in verdict.comparison


def test_a_claim_fails_on_an_unmet_condition_even_inside_its_range():
    verdict, value = Claim("no_params", "c", "s", "k", (), "0", "0", "parameters added").judge(
        [0, 0], unmet=["sret_t: depth does not grow (10 -> 10 block applications)"])
    assert (verdict.status, value) == ("fail", 0) and "depth does not grow" in verdict.comparison


def test_a_claim_deviation_covers_its_one_recorded_measurement():
    deep = Claim("deep", "c", "s", "k", (), "13", "15", "M parameters")
    explained = Deviation("9.565", "Our construction is narrower.")
    assert deep.judge([9.564883], deviation=explained)[0].status == "known-deviation"
    verdict, _ = deep.judge([9.664883], deviation=explained)  # 100,000 parameters more
    assert verdict.status == "fail" and "no longer matches" in verdict.comparison
    assert "9.565" in verdict.comparison and "9.664883" in verdict.comparison
    verdict, _ = deep.judge([14.0], deviation=explained)
    assert verdict.status == "pass" and verdict.stale_deviation
    assert deep.judge([9.564883])[0].status == "fail"  # no explanation
    # one explanation never covers a second value outside the range, nor an unmet condition
    assert SLICING.judge([35.0, 18.4, 5.0], deviation=Deviation("35.0", "why"))[0].status == "fail"
    assert SLICING.judge([35.0, 18.4], ["b: FLOPs do not grow"], Deviation("35.0", "why"))[0].status == "fail"
    assert SLICING.judge([35.0, 18.4], deviation=Deviation("35.0", "why"))[0].status == "known-deviation"


def test_a_claim_of_a_kind_the_gate_does_not_know_is_a_load_error(tmp_path):
    path = write(tmp_path, CLAIM_HEADER + f"a,{KIND},c,s,k,sret_t,0,0,parameters added\n"
                                           "b,typo_kind,c,s,k,,1,2,%\n", "claims.csv")
    message = one_line_error(path, load_claims)
    assert "line 3, column 'kind'" in message and "'typo_kind'" in message
    assert "known: deep_sliced_recursion_compact, recursion_adds_no_params, slicing_cuts_flops_10_30, " \
           "thousand_shared_layers_compact" in message
    assert [c.kind for c in load_claims(path, kinds={KIND, "typo_kind"})] == [KIND, "typo_kind"]


def test_the_gates_claim_kinds_are_the_checks_it_measures_and_sret_names_each_once():
    from bench.measure.claims import MEASUREMENTS

    assert set(CLAIM_KINDS) == set(MEASUREMENTS)
    assert sorted(c.kind for c in load_claims(DEFAULT_CLAIMS)) == sorted(CLAIM_KINDS)


@pytest.mark.parametrize("row, words", [
    (f"b,{KIND},c,s,k,,ten,30,%\n", "line 3, column 'low'"),
    (f"b,{KIND},c,s,k,,10,,%\n", "line 3, column 'high': give both bounds or neither"),
    (f"b,{KIND},c,s,k,,30,10,%\n", "line 3, column 'low': low 30 is above high 10"),
    (f"b,{KIND},c,s,k,,10,30,\n", "line 3, column 'unit'"),
    (f"b,{KIND},,s,k,,,,\n", "line 3, column 'claim': must not be empty"),
    (f"b,{KIND},c,s,k,Bad Model,,,\n", "line 3, column 'models'"),
    ("b,,c,s,k,,,,\n", "line 3, column 'kind': must not be empty"),
    (f"a,{KIND},c,s,k,,,,\n", "line 3, column 'claim_id': duplicate claim 'a'"),
])
def test_bad_claims(tmp_path, row, words):
    path = write(tmp_path, CLAIM_HEADER + f"a,{KIND},c,s,k,sret_t,0,0,parameters added\n" + row, "claims.csv")
    assert words in one_line_error(path, load_claims)
