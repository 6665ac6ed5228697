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


def test_a_runtime_that_is_not_installed_says_so(monkeypatch):
    real = importlib.metadata.version

    def version(package):
        if package == "onnxruntime":
            raise importlib.metadata.PackageNotFoundError(package)
        return real(package)

    monkeypatch.setattr(importlib.metadata, "version", version)
    state = runtimes.status("onnxruntime", "fp32")
    assert not state["available"] and state["version"] is None
    assert state["why"].startswith("not installed") and "sret-bench[deploy]" in state["why"]
    assert runtimes.status("onnxruntime", "bf16")["why"].startswith("not installed")


def test_the_tolerances_are_stated_in_the_method():
    assert runtimes.AGREEMENT_ATOL == {"fp32": 1e-4, "bf16": 0.05}
    assert "within 0.0001 in fp32 and 0.05 in bf16" in runtimes.AGREEMENT_METHOD
