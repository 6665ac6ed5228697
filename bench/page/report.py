"""The results JSON as one Markdown page with its plots (``python -m bench.report > reports/latest.md``).

Reads what ``bench.verify``, ``bench.throughput``, ``bench.model_speed``,
``bench.slicing_speed``, ``bench.gpu`` and ``bench.accuracy`` wrote (by default the files
committed under ``reports/``) and renders the verdict on the published SReT figures, then
every figure, claim, counter, timing and top-1 with how it was measured. The speed sections
(``bench.speed_report``) show separate runs of one configuration (``*-run<N>.json``) in one
table. The page is a function of those files, ``expected/`` and the
git history up to the commit it names (for the results files' age): no clock, no machine state,
so a re-render of the committed results at that commit reproduces ``reports/latest.md``.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import matplotlib.style

from bench.page import commands
from bench.page import evidence
from bench.page import peers_report
from bench.page import permutation
from bench.page import plots
from bench.page import provenance
from bench.page import scope
from bench.page import speed_report
from bench.page import summary
from bench.core.cli import ArgumentParser, UsageError, run
from bench.spec.expected import STATUSES, SUBSET
from bench.page.markdown import table as _table
from bench.page.markdown import device_label
from bench.page.markdown import date as _date
from bench.page.markdown import number as _number
from bench.page.markdown import significant as _significant
from bench.core.io import ResultsError, read_results
from bench.core.schema import is_full_val

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"
DEFAULT_PATTERNS = ("verify.json", "throughput-*.json", "model_speed-*.json", "slicing_speed-*.json",
                    "device_check-*.json", "gpu_run-*.json", "accuracy*.json")
ACCURACY_PLOT = peers_report.PLOT_NAME
PWC_PREFIX = "Papers with Code"
DEVIATION_MARKER = "known deviation: "

# Keys each kind of document must hold for the page to be rendered from it.
_REQUIRED = {
    "verify": ("results", "claims", "counters", "counters_method", "function", "function_method"),
    "throughput": ("config", "results", "ratios"),
    "model_speed": ("results",),
    "slicing_speed": ("config", "results", "pairs"),
    "device_check": ("method", "results"),
    "gpu_run": ("phases", "budget_s"),
    "accuracy": ("model", "top1", "top5", "top1_per_seed", "top1_min", "top1_max", "top1_std",
                 "seeds", "images", "classes", "checkpoint"),
}
_REQUIRED_ROWS = {
    "verify": ("model", "img_size", "metric", "published", "published_text", "measured", "source",
               "status", "note", "reconstructed"),
    "throughput": ("model", "batch_size", "batch_size_requested", "img_size", "images_per_s_median",
                   "flops_per_image"),
    "model_speed": ("model", "batch_size", "images_per_s", "ratios"),
    "slicing_speed": ("model", "kernels", "batch_size", "batch_size_requested", "img_size", "images_per_s_median",
                      "flops_per_image"),
    "device_check": ("model", "img_size", "agrees"),
}
SPEED_KINDS = ("throughput", "model_speed", "slicing_speed", "device_check", "gpu_run")


@dataclass
class Results:
    """The documents of one report, each with the name it is shown under."""

    verify: tuple[str, dict[str, Any]]
    throughput: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    model_speed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    slicing_speed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    device_check: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    gpu_run: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    accuracy: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def files(self) -> list[tuple[str, dict[str, Any]]]:
        return [self.verify, *(entry for kind in (*SPEED_KINDS, "accuracy") for entry in getattr(self, kind))]


# --- reading ----------------------------------------------------------------------------------


def display_name(path: Path) -> str:
    """A path as the page shows it: relative to the repository when inside it, so it is stable."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def default_paths(directory: Path = REPORTS) -> list[Path]:
    """The committed results: verify.json (required), then every throughput, speed and accuracy file."""
    verify = directory / "verify.json"
    if not verify.is_file():
        raise UsageError(f"results file {display_name(verify)} does not exist: "
                         f"run `python -m bench.verify --json reports/verify.json` first")
    found = [verify]
    for pattern in DEFAULT_PATTERNS[1:]:
        found += sorted(directory.glob(pattern))
    return found


def _check_document(name: str, document: dict[str, Any]) -> None:
    kind = document["kind"]
    missing = [key for key in ("environment", *_REQUIRED[kind]) if key not in document]
    rows = document.get("results") if kind in _REQUIRED_ROWS else []
    if not missing and not isinstance(rows, list):
        missing = ["results (a list)"]
    for row in rows or []:
        absent = [key for key in _REQUIRED_ROWS.get(kind, ()) if not isinstance(row, dict) or key not in row]
        if absent:
            missing.append(f"{', '.join(absent)} in a results row")
            break
    if kind == "verify" and not missing:
        for row in document["results"] + document["claims"]:
            if row.get("status") not in STATUSES:
                raise ResultsError(f"results file {name} has a row of unknown status {row.get('status')!r}")
    if missing:
        raise ResultsError(f"results file {name} ({kind}) is malformed: no {'; no '.join(missing)}")


def load_results(paths: Sequence[Path]) -> Results:
    """Read and check every file; exactly one verify document, since the verdict comes from it."""
    documents = []
    for path in paths:
        name = display_name(path)
        document = read_results(path)
        _check_document(name, document)
        documents.append((name, document))
    verify = [entry for entry in documents if entry[1]["kind"] == "verify"]
    if len(verify) != 1:
        given = ", ".join(name for name, _ in verify) or "none"
        raise UsageError(f"the report needs exactly one verify results file (bench.verify --json), got {given}")
    results = Results(verify=verify[0], **{kind: [entry for entry in documents if entry[1]["kind"] == kind]
                                           for kind in (*SPEED_KINDS, "accuracy")})
    for kind in ("throughput", "model_speed", "slicing_speed"):
        speed_report.group_series(getattr(results, kind))  # runs of one series that differ are refused here
    return results


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
    _, verify = results.verify
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
    committed PNGs are what this draws from the committed results (tests/test_report_page.py)."""
    with matplotlib.style.context("default"):
        return write_plots(results, directory)


def plot_links(results: Results, directory: Path, page_dir: Path = REPORTS) -> dict[str, str]:
    """Each plot's link as written in the page: relative to the page's folder (reports/)."""
    return {key: Path(os.path.relpath(Path(directory).resolve() / name, page_dir.resolve())).as_posix()
            for key, name in plot_names(results).items()}


# --- formatting helpers -----------------------------------------------------------------------


_METRIC_DIGITS = {"gflops": 3, "params_m": 3, "top1": 2}
_METRIC_LABEL = {"gflops": "GMACs", "params_m": "params (M)", "top1": "top-1 (%)"}


def _measured(row: dict[str, Any]) -> str:
    return _number(row["measured"], _METRIC_DIGITS.get(row["metric"], 3))


def _status(status: str) -> str:
    """Statuses as words, a failure in bold so it cannot be missed in a long table."""
    return "**fail**" if status == "fail" else status


# --- sections ---------------------------------------------------------------------------------


def _figure_key(row: dict[str, Any]) -> str:
    return f"{row['model']} {row['img_size']} {row['metric']}"


def failing_lines(verify: dict[str, Any]) -> list[str]:
    lines = [f"- **fail**: {_figure_key(row)}: published {row['published_text']}, measured {_measured(row)}"
             f" ({row['note'].split('; ')[0]})" for row in verify["results"] if row["status"] == "fail"]
    lines += [f"- **fail**: claim {claim['claim_id']}: published {claim['published_low']}-"
              f"{claim['published_high']} {claim['unit']}, measured {_significant(claim['measured'])}"
              for claim in verify["claims"] if claim["status"] == "fail"]
    lines += [f"- **fail**: {row['model']} under {row['policy']} kernels computes another function than the official "
              f"code ({row['note']})" for row in verify["function"] if row["status"] == "fail"]
    return lines


def _pwc_name(row: dict[str, Any]) -> str:
    name = row["source"].rsplit(": ", 1)[-1]
    return f"{name} (reconstructed: never released)" if row["reconstructed"] else name


def headline_section(verify: dict[str, Any]) -> list[str]:
    rows = [row for row in verify["results"] if row["source"].startswith(PWC_PREFIX)]
    lines = ["## The four Papers-with-Code figures", ""]
    if not rows:
        return lines + ["Not in this verify run (it was restricted with `--models`).", ""]
    table = [[_pwc_name(row), row["img_size"], _METRIC_LABEL.get(row["metric"], row["metric"]),
              row["published_text"], _measured(row), _status(row["status"]), row["source"]] for row in rows]
    lines += [_table(table, ["figure", "size", "metric", "published", "measured", "status", "source"]), ""]
    if any(row["reconstructed"] for row in rows):
        lines += ["SReT-ExT was never released (no code, no checkpoint): its architecture is "
                  "reconstructed, so its row checks our reconstruction, not the authors' model.", ""]
    lines += ["GMACs are multiply-adds of one image, counted with fvcore; the paper and Papers with Code print "
              "them as \"GFLOPs\".", ""]
    return lines


def _readme_name(row: dict[str, Any]) -> str:
    return row["source"].split(" row ", 1)[-1] if " row " in row["source"] else row["source"]


def readme_section(verify: dict[str, Any]) -> list[str]:
    baselines = peers_report.baseline_models(verify)  # their rows are in the comparison section
    rows = [row for row in verify["results"]
            if not row["source"].startswith(PWC_PREFIX) and row["model"] not in baselines]
    lines = ["## Official README figures (released checkpoints)", ""]
    if not rows:
        return lines + ["Not in this verify run.", ""]
    by_tag: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_tag.setdefault(row["model"], {})[row["metric"]] = row
    metrics = [m for m in ("gflops", "params_m", "top1") if any(m in t for t in by_tag.values())]
    headers = ["README row", "model", "size"]
    for metric in metrics:
        headers += [f"{_METRIC_LABEL[metric]} published / measured", "status"]
    table = []
    for tag, metric_rows in by_tag.items():
        first = next(iter(metric_rows.values()))
        line = [_readme_name(first), tag, first["img_size"]]
        for metric in metrics:
            row = metric_rows.get(metric)
            line += ([f"{row['published_text']} / {_measured(row)}", _status(row["status"])]
                     if row else ["-", "-"])
        table.append(line)
    lines += [_table(table, headers), ""]
    lines += ["Each figure holds when the measurement rounds to it as printed (`1.1` accepts [1.05, 1.15)); "
              "no tolerance is added. ⋇ marks a model without slicing.", ""]
    reasons: dict[str, list[str]] = {}
    for row in rows:
        if row["status"] == "not-measured":
            reasons.setdefault(row["note"].split("; ")[0], []).append(f"{row['model']} {row['metric']}")
    for reason, figures in reasons.items():
        lines += [f"Not measured ({len(figures)} figures: {', '.join(figures)}): {reason}.", ""]
    for row in rows:
        if row["status"] == SUBSET:
            lines += [f"On a subset: {row['model']} {row['metric']} {_measured(row)}, {row['note']}; "
                      "neither a pass nor a failure.", ""]
    return lines


def _split_deviation(note: str) -> tuple[str, str, str]:
    """A known deviation's note as (the comparison, the explanation, how it was measured).

    verify writes ``<comparison>; known deviation: <explanation>; <how>; <figure note>``; the
    explanation is prose, so it ends at the first ``.;``.
    """
    before, _, after = note.partition(DEVIATION_MARKER)
    explanation, found, rest = after.partition(".; ")
    return before.rstrip("; "), explanation + ("." if found else ""), rest


def _deviation_text(note: str) -> list[str]:
    comparison, explanation, how = _split_deviation(note)
    lines = [f"{comparison}.", "", f"> {explanation or 'see expected/deviations.md'}", ""]
    return lines + ([f"How it was measured, and the figure's note: {how}.", ""] if how else [])


def deviations_section(verify: dict[str, Any]) -> list[str]:
    lines = ["## Known deviations", ""]
    rows = [row for row in verify["results"] if row["status"] == "known-deviation"]
    claims = [claim for claim in verify["claims"] if claim["status"] == "known-deviation"]
    if not rows and not claims:
        lines += ["None.", ""]
    for row in rows:
        lines += [f"### {_figure_key(row)}: published {row['published_text']}, measured {_measured(row)}", "",
                  *_deviation_text(row["note"])]
    for claim in claims:
        lines += [f"### claim {claim['claim_id']}: published {claim['published_low']:g}-"
                  f"{claim['published_high']:g} {claim['unit']}, measured {_significant(claim['measured'])}", "",
                  *_deviation_text(claim["note"])]
    stale = [row for row in verify["results"] if row["status"] == "pass" and "is stale" in row["note"]]
    for row in stale:
        lines += [f"Stale: {_figure_key(row)} is marked a known deviation but now holds "
                  f"({row['note'].split('; ')[0]}).", ""]
    lines += ["The explanations are kept in [expected/deviations.md](../expected/deviations.md).", ""]
    return lines


def claims_section(verify: dict[str, Any]) -> list[str]:
    lines = ["## Claims of the paper's text", ""]
    if not verify["claims"]:
        return lines + ["None checked in this verify run.", ""]
    table = [[claim["claim_id"], claim["claim"], f"{claim['published_low']:g}-{claim['published_high']:g} "
              f"{claim['unit']}", _significant(claim["measured"]), _status(claim["status"]), claim["source"]]
             for claim in verify["claims"]]
    lines += [_table(table, ["claim", "as stated", "published", "measured", "status", "source"]), ""]
    for claim in verify["claims"]:
        note = _split_deviation(claim["note"])[0]
        lines += [f"### {claim['claim_id']}", "", f"{note}.", ""]
        details = claim.get("details") or []
        if details:
            keys = list(dict.fromkeys(key for detail in details for key in detail))
            lines += [_table([[_significant(detail.get(key)) for key in keys] for detail in details], keys), ""]
    return lines


def _difference(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}"


def function_section(verify: dict[str, Any]) -> list[str]:
    """The released models against the official code: one row per model, a column per policy."""
    lines = ["## What each released model computes, against the official code", ""]
    rows = verify["function"]
    if not rows:
        return lines + ["Not in this verify run (no released model selected).", ""]
    policies = list(dict.fromkeys(row["policy"] for row in rows))
    by_model: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_model.setdefault(row["model"], {})[row["policy"]] = row
    table = []
    for model, cells in by_model.items():
        first = next(iter(cells.values()))
        table.append([model, first["row"], first["img_size"],
                      *(f"{_difference(cells[p]['measured'])} {_status(cells[p]['status'])}"
                        if p in cells else "-" for p in policies)])
    lines += [f"These rows check our rebuild against the release, not the paper's figures: source "
              f"{rows[0]['source']}. {verify['function_method']}", "",
              _table(table, ["released model", "official row", "size",
                             *(f"max abs logit difference, {p} kernels" for p in policies)]), ""]
    for row in rows:
        if row["status"] == "fail":
            lines += [f"- {row['model']}, {row['policy']}: {row['note']}."]
    return lines + ([""] if lines[-1] else [])


def counters_section(verify: dict[str, Any]) -> list[str]:
    lines = ["## Three FLOP counters side by side", "", verify["counters_method"], ""]
    table = []
    for name, count in verify["counters"].items():
        table.append([name, _number(count["fvcore_macs"] / 1e9), _number(count["thop_macs"] / 1e9),
                      _number(count["torch_counter_macs"] / 1e9), _number(count["params"] / 1e6),
                      "; ".join(count.get("differences") or []) or "they agree"])
    lines += [_table(table, ["model@size", "fvcore GMACs", "thop GMACs", "torch counter GMACs", "params (M)",
                             "where they differ (GMACs per category)"]), ""]
    return lines


def accuracy_section(results: Results, links: dict[str, str]) -> list[str]:
    _, verify = results.verify
    lines = ["## Top-1 and GMACs", ""]
    top1_rows = [row for row in verify["results"] if row["metric"] == "top1"]
    measured = [row for row in top1_rows if row["measured"] is not None and row["status"] != SUBSET]
    subset = [row for row in top1_rows if row["status"] == SUBSET]
    lines += [f"`bench.verify` measured {len(measured)} of the {len(top1_rows)} published top-1 figures on "
              f"ImageNet-1k val" + (f", and {len(subset)} on a subset, not comparable" if subset else "")
              + " (see the README table above for each, and why the others were not measured).", ""]
    lines += peers_report.section(verify, [d for _, d in results.accuracy], links.get("accuracy"))
    lines += ["### Top-1 measured by `bench.accuracy`", ""]
    if not results.accuracy:
        return lines + ["Not measured: no accuracy results file (`python -m bench.accuracy --json ...`).", ""]
    table = []
    for name, document in results.accuracy:
        full = is_full_val(document)
        scope = ("ImageNet-1K val" if full else
                 f"{document['images']} images of {document['classes']} classes: not the ImageNet-1K val "
                 f"top-1, not comparable to a published figure")
        spread = (f"{document['top1_min']:.3f} / {document['top1_max']:.3f} / {document['top1_std']:.3f}"
                  if len(document["seeds"]) > 1 else "- (one seed)")
        table.append([document["model"], Path(document["checkpoint"]).name, scope,
                      ", ".join(map(str, document["seeds"])), f"{document['top1']:.3f}",
                      ", ".join(f"{value:.3f}" for value in document["top1_per_seed"]), spread,
                      f"{document['top5']:.3f}", device_label(document["environment"]), name])
    lines += [_table(table, ["model", "checkpoint", "images", "seeds", "top-1 (%) mean", "top-1 per seed",
                             "top-1 min / max / std", "top-5 (%)", "device", "file"]), ""]
    return lines


_ENVIRONMENT_FIELDS = (("kind", None), ("date", "date"), ("git commit", "git_commit"), ("device", None),
                       ("torch device", "device"), ("threads", "threads"), ("CPUs", "cpu_count"),
                       ("python", "python"), ("torch", "torch"), ("timm", "timm"), ("fvcore", "fvcore"),
                       ("thop", "thop"), ("platform", "platform"))


def environment_section(results: Results) -> list[str]:
    files = results.files()
    table = []
    for label, key in _ENVIRONMENT_FIELDS:
        if label == "kind":
            cells = [document["kind"] for _, document in files]
        elif label == "device":
            cells = [device_label(document["environment"]) for _, document in files]
        else:
            cells = [document["environment"].get(key) for _, document in files]
        if key == "git_commit":
            cells = [cell[:12] if cell else None for cell in cells]
        table.append([label, *cells])
    return ["## Environment of each results file", "",
            _table(table, ["", *(f"`{name}`" for name, _ in files)]), "",
            "Regenerate this page from the committed results with `python -m bench.report > reports/latest.md`.", ""]


UNITS = ("Units, the same in every table: **GMACs** = 10^9 multiply-adds for one image, what the paper, Papers "
         "with Code and the official README print as \"GFLOPs\" (counted by fvcore); **GFLOP** = 10^9 "
         "floating-point operations, 2 per multiply-add (FLOP rates and MFU only); params in millions (10^6); "
         "memory in MiB (2^20 bytes); images/s is a median over timed rounds.")


def render_markdown(results: Results, links: dict[str, str] | None = None,
                    ages: dict[str, provenance.Age] | None = None) -> str:
    """The whole page: a function of the results documents, ``expected/``, the plots' links and the
    results files' ages against the code (``ages``; by default from git history at HEAD)."""
    links = links or {}
    _, verify = results.verify
    top = ["# SReT (arXiv 2111.05297): do the published figures hold?", "",
           *evidence.verdict_lines(verify, _date(verify))]
    failing = failing_lines(verify)
    if failing:
        top += [*failing, ""]
    ages = provenance.ages(results.files()) if ages is None else ages
    top += [*provenance.stale_lines(ages), UNITS, ""]
    body = scope.scope_section(verify)
    body += headline_section(verify)
    body += readme_section(verify)
    body += deviations_section(verify)
    body += claims_section(verify)
    body += function_section(verify)
    body += counters_section(verify)
    body += accuracy_section(results, links)
    models = [row["model"] for row in verify["results"]] + [row["model"] for _, document in results.throughput
                                                             for row in document["results"]]
    body += permutation.permutation_section(models + [d["model"] for _, d in results.accuracy], results.accuracy)
    for series in speed_report.group_series(results.throughput):
        body += speed_report.throughput_section(series, links)
    for series in speed_report.group_series(results.slicing_speed):
        body += speed_report.slicing_section(series, verify)
    for series in speed_report.group_series(results.model_speed):
        body += speed_report.model_speed_section(series)
    for name, document in results.gpu_run:
        body += speed_report.gpu_run_section(name, document)
    for name, document in results.device_check:
        body += speed_report.device_check_section(name, document, verify)
    body += environment_section(results)
    body += provenance.age_section(ages)
    lines = top + summary.summary_section(results, "\n".join(body)) + body
    page = "\n".join(lines).rstrip("\n") + "\n"
    return commands.annotate(page, dict(results.files()))


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


if __name__ == "__main__":
    raise SystemExit(run(main))
