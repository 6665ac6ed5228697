"""The pages' PNG files: their names, where they are drawn, and the links the pages write to them.

Drawn under matplotlib's default style, so no matplotlibrc changes a pixel: the committed PNGs
are what this draws from the committed results.
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib.style

from bench.page import peers_report, plots
from bench.page.results import REPORTS, Results
from bench.page.series import group_series
from bench.page.throughput_section import throughput_title

ACCURACY_PLOT = peers_report.PLOT_NAME


def plot_names(results: Results) -> dict[str, str]:
    """The PNG file name of every plot the pages show, keyed by "accuracy" or the throughput series."""
    names = {"accuracy": ACCURACY_PLOT}
    taken = {ACCURACY_PLOT}
    for series in group_series(results.throughput):
        if not plots.throughput_points(series.documents):
            continue
        stem = series.name if series.name.startswith("throughput") else f"throughput-{series.name}"
        candidate, number = f"{stem}.png", 2
        while candidate in taken:
            candidate, number = f"{stem}-{number}.png", number + 1
        taken.add(candidate)
        names[series.name] = candidate
    return names


def write_plots(results: Results, directory: Path) -> dict[str, Path]:
    """Draw every plot into ``directory``; returns where each went."""
    names = plot_names(results)
    written = {}
    verify = results.verify_document
    if peers_report.plot(verify, [d for _, d in results.accuracy], directory / names["accuracy"]):
        written["accuracy"] = directory / names["accuracy"]
    for series in group_series(results.throughput):
        if series.name in names:
            written[series.name] = directory / names[series.name]
            plots.plot_throughput(plots.throughput_points(series.documents),
                                  throughput_title(series.documents[0]), written[series.name])
    return written


def render_plots(results: Results, directory: Path) -> dict[str, Path]:
    """:func:`write_plots` under matplotlib's default style."""
    with matplotlib.style.context("default"):
        return write_plots(results, directory)


def plot_links(results: Results, directory: Path, page_dir: Path = REPORTS) -> dict[str, str]:
    """Each plot's link as written in the pages: relative to the pages' folder (reports/)."""
    return {key: Path(os.path.relpath(Path(directory).resolve() / name, page_dir.resolve())).as_posix()
            for key, name in plot_names(results).items()}
