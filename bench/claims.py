"""The paper's text claims, measured on the models rather than taken on trust.

Each measurement returns a number in the unit of ``expected/claims.csv`` plus the details
it came from, so the report can show what was measured and how.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import timm
from torch import nn

import sret  # noqa: F401  (registers the models)
from bench.flops import FlopCount, count_flops
from sret.analysis import applied_depth, recursion_params
from sret.model import _TINY, SReT

Counter = Callable[[str, int], FlopCount]

# The paper names no configuration for its >100-layer models. Ours keeps SReT-T's blocks,
# widths and slices and applies each shared block 8 / 16 / 8 times per stage: 120 block
# applications (240 layers with their NLLs) on SReT-T's unique blocks.
DEEP_MODEL_ARGS = dict(_TINY, depth=(16, 80, 24), recursive_num=(2, 5, 3))


@dataclass
class ClaimMeasurement:
    measured: float
    details: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


def recursion_adds_no_params(models: tuple[str, ...], build: Callable[[str], nn.Module]) -> ClaimMeasurement:
    """Block parameters stored beyond each shared block's first application (0 if shared)."""
    details = []
    for name in models:
        counts = recursion_params(build(name))
        details.append({"model": name, **counts.to_dict()})
    worst = max(d["block_params_added_by_recursion"] for d in details)
    nll = ", ".join(f"{d['model']} {d['nll'] / 1e6:.2f}M" for d in details)
    return ClaimMeasurement(worst, details, note=(
        f"shared blocks store their weights once; every application is followed by its own "
        f"non-shared NLL layer, which does add parameters ({nll})"))


def slicing_cuts_flops(models: tuple[str, ...], count: Counter) -> ClaimMeasurement:
    """FLOPs saved by slicing: 100 * (1 - sliced / without slice), the smallest over models."""
    details = []
    for name in models:
        sliced, full = count(name, 224).fvcore_macs, count(f"{name}_wo_slice", 224).fvcore_macs
        details.append({"model": name, "gflops_sliced": sliced / 1e9, "gflops_wo_slice": full / 1e9,
                        "reduction_pct": 100 * (1 - sliced / full)})
    reductions = [d["reduction_pct"] for d in details]
    return ClaimMeasurement(min(reductions), details, note="range over models: " + ", ".join(
        f"{d['model']} {d['reduction_pct']:.1f}%" for d in details))


def deep_recursion_is_compact() -> ClaimMeasurement:
    """Build a sliced recursive model of more than 100 shared-block applications."""
    model = SReT(**DEEP_MODEL_ARGS)
    counts = count_flops(model, 224, "sret_t_deep")
    applications = sum(DEEP_MODEL_ARGS["depth"])
    return ClaimMeasurement(counts.params / 1e6, [{
        "model": "SReT-T blocks, depth 16-80-24, recursive_num 2-5-3",
        "block_applications": applications, "layers_with_nll": applied_depth(model),
        "params_m": counts.params / 1e6, "gflops": counts.gflops}],
        note=f"{applications} shared-block applications ({applied_depth(model)} layers with NLLs): "
             f"{counts.params / 1e6:.2f}M parameters, {counts.gflops:.2f} GFLOPs")


def measure_claim(claim_id: str, models: tuple[str, ...], count: Counter,
                  build: Callable[[str], nn.Module] = timm.create_model) -> ClaimMeasurement:
    if claim_id == "recursion_adds_no_params":
        return recursion_adds_no_params(models, build)
    if claim_id == "slicing_cuts_flops_10_30":
        return slicing_cuts_flops(models, count)
    if claim_id == "deep_sliced_recursion_compact":
        return deep_recursion_is_compact()
    raise KeyError(f"no measurement for claim {claim_id!r}")
