"""The report's throughput figures, as PNG files that re-render byte for byte from the same results.

A pure function picks the series out of a results document; ``plot_throughput`` only draws
them. Figures have a fixed size and dpi and no timestamp or software stamp in their metadata,
so a re-render of the committed results reproduces the committed PNGs. The accuracy figure,
SReT among its peers, is drawn by ``bench.peers_report``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

FIGSIZE = (8.0, 5.0)
DPI = 100
SUBJECT_PREFIX = "sret"
FULL_VAL_IMAGES = 50_000  # ImageNet-1K val: a top-1 on fewer images is not the published figure


def throughput_series(document: dict[str, Any]) -> dict[str, list[tuple[int, float]]]:
    """Median images/s against the batch size actually run, one series per model."""
    series: dict[str, list[tuple[int, float]]] = {}
    for row in document["results"]:
        if row.get("error") is None and row.get("images_per_s_median"):
            series.setdefault(row["model"], []).append((row["batch_size"], row["images_per_s_median"]))
    return {model: sorted(points) for model, points in series.items()}


def _save(figure: plt.Figure, path: Path) -> None:
    """PNG without a Software stamp or timestamp, so the same data gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(figure)


def plot_throughput(series: dict[str, list[tuple[int, float]]], title: str, path: Path) -> None:
    """Images/s against batch size, one line per model."""
    figure, axes = plt.subplots(figsize=FIGSIZE)
    for model, points in series.items():
        batches, rates = zip(*points)
        style = "-" if model.startswith(SUBJECT_PREFIX) else "--"
        axes.plot(batches, rates, style, marker="o", label=model)
    axes.set_xscale("log", base=2)
    batch_sizes = sorted({b for points in series.values() for b, _ in points})
    axes.set_xticks(batch_sizes, [str(b) for b in batch_sizes])
    axes.set_xlabel("batch size")
    axes.set_ylabel("images/s (median)")
    axes.set_title(title, fontsize=9)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7)
    _save(figure, path)
