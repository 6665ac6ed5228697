"""What produced a measurement: the command, versions, device, threads, commit (dirty or not) and date.

Every producer writes its document through :func:`document`, so every results file carries the
same environment block and the argv that made it.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
from importlib import metadata
from typing import Any, Sequence

import torch

from bench.core import git
from bench.core.schema import KINDS, SCHEMA
from sret import kernel_choice


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def device_name(device: str) -> str:
    """A human name for the device: the GPU's name, or the CPU model."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return kernel_choice.cpu_name()


def environment(device: str = "cpu") -> dict[str, Any]:
    """Versions, device, threads, commit and date of a measurement."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "timm": _version("timm"),
        "fvcore": _version("fvcore"),
        "thop": _version("thop"),
        "device": device,
        "device_type": "gpu" if device.startswith("cuda") else "cpu",
        "device_name": device_name(device),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "git_commit": git.commit(),
        "git_dirty": git.dirty(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def command(module: str, argv: Sequence[str]) -> list[str]:
    """The command line a results file records: ``python -m <module> <argv...>``."""
    return ["python", "-m", module, *argv]


def document(kind: str, device: str, argv: Sequence[str], **body: Any) -> dict[str, Any]:
    """A results document of ``kind`` with its environment block and the command that wrote it."""
    if kind not in KINDS:
        raise ValueError(f"unknown results kind {kind!r}")
    return {"schema": SCHEMA, "kind": kind, "argv": list(argv), "environment": environment(device), **body}
