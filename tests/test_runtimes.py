"""bench.measure.runtimes: every runtime computes what torch eager computes on the same weights,
to the tolerance of its precision; a runtime missing here is reported, never a failure."""
from __future__ import annotations

import importlib.metadata

import pytest
import torch

from bench.measure import runtimes
from sret.model import SReT


def tiny() -> SReT:
    """A small sliced SReT at 64 pixels, so that every runtime's export and run take seconds."""
    return SReT(img_size=64, base_dims=(8, 8, 8), heads=(2, 2, 2), depth=(4, 2, 2), recursive_num=(2, 1, 1),
                groups_first=(4, 2, 1), groups_recursive=(2, 1, 1), mlp_ratio=2.0, num_classes=10).eval()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(runtimes.RUNTIMES))
def test_every_runtime_agrees_with_torch_eager_in_fp32(name):
    assert runtimes.status(name, "fp32")["available"], runtimes.status(name, "fp32")["why"]  # the deploy extra
    result = runtimes.agreement(name, tiny(), torch.randn(2, 3, 64, 64))
    assert result["status"] == "pass" and result["tolerance"] == 1e-4, result


@pytest.mark.parametrize("name", ["torch", "openvino"])
def test_bf16_agrees_where_the_cpu_offers_it_and_says_why_not_elsewhere(name):
    state = runtimes.status(name, "bf16")
    if not state["available"]:
        assert "BF16" in state["why"] and name == "openvino"
        return
    result = runtimes.agreement(name, tiny(), torch.randn(2, 3, 64, 64), "bf16")
    assert result["status"] == "pass" and result["tolerance"] == 0.05, result


def uninstall(monkeypatch, package: str) -> None:
    """Make ``package`` look absent to the version lookup the runtimes use to tell whether it is installed."""
    real = importlib.metadata.version

    def version(name):
        if name == package:
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)


def test_a_runtime_that_is_not_installed_says_so(monkeypatch):
    uninstall(monkeypatch, "onnxruntime")
    state = runtimes.status("onnxruntime", "fp32")
    assert not state["available"] and state["version"] is None
    assert state["why"].startswith("not installed") and "sret-bench[deploy]" in state["why"]
    assert runtimes.status("onnxruntime", "bf16")["why"].startswith("not installed")


def test_the_tolerances_are_stated_in_the_method():
    assert runtimes.AGREEMENT_ATOL == {"fp32": 1e-4, "bf16": 0.05}
    assert "within 0.0001 in fp32 and 0.05 in bf16" in runtimes.AGREEMENT_METHOD


@pytest.mark.slow
def test_throughput_times_the_runtimes_side_by_side_and_reports_a_missing_one(monkeypatch, capsys, tmp_path):
    import json

    from bench.measure import models, throughput_run

    installed = importlib.metadata.version("onnxruntime")
    uninstall(monkeypatch, "openvino")
    monkeypatch.setattr(models, "create", lambda name, img_size=None, **kwargs: (tiny(), 64))
    code = throughput_run.main(["--models", "sret_t", "--img-size", "64", "--runtime", "torch,onnxruntime,openvino",
                            "--kernels", "stock", "--batch-sizes", "2", "--warmup", "1", "--iters", "1",
                            "--rounds", "2", "--json", str(tmp_path / "tp.json")])
    out = capsys.readouterr().out
    assert code == 0 and "runtime openvino: not installed" in out
    document = json.loads((tmp_path / "tp.json").read_text())
    rows = {row["runtime"]: row for row in document["results"]}
    assert set(rows) == {"torch", "onnxruntime"} and all(row["error"] is None for row in rows.values())
    assert rows["onnxruntime"]["runtime_version"] == installed and rows["onnxruntime"]["kernels"] is None
    assert rows["onnxruntime"]["agreement_max_abs_logit_difference"] <= rows["onnxruntime"]["agreement_tolerance"]
    assert all(row["precision"] == "fp32" and row["rounds"] == 2 for row in rows.values())
    states = {state["runtime"]: state for state in document["config"]["runtimes"]}
    assert not states["openvino"]["available"] and states["openvino"]["why"].startswith("not installed")
    assert [r["comparison"] for r in document["ratios"]] == ["runtime"]


def test_torchs_own_bf16_rows_are_checked_against_its_fp32_and_fp32_rows_are_not():
    from bench.measure import throughput_run
    from bench.measure.throughput_run import Config

    model = tiny()
    bf16 = throughput_run.subjects_of("sret_t", model, 64, 1, Config(models=("sret_t",), kernels=("stock", "tuned"),
                                                                 runtimes=("torch",), amp="bf16"))
    assert [s.kernels for s in bf16] == ["stock", "tuned"]
    for subject in bf16:  # one check of autocast against fp32, on every policy's row
        assert subject.agreement["runtime"] == "torch" and subject.agreement["precision"] == "bf16"
        assert 0 < subject.agreement["max_abs_logit_difference"] <= subject.agreement["tolerance"] == 0.05
    fp32 = throughput_run.subjects_of("sret_t", model, 64, 1, Config(models=("sret_t",), runtimes=("torch",)))
    assert all(subject.agreement is None for subject in fp32)
    assert throughput_run.config_block(Config(models=("sret_t",), runtimes=("torch",), amp="bf16"))["agreement_method"]
