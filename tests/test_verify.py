"""The gate: it passes on the paper's models, fails when a model changes, and reports honestly."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch

import bench.core.io
import bench.core.schema
from bench.gate import paper_gate as gate
from bench.page.results import REQUIRED, REQUIRED_ROWS
from bench.core.cli import run
from bench.spec.data_files import EXPECTED_DIR
from conftest import REPO
from _imagenet_fixtures import IMAGES_PER_CLASS, RANKING, TOTAL, make_folder

HEADER = "model,img_size,metric,published,source,note,status_override\n"
CLAIM_HEADER = "claim_id,kind,claim,source,check,models,low,high,unit\n"
# A claim about sret_lt alone, which no test here selects: a data folder with it measures no claim
# (the shipped deep-model claims build and run models of 120 and 1000 block applications).
NO_CLAIM = CLAIM_HEADER + "slicing_cuts_flops_10_30,slicing_cuts_flops_10_30,cuts 10-30%,hand-made,k,sret_lt,10,30,% FLOPs reduction\n"
# The function rows are tested in test_function_gate.py: here verify(..., policies=()) keeps to the figures.
# Parameter counts recorded from the official code (the fixtures' manifest.json).
OFFICIAL_PARAMS = {"sret_t": 4_755_979, "sret_s_wo_slice_384": 21_091_212}


def data_folder(root: Path, paper_values: str | None = None, claims: str | None = None,
                deviations: str | None = None, baselines: str | None = None) -> Path:
    """A data folder for --expected: each file given, or else a copy of the shipped one (and the
    official function recordings, always the shipped ones)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXPECTED_DIR / "official_function", root / "official_function", dirs_exist_ok=True)
    for name, text in (("paper_values.csv", paper_values), ("claims.csv", claims), ("deviations.md", deviations),
                       ("baselines.csv", baselines)):
        if text is None:
            shutil.copy(EXPECTED_DIR / name, root / name)
        else:
            (root / name).write_text(text, encoding="utf-8")
    return root


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.verify", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


def _row(body: dict, model: str, metric: str) -> dict:
    return next(r for r in body["results"] if r["model"] == model and r["metric"] == metric)


def test_the_papers_sret_t_passes_and_one_block_more_fails(tmp_path):
    folder = data_folder(tmp_path / "expected", claims=NO_CLAIM)
    body = gate.verify(["sret_t"], expected=folder, progress=False, policies=())
    assert _row(body, "sret_t", "gmacs")["status"] == "pass"
    assert _row(body, "sret_t.in1k", "params_m")["measured"] == OFFICIAL_PARAMS["sret_t"] / 1e6
    assert not gate.failed(body)

    def one_block_more(name, **kwargs):
        if name == "sret_t":  # one more shared block in stage 1, applied twice as the others
            kwargs.update(depth=(4, 12, 6), recursive_num=(2, 6, 3))
        return timm.create_model(name, **kwargs)

    changed = gate.verify(["sret_t"], build=one_block_more, expected=folder, progress=False, policies=())
    assert _row(changed, "sret_t", "gmacs")["status"] == "fail"
    assert _row(changed, "sret_t.in1k", "params_m")["status"] == "fail"
    assert gate.failed(changed)


@pytest.mark.slow
def test_a_known_deviation_explains_one_measurement_not_a_changed_model(tmp_path):
    # The shipped data: sret_s_wo_slice_384's 21.0M is a known deviation explaining 21.091.
    folder = data_folder(tmp_path / "expected", claims=NO_CLAIM)
    body = gate.verify(["sret_s_wo_slice_384"], expected=folder, progress=False, policies=())
    row = _row(body, "sret_s_wo_slice_384.distill_in1k", "params_m")
    assert row["measured"] == OFFICIAL_PARAMS["sret_s_wo_slice_384"] / 1e6
    assert row["status"] == "known-deviation" and not gate.failed(body)

    def with_more_parameters(name, **kwargs):
        model = timm.create_model(name, **kwargs)
        if name == "sret_s_wo_slice_384":
            model.extra = torch.nn.Parameter(torch.zeros(100_000))
        return model

    changed = gate.verify(["sret_s_wo_slice_384"], build=with_more_parameters, expected=folder, progress=False, policies=())
    row = _row(changed, "sret_s_wo_slice_384.distill_in1k", "params_m")
    assert row["measured"] == pytest.approx((21_091_212 + 100_000) / 1e6)
    assert row["status"] == "fail" and gate.failed(changed)
    assert "no longer matches the measurement" in row["comparison"]
    assert "explains measured 21.091" in row["comparison"] and "21.191212" in row["comparison"]
    assert row["deviation"] is None  # the explanation that no longer applies is not shown as the reason


def test_the_data_folder_applies_to_figures_claims_and_deviations(tmp_path):
    # A hand-made range that sret_ext's shared blocks (0 parameters added) do not meet, explained
    # for 0 in one folder and for 5 in the other.
    values = HEADER + "sret_ext,224,gmacs,0.7,hand-made,,\n"
    claims = CLAIM_HEADER + "recursion_adds_no_params,recursion_adds_no_params,c,hand-made,k,sret_ext,1,2,parameters added\n"
    statuses = {}
    for recorded in ("0", "5"):
        folder = data_folder(tmp_path / recorded, values, claims,
                             f"## claim recursion_adds_no_params\n\nMeasured: {recorded}\n\nShared.\n")
        body = gate.verify(["sret_ext"], expected=folder, progress=False, policies=())
        assert [(r["model"], r["metric"], r["status"]) for r in body["results"]] == [("sret_ext", "gmacs", "pass")]
        (claim,) = body["claims"]
        assert claim["measured"] == 0
        statuses[recorded] = claim["status"], claim["comparison"], claim["deviation"]
    assert statuses["0"][0] == "known-deviation" and statuses["0"][2] == "Shared."
    assert statuses["5"][0] == "fail" and "no longer matches" in statuses["5"][1] and statuses["5"][2] is None


def test_statuses_follow_the_rounding_rule_on_hand_made_figures(tmp_path):
    folder = data_folder(tmp_path, HEADER + "sret_ext,224,gmacs,0.7,a,,\nsret_ext,224,params_m,3.2,b,,\n"
                         "sret_t,224,gmacs,1.10,c,,\nsret_t,224,params_m,4.7,d,,\n",
                         NO_CLAIM, "")
    body = gate.verify(["sret_ext", "sret_t"], expected=folder, progress=False, policies=())
    statuses = [(r["model"], r["metric"], r["status"]) for r in body["results"]]
    # 1.1217 rounds to 1.12, not 1.10; 4.756 rounds to 4.8, not 4.7; 3.188 rounds to 3.2.
    assert statuses == [("sret_ext", "gmacs", "pass"), ("sret_ext", "params_m", "pass"),
                        ("sret_t", "gmacs", "fail"), ("sret_t", "params_m", "fail")]


def test_a_baseline_is_checked_against_timms_published_param_count(tmp_path):
    """DeiT-Ti: timm prints param_count 5.72 (results-imagenet.csv) and infer_gmacs 1.26 (its CPU
    benchmark file, benchmark-infer-fp32-nchw-pt240-cpu-i9_10940x-dynamo.csv, same commit); a model
    with 10,000 more parameters no longer rounds to 5.72."""
    folder = data_folder(tmp_path / "expected", claims=NO_CLAIM)
    body = gate.verify(["deit_tiny_patch16_224"], expected=folder, progress=False, policies=())
    (row,) = body["results"]
    assert (row["model"], row["metric"], row["published_text"]) == ("deit_tiny_patch16_224.fb_in1k", "params_m", "5.72")
    assert row["status"] == "pass" and "results-imagenet.csv" in row["source"]
    (baseline,) = body["baselines"]
    assert (baseline["top1_text"], baseline["label"], baseline["compared_with"]) == ("72.190", "DeiT-Ti", ["in1k"])
    assert baseline["params"] == round(row["measured"] * 1e6) and round(baseline["gmacs"], 2) == 1.26
    assert body["counters"] == {}  # a baseline gets the headline count alone, not thop and the torch counter

    def with_more_parameters(name, **kwargs):
        model = timm.create_model(name, **kwargs)
        model.extra = torch.nn.Parameter(torch.zeros(10_000))
        return model

    changed = gate.verify(["deit_tiny_patch16_224"], build=with_more_parameters, expected=folder, progress=False, policies=())
    assert changed["results"][0]["status"] == "fail" and gate.failed(changed)


@pytest.mark.slow
def test_a_baseline_without_img_size_is_counted_at_its_size(tmp_path):
    """TinyViT takes no img_size argument: it is built plain and counted on a 512 px image (timm's
    benchmark file prints 27.02 GMACs for it)."""
    folder = data_folder(tmp_path / "expected", claims=NO_CLAIM)
    body = gate.verify(["tiny_vit_21m_512"], expected=folder, progress=False, policies=())
    (baseline,) = body["baselines"]
    assert baseline["img_size"] == 512 and round(baseline["gmacs"], 2) == 27.02
    assert _row(body, "tiny_vit_21m_512.dist_in22k_ft_in1k", "params_m")["status"] == "pass"


def _answers_ranking_first(checkpoints: Path) -> Path:
    """A checkpoint whose head always answers RANKING[0]: top-1 is the share of those images."""
    model = timm.create_model("sret_t")
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.linspace(0, -1, 1000))
        model.head.bias[RANKING[0]] = 10.0
    checkpoints.mkdir()
    torch.save({"model": model.state_dict()}, checkpoints / "sret_t.in1k.pth")
    return checkpoints


def test_top1_is_not_measured_without_data_and_a_subset_never_passes(tmp_path):
    folder = data_folder(tmp_path / "expected", HEADER + "sret_t.in1k,224,top1,36.4,hand-made,,\n",
                         NO_CLAIM, "")
    body = gate.verify(["sret_t.in1k"], expected=folder, progress=False, policies=())
    row = body["results"][0]
    assert row["status"] == "not-measured" and row["measured"] is None and "--data" in row["method"]

    checkpoints = _answers_ranking_first(tmp_path / "checkpoints")
    make_folder(tmp_path / "val")
    body = gate.verify(["sret_t.in1k"], checkpoints=checkpoints, data=tmp_path / "val",
                       expected=folder, progress=False, policies=())
    row = body["results"][0]
    # 4 of 11 images: 36.36%, which rounds to the published 36.4, yet 11 images are not ImageNet val
    assert row["measured"] == pytest.approx(100 * IMAGES_PER_CLASS[RANKING[0]] / TOTAL)
    assert row["status"] == "subset" and "11 images of 4 classes" in row["method"]
    assert not gate.failed(body)


def test_forty_images_of_twenty_classes_are_a_subset(tmp_path):
    classes = [3, 10, 500, 999] + list(range(20, 36))  # 20 classes, 2 images each
    make_folder(tmp_path / "val", {label: 2 for label in classes})
    folder = data_folder(tmp_path / "expected", HEADER + "sret_t.in1k,224,top1,76.0,hand-made,,\n",
                         NO_CLAIM, "")
    body = gate.verify(["sret_t.in1k"], checkpoints=_answers_ranking_first(tmp_path / "checkpoints"),
                       data=tmp_path / "val", expected=folder, progress=False, policies=())
    row = body["results"][0]
    assert row["measured"] == pytest.approx(100 * 2 / 40)  # the 2 images of class RANKING[0] = 500
    assert row["status"] == "subset" and not gate.failed(body)
    assert "40 images of 20 classes" in row["method"] and "50,000 images of 1,000 classes" in row["comparison"]
    assert "0 fail, 0 known-deviation, 1 subset" in gate.render_table(body)


@pytest.mark.parametrize("args, culprit", [
    (["--models", "sret_tt"], "sret_tt"),
    (["--device", "cuda"], "cuda"),
    (["--device", "tpu"], "tpu"),
    (["--data", "/no/such/imagenet"], "/no/such/imagenet"),
    (["--checkpoints", "/no/such/dir"], "/no/such/dir"),
    (["--expected", "/no/such/folder"], "/no/such/folder"),
    (["--bogus"], "--bogus"),
])
def test_bad_input_is_one_line_naming_the_culprit_and_exit_2(args, culprit, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert run(gate.main, args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and culprit in lines[0]
    if culprit == "sret_tt":
        assert "sret_t" in lines[0]  # the closest real names


def test_a_claim_of_a_kind_the_gate_does_not_know_is_a_load_error_naming_it(tmp_path, capsys):
    folder = data_folder(tmp_path, claims=NO_CLAIM + "my_claim,slicing_cuts_flops,c,s,k,,10,30,%\n")
    assert run(gate.main, ["--models", "sret_ext", "--expected", str(folder)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(folder / "claims.csv") in line and "line 3, column 'kind'" in line and "'slicing_cuts_flops'" in line
    assert "known: deep_sliced_recursion_compact, recursion_adds_no_params" in line


def test_a_deviation_without_its_measured_value_is_a_load_error(tmp_path, capsys):
    folder = data_folder(tmp_path, deviations="## sret_s_wo_slice_384.distill_in1k 384 params_m\n\nTruncated.\n")
    assert run(gate.main, ["--models", "sret_ext", "--expected", str(folder)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(folder / "deviations.md") in line and "line 3" in line and "records no measured value" in line


@pytest.mark.slow
def test_json_is_complete(tmp_path):
    out = tmp_path / "verify.json"
    folder = data_folder(tmp_path / "expected", claims=NO_CLAIM)
    done = _run("--models", "sret_ext", "--json", str(out), "--expected", str(folder))
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    env = doc["environment"]
    for key in ("torch", "timm", "fvcore", "thop", "python", "device_name", "device_type", "threads",
                "git_commit", "git_dirty", "date"):
        assert key in env
    assert doc["kind"] == "verify" and doc["schema"] == bench.core.schema.SCHEMA
    assert doc["argv"] == ["python", "-m", "bench.verify", "--models", "sret_ext", "--json", str(out),
                           "--expected", str(folder)]
    # every field the page reads: a page can be rendered from what the gate wrote
    assert set(doc) >= set(REQUIRED["verify"])
    (row,) = doc["results"]
    assert set(row) >= set(REQUIRED_ROWS["verify"])
    assert doc["models"]["sret_ext"] == {"draws_permutation": True, "reconstructed": True}
    assert row["model"] == "sret_ext" and row["published"] == 0.7 and row["status"] == "pass"
    counter = doc["counters"]["sret_ext@224"]
    assert {"fvcore_macs", "thop_macs", "torch_counter_flops", "differences"} <= set(counter)
    assert doc["claims"] == []  # the one claim of this data folder is about sret_lt
    assert "pass" in done.stdout and "sret_ext (reconstructed)" in done.stdout


def test_a_crash_mid_write_leaves_the_old_file_and_no_half_file(tmp_path, monkeypatch):
    out = tmp_path / "verify.json"
    out.write_text('{"old": true}')

    def crash(fd):  # the new text is written, not yet on disk nor renamed into place
        raise RuntimeError("disk full")

    monkeypatch.setattr(bench.core.io.os, "fsync", crash)
    with pytest.raises(RuntimeError):
        bench.core.io.write_json_atomic(out, {"new": True})
    assert json.loads(out.read_text()) == {"old": True}
    assert list(tmp_path.iterdir()) == [out]


# --- judging a recorded run again, measuring nothing ----------------------------------------

# A real measured run of sret_t against the shipped expected/ (python -m bench.verify --models sret_t
# --json tests/data/verify-sret_t.json), recorded once.
RECORDED = REPO / "tests" / "data" / "verify-sret_t.json"


def _judged(capsys, *args: str) -> tuple[int, str, str]:
    code = run(gate.main, ["--judge", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_editing_a_published_value_changes_the_verdict_without_measuring(tmp_path, capsys):
    """sret_t.in1k has 4,755,979 parameters (the official code's count): published "4.8" accepts
    [4.75, 4.85); "4.7" accepts [4.65, 4.75), which it is not in; "4.76" accepts [4.755, 4.765)."""
    recorded = json.loads(RECORDED.read_text())
    assert recorded["measurements"]["counts"]["sret_t@224"]["params"] == OFFICIAL_PARAMS["sret_t"]
    folder = data_folder(tmp_path / "expected")
    code, out, _ = _judged(capsys, str(RECORDED), "--expected", str(folder))
    assert code == 0 and "0 fail" in out
    values = folder / "paper_values.csv"
    shipped = values.read_text(encoding="utf-8")
    assert "sret_t.in1k,224,params_m,4.8," in shipped
    for published, expected_code, status in (("4.7", 1, "fail"), ("4.76", 0, "pass")):
        values.write_text(shipped.replace("sret_t.in1k,224,params_m,4.8,", f"sret_t.in1k,224,params_m,{published},"),
                          encoding="utf-8")
        out_json = tmp_path / f"judged-{published}.json"
        code, out, _ = _judged(capsys, str(RECORDED), "--expected", str(folder), "--json", str(out_json))
        assert code == expected_code
        (row,) = [r for r in json.loads(out_json.read_text())["results"]
                  if (r["model"], r["metric"]) == ("sret_t.in1k", "params_m")]
        assert (row["published_text"], row["status"]) == (published, status)
        assert row["measured"] == OFFICIAL_PARAMS["sret_t"] / 1e6
        if status == "fail":
            assert "[4.65, 4.75)" in row["comparison"] and "1 fail" in out


def test_a_figure_nothing_measured_is_not_measured_when_judged(tmp_path, capsys):
    """A row added for a model the run did not measure: judged "not-measured", saying to measure again."""
    folder = data_folder(tmp_path / "expected")
    with (folder / "paper_values.csv").open("a", encoding="utf-8") as handle:
        handle.write("sret_t,384,gmacs,3.3,hand-made,,\n")
    code, out, _ = _judged(capsys, str(RECORDED), "--expected", str(folder), "--json", str(tmp_path / "v.json"))
    assert code == 0
    (row,) = [r for r in json.loads((tmp_path / "v.json").read_text())["results"] if r["img_size"] == 384]
    assert row["status"] == "not-measured" and "measure again" in row["method"]


@pytest.mark.slow
def test_a_measured_run_and_its_judged_file_print_the_same_verdict(tmp_path):
    folder = data_folder(tmp_path / "expected", claims=NO_CLAIM)
    out = tmp_path / "verify.json"
    measured = _run("--models", "sret_ext", "--json", str(out), "--expected", str(folder))
    judged = _run("--judge", str(out), "--expected", str(folder))
    assert (measured.returncode, judged.returncode) == (0, 0), judged.stderr
    table, last = judged.stdout.rstrip("\n").rsplit("\n", 1)
    assert table + "\n" == measured.stdout
    assert last.startswith(f"judged {out} against {folder} in ") and "measuring nothing" in last


@pytest.mark.parametrize("make, culprit", [
    (lambda tmp: tmp / "absent.json", "does not exist"),
    (lambda tmp: _text(tmp, '{"schema": 1,\n  "kind": }'), "line 2 column 11"),
    (lambda tmp: REPO / "tests" / "data" / "verify.json", "records no 'measurements'"),
    (lambda tmp: REPO / "tests" / "data" / "throughput-cpu.json", "of kind 'throughput'"),
])
def test_a_file_that_cannot_be_judged_is_one_line_naming_it_and_exit_2(tmp_path, capsys, make, culprit):
    path = make(tmp_path)
    code, out, err = _judged(capsys, str(path))
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and str(path) in lines[0] and culprit in lines[0]


def test_judging_against_a_bad_data_folder_names_file_line_and_column(tmp_path, capsys):
    folder = data_folder(tmp_path, paper_values=HEADER + "sret_t,224,gmacs,~1.1,hand-made,,\n")
    code, _, err = _judged(capsys, str(RECORDED), "--expected", str(folder))
    (line,) = err.strip().splitlines()
    assert code == 2 and f"{folder / 'paper_values.csv'}, line 2, column 'published'" in line


@pytest.mark.parametrize("flag", [["--compile"], ["--models", "sret_t"], ["--data", "."]])
def test_judge_refuses_options_that_measure(capsys, flag):
    code, _, err = _judged(capsys, str(RECORDED), *flag)
    (line,) = err.strip().splitlines()
    assert code == 2 and flag[0] in line and "--judge" in line


def _text(folder: Path, text: str) -> Path:
    path = folder / "bad.json"
    path.write_text(text, encoding="utf-8")
    return path
