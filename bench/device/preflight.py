"""`python3 -m bench.device.preflight`: one line of versions, or what is missing, before any device time is spent.

Looks every package ``bench.gpu`` needs up without importing it, so a missing one is named
in well under a second; only then imports them and the project's own GPU path (so an API the
image's torch lacks shows here, not minutes into the run). Prints one line: the versions of
python, torch, torchvision, timm, fvcore, thop and CUDA, then "ok" or every failure. Exits 1
on any failure, 0 otherwise.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import platform
import sys
from importlib import metadata

PACKAGES = ("torch", "torchvision", "timm", "fvcore", "thop", "iopath", "yacs", "termcolor", "tabulate",
            "portalocker", "safetensors", "pandas", "tqdm")
PROJECT = ("sret", "bench.measure.counting", "bench.measure.gpu_run")  # imported once every package is there
SHOWN = ("torch", "torchvision", "timm", "fvcore", "thop")
MIN_TIMM = (1, 0, 25)  # pyproject.toml's lower bound


def version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def release(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def absent(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):  # ValueError: blocked by a None in sys.modules
        return True


def problems(device: str) -> list[str]:
    """The packages not there; else every import that fails, then the timm version and the device."""
    found = [f"{name} (not installed)" for name in PACKAGES if absent(name)]
    if found:
        return found
    for name in PACKAGES + PROJECT:
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - any import failure is the finding
            found.append(f"{name} ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})")
    if version("timm") != "-" and release(version("timm")) < MIN_TIMM:
        found.append(f"timm {version('timm')} < {'.'.join(map(str, MIN_TIMM))}")
    torch = sys.modules.get("torch")
    if device.startswith("cuda") and torch is not None and not torch.cuda.is_available():
        found.append("CUDA (torch sees no GPU)")
    return found


def cuda_text() -> str:
    torch = sys.modules.get("torch")
    if torch is None:
        return "cuda not checked"
    if not torch.cuda.is_available():
        return f"cuda {torch.version.cuda or '-'} (no GPU visible)"
    return f"cuda {torch.version.cuda} ({torch.cuda.get_device_name(0)})"


def line(device: str) -> tuple[str, bool]:
    found = problems(device)
    versions = ", ".join([f"python {platform.python_version()}", *(f"{n} {'-' if absent(n) else version(n)}" for n in SHOWN), cuda_text()])
    return f"preflight: {versions}; " + (f"MISSING: {'; '.join(found)}" if found else "ok"), not found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.device.preflight", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (a GPU must be visible) or cpu (default: cuda)")
    text, ok = line(parser.parse_args(argv).device)
    print(text, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
