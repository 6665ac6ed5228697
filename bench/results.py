"""The one results schema: an environment block, atomic JSON writes, and schema-checked reads.

Every command that measures writes a document ``{"schema": ..., "kind": ...,
"environment": {...}, ...}`` through :func:`write_json_atomic`; the report reads them back
through :func:`read_results`, which names a file from another schema instead of guessing.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

SCHEMA = "sret-bench/1"
KINDS = ("verify", "throughput", "accuracy", "model_speed", "slicing_speed", "device_check", "gpu_run")


# The ImageNet-1k validation set the published top-1 figures were measured on.
IMAGENET_VAL_IMAGES, IMAGENET_VAL_CLASSES = 50_000, 1_000


def is_full_val(accuracy: dict[str, Any]) -> bool:
    """Whether an accuracy document measured the full ImageNet-1k val (a subset is not comparable)."""
    return accuracy["images"] >= IMAGENET_VAL_IMAGES and accuracy["classes"] == IMAGENET_VAL_CLASSES


class ResultsError(Exception):
    """A results file that is missing, malformed or of another schema."""


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The commit of the checkout the harness runs from, if it is one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def device_name(device: str) -> str:
    """A human name for the device: the GPU's name, or the CPU model."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str = "cpu") -> dict[str, Any]:
    """What produced a measurement: versions, device, threads, commit and date."""
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
        "git_commit": git_commit(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def document(kind: str, device: str, **body: Any) -> dict[str, Any]:
    """A results document of ``kind`` with its environment block."""
    if kind not in KINDS:
        raise ValueError(f"unknown results kind {kind!r}")
    return {"schema": SCHEMA, "kind": kind, "environment": environment(device), **body}


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A temporary file in ``path``'s folder (so the rename is atomic) with normal permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; results are meant to be shared
    return fd, tmp


def write_json_atomic(path: str | os.PathLike, payload: Any) -> None:
    """Write JSON so that a crash leaves either the old file or the new one, never half."""
    path = Path(path)
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, sort_keys=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file (CSV, Markdown) atomically, like :func:`write_json_atomic`."""
    path = Path(path)
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_results(path: str | os.PathLike) -> dict[str, Any]:
    """Read a results document, naming the file if it is missing, malformed or foreign."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"results file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"results file {path} is not valid JSON ({error})") from None
    if not isinstance(payload, dict) or "schema" not in payload:
        raise ResultsError(f"results file {path} has no 'schema' field: not a sret-bench results file")
    if payload["schema"] != SCHEMA:
        raise ResultsError(
            f"results file {path} is of schema {payload['schema']!r}, this version reads {SCHEMA!r}"
        )
    if payload.get("kind") not in KINDS:
        raise ResultsError(f"results file {path} has unknown kind {payload.get('kind')!r}")
    return payload
