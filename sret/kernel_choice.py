"""Where the tuned kernel policy switches kernels, decided on the machine it runs on.

The tuned policy (``sret.kernels``) runs oneDNN's linear from some size of call and SDPA from some
number of tokens attended over. Where those crossovers lie depends on the CPU and the torch
build: a table measured on an AMD EPYC added 2% on an Intel Xeon. So the crossovers are a
measured decision (``python -m bench.kernels`` measures every layer shape of the models and
writes one), cached per CPU model and torch version, read when the tuned policy first asks for it; without
a decision for this machine the defaults below apply, and say where they were measured. Every
results file that used the tuned policy records the decision it ran under (``current().record()``).
"""
from __future__ import annotations

import json
import os
import platform
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

CACHE_ENV = "SRET_CACHE"


@dataclass(frozen=True)
class KernelChoice:
    """The tuned policy's crossovers, and where and how they were decided."""

    sdpa_min_tokens: int  # SDPA from this many tokens attended over, the explicit matmuls below
    onednn_min_macs: int  # oneDNN's linear from this many multiply-adds a call, F.linear below
    source: str  # where the decision comes from, in words
    cpu: str = ""
    torch: str = ""
    measurements: list[dict[str, Any]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """What a results file records of the decision (its measurements stay in the cache file)."""
        return {"sdpa_min_tokens": self.sdpa_min_tokens, "onednn_min_macs": self.onednn_min_macs,
                "source": self.source, "cpu": self.cpu, "torch": self.torch}


# Measured on this project's 2-core AMD EPYC (2026-11-27, torch 2.14.1, batch 8, 2 threads): oneDNN's
# linear ran 1.8-2.5x F.linear on every layer of at least 2^20 multiply-adds and lost on smaller
# ones; the explicit attention won on slices of 49-98 tokens, SDPA from 392.
DEFAULT = KernelChoice(256, 1 << 20, "default: measured on an AMD EPYC (2026-11-27, torch 2.14.1), "
                                     "not on this machine (python -m bench.kernels decides here)")


def first_cpu_info() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo (``model name``, ``flags``, ...), read once;
    empty where there is no /proc/cpuinfo."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    if fields:
                        break  # the blank line that ends the first processor's block
                    continue
                name, _, value = line.partition(":")
                fields.setdefault(name.strip(), value.strip())
    except OSError:
        pass
    return fields


def cpuinfo_field(key: str) -> str | None:
    """The first processor's ``key`` field of /proc/cpuinfo, or None where there is none."""
    return first_cpu_info().get(key)


def vector_units(flags: set[str]) -> str:
    """The widest matrix or vector units ``flags`` name: what decides which kernels win here."""
    for flag, units in (("amx_tile", "AMX"), ("avx512_bf16", "AVX-512 BF16"), ("avx512f", "AVX-512"),
                        ("avx2", "AVX2")):
        if flag in flags:
            return units
    return ""


def cpu_name() -> str:
    """The CPU model with its family, model and widest units, e.g. ``AMD EPYC (family 25 model 17,
    AVX-512 BF16)``: a virtual machine may name an AVX2 and an AVX-512 generation alike ("AMD EPYC"),
    and a speed figure or a cached kernel decision must tell them apart. The platform's processor
    where there is no /proc/cpuinfo."""
    info = first_cpu_info()
    name = info.get("model name") or platform.processor() or platform.machine()
    family, model = info.get("cpu family"), info.get("model")
    details = [f"family {family} model {model}"] if family and model else []
    units = vector_units(set(info.get("flags", "").split()))
    details += [units] if units else []
    return f"{name} ({', '.join(details)})" if details else name


def cache_path(cpu: str | None = None, torch_version: str | None = None) -> Path:
    """``$SRET_CACHE/kernels/<cpu>-torch<version>.json`` (default cache ``~/.cache/sret-bench``)."""
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "sret-bench")
    slug = re.sub(r"[^a-z0-9]+", "-", (cpu or cpu_name()).lower()).strip("-") or "cpu"
    version = re.sub(r"[^0-9a-z.]+", "-", (torch_version or torch.__version__).lower())
    return root / "kernels" / f"{slug}-torch{version}.json"


def load(path: Path | None = None) -> KernelChoice | None:
    """The decision cached for this machine, or None (no file, or one that is not a decision)."""
    path = path or cache_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return KernelChoice(**data)
    except (OSError, ValueError, TypeError):
        return None


def save(choice: KernelChoice, path: Path | None = None) -> Path:
    """Write the decision for this machine atomically (a half-written cache is never read)."""
    path = path or cache_path(choice.cpu or None, choice.torch or None)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(choice), indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


_current: list[KernelChoice | None] = [None]


def current() -> KernelChoice:
    """The decision the tuned policy runs under now: the cached one for this machine, read when first
    asked for (so ``$SRET_CACHE`` set after ``import sret`` still counts), else the default."""
    if _current[0] is None:
        _current[0] = load() or DEFAULT
    return _current[0]


def use(choice: KernelChoice | None) -> None:
    """Run the tuned policy under ``choice`` from now on (a fresh decision, or a test's); None: read
    this machine's cached decision again when next asked for, as a new process does."""
    _current[0] = choice
