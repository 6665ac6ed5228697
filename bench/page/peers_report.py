"""SReT among its peers: the paper's figure re-drawn (top-1 against parameters and against
GMACs, SReT and the timm baselines together) and a table, model by model, of whether
"higher top-1 at fewer parameters and FLOPs" holds.

Published top-1 (the paper's, timm's ``results-imagenet.csv``) is drawn hollow, a measured
top-1 filled where there is one; every cost is measured (the gate's parameter count and
fvcore multiply-adds). Labels are placed one by one where their rendered text overlaps no
other label and no marker, so the figure stays readable where SReT's points crowd together.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from bench.page import plots
from bench.spec.baselines import peers_of
from bench.core.names import architecture
from bench.page.section import Section, Table
from bench.page.plots import DPI, plt
from bench.core.schema import is_full_val

PLOT_NAME = "top1_vs_params_and_gmacs.png"
FIGSIZE = (13.0, 6.0)
AXES = (("params_m", "parameters (M, log scale)"), ("gmacs", "GMACs per image (multiply-adds, log scale)"))
SRET_COLOURS = {False: "tab:blue", True: "tab:green"}  # distilled?
BASELINE_COLOURS = {"in1k": "tab:orange", "in1k_distilled": "tab:red", "in21k_ft_in1k": "tab:purple",
                    "in22k_distilled_ft_in1k": "tab:brown"}
LABEL_POINTS = 6.5
# Where a label may go, in points from its marker, nearest first: beside, above, below, then farther out.
_DIRECTIONS = ((1, 0), (1, 1), (1, -1), (-1, 0), (-1, 1), (-1, -1), (0, 1), (0, -1))
_OFFSETS = tuple((dx * step, dy * step) for step in (6, 12, 20, 30, 42) for dx, dy in _DIRECTIONS)


@dataclass(frozen=True)
class Point:
    """One model on the figure: its measured costs and its top-1 (published, and measured if any)."""

    model: str
    label: str
    colour: str
    sret: bool
    params_m: float | None
    gmacs: float | None
    top1_published: float
    top1_measured: float | None = None


def _sret_label(tag: str) -> str:
    """``sret_lt_g16_14_1.in1k`` -> ``LT 16-14-1``; ``sret_s_wo_slice_384.distill_in1k`` -> ``S w/o slice 384``."""
    name = tag.split(".")[0].removeprefix("sret_")
    family, _, rest = name.replace("_wo_slice", " w/o slice").replace("_g16_14_1", " 16-14-1").partition("_")
    family, _, words = family.partition(" ")
    return " ".join(part for part in (family.upper(), words, rest.replace("_", " ")) if part)


def baseline_models(verify: Mapping[str, Any]) -> set[str]:
    """The pretrained tags of the baselines in a verify results document (none in an older one)."""
    return {baseline["model"] for baseline in verify.get("baselines", [])}


def _measured_top1(accuracies: Sequence[Mapping[str, Any]], model: str) -> float | None:
    """A baseline's top-1 from an accuracy file on the full ImageNet val, by tag or architecture."""
    for document in accuracies:
        if document["model"] in (model, architecture(model)) and is_full_val(document):
            return document["top1"]
    return None


def points(verify: Mapping[str, Any], accuracies: Sequence[Mapping[str, Any]] = ()) -> list[Point]:
    """SReT's released tags with a published top-1 and a measured cost, then the baselines."""
    by_tag: dict[str, dict[str, Mapping[str, Any]]] = {}
    others = baseline_models(verify)
    for row in verify["results"]:
        if "." in row["model"] and row["model"] not in others:
            by_tag.setdefault(row["model"], {})[row["metric"]] = row
    out = []
    for tag, metrics in by_tag.items():
        top1 = metrics.get("top1")
        costs = {metric: (metrics[metric]["measured"] if metric in metrics else None) for metric, _ in AXES}
        if top1 is None or all(value is None for value in costs.values()):
            continue
        measured = top1["measured"] if top1["status"] in ("pass", "fail", "known-deviation") else None
        out.append(Point(tag, _sret_label(tag), SRET_COLOURS["distill" in tag], True, costs["params_m"],
                         costs["gmacs"], top1["published"], measured))
    for baseline in verify.get("baselines", []):
        out.append(Point(baseline["model"], baseline["label"], BASELINE_COLOURS[baseline["training"]], False,
                         baseline["params"] / 1e6, baseline["gmacs"], float(baseline["top1_text"]),
                         _measured_top1(accuracies, baseline["model"])))
    return out


# --- the figure -------------------------------------------------------------------------------


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _place_labels(figure, axes, drawn: Sequence[tuple[Point, float, float]]) -> list:
    """One annotation per point, each at the first offset whose rendered text overlaps no placed
    label and no marker and stays inside the axes; the crowded ones get a leader line."""
    renderer = figure.canvas.get_renderer()
    inside = axes.get_window_extent(renderer)
    marker = 5.0 * DPI / 72  # half a marker's size, in pixels
    markers = [axes.transData.transform((x, y)) for point, x, top1 in drawn
               for y in (top1, point.top1_measured) if y is not None]
    taken: list = []
    annotations = []
    for point, x, y in sorted(drawn, key=lambda item: (item[1], item[2])):
        best = None
        for dx, dy in _OFFSETS:
            text = axes.annotate(point.label, (x, y), xytext=(dx, dy), textcoords="offset points",
                                 fontsize=LABEL_POINTS, color=point.colour, va="center",
                                 ha="left" if dx > 0 else "right" if dx < 0 else "center")
            box = text.get_window_extent(renderer)
            clash = sum(_overlap(box, other) for other in taken)
            clash += sum(box.x0 - marker < mx < box.x1 + marker and box.y0 - marker < my < box.y1 + marker
                         for mx, my in markers)
            clash += 0 if (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0
                           and box.y1 <= inside.y1) else 1
            if best is None or clash < best[0]:
                if best is not None:
                    best[1].remove()
                best = (clash, text, box, (dx, dy))
            else:
                text.remove()
            if clash == 0:
                break
        _, text, box, (dx, dy) = best
        if math.hypot(dx, dy) > 12:  # far from its marker: a leader line says whose label it is
            text.remove()
            text = axes.annotate(point.label, (x, y), xytext=(dx, dy), textcoords="offset points",
                                 fontsize=LABEL_POINTS, color=point.colour, va="center",
                                 ha="left" if dx > 0 else "right" if dx < 0 else "center",
                                 arrowprops={"arrowstyle": "-", "color": point.colour, "linewidth": 0.5,
                                             "shrinkA": 0, "shrinkB": 3})
        taken.append(box)
        annotations.append(text)
    return annotations


def draw(points_: Sequence[Point]):
    """The figure (not saved): one panel per cost, hollow published and filled measured top-1."""
    figure, panels = plt.subplots(1, 2, figsize=FIGSIZE, sharey=True)
    for axes, (metric, xlabel) in zip(panels, AXES):
        drawn = [(p, getattr(p, metric), p.top1_published) for p in points_ if getattr(p, metric) is not None]
        for point, x, y in drawn:
            shape = "o" if point.sret else "s"
            axes.scatter([x], [y], marker=shape, s=36, facecolors="none", edgecolors=point.colour, zorder=3)
            if point.top1_measured is not None:
                axes.scatter([x], [point.top1_measured], marker=shape, s=36, color=point.colour, zorder=3)
                axes.plot([x, x], [y, point.top1_measured], color=point.colour, linewidth=0.5)
        axes.set_xscale("log")
        axes.margins(x=0.15, y=0.08)
        low, high = axes.get_xlim()
        ticks = [t for t in (0.5, 1, 2, 3, 5, 10, 20, 30, 50, 100) if low <= t <= high]
        axes.set_xticks(ticks, [f"{t:g}" for t in ticks])
        axes.minorticks_off()
        axes.set_xlabel(xlabel)
        axes.grid(True, alpha=0.3)
    panels[0].set_ylabel("ImageNet-1k val top-1 (%)")
    panels[0].set_title("Top-1 vs parameters", fontsize=10)
    panels[1].set_title("Top-1 vs GMACs", fontsize=10)
    handles = _legend_handles(points_)
    figure.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), fontsize=7, frameon=False)
    figure.tight_layout(rect=(0, 0.1, 1, 1))
    figure.set_layout_engine("none")  # labels are placed against this layout: it must not move after
    for axes, (metric, _) in zip(panels, AXES):
        _place_labels(figure, axes, [(p, getattr(p, metric), p.top1_published)
                                     for p in points_ if getattr(p, metric) is not None])
    return figure


def _legend_handles(points_: Sequence[Point]) -> list:
    from matplotlib.lines import Line2D

    def entry(marker, colour, filled, text):
        return Line2D([], [], linestyle="none", marker=marker, markeredgecolor=colour,
                      markerfacecolor=colour if filled else "none", label=text)

    handles = []
    for distilled, words in ((False, "SReT, ImageNet-1k"), (True, "SReT, distilled")):
        if any(p.sret and p.colour == SRET_COLOURS[distilled] for p in points_):
            handles.append(entry("o", SRET_COLOURS[distilled], False, f"{words}: published top-1"))
    words = {"in1k": "ImageNet-1k", "in1k_distilled": "distilled", "in21k_ft_in1k": "ImageNet-21k pre-trained",
             "in22k_distilled_ft_in1k": "distilled on ImageNet-22k"}
    for training, colour in BASELINE_COLOURS.items():
        if any(not p.sret and p.colour == colour for p in points_):
            handles.append(entry("s", colour, False, f"timm baseline, {words[training]}: published top-1"))
    if any(p.top1_measured is not None for p in points_):
        handles.append(entry("o", "tab:gray", True, "measured top-1 (filled)"))
    return handles


def plot(verify: Mapping[str, Any], accuracies: Sequence[Mapping[str, Any]], path: Path) -> bool:
    """Draw the figure into ``path``; False (nothing written) when there is nothing to draw."""
    drawn = points(verify, accuracies)
    if not drawn:
        return False
    plots.save(draw(drawn), path)
    return True


# --- the table and the section -----------------------------------------------------------------


def comparisons(verify: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each SReT tag beside each of its peers: top-1 difference (published vs published) and cost
    ratios (measured vs measured); a ratio is None where a cost was not measured."""
    sret = [p for p in points(verify) if p.sret]
    baselines = verify.get("baselines", [])
    sizes = {row["model"]: row["img_size"] for row in verify["results"]}
    out = []
    for point in sret:
        for peer in peers_of(point.model, sizes[point.model], baselines):
            params = None if point.params_m is None else point.params_m / (peer["params"] / 1e6)
            gmacs = None if point.gmacs is None else point.gmacs / peer["gmacs"]
            delta = point.top1_published - float(peer["top1_text"])
            out.append({"model": point.model, "peer": peer["label"], "peer_model": peer["model"],
                        "training": peer["training_words"], "top1_difference": delta,
                        "params_ratio": params, "gmacs_ratio": gmacs,
                        "holds": delta > 0 and params is not None and params < 1 and gmacs is not None
                        and gmacs < 1})
    return out


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _holds(row: Mapping[str, Any]) -> str:
    if row["holds"]:
        return "yes"
    parts = []
    if row["top1_difference"] <= 0:
        parts.append("lower top-1")
    for key, words in (("params_ratio", "parameters"), ("gmacs_ratio", "GMACs")):
        if row[key] is not None and row[key] >= 1:
            parts.append(f"more {words}")
    return "no: " + ", ".join(parts) if parts else "-"


def section(verify: Mapping[str, Any], accuracies: Sequence[Mapping[str, Any]], link: str | None,
            verify_name: str, key: str = "") -> Section:
    """The page's comparison: the figure, what it draws, the table (read from ``verify_name``)."""
    out = Section("SReT among its peers", key=key, level=3)
    drawn = points(verify, accuracies)
    if link and drawn:
        out.add(f"![Top-1 vs parameters and GMACs]({link})")
    out.add(f"Drawn: {sum(p.sret for p in drawn)} SReT models and {sum(not p.sret for p in drawn)} timm "
            "baselines. Top-1 is the published figure (hollow: the paper's README for SReT, timm's "
            "`results/results-imagenet.csv` for the baselines, `expected/baselines.csv` gives each line and "
            "commit), filled where it was measured; parameters and GMACs are measured, with the gate's "
            "counters (unique parameters; fvcore multiply-adds of one image, fused attention counted).")
    rows = comparisons(verify)
    if rows:
        out.add(Table([[row["model"], f"{row['peer']} ({row['peer_model']})", row["training"],
                        f"{row['top1_difference']:+.1f}", _ratio(row["params_ratio"]),
                        _ratio(row["gmacs_ratio"]), _holds(row)] for row in rows],
                      ["SReT", "compared with", "its training", "top-1 difference (pp, published)",
                       "params ratio (measured)", "GMACs ratio (measured)",
                       "higher top-1 at fewer params and GMACs?"], [verify_name]),
                "Each SReT model is compared with the baselines of its size budget (Ti with T and LT, S with "
                "S) at the same resolution, trained as it was (ImageNet-1k, or distilled); at 384 and 512 px "
                "the baselines saw more data (their training is named). The difference is printed to 0.1, "
                "the precision of SReT's published top-1; a ratio under 1 means SReT is cheaper.")
    return out
