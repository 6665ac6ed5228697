"""SReT out of PyTorch: ``torch.export`` programs and ONNX files.

Exported, an SReT draws its slices' permutations in the graph (argsort of uniform noise: ONNX
RandomUniform and TopK), so the exported model is random in every run, as released. To compare an
export with eager, freeze them first with ``model.fix_permutations()`` (constants in the graph).

ONNX needs the ``deploy`` extra (``pip install 'sret-bench[deploy]'``: onnx, onnxscript,
onnxruntime, openvino); ``require`` names it when a package is missing.
"""
from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from typing import Optional, Union

import torch
from torch import nn

DEFAULT_OPSET = 18  # the torch.export-based exporter's own opset; onnxruntime and OpenVINO read it
EXAMPLE_BATCH = 2  # torch.export specialises a batch of 1; 2 keeps the batch axis dynamic


class MissingDependency(ImportError):
    """A package of the ``deploy`` extra is not installed."""


def require(module: str):
    """Import ``module`` or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependency(f"{module} is not installed; it comes with the deploy extra: "
                                f"pip install 'sret-bench[deploy]'") from error


def example_input(model: nn.Module, img_size: Optional[int] = None, batch: int = EXAMPLE_BATCH) -> torch.Tensor:
    """A random batch at ``img_size``, else at the model's pretrained input size."""
    if img_size is None:
        if not hasattr(model, "pretrained_cfg"):
            raise ValueError("img_size is needed: the model has no pretrained cfg to take its input size from")
        img_size = model.pretrained_cfg["input_size"][-1]
    return torch.randn(batch, getattr(model, "in_chans", 3), img_size, img_size)


def export_program(model: nn.Module, img_size: Optional[int] = None,
                   dynamic_batch: bool = True) -> torch.export.ExportedProgram:
    """The model in eval mode as a ``torch.export`` program, the batch axis dynamic if asked."""
    model = model.eval()
    x = example_input(model, img_size)
    dynamic_shapes = ({0: torch.export.Dim("batch")},) if dynamic_batch else None
    return torch.export.export(model, (x,), dynamic_shapes=dynamic_shapes)


def export_onnx(model: nn.Module, path: Union[str, Path], img_size: Optional[int] = None,
                opset: int = DEFAULT_OPSET, dynamic_batch: bool = True) -> Path:
    """Write the model as one ONNX file (weights inside), checked by ``onnx.checker``.

    Atomic: written beside ``path`` under a temporary name and renamed once checked, so a failed
    export never leaves a partial file where a runtime would load it.
    """
    onnx = require("onnx")
    require("onnxscript")  # the exporter's translation library
    path = Path(path)
    program = export_program(model, img_size, dynamic_batch)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        torch.onnx.export(program, f=tmp, opset_version=opset, input_names=["input"], output_names=["logits"],
                          external_data=False)
        onnx.checker.check_model(tmp, full_check=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
