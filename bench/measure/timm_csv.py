"""Our results in the CSV formats timm publishes, so a row of ours can sit beside timm's own.

* ``bench.throughput --csv``: the columns of timm's ``benchmark.py`` inference files
  (``results/benchmark-infer-*.csv``), values rounded as it rounds them (``round(x, 2)``,
  the step time ``round(x, 3)``, written as Python prints the float: ``0.7``, not ``0.70``),
  then our kernel policy and the device, which timm's files name only in their file name.
* ``bench.accuracy --csv``: the columns of timm's validation results
  (``results/results-imagenet.csv``, written by its ``validate.py`` and formatted by
  ``results/generate_csv_results.py``): percentages with three decimals, ``param_count`` in
  millions as ``{:,.2f}`` (``"1,014.45"``), ``crop_pct`` with three decimals.

What differs in method, stated once: timm's ``infer_samples_per_sec`` is all images over the
whole timed run; ours is the median over interleaved rounds (``images_per_s_median``), and
``infer_step_time`` is the time of one batch at that median rate. GMACs and activations are
the gate's fvcore counts of one image (fused attention counted as its two matmuls), which
reproduce timm's published figures (DeiT-Ti: 1.26 GMACs, 5.97 M activations).
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from bench.core.cli import UsageError
from bench.measure.counting import headline_activations
from bench.core.io import write_text_atomic
from bench.spec.baselines import VALIDATE_COLUMNS

BENCHMARK_COLUMNS = ("model", "infer_img_size", "infer_samples_per_sec", "infer_step_time", "infer_batch_size",
                     "param_count", "infer_gmacs", "infer_macts")
OUR_BENCHMARK_COLUMNS = ("kernel_policy", "device")
DEFAULT_KERNEL_POLICY = "stock"  # the policy a model has as timm.create_model builds it (sret.kernels)

ActivationCounter = Callable[[str, int], int]


def checked_path(path: Path | None, flag: str = "--csv") -> Path | None:
    """``path``, refused up front when it names a folder (the write would fail after the run)."""
    if path is not None and Path(path).is_dir():
        raise UsageError(f"{flag}: {str(path)!r} is a directory")
    return path


def _printed(value: float, digits: int) -> str:
    """``round(value, digits)`` as Python prints it: what ``csv.DictWriter`` writes in timm."""
    return str(round(value, digits))


def count_activations(name: str, img_size: int) -> int:
    """fvcore activations of ``name`` on one ``img_size`` image (a fresh stock model)."""
    from bench.measure import models

    return headline_activations(models.create(name, img_size)[0], img_size)


def benchmark_rows(results: Sequence[Mapping[str, Any]], config: Mapping[str, Any], device: str,
                   activations: ActivationCounter = count_activations) -> list[dict[str, str]]:
    """One row per measured (model, batch size) of a throughput run; rows that failed are left out,
    as timm's benchmark leaves them out of its files."""
    rows, counted = [], {}
    for result in results:
        if result.get("error") is not None or not result.get("images_per_s_median"):
            continue
        key = (result["model"], result["img_size"])
        if key not in counted:
            counted[key] = activations(*key)
        rate, batch = result["images_per_s_median"], result["batch_size"]
        rows.append({
            "model": result["model"], "infer_img_size": str(result["img_size"]),
            "infer_samples_per_sec": _printed(rate, 2), "infer_step_time": _printed(1000 * batch / rate, 3),
            "infer_batch_size": str(batch), "param_count": _printed(result["param_count"] / 1e6, 2),
            "infer_gmacs": _printed(result["flops_per_image"] / 2 / 1e9, 2),
            "infer_macts": _printed(counted[key] / 1e6, 2),
            "kernel_policy": (result.get("kernels") or result.get("kernel_policy") or config.get("kernel_policy")
                              or DEFAULT_KERNEL_POLICY),  # bench.throughput's rows name theirs "kernels"
            "device": device,
        })
    return rows


def validate_row(record: Mapping[str, Any]) -> dict[str, str]:
    """An accuracy record (``bench.accuracy``) as a row of timm's ``results-imagenet.csv``; several
    seeds give their mean."""
    transform = record["transform"]
    return {
        "model": record["model"], "img_size": str(transform["input_size"][-1]),
        "top1": f"{record['top1']:.3f}", "top1_err": f"{100 - record['top1']:.3f}",
        "top5": f"{record['top5']:.3f}", "top5_err": f"{100 - record['top5']:.3f}",
        "param_count": f"{record['param_count'] / 1e6:,.2f}", "crop_pct": f"{transform['crop_pct']:.3f}",
        "interpolation": transform["interpolation"],
    }


def render(columns: Sequence[str], rows: Sequence[Mapping[str, str]]) -> str:
    """The CSV text: header, then rows; ``\\n`` line ends and minimal quoting, as timm's files."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_benchmark_csv(path: str | os.PathLike, results: Sequence[Mapping[str, Any]], config: Mapping[str, Any],
                        device: str, activations: ActivationCounter = count_activations) -> None:
    """``benchmark.py``'s columns and ours, atomically."""
    rows = benchmark_rows(results, config, device, activations)
    write_text_atomic(path, render(BENCHMARK_COLUMNS + OUR_BENCHMARK_COLUMNS, rows))


def write_validate_csv(path: str | os.PathLike, records: Sequence[Mapping[str, Any]]) -> None:
    """``results-imagenet.csv``'s columns, atomically."""
    write_text_atomic(path, render(VALIDATE_COLUMNS, [validate_row(record) for record in records]))

