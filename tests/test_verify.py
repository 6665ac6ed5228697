"""The gate: it passes on the paper's models, fails when a model changes, and reports honestly."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import timm
import torch

import bench.results
from bench import verify as gate
from conftest import REPO
from _imagenet_fixtures import IMAGES_PER_CLASS, RANKING, TOTAL, make_folder

HEADER = "model,img_size,metric,published,source,note,status_override\n"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.verify", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


def _row(body: dict, model: str, metric: str) -> dict:
    return next(r for r in body["results"] if r["model"] == model and r["metric"] == metric)


def test_the_papers_sret_t_passes_and_one_block_more_fails():
    body = gate.verify(["sret_t"], progress=False)
    assert _row(body, "sret_t", "gflops")["status"] == "pass"
    assert not gate.failed(body)

    def one_block_more(name, **kwargs):
        if name == "sret_t":  # one more shared block in stage 1, applied twice as the others
            kwargs.update(depth=(4, 12, 6), recursive_num=(2, 6, 3))
        return timm.create_model(name, **kwargs)

    changed = gate.verify(["sret_t"], build=one_block_more, progress=False)
    assert _row(changed, "sret_t", "gflops")["status"] == "fail"
    assert _row(changed, "sret_t.in1k", "params_m")["status"] == "fail"
    assert gate.failed(changed)


def test_statuses_follow_the_rounding_rule_on_hand_made_figures(tmp_path):
    csv = tmp_path / "values.csv"
    csv.write_text(HEADER + "sret_ext,224,gflops,0.7,a,,\nsret_ext,224,params_m,3.2,b,,\n"
                   "sret_t,224,gflops,1.10,c,,\nsret_t,224,params_m,4.7,d,,\n", encoding="utf-8")
    body = gate.verify(["sret_ext", "sret_t"], expected_path=csv, progress=False)
    statuses = [(r["model"], r["metric"], r["status"]) for r in body["results"]]
    # 1.1217 rounds to 1.12, not 1.10; 4.756 rounds to 4.8, not 4.7; 3.188 rounds to 3.2.
    assert statuses == [("sret_ext", "gflops", "pass"), ("sret_ext", "params_m", "pass"),
                        ("sret_t", "gflops", "fail"), ("sret_t", "params_m", "fail")]


def test_top1_is_not_measured_without_data_and_measured_with_it(tmp_path):
    csv = tmp_path / "values.csv"
    csv.write_text(HEADER + "sret_t.in1k,224,top1,36.4,hand-made,,\n", encoding="utf-8")
    body = gate.verify(["sret_t.in1k"], expected_path=csv, progress=False)
    row = body["results"][0]
    assert row["status"] == "not-measured" and row["measured"] is None and "--data" in row["note"]

    # A checkpoint whose head always answers RANKING[0]: top-1 is the share of those images.
    model = timm.create_model("sret_t")
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.linspace(0, -1, 1000))
        model.head.bias[RANKING[0]] = 10.0
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    torch.save({"model": model.state_dict()}, checkpoints / "sret_t.in1k.pth")
    make_folder(tmp_path / "val")
    body = gate.verify(["sret_t.in1k"], checkpoints=checkpoints, data=tmp_path / "val",
                       expected_path=csv, progress=False)
    row = body["results"][0]
    assert row["measured"] == pytest.approx(100 * IMAGES_PER_CLASS[RANKING[0]] / TOTAL)  # 36.36 -> 36.4
    assert row["status"] == "pass"


@pytest.mark.parametrize("args, culprit", [
    (["--models", "sret_tt"], "sret_tt"),
    (["--device", "cuda"], "cuda"),
    (["--device", "tpu"], "tpu"),
    (["--data", "/no/such/imagenet"], "/no/such/imagenet"),
    (["--checkpoints", "/no/such/dir"], "/no/such/dir"),
    (["--bogus"], "--bogus"),
])
def test_bad_input_is_one_line_naming_the_culprit_and_exit_2(args, culprit):
    if args == ["--device", "cuda"] and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    done = _run(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and culprit in lines[0] and "Traceback" not in done.stderr
    if culprit == "sret_tt":
        assert "sret_t" in lines[0]  # the closest real names


def test_json_is_complete(tmp_path):
    out = tmp_path / "verify.json"
    done = _run("--models", "sret_ext", "--json", str(out))
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    env = doc["environment"]
    for key in ("torch", "timm", "fvcore", "thop", "python", "device_name", "device_type", "threads",
                "git_commit", "date"):
        assert key in env
    assert doc["kind"] == "verify" and doc["schema"] == bench.results.SCHEMA
    (row,) = doc["results"]
    assert set(row) >= {"model", "img_size", "metric", "published", "measured", "source", "status", "note"}
    assert row["model"] == "sret_ext" and row["published"] == 0.7 and row["status"] == "pass"
    counter = doc["counters"]["sret_ext@224"]
    assert {"fvcore_macs", "thop_macs", "torch_counter_flops", "differences"} <= set(counter)
    assert {c["claim_id"] for c in doc["claims"]} == {"deep_sliced_recursion_compact"}
    assert "pass" in done.stdout and "sret_ext (reconstructed)" in done.stdout


def test_a_crash_mid_write_leaves_the_old_file_and_no_half_file(tmp_path, monkeypatch):
    out = tmp_path / "verify.json"
    out.write_text('{"old": true}')

    def crash(*args, **kwargs):
        args[1].write('{"half": ')
        raise RuntimeError("disk full")

    monkeypatch.setattr(json, "dump", crash)
    with pytest.raises(RuntimeError):
        bench.results.write_json_atomic(out, {"new": True})
    assert json.loads(out.read_text()) == {"old": True}
    assert list(tmp_path.iterdir()) == [out]
