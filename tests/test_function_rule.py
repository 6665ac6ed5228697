"""The function rows' rule (``bench.spec.function_rule``) on hand-made rows: within the tolerance holds,
and a failure names where the other function comes from."""
from __future__ import annotations

from bench.spec.function_rule import judge_function_rows

ATOL = 1e-5


def _rows(**differences):
    return [{"row": "SReT_T", "model": "sret_t.in1k", "policy": policy, "measured": value,
             "problem": "" if value is not None else "the forward pass raised RuntimeError: boom"}
            for policy, value in differences.items()]


def test_a_row_holds_up_to_the_tolerance_and_nan_fails():
    judged = judge_function_rows(_rows(stock=1e-5, tuned=1.1e-5, compiled=float("nan")), ATOL)
    assert [(r["status"], r["tolerance"]) for r in judged] == [("pass", ATOL), ("fail", ATOL), ("fail", ATOL)]
    assert judged[0]["diagnosis"] == ""


def test_one_policy_failing_names_its_kernels_and_the_policies_that_hold():
    stock, tuned = judge_function_rows(_rows(stock=2e-7, tuned=5e-4), ATOL)
    assert stock["status"] == "pass" and tuned["status"] == "fail"
    assert tuned["diagnosis"].startswith("0.0005 from the official logits, above the tolerance 1e-05")
    assert "stock holds on the same weights" in tuned["diagnosis"] and "sret/kernels.py" in tuned["diagnosis"]


def test_every_policy_failing_blames_the_model_code_and_a_model_that_did_not_run_says_why():
    judged = judge_function_rows(_rows(stock=5e-4, tuned=5e-4), ATOL)
    assert all("under every policy: sret/ computes another function" in r["diagnosis"] for r in judged)
    (row,) = judge_function_rows(_rows(stock=None), ATOL)
    assert row["status"] == "fail"
    assert row["diagnosis"] == "the forward pass raised RuntimeError: boom (sret/ no longer builds the released model)"
