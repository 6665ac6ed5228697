"""The results JSON as one Markdown page with its plots (``python -m bench.report > reports/latest.md``).

Reads what ``bench.verify``, ``bench.throughput``, ``bench.model_speed``, ``bench.slicing_speed``,
``bench.gpu`` and ``bench.accuracy`` wrote (by default the files committed under ``reports/``)
and renders the verdict on the published SReT figures, then every figure, claim, counter,
timing and top-1 with how it was measured. The page is built from sections, one function each
in :data:`SECTIONS`, and is a function of those files, ``expected/`` and the git history up to
the commit it names (for the results files' age): no clock and no machine state, so a re-render
of the committed results at that commit reproduces ``reports/latest.md``. Rendering imports
neither torch nor timm.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import matplotlib.style

from bench.core.cli import ArgumentParser, UsageError
from bench.page import calibration, evidence, figures, op_profile_section, peers_report, permutation, plots, provenance, scope, speed_report, summary
from bench.page.accuracy_section import accuracy_section
from bench.page.markdown import date
from bench.page.results import REPORTS, Results, default_paths, display_name, load_results
from bench.page.section import Section, anchors, render

ACCURACY_PLOT = peers_report.PLOT_NAME
UNITS = ("Units, the same in every table: **GMACs** = 10^9 multiply-adds for one image, what the paper, Papers "
         "with Code and the official README print as \"GFLOPs\" (counted by fvcore); **GFLOP** = 10^9 "
         "floating-point operations, 2 per multiply-add (FLOP rates and MFU only); params in millions (10^6); "
         "memory in MiB (2^20 bytes); images/s is a median over timed rounds.")


@dataclass
class Page:
    """What every section may read: the results, the plots' links and the files' ages."""

    results: Results
    links: dict[str, str]
    ages: dict[str, provenance.Age]


def _throughput(page: Page) -> list[Section]:
    return [s for series in speed_report.group_series(page.results.throughput)
            for s in speed_report.throughput_section(series, page.links)]


def _slicing(page: Page) -> list[Section]:
    name, verify = page.results.verify
    return [s for series in speed_report.group_series(page.results.slicing_speed)
            for s in speed_report.slicing_section(series, name, verify)]


def _model_speed(page: Page) -> list[Section]:
    return [s for series in speed_report.group_series(page.results.model_speed)
            for s in speed_report.model_speed_section(series)]


def _device_runs(page: Page) -> list[Section]:
    runs = [s for name, document in page.results.gpu_run for s in speed_report.gpu_run_section(name, document)]
    return runs + [s for name, document in page.results.device_check
                   for s in speed_report.device_check_section(name, document, page.results.verify_document)]


# The page's sections, in order: one function each, from the page's data to its sections.
SECTIONS: list[Callable[[Page], list[Section]]] = [
    lambda page: scope.scope_section(page.results),
    lambda page: figures.headline_section(page.results),
    lambda page: figures.readme_section(page.results),
    lambda page: figures.deviations_section(page.results),
    lambda page: figures.claims_section(page.results),
    lambda page: figures.function_section(page.results),
    lambda page: figures.counters_section(page.results),
    lambda page: accuracy_section(page.results, page.links.get("accuracy")),
    lambda page: permutation.permutation_section(page.results),
    _throughput,
    _slicing,
    _model_speed,
    lambda page: op_profile_section.op_profile_section(page.results),
    lambda page: calibration.speed_gate_sections(page.results),
    _device_runs,
    lambda page: [provenance.environment_section(page.results.files())],
    lambda page: [provenance.age_section(page.ages)],
]


def render_markdown(results: Results, links: dict[str, str] | None = None,
                    ages: dict[str, provenance.Age] | None = None) -> str:
    """The whole page: the verdict, the summary, then every section of :data:`SECTIONS`."""
    page = Page(results, links or {}, provenance.ages(results.files()) if ages is None else ages)
    body = [section for build in SECTIONS for section in build(page)]
    found = anchors(body)
    at_a_glance = summary.summary_section(results, found)
    found = anchors([at_a_glance, *body])
    verify = results.verify_document
    lines = ["# SReT (arXiv 2111.05297): do the published figures hold?", "",
             *evidence.verdict_lines(verify, date(verify), found)]
    failing = figures.failing_lines(verify)
    if failing:
        lines += [*failing, ""]
    lines += [*provenance.stale_lines(page.ages, results.documents(), found), UNITS, ""]
    documents = results.documents()
    for section in [at_a_glance, *body]:
        lines += render(section, documents)
    return "\n".join(lines).rstrip("\n") + "\n"


# --- plot files -----------------------------------------------------------------------------


def plot_names(results: Results) -> dict[str, str]:
    """The PNG file name of every plot the page shows, keyed by "accuracy" or the throughput series."""
    names = {"accuracy": ACCURACY_PLOT}
    taken = {ACCURACY_PLOT}
    for series in speed_report.group_series(results.throughput):
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
    for series in speed_report.group_series(results.throughput):
        if series.name in names:
            written[series.name] = directory / names[series.name]
            plots.plot_throughput(plots.throughput_points(series.documents),
                                  speed_report.throughput_title(series.documents[0]), written[series.name])
    return written


def render_plots(results: Results, directory: Path) -> dict[str, Path]:
    """:func:`write_plots` under matplotlib's default style, so no matplotlibrc changes a pixel: the
    committed PNGs are what this draws from the committed results."""
    with matplotlib.style.context("default"):
        return write_plots(results, directory)


def plot_links(results: Results, directory: Path, page_dir: Path = REPORTS) -> dict[str, str]:
    """Each plot's link as written in the page: relative to the page's folder (reports/)."""
    return {key: Path(os.path.relpath(Path(directory).resolve() / name, page_dir.resolve())).as_posix()
            for key, name in plot_names(results).items()}


# --- command line -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None):
    parser = ArgumentParser(prog="python -m bench.report", description=__doc__.splitlines()[0])
    parser.add_argument("--results", nargs="+", metavar="FILE",
                        help="results JSON files (default: the ones committed under reports/)")
    parser.add_argument("--plots", default=str(REPORTS), metavar="DIR",
                        help="where to write the PNG plots (default: reports/)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    paths = [Path(p) for p in args.results] if args.results else default_paths()
    results = load_results(paths)
    plot_dir = Path(args.plots)
    try:
        written = render_plots(results, plot_dir)
    except OSError as error:
        raise UsageError(f"--plots {args.plots}: cannot write the plots there ({error.strerror or error})") from None
    for path in written.values():
        print(f"wrote {display_name(path)}", file=sys.stderr)
    sys.stdout.write(render_markdown(results, plot_links(results, plot_dir)))
    return 0
