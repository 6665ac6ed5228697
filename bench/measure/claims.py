"""The paper's text claims, measured on the models rather than taken on trust.

Every claim id of ``expected/claims.csv`` has one measurement in :data:`MEASUREMENTS`
(checked when the claims are loaded). A measurement returns the values the claim's
published range must hold for (one per model or part: all must agree), the conditions
the claim states that did not hold, the details it came from, and a note saying how each
part was measured.
"""
from __future__ import annotations

import copy
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import nn

import sret  # noqa: F401  (registers the models)
from bench.measure import timing
from bench.measure.counting import FlopCount, count_params, example_input, headline_macs
from sret.analysis import applied_depth
from sret.model import _TINY, NonLinearProjection, RecursiveStage, SharedBlock, SReT

Counter = Callable[[str, int], FlopCount]
Builder = Callable[..., nn.Module]

# The paper names no configuration for its >100-layer models. Ours keeps SReT-T's blocks,
# widths and slices and applies each shared block 8 / 16 / 8 times per stage: 120 block
# applications (240 layers with their NLLs) on SReT-T's unique blocks.
DEEP_MODEL_ARGS = dict(_TINY, depth=(16, 80, 24), recursive_num=(2, 5, 3))
# Nor for the "even 1000": SReT-T's 10 shared blocks, each applied 100 times in a row,
# 1000 block applications (2000 layers with their NLLs).
THOUSAND_LOOPS = 100
# Its image runs on one thread: its 2000 layers are small, sequential kernels whose thread
# barriers stall when the CPU is shared. On the 2-core dev machine at a 1-minute load of 5-7,
# one image took 21-48 s on two threads and 2.8 s on one, measured side by side (1.0 s on
# two threads when the machine was idle).
RUN_THREADS = 1


def sret_t_blocks_applied(loops: int) -> dict[str, Any]:
    """SReT-T's configuration with each of its shared blocks applied ``loops`` times."""
    return dict(_TINY, depth=tuple(loops * r for r in _TINY["recursive_num"]))


@dataclass
class ClaimMeasurement:
    values: list[float]  # what the published range must hold for: one per model or part
    details: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    unmet: list[str] = field(default_factory=list)  # stated conditions that did not hold


# --- recursion adds no parameters ------------------------------------------------------

def non_recursive_counterpart(model: nn.Module) -> nn.Module:
    """A copy of a recursive SReT in which each unique shared block is applied once.

    Each block keeps its first application (contiguous ``groups_first`` slices) and the NLL
    that follows it; its further applications and their NLLs are dropped. Stem, pools, norm
    and head are unchanged, so the two differ only by what recursion adds.
    """
    counterpart = copy.deepcopy(model)  # deepcopy keeps a shared block one module
    for stage in counterpart.modules():
        if isinstance(stage, RecursiveStage):
            firsts = range(0, len(stage.blocks) // 2, stage.loops)
            stage.blocks = nn.ModuleList(stage.blocks[2 * a + i] for a in firsts for i in (0, 1))
            stage.loops = 1
            stage.reschedule()
    return counterpart.eval()


def _nll_params(model: nn.Module) -> int:
    layers = {id(m): m for m in model.modules() if isinstance(m, NonLinearProjection)}
    return sum(count_params(m) for m in layers.values())


def _block_applications(model: nn.Module) -> int:
    return sum(1 for _, m in model.named_modules(remove_duplicate=False) if isinstance(m, SharedBlock))


def recursion_adds_no_params(models: tuple[str, ...], count: Counter, build: Builder) -> ClaimMeasurement:
    """Parameters, depth and GMACs of each recursive model against its non-recursive counterpart.

    The claim's value is the parameters the recursive model holds beyond the counterpart
    outside the NLL layers (0 when the blocks are shared). The NLLs, one per block
    application and never shared, are counted apart and reported: they do add parameters.
    Depth (block applications) and GMACs (fvcore) must grow.
    """
    values, details, unmet, notes = [], [], [], []
    for name in models:
        model = build(name).eval()
        counterpart = non_recursive_counterpart(model)
        params = count_params(model), count_params(counterpart)
        nll = _nll_params(model), _nll_params(counterpart)
        depth = _block_applications(model), _block_applications(counterpart)
        macs = count(name, 224).fvcore_macs, headline_macs(counterpart, 224)
        added = (params[0] - nll[0]) - (params[1] - nll[1])
        values.append(added)
        details.append({
            "model": name, "params": params[0], "params_counterpart": params[1],
            "params_added_outside_nll": added, "nll_params_added": nll[0] - nll[1],
            "block_applications": depth[0], "block_applications_counterpart": depth[1],
            "layers_with_nll": applied_depth(model), "layers_with_nll_counterpart": applied_depth(counterpart),
            "gmacs": macs[0] / 1e9, "gmacs_counterpart": macs[1] / 1e9})
        if depth[0] <= depth[1]:
            unmet.append(f"{name}: depth does not grow ({depth[1]} -> {depth[0]} block applications)")
        if macs[0] <= macs[1]:
            unmet.append(f"{name}: GMACs do not grow ({macs[1] / 1e9:.3f} -> {macs[0] / 1e9:.3f})")
        notes.append(f"{name}: +{added:,} parameters outside the NLLs, depth {depth[1]} -> {depth[0]} "
                     f"block applications, GMACs {macs[1] / 1e9:.3f} -> {macs[0] / 1e9:.3f}, and "
                     f"{depth[0] - depth[1]} more NLLs add {nll[0] - nll[1]:,} parameters "
                     f"({100 * (nll[0] - nll[1]) / params[0]:.1f}%)")
    return ClaimMeasurement(values, details, unmet=unmet, note=(
        "against the non-recursive counterpart (the same unique blocks, each applied once, "
        "followed by the NLL of its first application; fvcore GMACs at 224): " + "; ".join(notes)))


# --- slicing cuts FLOPs ----------------------------------------------------------------

def slicing_cuts_flops(models: tuple[str, ...], count: Counter, build: Builder) -> ClaimMeasurement:
    """FLOPs saved by slicing, 100 * (1 - sliced / without slice), for every model."""
    details = []
    for name in models:
        sliced, full = count(name, 224).fvcore_macs, count(f"{name}_wo_slice", 224).fvcore_macs
        details.append({"model": name, "gmacs_sliced": sliced / 1e9, "gmacs_wo_slice": full / 1e9,
                        "reduction_pct": 100 * (1 - sliced / full)})
    return ClaimMeasurement([d["reduction_pct"] for d in details], details, note=(
        "fvcore GMACs at 224, each model against its _wo_slice twin: " + ", ".join(
            f"{d['model']} {d['reduction_pct']:.1f}%" for d in details)))


# --- deep sliced recursion at a compact size --------------------------------------------

def build_sret(args: dict[str, Any]) -> SReT:
    """An SReT of ``args``, built without touching the caller's random state."""
    with torch.random.fork_rng():
        model = SReT(**args).eval()
    model.set_permutation_seed(0)  # its slices draw from their own generator
    return model


def deep_recursion_is_compact(models: tuple[str, ...], count: Counter, build: Builder) -> ClaimMeasurement:
    """The "more than 100" part: parameters of a sliced recursive model of 120 block applications."""
    model = build_sret(DEEP_MODEL_ARGS)
    params, macs = count_params(model), headline_macs(model, 224)
    applications, layers = _block_applications(model), applied_depth(model)
    return ClaimMeasurement([params / 1e6], [{
        "model": "SReT-T blocks, depth 16-80-24, recursive_num 2-5-3",
        "block_applications": applications, "layers_with_nll": layers,
        "params_m": params / 1e6, "gmacs": macs / 1e9}],
        note=f"{applications} shared-block applications ({layers} layers with NLLs): "
             f"{params / 1e6:.2f}M parameters (counted on the built model), {macs / 1e9:.2f} GMACs "
             "(fvcore, one 224 image)")


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch threads, then restore the caller's setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _one_image(model: nn.Module, img_size: int) -> dict[str, Any]:
    """Seconds and peak memory of one image through ``model`` on the CPU, inference mode,
    on :data:`RUN_THREADS` threads.

    Two calls only, since the model is large: the first (cold: kernels are chosen and
    caches filled) and a second, warm one, timed while its memory growth is sampled.
    """
    cpu = torch.device("cpu")
    x = example_input(img_size)
    seconds: list[float] = []

    def forward() -> None:
        seconds.append(timing.time_once(lambda: model(x), cpu)[0])

    with torch.inference_mode(), torch_threads(RUN_THREADS):
        forward()
        growth, method = timing.forward_memory_growth(forward, cpu)
    weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    return {"first_call_s": seconds[0], "seconds": seconds[1], "threads": RUN_THREADS,
            "load_average_1min": os.getloadavg()[0],
            "peak_memory_mib": (weights + x.numel() * x.element_size() + growth) / 2**20,
            "memory_method": method}


def thousand_layers_are_compact(models: tuple[str, ...], count: Counter, build: Builder) -> ClaimMeasurement:
    """The "even 1000" part: build, count and run a model of 1000 shared-block applications.

    Parameters are counted on the built model. GMACs are fvcore's count scaled from SReT-T's
    blocks applied once and twice: every further application of a block costs what its
    second did (same tokens, widths and slices), so the count is linear in the number of
    applications; ``tests/test_claims.py`` checks it against fvcore on the 1000-application
    model itself, which takes the counter 20-50 s.
    """
    once, twice = (headline_macs(build_sret(sret_t_blocks_applied(loops)), 224) for loops in (1, 2))
    macs = once + (THOUSAND_LOOPS - 1) * (twice - once)
    model = build_sret(sret_t_blocks_applied(THOUSAND_LOOPS))
    params, applications, layers = count_params(model), _block_applications(model), applied_depth(model)
    run = _one_image(model, 224)
    return ClaimMeasurement([params / 1e6], [{
        "model": f"SReT-T blocks, each applied {THOUSAND_LOOPS} times",
        "block_applications": applications, "layers_with_nll": layers, "params_m": params / 1e6,
        "gmacs": macs / 1e9, **run}],
        note=(f"{applications} shared-block applications ({layers} layers with NLLs): "
              f"{params / 1e6:.2f}M parameters (counted on the built model); {macs / 1e9:.2f} GMACs "
              f"(fvcore on SReT-T's blocks applied once and twice, scaled linearly to {THOUSAND_LOOPS} "
              "applications of each block); "
              f"one 224 image on the CPU in {run['seconds']:.2f} s (a warm call, after a first call "
              f"of {run['first_call_s']:.2f} s; torch threads: {run['threads']}, 1-minute load "
              f"{run['load_average_1min']:.2f}), peak memory {run['peak_memory_mib']:.0f} MiB (weights, "
              "input and the RSS growth of the warm call)"))


# Claim id (as in expected/claims.csv) -> its measurement.
SLICING_CLAIM_ID = "slicing_cuts_flops_10_30"  # also timed, by bench.measure.slicing
MEASUREMENTS: dict[str, Callable[[tuple[str, ...], Counter, Builder], ClaimMeasurement]] = {
    "recursion_adds_no_params": recursion_adds_no_params,
    SLICING_CLAIM_ID: slicing_cuts_flops,
    "deep_sliced_recursion_compact": deep_recursion_is_compact,
    "thousand_shared_layers_compact": thousand_layers_are_compact,
}
