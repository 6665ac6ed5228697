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
from bench.core.cli import run as run_command
from bench.core.io import read_results
from bench.core.schema import SCHEMA
from bench.gate import compare

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
    assert list(compare.u_counts(n, m)) == counted


def test_five_against_five_interval_is_the_third_and_23rd_pairwise_ratio():
    """P(U <= 2) = 4/252 <= 0.025 < P(U <= 3) = 7/252: k = 3, coverage 1 - 8/252."""
    assert compare.interval_rank(5, 5) == (3, pytest.approx(1 - 8 / 252))
    ratios = sorted(y / x for x in BASE for y in HALF)
    hl = compare.hodges_lehmann(BASE, HALF)
    assert hl["low"] == pytest.approx(ratios[2]) and hl["high"] == pytest.approx(ratios[22])
    assert hl["estimate"] == pytest.approx(ratios[12])


def test_too_few_rounds_give_no_interval():
    assert compare.interval_rank(2, 2)[0] == 0
    assert compare.hodges_lehmann([1.0, 2.0], [1.5, 2.5])["low"] is None


# --- verdicts and exit codes ----------------------------------------------------------------------


def test_identical_samples_are_no_change_and_exit_0(capsys, write):
    code, out, err = gate(capsys, write, [row()], [row()])
    assert code == 0 and err == ""
    assert "no significant change" in out and "1.000" in out
    pair = compare.compare_rows(row(), row(), 0.05)
    assert pair["ratio"] == 1 and pair["p_value"] == 1 and pair["verdict"] == "no significant change"


def test_half_the_images_per_s_is_slower_exit_1_with_the_exact_p(capsys, write):
    pair = compare.compare_rows(row(), row(samples=HALF), 0.05)
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
    pair = compare.compare_rows(row(), row(samples=OVERLAPPING), 0.0)
    assert pair["verdict"] == "no significant change"
    assert pair["p_value"] == pytest.approx(exact_two_sided_p(BASE, OVERLAPPING))
    assert gate(capsys, write, [row()], [row(samples=OVERLAPPING)])[0] == 0


def test_a_significant_shift_below_the_floor_is_no_change_until_the_floor_is_lowered(capsys, write):
    slightly = [0.97 * x for x in BASE]  # separated (p = 2/252) but only 3% slower
    pair = compare.compare_rows(row(), row(samples=slightly), 0.05)
    assert pair["p_value"] < 0.05 and pair["verdict"] == "no significant change"
    assert gate(capsys, write, [row()], [row(samples=slightly)], "--floor", "0.05")[0] == 0
    code, _, err = gate(capsys, write, [row()], [row(samples=slightly)], "--floor", "0.02")
    assert code == 1 and "sret_t" in err


def test_the_output_names_the_floor_and_whether_it_was_calibrated(capsys, write):
    _, out, _ = gate(capsys, write, [row()], [row()])
    assert f"floor: {compare.DEFAULT_FLOOR_SOURCE}" in out
    _, out, _ = gate(capsys, write, [row()], [row()], "--floor", "0.1")
    assert "floor: 0.1 (--floor)" in out


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
    compared = compare.compare_documents(document(base), document(new), 0.05)
    assert [p["configuration"] for p in compared["pairs"]] == ["sret_t stock 224px batch 8 fp32",
                                                               "sret_t tuned 224px batch 8 fp32"]


def test_a_missing_field_means_its_default():
    old = row()
    del old["channels_last"]
    assert compare.config_key(old) == compare.config_key(row(runtime="torch"))
    assert compare.config_key(row(dtype="bf16")) != compare.config_key(row())
    assert compare.config_key(row(compile=True)) != compare.config_key(row())


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


# --- the floor and its calibration ----------------------------------------------------------------


def test_without_a_calibration_the_floor_is_provisional(tmp_path):
    floor, source = compare.committed_floor([tmp_path / "speed_calibration.json"])
    assert floor == compare.PROVISIONAL_FLOOR == 0.05 and "provisional, not calibrated" in source
    (tmp_path / "speed_calibration.json").write_text("{broken")
    assert "provisional, not calibrated" in compare.committed_floor([tmp_path / "speed_calibration.json"])[1]


def test_calibration_chooses_the_smallest_silent_floor_and_counts_detections(capsys, write, tmp_path):
    aa = [write("aa/a1.json", document([row()])),
          write("aa/a2.json", document([row()])),
          write("aa/a3.json", document([row()])),
          write("aa/a4.json", document([row(samples=[0.966 * x for x in BASE])]))]  # noise that looks real
    slowed = [write("slow-a.json", document([row()])), write("slow-b.json", document([row(samples=HALF)], threads=1))]
    out_path = tmp_path / "speed_calibration.json"
    code, out, _ = run(capsys, "--calibrate", str(tmp_path / "aa"), "--slowed", *slowed, "--json", str(out_path))
    assert code == 0 and "chosen floor: 0.04" in out
    record = read_results(out_path)
    assert record["kind"] == "speed_calibration"
    assert record["file_pairs"] == [aa[:2], aa[2:]]
    alarms = {row_["floor"]: row_["alarms"] for row_ in record["alarms_per_floor"]}
    assert alarms[0.03] == 1 and alarms[0.04] == 0 and record["chosen_floor"] == 0.04
    assert record["detection"]["flagged_slower"] == 1 and record["detection"]["file_pairs_flagged"] == 1
    assert compare.committed_floor([out_path]) == (0.04, f"0.04 from the calibration in {out_path}")


def test_a_quiet_calibration_still_keeps_the_minimum_floor():
    quiet = [compare.compare_rows(row(), row(samples=OVERLAPPING), 0.0)]
    assert compare.chosen_floor(quiet) == compare.MIN_FLOOR


def test_an_odd_number_of_calibration_files_is_refused(capsys, write):
    code, _, err = run(capsys, "--calibrate", write("a.json", document([row()])))
    assert code == 2 and "even number" in err


# --- the nox session's command --------------------------------------------------------------------


def noxfile():
    spec = importlib.util.spec_from_file_location("noxfile_under_test", REPO / "noxfile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_speed_gate_retimes_with_the_base_command_into_its_own_file(write):
    base = copy.deepcopy(document([row()]))
    base["argv"] += ["--csv", "reports/x.csv", "--profile", "traces"]
    argv = noxfile().rerun_argv(write("base.json", base), "runs/speed_gate-new.json")
    assert argv == ["-m", "bench.throughput", "--models", "sret_t", "--batch-sizes", "8", "--kernels", "stock",
                    "--threads", "2", "--json", "runs/speed_gate-new.json"]


def test_the_page_states_the_floor_its_a_a_pairs_and_what_it_catches(tmp_path):
    """A calibration by hand: 10 A/A pairs, alarms 3 at floor 0.00 and none from 0.02; 9 of 10 slowed pairs flagged."""
    from bench.page import report

    verify = json.loads((REPO / "tests" / "data" / "verify.json").read_text(encoding="utf-8"))
    alarms = [{"floor": round(0.01 * i, 2), "alarms": {0: 3, 1: 1}.get(i, 0),
               "file_pairs_with_alarms": {0: 2, 1: 1}.get(i, 0)} for i in range(21)]
    document = {"schema": verify["schema"], "kind": "speed_calibration", "environment": verify["environment"],
                "argv": ["python", "-m", "bench.compare", "--calibrate", "runs/aa", "--slowed", "runs/slowed"],
                "file_pairs": [[f"a{2 * i}", f"a{2 * i + 1}"] for i in range(10)], "compared": 10, "alpha": 0.05,
                "alarms_per_floor": alarms, "chosen_floor": 0.02, "rule": "chosen floor = the smallest with 0", "pairs": [],
                "detection": {"floor": 0.02, "file_pairs": [["b", "c"]] * 10, "compared": 10, "flagged_slower": 9,
                              "file_pairs_flagged": 9, "pairs": []}}
    path = tmp_path / "speed_calibration.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    markdown = report.render_markdown(report.load_results([REPO / "tests" / "data" / "verify.json", path]))
    section = markdown.split("## Speed gate calibration", 1)[1].split("\n## ", 1)[0]
    assert "10 A/A pairs" in section and "**0.02**" in section
    assert "| 0.00 " in section and "| 0.10 " in section and "| 0.11 " not in section
    assert "9 of 10 deliberately slowed configurations (9 of 10 pairs" in section
