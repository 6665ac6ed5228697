"""What a verify run established: published figures counted apart from the measurements behind them.

Several published figures can rest on one measurement: the GMACs and parameters of a model
depend on its shape only, so an ``.in1k`` and a ``.distill_in1k`` tag of one architecture,
and a Papers-with-Code row naming that architecture, are checked by one count. A top-1
depends on the weights, so each tag is its own measurement. Rows that check a reconstructed
architecture (``reconstructed``: never released) test our reconstruction, not the paper,
and are kept out of what the paper's figures established. The grouping is derived from the
rows (architecture name, metric, size), never from a list of ids.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from bench.core.names import architecture
from bench.spec.verdicts import STATUSES, SUBSET

# Metrics that are a property of the architecture at a size, not of any weights.
SHAPE_METRICS = ("gmacs", "params_m")


def measurement_key(row: dict[str, Any]) -> tuple[str, int, str]:
    """The one measurement a published figure is checked against."""
    model = architecture(row["model"]) if row["metric"] in SHAPE_METRICS else row["model"]
    return model, int(row["img_size"]), row["metric"]


@dataclass
class Evidence:
    """Figures and distinct measurements per status, the reconstructed rows apart."""

    figures: dict[str, int] = field(default_factory=dict)
    measurements: dict[str, int] = field(default_factory=dict)
    figures_total: int = 0
    measurements_total: int = 0
    reconstructed: list[dict[str, Any]] = field(default_factory=list)


def evidence(rows: Iterable[dict[str, Any]]) -> Evidence:
    """Count published-figure rows (verify's ``results``) by status, and the measurements behind them.

    A measurement shared by figures of different statuses (e.g. one tag's figure marked a
    known deviation) counts under each status it carries, once per status.
    """
    rows = list(rows)
    paper = [row for row in rows if not row.get("reconstructed")]
    keys_by_status: dict[str, set] = defaultdict(set)
    figures_by_status: dict[str, int] = defaultdict(int)
    for row in paper:
        keys_by_status[row["status"]].add(measurement_key(row))
        figures_by_status[row["status"]] += 1
    return Evidence(
        figures={status: figures_by_status[status] for status in STATUSES},
        measurements={status: len(keys_by_status[status]) for status in STATUSES},
        figures_total=len(paper),
        measurements_total=len({measurement_key(row) for row in paper}),
        reconstructed=[row for row in rows if row.get("reconstructed")],
    )


_STATUS_WORDS = {"pass": "hold", "fail": "fail", "known-deviation": "known deviation",
                 SUBSET: "measured on a subset (not ImageNet-1k val)", "not-measured": "not measured"}


def _counts(counts: dict[str, int]) -> str:
    """"30 hold, 0 fail, 1 known deviation": hold and fail always, the other statuses when they occur."""
    return ", ".join(f"{counts[status]} {_STATUS_WORDS[status]}" for status in STATUSES
                     if counts[status] or status in ("pass", "fail"))


def verdict_lines(verify: dict[str, Any], date: str, anchors: dict[str, str]) -> list[str]:
    """The verdict: the paper's figures and the measurements behind them, claims, the release's
    function, reconstructions apart; linked to the sections (``anchors``: key -> anchor)."""
    found = evidence(verify["results"])
    claims = {status: sum(claim["status"] == status for claim in verify["claims"]) for status in STATUSES}
    lines = [f"**Verdict: of the {found.figures_total} published figures, {_counts(found.figures)}**; "
             f"of the {len(verify['claims'])} text claims checked, {_counts(claims)}. Checked by `bench.verify` "
             f"on {date}; the figures (Papers with Code and the official README) rest on "
             f"{found.measurements_total} independent measurements: {_counts(found.measurements)} "
             f"([what was checked](#{anchors['scope']})).", ""]
    function = verify["function"]
    if function:
        passed = sum(row["status"] == "pass" for row in function)
        lines += [f"**Against the official code** (not the paper): of the {len(function)} function rows "
                  f"({len({row['model'] for row in function})} released models under "
                  f"{', '.join(dict.fromkeys(row['policy'] for row in function))} kernels), {passed} compute the "
                  f"official function within {function[0]['tolerance']:g} and {len(function) - passed} do not "
                  f"([the rows](#{anchors['function']})).", ""]
    for row in found.reconstructed:
        lines += [f"Counted apart: {row['model']} {row['img_size']} {row['metric']} ({row['status']}) checks our "
                  f"reconstruction of a model that was never released, not a figure of the authors' model.", ""]
    return lines


MEASUREMENT_WORDS = ("A measurement is one count of a model's shape for GMACs and parameters (an `.in1k` and a "
                     "`.distill_in1k` tag of one architecture, and a Papers-with-Code row naming it, share it) and one "
                     "evaluation of one set of weights for top-1. A measurement behind figures of different statuses "
                     "is counted under each. Reconstructed architectures are not counted here.")
