"""The runtimes a model can be timed in: torch eager, onnxruntime (CPU EP), OpenVINO (CPU).

Each adapter turns one model (its weights) into a callable on a batch of images. The two
deployment runtimes run the model's ONNX export (``sret.export``), which draws SReT's slices in
the graph as released; an agreement check freezes them first (``fix_permutations``), so the
only difference left from torch eager is the runtime's arithmetic, held to AGREEMENT_ATOL.
A runtime that is not installed, or lacks a precision on this CPU, says why instead of failing.
"""
from __future__ import annotations

import copy
import importlib.metadata
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from sret.export import export_onnx, require

Forward = Callable[[torch.Tensor], torch.Tensor]
# Largest absolute logit difference from torch eager fp32 on the same weights and input: fp32 is
# another runtime's rounding (1.5e-6 measured); bf16 keeps 8 mantissa bits (0.012 measured for torch autocast).
AGREEMENT_ATOL = {"fp32": 1e-4, "bf16": 0.05}
AGREEMENT_METHOD = ("the runtime's logits against torch eager fp32 (torch.no_grad) on the same weights and one "
                    "random input, SReT's slices frozen to the same permutations; largest absolute difference, "
                    f"within {AGREEMENT_ATOL['fp32']:g} in fp32 and {AGREEMENT_ATOL['bf16']:g} in bf16")
INSTALL = "pip install 'sret-bench[deploy]'"


class Runtime:
    """One way to run a model. ``package`` is the distribution that must be installed."""

    name = ""
    package = ""

    def available(self) -> tuple[bool, str]:
        try:
            importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            return False, f"not installed ({self.package}: {INSTALL})"
        return True, ""

    def version(self) -> str | None:
        return importlib.metadata.version(self.package) if self.available()[0] else None

    def supports(self, precision: str) -> tuple[bool, str]:
        return (True, "") if precision == "fp32" else (False, f"{self.name} on the CPU runs fp32 only here")

    def prepare(self, model: nn.Module, example: torch.Tensor, precision: str) -> Forward:
        raise NotImplementedError


class TorchEager(Runtime):
    name, package = "torch", "torch"

    def supports(self, precision: str) -> tuple[bool, str]:
        return True, ""  # bf16 through autocast

    def prepare(self, model: nn.Module, example: torch.Tensor, precision: str) -> Forward:
        model = model.eval()
        if precision == "fp32":
            return model

        def forward(x: torch.Tensor) -> torch.Tensor:
            with torch.autocast(x.device.type, dtype=torch.bfloat16):
                return model(x).float()
        return forward


def _onnx_file(model: nn.Module, example: torch.Tensor) -> Path:
    """The model exported to a temporary ONNX file (kept until the process ends, as a session reads it)."""
    folder = Path(tempfile.mkdtemp(prefix="sret-runtime-"))
    return export_onnx(model, folder / "model.onnx", img_size=example.shape[-1])


class OnnxRuntime(Runtime):
    name, package = "onnxruntime", "onnxruntime"

    def prepare(self, model: nn.Module, example: torch.Tensor, precision: str) -> Forward:
        ort = require("onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the same threads torch gets
        # Idle threads sleep instead of spinning, so they do not slow the rows timed between its calls.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(_onnx_file(model, example)), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda x: torch.from_numpy(session.run(None, {name: x.numpy()})[0])


class OpenVino(Runtime):
    name, package = "openvino", "openvino"
    HINTS = {"fp32": "f32", "bf16": "bf16"}

    def supports(self, precision: str) -> tuple[bool, str]:
        if precision == "fp32":
            return True, ""
        if precision not in self.HINTS:
            return False, f"openvino is run here in {' or '.join(self.HINTS)}, not {precision}"
        capabilities = require("openvino").Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        if precision.upper() in capabilities:
            return True, ""
        return False, f"this CPU offers {', '.join(capabilities)} to OpenVINO, not {precision.upper()}"

    def prepare(self, model: nn.Module, example: torch.Tensor, precision: str) -> Forward:
        ov = require("openvino")
        compiled = ov.Core().compile_model(str(_onnx_file(model, example)), "CPU", {
            "INFERENCE_PRECISION_HINT": self.HINTS[precision], "INFERENCE_NUM_THREADS": torch.get_num_threads()})
        return lambda x: torch.from_numpy(compiled(x.numpy())[0])


RUNTIMES: dict[str, Runtime] = {runtime.name: runtime for runtime in (TorchEager(), OnnxRuntime(), OpenVino())}


def status(name: str, precision: str) -> dict[str, Any]:
    """Whether ``name`` can run ``precision`` here, why not, and its version."""
    runtime = RUNTIMES[name]
    ok, why = runtime.available()
    if ok:
        ok, why = runtime.supports(precision)
    return {"runtime": name, "precision": precision, "version": runtime.version(), "available": ok, "why": why}


def frozen(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode, SReT's slices frozen, so that runtimes can be compared on it."""
    model = copy.deepcopy(model).eval()
    if hasattr(model, "fix_permutations"):
        model.fix_permutations()
    return model


def check(forward: Forward, model: nn.Module, example: torch.Tensor, name: str, precision: str) -> dict[str, Any]:
    """``forward`` (a runtime's, prepared from the frozen ``model``) against torch eager fp32 on ``example``."""
    with torch.no_grad():
        difference = (forward(example).float() - model(example)).abs().max().item()
    tolerance = AGREEMENT_ATOL.get(precision)
    holds = tolerance is not None and difference <= tolerance
    return {"runtime": name, "precision": precision, "max_abs_logit_difference": difference,
            "tolerance": tolerance, "status": "pass" if holds else "fail", "method": AGREEMENT_METHOD}


def agreement(name: str, model: nn.Module, example: torch.Tensor, precision: str = "fp32") -> dict[str, Any]:
    """The runtime's logits against torch eager fp32 on the same weights and input (AGREEMENT_METHOD)."""
    model = frozen(model)
    return check(RUNTIMES[name].prepare(model, example, precision), model, example, name, precision)
