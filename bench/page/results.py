"""The results documents a page is rendered from, read and checked before anything is rendered.

Each kind names the fields the page reads; a file without them is one line naming the file and
the field. Files of one configuration saved as ``<series>-run<N>.json`` are grouped here into
series (``bench.page.series.group_series``), so runs that differ are refused up front.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from bench.core.cli import UsageError
from bench.core.io import ResultsError, display_path, read_results
from bench.spec.data_folder import DEFAULT_PAPER
from bench.spec.verdicts import STATUSES

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"
DEFAULT_PATTERNS = ("verify.json", "throughput-*.json", "model_speed-*.json", "slicing_speed-*.json",
                    "device_check-*.json", "gpu_run-*.json", "op_profile-*.json", "speed_calibration.json",
                    "speed_gate.json", "accuracy*.json")
PAPER_PATTERN = "verify-*.json"  # another paper's gate run (python -m bench.verify --paper NAME)
SPEED_KINDS = ("throughput", "model_speed", "slicing_speed", "device_check", "gpu_run", "op_profile",
               "speed_calibration", "compare")

# The fields the page reads, per kind of document and per row of its ``results``.
REQUIRED = {
    "verify": ("results", "claims", "counters", "counters_method", "function", "function_method", "models",
               "baselines"),
    "throughput": ("config", "results", "ratios"),
    "model_speed": ("results",),
    "slicing_speed": ("config", "results", "pairs"),
    "device_check": ("method", "results"),
    "gpu_run": ("phases", "budget_s"),
    "op_profile": ("config", "method", "results"),
    "speed_calibration": ("config", "chosen_floor", "rule", "alarms_per_floor", "aa", "slowed", "variance", "plan"),
    "compare": ("config",),
    "accuracy": ("model", "top1", "top5", "top1_per_seed", "top1_min", "top1_max", "top1_std",
                 "seeds", "images", "classes", "checkpoint"),
}
REQUIRED_ROWS = {
    "verify": ("model", "architecture", "img_size", "metric", "published", "published_text", "measured", "method",
               "published_note", "status", "comparison", "deviation", "deviation_stale", "source", "source_kind",
               "source_row", "reconstructed"),
    "throughput": ("model", "batch_size", "batch_size_requested", "img_size", "images_per_s_median",
                   "flops_per_image"),
    "model_speed": ("model", "batch_size", "images_per_s", "ratios"),
    "slicing_speed": ("model", "kernels", "batch_size", "batch_size_requested", "img_size", "images_per_s_median",
                      "flops_per_image"),
    "device_check": ("model", "img_size", "agrees"),
    "op_profile": ("model", "img_size", "precision", "form", "batch_size", "profiled_ms_per_image", "share",
                   "top_ops"),
}


@dataclass
class Results:
    """The documents of one page, each with the name it is shown under."""

    verify: tuple[str, dict[str, Any]]
    throughput: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    model_speed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    slicing_speed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    device_check: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    gpu_run: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    op_profile: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    speed_calibration: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    compare: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    accuracy: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    papers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # other papers' verify runs

    @property
    def verify_name(self) -> str:
        return self.verify[0]

    @property
    def verify_document(self) -> dict[str, Any]:
        return self.verify[1]

    def files(self) -> list[tuple[str, dict[str, Any]]]:
        return [self.verify, *(entry for kind in (*SPEED_KINDS, "accuracy") for entry in getattr(self, kind))]

    def documents(self) -> dict[str, dict[str, Any]]:
        return dict(self.files())


def default_paths(directory: Path = REPORTS) -> list[Path]:
    """The committed results: verify.json (required), then every throughput, speed and accuracy file,
    then the other papers' verify runs (``verify-<paper>.json``)."""
    verify = directory / "verify.json"
    if not verify.is_file():
        raise UsageError(f"results file {display_path(verify)} does not exist: "
                         f"run `python -m bench.verify --json reports/verify.json` first")
    found = [verify]
    for pattern in (*DEFAULT_PATTERNS[1:], PAPER_PATTERN):
        found += sorted(directory.glob(pattern))
    return found


def check_document(name: str, document: dict[str, Any]) -> None:
    """One line naming the file and the first field the page needs that it lacks."""
    kind = document["kind"]
    missing = [key for key in ("environment", "argv", *REQUIRED[kind]) if key not in document]
    rows = document.get("results") if kind in REQUIRED_ROWS else []
    if not missing and not isinstance(rows, list):
        missing = ["results (a list)"]
    for row in rows or []:
        absent = [key for key in REQUIRED_ROWS.get(kind, ()) if not isinstance(row, dict) or key not in row]
        if absent:
            missing.append(f"{', '.join(absent)} in a results row")
            break
    if kind == "verify" and not missing:
        for row in document["results"] + document["claims"] + document["function"]:
            if row.get("status") not in STATUSES:
                raise ResultsError(f"results file {name} has a row of unknown status {row.get('status')!r}")
    if missing:
        raise ResultsError(f"results file {name} ({kind}) is malformed: no {'; no '.join(missing)}")


def is_other_paper(document: dict[str, Any]) -> bool:
    """A verify run of a paper other than SReT (``--paper NAME``): it has a page of its own."""
    return document.get("paper") not in (None, DEFAULT_PAPER)


def load_results(paths: Sequence[Path], root: Path = ROOT) -> Results:
    """Read and check every file; exactly one verify document, since the verdict comes from it.
    Files are named relative to ``root``, the checkout they belong to (a copy of it in tests)."""
    from bench.page.series import group_series

    documents = []
    for path in paths:
        name = display_path(path, root)
        document = read_results(path)
        check_document(name, document)
        documents.append((name, document))
    verify = [entry for entry in documents if entry[1]["kind"] == "verify" and not is_other_paper(entry[1])]
    papers = [entry for entry in documents if entry[1]["kind"] == "verify" and is_other_paper(entry[1])]
    if len(verify) != 1:
        given = ", ".join(name for name, _ in verify) or "none"
        raise UsageError(f"the report needs exactly one verify results file (bench.verify --json), got {given}")
    results = Results(verify=verify[0], papers=papers, **{kind: [entry for entry in documents if entry[1]["kind"] == kind]
                                           for kind in (*SPEED_KINDS, "accuracy")})
    for kind in ("throughput", "model_speed", "slicing_speed"):
        group_series(getattr(results, kind))  # runs of one series that differ are refused here
    return results
