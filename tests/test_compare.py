"""bench.compare, the speed regression gate, on hand-made results with known answers (no timing).

The documents are built with the fields a committed throughput file has (reports/throughput-cpu-
run1.json); the expected p-values and intervals are computed here independently, by counting the
orderings of the two samples, not by the code under test.
"""
from __future__ import annotations

import copy
import importlib.util
import itertools
import json
from pathlib import Path

import pytest
from scipy.stats import mannwhitneyu

from bench import compare as entry
from bench.core import rows
from bench.core.cli import run as run_command
from bench.core.io import read_results
from bench.core.schema import SCHEMA
from bench.gate import speed_gate

REPO = Path(__file__).resolve().parents[1]
BASE = [10.0, 10.1, 9.9, 10.05, 9.95]
HALF = [x / 2 for x in BASE]
# Overlaps BASE: interleaved values, U = 10 of 25, far from significant.
OVERLAPPING = [9.85, 10.08, 9.75, 10.15, 9.97]


def row(model="sret_t", samples=BASE, **fields):
    """A results row as bench.throughput writes it (the fields of reports/throughput-cpu-run1.json)."""
    ordered = sorted(samples)
    record = {
        "model": model, "kernels": "stock", "device": "cpu", "img_size": 224, "batch_size": 8,
        "batch_size_requested": 8, "dtype": "fp32", "tf32": False, "compile": False, "channels_last": False,
        "warmup_iters": 3, "timed_iters": 3 * len(samples), "rounds": len(samples),
        "images_per_s_median": ordered[len(ordered) // 2], "images_per_s_iqr": 0.1,
        "images_per_s_min": ordered[0], "images_per_s_max": ordered[-1], "images_per_s_by_round": list(samples),
        "latency_ms_p50": None, "latency_ms_p90": None, "peak_memory_mib": 85.4, "memory_method": "cpu_rss_sampled",
        "cuda_max_memory_allocated_mib": None, "param_count": 4755979, "flops_per_image": 2243331584,
        "achieved_tflops": 0.15, "mfu": 0.31, "compile_s": None, "error": None,
    }
    record.update(fields)
    return record


def document(rows, kind="throughput", **environment):
    """A results document with the environment block and argv every results file carries."""
    env = {"python": "3.11.7", "torch": "2.14.1+cu130", "timm": "1.0.31", "fvcore": "0.1.5.post20221221",
           "thop": "0.1.1-2209072238", "device": "cpu", "device_type": "cpu", "device_name": "AMD EPYC",
           "cpu_count": 2, "threads": 2, "platform": "Linux", "git_commit": "0" * 40,
           "date": "2026-11-27T11:40:20+00:00", "git_dirty": False}
    env.update(environment)
    return {"schema": SCHEMA, "kind": kind,
            "argv": ["python", "-m", "bench.throughput", "--models", "sret_t", "--batch-sizes", "8", "--kernels",
                     "stock", "--threads", "2", "--json", "reports/throughput-cpu-run1.json"],
            "environment": env, "config": {"threads": env["threads"], "rounds": 5}, "results": rows, "ratios": []}


def timed(one_row):
    """A row as the gate pairs it: keyed and sampled by bench.core.rows."""
    return rows.timed_rows(document([one_row]))[0]


@pytest.fixture
def write(tmp_path):
    def write(name, payload):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
        return str(path)
    return write


def run(capsys, *argv):
    code = run_command(entry.main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def gate(capsys, write, base_rows, new_rows, *options, base_env=None, new_env=None):
    base = write("base.json", document(base_rows, **(base_env or {})))
    new = write("new.json", document(new_rows, **(new_env or {})))
    return run(capsys, base, new, *options)


def exact_two_sided_p(base, new):
    """Mann-Whitney's exact two-sided p by counting every way to split the pooled values (no ties)."""
    n, pooled = len(base), sorted(base + new)
    observed = sum(y > x for x in base for y in new)
    null = [sum(y > x for x in pooled if x in chosen for y in pooled if y not in chosen)
            for chosen in map(set, itertools.combinations(pooled, n))]
    extreme = min(observed, n * len(new) - observed)
    return min(1.0, 2 * sum(u <= extreme for u in null) / len(null))


# --- the statistics, against counting -------------------------------------------------------------


@pytest.mark.parametrize("n, m", [(5, 5), (3, 4), (1, 2), (6, 4)])
def test_the_u_distribution_is_the_count_of_orderings(n, m):
    counted = [0] * (n * m + 1)
    for x_positions in itertools.combinations(range(n + m), n):
        counted[sum(1 for x in x_positions for y in set(range(n + m)) - set(x_positions) if y > x)] += 1
    assert list(speed_gate.u_counts(n, m)) == counted


def test_five_against_five_interval_is_the_third_and_23rd_pairwise_ratio():
    """P(U <= 2) = 4/252 <= 0.025 < P(U <= 3) = 7/252: k = 3, coverage 1 - 8/252."""
    assert speed_gate.interval_rank(5, 5) == (3, pytest.approx(1 - 8 / 252))
    ratios = sorted(y / x for x in BASE for y in HALF)
    hl = speed_gate.hodges_lehmann(BASE, HALF)
    assert hl["low"] == pytest.approx(ratios[2]) and hl["high"] == pytest.approx(ratios[22])
    assert hl["estimate"] == pytest.approx(ratios[12])


def test_too_few_rounds_give_no_interval():
    assert speed_gate.interval_rank(2, 2)[0] == 0
    assert speed_gate.hodges_lehmann([1.0, 2.0], [1.5, 2.5])["low"] is None


# --- verdicts and exit codes ----------------------------------------------------------------------


def test_identical_samples_are_no_change_and_exit_0(capsys, write):
    code, out, err = gate(capsys, write, [row()], [row()])
    assert code == 0 and err == ""
    assert "no significant change" in out and "1.000" in out
    pair = speed_gate.compare_rows(timed(row()), timed(row()), 0.05)
    assert pair["ratio"] == 1 and pair["p_value"] == 1 and pair["verdict"] == "no significant change"


def test_half_the_images_per_s_is_slower_exit_1_with_the_exact_p(capsys, write):
    pair = speed_gate.compare_rows(timed(row()), timed(row(samples=HALF)), 0.05)
    assert pair["ratio"] == pytest.approx(0.5) and pair["verdict"] == "slower"
    # Completely separated, 5 against 5: 2 of the C(10, 5) = 252 orderings are as extreme.
    assert exact_two_sided_p(BASE, HALF) == pytest.approx(2 / 252)
    assert pair["p_value"] == pytest.approx(2 / 252)
    assert pair["p_value"] == pytest.approx(mannwhitneyu(HALF, BASE, method="exact").pvalue)
    assert pair["ratio_low"] < 0.5 < pair["ratio_high"] < 1
    code, out, err = gate(capsys, write, [row()], [row(samples=HALF)])
    assert code == 1
    assert err.splitlines() == ["SLOWER: sret_t stock 224px batch 8 fp32: 0.500x the BASE images/s, p = 0.0079"]


def test_twice_the_images_per_s_is_faster_and_passes(capsys, write):
    code, out, _ = gate(capsys, write, [row()], [row(samples=[2 * x for x in BASE])])
    assert code == 0 and "faster" in out


def test_overlapping_samples_are_no_change(capsys, write):
    assert exact_two_sided_p(BASE, OVERLAPPING) > 0.05
    pair = speed_gate.compare_rows(timed(row()), timed(row(samples=OVERLAPPING)), 0.0)
    assert pair["verdict"] == "no significant change"
    assert pair["p_value"] == pytest.approx(exact_two_sided_p(BASE, OVERLAPPING))
    assert gate(capsys, write, [row()], [row(samples=OVERLAPPING)])[0] == 0


def test_a_significant_shift_below_the_floor_is_no_change_until_the_floor_is_lowered(capsys, write):
    slightly = [0.97 * x for x in BASE]  # separated (p = 2/252) but only 3% slower
    pair = speed_gate.compare_rows(timed(row()), timed(row(samples=slightly)), 0.05)
    assert pair["p_value"] < 0.05 and pair["verdict"] == "no significant change"
    assert gate(capsys, write, [row()], [row(samples=slightly)], "--floor", "0.05")[0] == 0
    code, _, err = gate(capsys, write, [row()], [row(samples=slightly)], "--floor", "0.02")
    assert code == 1 and "sret_t" in err


def test_the_markdown_table(capsys, write):
    _, out, _ = gate(capsys, write, [row()], [row(samples=HALF)], "--markdown")
    lines = out.splitlines()
    assert lines[0].startswith("| configuration | BASE img/s |") and lines[1].startswith("|---|")
    assert "| slower |" in lines[2]


# --- pairing --------------------------------------------------------------------------------------


def test_rows_pair_by_configuration_and_a_row_in_one_file_only_is_unpaired(capsys, write):
    base = [row(), row(kernels="tuned", samples=HALF), row(model="deit_tiny_patch16_224")]
    new = [row(kernels="tuned", samples=HALF), row(), row(batch_size_requested=1, batch_size=1, samples=HALF)]
    code, out, _ = gate(capsys, write, base, new)
    assert code == 0  # each model against itself: same samples; the half-speed row has no partner
    assert "unpaired: deit_tiny_patch16_224 stock 224px batch 8 fp32 only in BASE, not compared" in out
    assert "unpaired: sret_t stock 224px batch 1 fp32 only in NEW, not compared" in out
    compared = speed_gate.compare_documents(document(base), document(new), 0.05)
    assert [p["configuration"] for p in compared["pairs"]] == ["sret_t stock 224px batch 8 fp32",
                                                               "sret_t tuned 224px batch 8 fp32"]


def test_a_missing_field_means_its_default():
    old = row()
    del old["channels_last"]
    assert rows.config_key(old) == rows.config_key(row(runtime="torch"))
    assert rows.config_key(row(dtype="bf16")) != rows.config_key(row())
    assert rows.config_key(row(compile=True)) != rows.config_key(row())


def model_speed_document(tuned_rounds):
    """A model_speed file as bench.model_speed writes it: one row per model, every form's rounds."""
    result = {"model": "sret_t", "batch_size": 8, "img_size": 224,
              "images_per_s": {"stock": 10.0, "tuned": sorted(tuned_rounds)[2]},
              "images_per_s_by_round": {"stock": BASE, "tuned": list(tuned_rounds)}, "ratios": {}}
    return {**document([result], kind="model_speed"), "config": {"dtype": "fp32"}}


def test_model_speed_files_are_gated_form_by_form(capsys, write):
    base = write("base.json", model_speed_document(BASE))
    new = write("new.json", model_speed_document(HALF))
    code, out, err = run(capsys, base, new)
    assert code == 1
    assert "SLOWER: sret_t tuned 224px batch 8 fp32: 0.500x" in err and "sret_t stock" not in err


def test_a_row_that_failed_is_reported_not_judged(capsys, write):
    failed = row(kernels="tuned", error="OutOfMemoryError", images_per_s_by_round=[])
    code, out, _ = gate(capsys, write, [row(), row(kernels="tuned")], [row(), failed])
    assert code == 0 and "NEW has no per-round samples" in out


def test_slicing_speed_results_compare_too(capsys, write):
    base = write("base.json", document([row()], kind="slicing_speed"))
    new = write("new.json", document([row(samples=HALF)], kind="slicing_speed"))
    assert run(capsys, base, new)[0] == 1


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [("device_name", "Intel Xeon"), ("torch", "2.15.0+cpu"), ("threads", 1)])
def test_different_machines_are_refused_naming_the_field(capsys, write, field, value):
    code, out, err = gate(capsys, write, [row()], [row()], new_env={field: value})
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and field in err and "--allow-different-machines" in err


def test_allowed_different_machines_mark_every_row(capsys, write, tmp_path):
    out_path = tmp_path / "compare.json"
    code, out, _ = gate(capsys, write, [row(), row(kernels="tuned")], [row(), row(kernels="tuned")],
                        "--allow-different-machines", "--json", str(out_path), new_env={"threads": 1})
    assert code == 0
    table = [line for line in out.splitlines() if line.startswith("sret_t")]
    assert len(table) == 2 and all("crossed machines: threads 2 vs 1" in line for line in table)
    written = read_results(out_path)
    assert written["kind"] == "compare" and written["argv"][:3] == ["python", "-m", "bench.compare"]
    assert [p["crossed_machines"] for p in written["pairs"]] == ["threads 2 vs 1"] * 2
    assert "Hodges-Lehmann" in written["config"]["method"]


BAD_INPUTS = {
    "missing": None,
    "not JSON": "{not json",
    "no schema": json.dumps({"kind": "throughput"}),
    "model_speed": json.dumps({**document([]), "kind": "model_speed"}),
    "verify": json.dumps({**document([]), "kind": "verify"}),
    "nothing pairs": json.dumps(document([row(model="pit_ti_224")])),
    "nothing timed": json.dumps(document([row(error="RuntimeError: boom", images_per_s_by_round=[])])),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_2(capsys, write, tmp_path, case):
    base = write("base.json", document([row()]))
    new = str(tmp_path / "absent.json") if BAD_INPUTS[case] is None else write("new.json", BAD_INPUTS[case])
    code, out, err = run(capsys, base, new)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err


@pytest.mark.parametrize("argv", [[], ["one.json"], ["a.json", "b.json", "--floor", "1.5"],
                                  ["a.json", "b.json", "--slowed", "c.json"]])
def test_bad_arguments_are_one_line_and_exit_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2 and len(err.splitlines()) == 1


def test_the_kinds_of_the_two_files_must_agree(capsys, write):
    base = write("base.json", document([row()]))
    new = write("new.json", document([row()], kind="slicing_speed"))
    code, _, err = run(capsys, base, new)
    assert code == 2 and "compare like with like" in err


# --- the floor --------------------------------------------------------------------------------------


def test_two_files_use_the_provisional_floor_and_say_runs_taken_apart_carry_process_noise(capsys, write):
    code, out, _ = gate(capsys, write, [row()], [row()])
    assert code == 0
    assert f"floor: {speed_gate.PROVISIONAL_FLOOR}, not calibrated for runs taken apart" in out
    assert "only as precise as the noise between processes" in out or "not calibrated here" in out


def test_without_a_readable_calibration_the_revision_floor_is_provisional(tmp_path):
    path = tmp_path / "speed_calibration.json"
    assert speed_gate.read_calibration(path) is None
    path.write_text("{broken")
    assert speed_gate.read_calibration(path) is None
    floor, source = speed_gate.calibrated_floor(None, path)
    assert floor == speed_gate.PROVISIONAL_FLOOR and "provisional, not calibrated" in source


def test_the_modes_exclude_each_other(capsys, write):
    code, _, err = run(capsys, write("a.json", document([row()])), write("b.json", document([row()])),
                       "--revisions", "HEAD")
    assert code == 2 and "give one of" in err
