"""The report's throughput figures, as PNG files that re-render byte for byte from the same results.

A pure function picks the points out of a series of results documents; ``plot_throughput``
only draws them. Figures have a fixed size and dpi and no timestamp or software stamp in their
metadata, so a re-render of the committed results reproduces the committed PNGs. The accuracy
figure, SReT among its peers, is drawn by ``bench.page.peers_report``.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib import ticker  # noqa: E402

from bench.core.names import is_subject  # noqa: E402
from bench.core.rows import timed_rows  # noqa: E402

FIGSIZE = (8.0, 5.0)
DPI = 100


@dataclass(frozen=True)
class ThroughputPoint:
    """One model under one kernel policy (or deployment runtime) at one requested batch size, over
    every run of a series."""

    model: str
    kernels: str | None  # the torch kernel policy, or the runtime's name for a row that ran outside torch
    gmacs: float  # multiply-adds per image, in G (the paper's "GFLOPs")
    images_per_s: float  # median of the per-round medians of every run
    low: float  # the smallest per-round median
    high: float  # the largest per-round median


def throughput_points(documents: Sequence[dict[str, Any]]) -> dict[int, list[ThroughputPoint]]:
    """Per requested batch size, a point per (model, kernel policy): images/s against GMACs, with
    the spread (min-max) of the per-round medians of every run of the series."""
    rounds: dict[tuple[int, str, str | None], list[float]] = {}
    gmacs: dict[str, float] = {}
    for document in documents:
        for row in timed_rows(document):
            if row.samples:
                key = dict(row.key)
                kernels = key["kernels"] if key["runtime"] == "torch" else key["runtime"]
                rounds.setdefault((key["batch_size_requested"], key["model"], kernels), []).extend(row.samples)
                gmacs[key["model"]] = row.row["flops_per_image"] / 2 / 1e9
    points: dict[int, list[ThroughputPoint]] = {}
    for (batch, model, kernels), values in rounds.items():
        points.setdefault(batch, []).append(
            ThroughputPoint(model, kernels, gmacs[model], statistics.median(values), min(values), max(values)))
    return dict(sorted(points.items()))


def save(figure: plt.Figure, path: Path) -> None:
    """PNG with a fixed dpi and no Software stamp or date, so the same data gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(figure)


_POLICY_COLOURS = {"stock": "tab:blue", "tuned": "tab:orange", "onnxruntime": "tab:green", "openvino": "tab:purple",
                   None: "tab:gray"}
_RUNTIMES = ("onnxruntime", "openvino")


def plot_throughput(points: dict[int, list[ThroughputPoint]], title: str, path: Path) -> None:
    """Images/s against GMACs (log-log), a panel per requested batch size: SReT as circles,
    baselines as squares, colour by kernel policy, error bars the min-max of the round medians.
    Points, not lines: models of different cost are not a series. The legend sits below the
    panels, so it covers no point."""
    figure, panels = plt.subplots(1, len(points), figsize=FIGSIZE, squeeze=False, layout="constrained")
    for axes, (batch, batch_points) in zip(panels[0], points.items()):
        for point in batch_points:
            subject = is_subject(point.model)
            axes.errorbar([point.gmacs], [point.images_per_s],
                          yerr=[[point.images_per_s - point.low], [point.high - point.images_per_s]],
                          fmt="o" if subject else "s", color=_POLICY_COLOURS.get(point.kernels, "tab:gray"),
                          markersize=4, capsize=2, linewidth=1)
        labelled = {p.model: p for p in batch_points if p.kernels in ("stock", None)}
        for index, point in enumerate(sorted(labelled.values(), key=lambda p: (p.gmacs, p.images_per_s))):
            axes.annotate(point.model, (point.gmacs, point.images_per_s), textcoords="offset points",
                          fontsize=5, xytext=(4, 3) if index % 2 == 0 else (4, -7))
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.margins(x=0.25, y=0.1)  # room for the labels of the outermost points
        for axis in (axes.xaxis, axes.yaxis):  # plain numbers at 1, 2, 5 x 10^k; no crowded minor labels
            axis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
            axis.set_minor_formatter(ticker.NullFormatter())
        axes.set_xlabel("GMACs per image (multiply-adds)", fontsize=7)
        axes.set_title(f"batch {batch}", fontsize=8)
        axes.tick_params(labelsize=6)
        axes.grid(True, which="both", alpha=0.3)
    panels[0][0].set_ylabel("images/s (median of rounds; bars: min-max)", fontsize=7)
    handles = [plt.Line2D([], [], color=_POLICY_COLOURS[policy], marker=marker, linestyle="", label=label)
               for policy in ("stock", "tuned") for marker, label in
               (("o", f"SReT, {policy} kernels"), ("s", f"baseline, {policy} kernels"))
               if any(p.kernels == policy for ps in points.values() for p in ps)]
    handles += [plt.Line2D([], [], color=_POLICY_COLOURS[runtime], marker="o", linestyle="", label=runtime)
                for runtime in _RUNTIMES if any(p.kernels == runtime for ps in points.values() for p in ps)]
    if any(p.kernels is None for ps in points.values() for p in ps):
        handles += [plt.Line2D([], [], color="tab:gray", marker="o", linestyle="", label="kernels not recorded")]
    figure.legend(handles=handles, fontsize=7, loc="outside lower center", ncol=len(handles))
    figure.suptitle(title, fontsize=9)
    save(figure, path)
