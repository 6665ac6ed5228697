"""What the paper gate measures, as raw data: each selected model's counts, each released tag's top-1,
the claims' values, and the function rows (``bench.gate.paper_gate`` judges them against a data folder).

Each (architecture, image size) is counted once however many rows ask for it. Nothing here
compares with a published figure, so a results file can be judged again after the data changes.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import timm
import torch
from tqdm import tqdm

from bench.core.names import is_subject
from bench.measure import models
from bench.measure.claims import MEASUREMENTS, torch_threads
from bench.measure.counting import FlopCount, count_flops, count_params, explain_differences, headline_macs
from bench.measure.function import EAGER_POLICIES, function_rows
from bench.measure.function import METHOD as FUNCTION_METHOD
from bench.spec.data_folder import DataFolder
from bench.spec.data_files import THROUGHPUT
from bench.spec.official import NO_RECORDINGS
from bench.spec.paper_values import ExpectedFigure
from sret import kernel_choice

__all__ = ["CLAIM_KINDS", "Measurer", "measure"]

Builder = Callable[..., torch.nn.Module]
CLAIM_KINDS = tuple(MEASUREMENTS)  # the kinds of claim the code can measure
# Counting runs one image through small kernels, which stall at their thread barriers when the
# CPU is shared; counts do not depend on threads, so they run on one.
COUNT_THREADS = 1

COUNTERS_METHOD = (
    "One image at the model's size, eval mode, on the CPU. fvcore FlopCountAnalysis (1 per "
    "multiply-add; the headline) with a handler for aten::scaled_dot_product_attention; thop.profile "
    "(multiply-adds of nn.Module leaves only: functional matmuls such as attention are not seen); "
    "torch.utils.flop_counter.FlopCounterMode (2 per multiply-add, halved here; norms and pooling "
    "not counted) with a formula for the CPU flash-attention kernel it leaves uncounted.")

BASELINES_METHOD = (
    "timm's published top-1 and param_count (results/results-imagenet.csv, commit in each row) beside our "
    "counts of the architecture at its size: unique parameters and fvcore multiply-adds of one image, fused "
    "attention counted as its two matmuls (the same headline count as SReT's).")


@dataclass
class Measurer:
    """Measures each (architecture, image size) once, however many rows ask for it, and records
    what each built model says about itself (``models.describe``) for the page."""

    build: Builder = timm.create_model
    counts: dict[tuple[str, int], FlopCount] = field(default_factory=dict)
    headlines: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    described: dict[str, dict[str, bool]] = field(default_factory=dict)

    def _built(self, architecture: str, img_size: int) -> torch.nn.Module:
        model, _ = models.create(architecture, img_size, self.build)
        self.described.setdefault(architecture, models.describe(architecture, model))
        return model

    def count(self, architecture: str, img_size: int) -> FlopCount:
        """All three counters (SReT's models and the claims)."""
        key = (architecture, img_size)
        if key not in self.counts:
            with torch_threads(COUNT_THREADS):
                self.counts[key] = count_flops(self._built(architecture, img_size), img_size, architecture)
        return self.counts[key]

    def headline(self, architecture: str, img_size: int) -> tuple[int, int]:
        """Parameters and fvcore multiply-adds alone, the counts a baseline is checked and compared
        by (each counter runs the model once: all three would triple the time)."""
        key = (architecture, img_size)
        if key in self.counts:
            return self.counts[key].params, self.counts[key].fvcore_macs
        if key not in self.headlines:
            with torch_threads(COUNT_THREADS):
                model = self._built(architecture, img_size)
                self.headlines[key] = count_params(model), headline_macs(model, img_size)
        return self.headlines[key]

    def measure_counts(self, architecture: str, img_size: int) -> tuple[int, int]:
        """(parameters, fvcore multiply-adds): all three counters for SReT, the headline for a baseline."""
        if is_subject(architecture):
            count = self.count(architecture, img_size)
            return count.params, count.fvcore_macs
        return self.headline(architecture, img_size)

    def recorded_counts(self) -> dict[str, dict[str, int]]:
        """Every count made, ``architecture@size`` -> parameters and fvcore multiply-adds."""
        made = {**self.headlines, **{key: (c.params, c.fvcore_macs) for key, c in self.counts.items()}}
        return {f"{arch}@{size}": {"params": params, "fvcore_macs": macs}
                for (arch, size), (params, macs) in made.items()}


def _checkpoint_for(tag: str, checkpoints: Path) -> Path | None:
    for suffix in (".pth", ".pt", ".safetensors"):
        if (checkpoints / f"{tag}{suffix}").is_file():
            return checkpoints / f"{tag}{suffix}"
    return None


def measure_top1(tag: str, device: str, checkpoints: Path | None, data: Path | None) -> dict[str, Any]:
    """A released checkpoint's top-1 on the data folder and how it was measured (``top1`` None and
    why, when it cannot be measured)."""
    if checkpoints is None or data is None:
        return {"top1": None, "method": "needs the released checkpoint and ImageNet val (--checkpoints DIR --data DIR)"}
    path = _checkpoint_for(tag, checkpoints)
    if path is None:
        return {"top1": None, "method": f"no checkpoint {tag}.pth in {checkpoints}"}
    from bench.measure.imagenet_top1 import evaluate_checkpoint

    record, _ = evaluate_checkpoint(tag, path, data, device=device)
    return {"top1": record["top1"], "images": record["images"], "classes": record["classes"],
            "method": f"{record['images']:,} images of {record['classes']:,} classes, checkpoint {path.name}"}


def measure(folder: DataFolder, figures: Sequence[ExpectedFigure], device: str = "cpu",
            checkpoints: Path | None = None, data: Path | None = None, build: Builder = timm.create_model,
            progress: bool | None = None, policies: Sequence[str] = EAGER_POLICIES,
            selection: Sequence[str] | None = None) -> dict[str, Any]:
    """Measure what the selected ``figures`` of ``folder`` and its claims and function recordings need.

    Returns the measuring part of the results document: ``measurements`` (the raw values a gate
    judges: counts per ``architecture@size``, top-1 per tag, claim values, function rows), and what
    the page shows beside them (the three counters, the models' descriptions, the methods).
    """
    started = time.perf_counter()
    measurer = Measurer(build)
    top1: dict[str, dict[str, Any]] = {}
    # progress None: a bar only when stderr is a terminal (tqdm's disable=None); False: never.
    disable = None if progress is None else not progress
    for figure in tqdm(figures, desc="verify", unit="figure", file=sys.stderr, disable=disable):
        if figure.metric == "top1":
            tag = figure.weights_tag  # "" when no weights were released for the figure's setting
            if tag and tag not in top1:
                top1[tag] = measure_top1(tag, device, checkpoints, data)
        elif figure.metric == THROUGHPUT:
            continue  # published on a named device at a named batch: not measured here (the gate says why)
        else:
            measurer.measure_counts(figure.architecture, figure.img_size)
    architectures = {f.architecture for f in figures}
    claims = {}
    for claim in folder.claims:
        chosen = tuple(m for m in claim.models if m in architectures) if claim.models else ()
        if claim.models and not chosen:
            continue
        with torch_threads(COUNT_THREADS):
            result = MEASUREMENTS[claim.kind](chosen, measurer.count, measurer.build)
        claims[claim.claim_id] = {"models": list(chosen), "values": result.values, "unmet": result.unmet,
                                  "details": result.details, "note": result.note}
    for baseline in folder.baselines:
        if baseline.model in {f.model for f in figures}:
            measurer.headline(baseline.architecture, baseline.img_size)
    selected = None if selection is None else {f.model for f in figures} | architectures
    function = []
    if folder.function is not None:  # a folder without official-function recordings has no function rows
        with tqdm(desc="function", unit="row", file=sys.stderr, disable=disable) as function_bar:
            function = function_rows(folder.function, selected, policies, build,
                                     progress=lambda _: function_bar.update())
    raw_function = [{key: row[key] for key in ("row", "model", "architecture", "img_size", "policy", "measured",
                                               "problem", "source")} for row in function]
    return {
        "measurements": {
            "selection": None if selection is None else list(selection),
            "counts": measurer.recorded_counts(), "top1": top1, "claims": claims, "function": raw_function,
            "reconstructed": {f.model: models.reconstructed(f.model) for f in figures},
        },
        "counters": {f"{arch}@{size}": {**count.to_dict(), "differences": explain_differences(count)}
                     for (arch, size), count in measurer.counts.items()},
        "counters_method": COUNTERS_METHOD, "baselines_method": BASELINES_METHOD,
        "function_method": (FUNCTION_METHOD + f" Tolerance: {folder.function.atol:g}." if folder.function else
                            NO_RECORDINGS),
        "models": measurer.described, "kernel_choice": kernel_choice.current().record(),
        "elapsed_s": round(time.perf_counter() - started, 2),
    }
