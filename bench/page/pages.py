"""The results JSON as two Markdown pages with their plots: the verdict and the speed results.

``python -m bench.report > reports/latest.md`` prints the verdict page: do SReT's published
figures hold, with the figures, claims, official-code rows, top-1 and peers, and the headline
speed ratios quoted from the speed page. ``python -m bench.report --page speed`` prints
``reports/speed.md``: how the timings were taken (once), each series' table and command, model
speed, slicing, operator profiles and the speed gate. ``--page NAME`` prints another paper's
page (``reports/NAME.md``, from ``reports/verify-NAME.json``: ``bench.page.paper_page``), which
the verdict page links in one line. ``--write reports/`` writes every page (each through a
temporary file and ``os.replace``) and the plots.

Both are functions of the results files (by default the ones committed under ``reports/``),
``expected/`` and the git history up to the commit they name (for the files' age): no clock and
no machine state, so a re-render of the committed results at that commit reproduces them.
Rendering imports neither torch nor timm.
"""
from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from bench.core.cli import ArgumentParser, UsageError, unknown_name
from bench.core.io import display_path
from bench.page import (calibration, evidence, figures, op_profile_section, permutation, provenance, scope,
                        speed_headline, speed_method, speed_report, summary)
from bench.page.accuracy_section import accuracy_section
from bench.page.markdown import date, wrap_prose
from bench.page.paper_page import link_line, page_name, paper_name, render_paper
from bench.page.plot_files import plot_links, render_plots
from bench.page.results import REPORTS, Results, default_paths, load_results
from bench.page.section import Section, anchors, render
from bench.page.series import group_series
from bench.page.throughput_section import throughput_section

VERDICT, SPEED = "latest.md", "speed.md"
COMMANDS = {VERDICT: "python -m bench.report > reports/latest.md",
            SPEED: "python -m bench.report --page speed > reports/speed.md"}
UNITS = ("Units, the same in every table: **GMACs** = 10^9 multiply-adds for one image, what the paper, Papers "
         "with Code and the official README print as \"GFLOPs\" (counted by fvcore); **GFLOP** = 10^9 "
         "floating-point operations, 2 per multiply-add (FLOP rates and MFU only); params in millions (10^6); "
         "memory in MiB (2^20 bytes); images/s is a median over timed rounds.")


@dataclass
class Page:
    """What every section may read: the results, the plots' links, the files' ages, the other page's anchors."""

    results: Results
    links: dict[str, str]
    ages: dict[str, provenance.Age]
    speed_anchors: dict[str, str] = field(default_factory=dict)
    name: str = VERDICT  # which page: latest.md or speed.md


def verdict_files(results: Results) -> list[tuple[str, dict[str, Any]]]:
    """The files the verdict page stands on; the timed ones are the speed page's."""
    return [results.verify, *results.accuracy]


def speed_files(results: Results) -> list[tuple[str, dict[str, Any]]]:
    return [entry for entry in results.files() if entry not in verdict_files(results)]


def _speed_quote(page: Page) -> list[Section]:
    table = speed_headline.headline_table(page.results, page.speed_anchors, SPEED)
    if table:
        table.files = ()  # quoted from the speed page, which names each file's command
    section = Section("Speed", key="speed")
    section.add(f"Timings, their method and every series are on [the speed page]({SPEED}); its headline ratios:")
    return [section.add(table)] if table else [section.add("No timed results file.")]


def _ages(page: Page, files: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, provenance.Age]:
    """The age of each of ``files``; unknown where the page was given none."""
    return {name: page.ages.get(name, provenance.Age(None, None, None)) for name, _ in files}


def _provenance(files: Callable[[Results], list[tuple[str, dict[str, Any]]]]) -> Callable[[Page], list[Section]]:
    def sections(page: Page) -> list[Section]:
        chosen = files(page.results)
        if not chosen:
            return []
        return [provenance.files_section(chosen, _ages(page, chosen), COMMANDS[page.name])]
    return sections


def _device_runs(page: Page) -> list[Section]:
    runs = [s for name, document in page.results.gpu_run for s in speed_report.gpu_run_section(name, document)]
    return runs + [s for name, document in page.results.device_check
                   for s in speed_report.device_check_section(name, document, page.results.verify_document)]


def _series(kind: str, build: Callable[..., list[Section]], *args: Callable[[Page], Any]):
    return lambda page: [s for one in group_series(getattr(page.results, kind))
                         for s in build(one, *(arg(page) for arg in args))]


# Each page's sections, in order: one function each, from the page's data to its sections.
VERDICT_SECTIONS: list[Callable[[Page], list[Section]]] = [
    lambda page: scope.scope_section(page.results),
    lambda page: figures.headline_section(page.results),
    lambda page: figures.readme_section(page.results),
    lambda page: figures.deviations_section(page.results),
    lambda page: figures.claims_section(page.results),
    lambda page: figures.function_section(page.results),
    lambda page: accuracy_section(page.results, page.links.get("accuracy")),
    lambda page: permutation.permutation_section(page.results),
    _speed_quote,
    _provenance(verdict_files),
]
SPEED_SECTIONS: list[Callable[[Page], list[Section]]] = [
    lambda page: speed_headline.headline_section(page.results, page.speed_anchors),
    lambda page: speed_method.method_section([one for kind in ("throughput", "model_speed", "slicing_speed")
                                              for one in group_series(getattr(page.results, kind))]),
    lambda page: figures.counters_section(page.results),  # how the GMACs behind every MFU are counted
    _series("throughput", throughput_section, lambda page: page.links),
    _series("slicing_speed", speed_report.slicing_section, lambda page: page.results.verify_name,
            lambda page: page.results.verify_document),
    _series("model_speed", speed_report.model_speed_section),
    lambda page: op_profile_section.op_profile_section(page.results),
    lambda page: calibration.speed_gate_sections(page.results),
    _device_runs,
    _provenance(speed_files),
]


def _body(page: Page, sections: Sequence[Callable[[Page], list[Section]]]) -> list[Section]:
    return [section for build in sections for section in build(page)]


def _page(name: str, results: Results, links: dict[str, str] | None,
          ages: dict[str, provenance.Age] | None) -> Page:
    page = Page(results, links or {}, provenance.ages(results.files()) if ages is None else ages, name=name)
    page.speed_anchors = anchors(_body(page, SPEED_SECTIONS))  # before the speed page renders: it links to itself
    return page


def _lines(page: Page, head: list[str], body: list[Section], files: list[tuple[str, dict[str, Any]]]) -> str:
    """The head, the warnings about the page's files, the units, then the sections."""
    found = anchors(body)
    documents = page.results.documents()
    lines = [*head, *provenance.stale_lines(_ages(page, files), dict(files), found),
             UNITS, ""]
    for section in body:
        lines += render(section, documents)
    return "\n".join(wrap_prose(lines)).rstrip("\n") + "\n"


def render_markdown(results: Results, links: dict[str, str] | None = None,
                    ages: dict[str, provenance.Age] | None = None) -> str:
    """The verdict page: the verdict, "At a glance", then every section of :data:`VERDICT_SECTIONS`."""
    page = _page(VERDICT, results, links, ages)
    body = _body(page, VERDICT_SECTIONS)
    at_a_glance = summary.summary_section(results, anchors(body), page.speed_anchors, SPEED)
    body = [at_a_glance, *body]
    verify = results.verify_document
    head = ["# SReT (arXiv 2111.05297): do the published figures hold?", "",
            *evidence.verdict_lines(verify, date(verify), anchors(body))]
    failing = figures.failing_lines(verify)
    head += [*failing, ""] if failing else []
    head += link_line(results.papers)
    return _lines(page, head, body, verdict_files(results))


def render_speed(results: Results, links: dict[str, str] | None = None,
                 ages: dict[str, provenance.Age] | None = None) -> str:
    """The speed page: the headline ratios, the method once, then every section of :data:`SPEED_SECTIONS`."""
    page = _page(SPEED, results, links, ages)
    head = ["# SReT speed: how fast, measured how", "",
            f"The timings behind [the verdict page]({VERDICT}). Regenerate with `{COMMANDS[SPEED]}`.", ""]
    return _lines(page, head, _body(page, SPEED_SECTIONS), speed_files(results))


RENDER = {VERDICT: render_markdown, SPEED: render_speed}
PAGES = {"verdict": VERDICT, "speed": SPEED}


def write_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` through a temporary file beside it, so a reader never sees half a page."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_pages(reports_dir: Path, results: Results | None = None) -> list[Path]:
    """Both pages and their plots into ``reports_dir``, from the results there unless given: what
    ``nox -s report`` and ``nox -s gpu`` call after measuring."""
    reports_dir = Path(reports_dir)
    results = results or load_results(default_paths(reports_dir))
    render_plots(results, reports_dir)
    links = plot_links(results, reports_dir, reports_dir)
    written = []
    for name, render_page in RENDER.items():
        write_atomically(reports_dir / name, render_page(results, links))
        written.append(reports_dir / name)
    for name, document in results.papers:
        path = reports_dir / page_name(paper_name(document))
        write_atomically(path, render_paper(name, document))
        written.append(path)
    return written


# --- command line -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None):
    parser = ArgumentParser(prog="python -m bench.report", description=__doc__.splitlines()[0])
    parser.add_argument("--results", nargs="+", metavar="FILE",
                        help="results JSON files (default: the ones committed under reports/)")
    parser.add_argument("--plots", default=str(REPORTS), metavar="DIR",
                        help="where to write the PNG plots (default: reports/)")
    parser.add_argument("--page", default="verdict",
                        help="which page to print: the verdict (latest.md, the default), speed (speed.md), or "
                             "another paper's (NAME.md, from verify-NAME.json, e.g. pit)")
    parser.add_argument("--write", metavar="DIR",
                        help="write every page (latest.md, speed.md, one per other paper) and the plots into DIR "
                             "instead of printing one")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    paths = [Path(p) for p in args.results] if args.results else default_paths(Path(args.write or REPORTS))
    results = load_results(paths)
    if args.write:
        try:
            written = write_pages(Path(args.write), results)
        except OSError as error:
            raise UsageError(f"--write {args.write}: cannot write the pages there ({error.strerror or error})") from None
        for path in written:
            print(f"wrote {display_path(path)}", file=sys.stderr)
        return 0
    if args.page not in PAGES:
        papers = {paper_name(document): (name, document) for name, document in results.papers}
        if args.page not in papers:
            raise unknown_name("page", args.page, [*PAGES, *papers], list_known=True)
        sys.stdout.write(render_paper(*papers[args.page]))
        return 0
    plot_dir = Path(args.plots)
    try:
        written = render_plots(results, plot_dir)
    except OSError as error:
        raise UsageError(f"--plots {args.plots}: cannot write the plots there ({error.strerror or error})") from None
    for path in written.values():
        print(f"wrote {display_path(path)}", file=sys.stderr)
    sys.stdout.write(RENDER[PAGES[args.page]](results, plot_links(results, plot_dir)))
    return 0
