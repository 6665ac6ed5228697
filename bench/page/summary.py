"""The report's first table: one row per model, what a researcher looks for first, each value
linked to the section that says how it was measured.

Params and GMACs are the verify gate's measurements (its counters' when no figure names the
model, e.g. a reconstructed one); images/s come from the throughput results through
:func:`images_per_s` alone, so a change of the throughput schema is adapted there; top-1 is
the published figure and the one measured on ImageNet-1k val, if any. A value that no results
file holds reads "not measured".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from bench.core.names import architecture
from bench.spec.verdicts import SUBSET
from bench.page.accuracy_section import ACCURACY, PEERS
from bench.page.figures import COUNTERS, HEADLINE, README
from bench.page.section import Section, Table
from bench.core.schema import is_full_val
from bench.page.speed_report import series_name

NOT_MEASURED = "not measured"
SUMMARY = "summary"
DEVICES = ("CPU", "GPU")
HEADERS = ("model", "size", "params (M)", "GMACs", "images/s CPU", "images/s GPU", "top-1 published (%)",
           "top-1 measured (%)")


@dataclass(frozen=True)
class Speed:
    """One images/s figure as the summary shows it: median over rounds at one batch size."""

    images_per_s: float
    batch_size: int
    file: str
    stock: bool = True  # run under the stock kernel policy (or a file from before policies were recorded)


def images_per_s(throughput: Sequence[tuple[str, dict[str, Any]]]) -> dict[tuple[str, str], Speed]:
    """``(model, "CPU" | "GPU") -> Speed``: the largest batch size each model ran without error.

    The one reader of the throughput schema in the summary (rows with ``model``,
    ``batch_size``, ``images_per_s_median``, ``error``); the first file of a device wins.
    """
    speeds: dict[tuple[str, str], Speed] = {}
    for name, document in throughput:
        device = "GPU" if document["environment"].get("device_type") == "gpu" else "CPU"
        found: dict[str, Speed] = {}
        for row in document["results"]:
            if row.get("error") or not row.get("images_per_s_median") or row.get("batch_size") is None:
                continue
            if row.get("runtime", "torch") != "torch":  # the summary's figure is torch's, as timm builds the model
                continue
            best = found.get(row["model"])
            stock = row.get("kernels") in (None, "stock")  # as timm.create_model builds it (sret.kernels)
            if best is None or (row["batch_size"], stock) > (best.batch_size, best.stock):
                found[row["model"]] = Speed(row["images_per_s_median"], row["batch_size"], name, stock)
        for model, speed in found.items():
            speeds.setdefault((model, device), speed)
    return speeds


def _link(text: str, target: str | None) -> str:
    return f"[{text}](#{target})" if target else text


def _models(verify: dict[str, Any]) -> list[str]:
    """Every pretrained tag with figures, then every architecture with figures that no tag covers."""
    models = list(dict.fromkeys(row["model"] for row in verify["results"]))
    tagged = {architecture(model) for model in models if "." in model}
    return [m for m in models if "." in m] + [m for m in models if "." not in m and m not in tagged]


def summary_rows(verify: dict[str, Any], throughput: Sequence[tuple[str, dict[str, Any]]],
                 accuracy: Sequence[tuple[str, dict[str, Any]]], anchors: Mapping[str, str]) -> list[list[str]]:
    """The summary's rows, cells as the page shows them, each linked to its section (``anchors``: key -> anchor)."""
    readme, pwc, counters = anchors.get(README), anchors.get(HEADLINE), anchors.get(COUNTERS)
    top1_section, peers = anchors.get(ACCURACY), anchors.get(PEERS)

    def speed_sections(device: str, file: str) -> str | None:
        """The section of the series the figure was read from."""
        return anchors.get(f"throughput:{series_name(file)}")

    speeds = images_per_s(throughput)
    measured_top1 = {}
    for name, document in accuracy:
        if is_full_val(document):
            measured_top1.setdefault(document.get("pretrained_tag") or document["model"], document["top1"])
    baselines = {baseline["model"]: baseline for baseline in verify["baselines"]}
    rows = []
    for model in _models(verify):
        figures = {row["metric"]: row for row in verify["results"] if row["model"] == model}
        size = next(iter(figures.values()))["img_size"]
        if model in baselines:
            rows.append(_baseline_row(baselines[model], figures, speeds, speed_sections, peers))
            continue
        section = readme if "." in model else pwc
        cost = {}
        for metric, scale, key in (("params_m", 1e6, "params"), ("gmacs", 1e9, "fvcore_macs")):
            row = figures.get(metric)
            if row is not None and row["measured"] is not None:
                cost[metric] = _link(f"{row['measured']:.3f}", section)
            else:
                count = verify["counters"].get(f"{architecture(model)}@{size}")
                cost[metric] = (_link(f"{count[key] / scale:.3f}", counters) if count and count.get(key) is not None
                                else NOT_MEASURED)
        speed_cells = _speed_cells(model, speeds, speed_sections)
        top1 = figures.get("top1")
        published = _link(top1["published_text"], readme) if top1 else "-"
        if top1 is not None and top1["measured"] is not None and top1["status"] != SUBSET:
            measured = _link(f"{top1['measured']:.2f}", readme)
        elif model in measured_top1:
            measured = _link(f"{measured_top1[model]:.2f}", top1_section)
        else:
            measured = NOT_MEASURED
        label = f"{model} (reconstructed)" if any(row.get("reconstructed") for row in figures.values()) else model
        rows.append([label, str(size), cost["params_m"], cost["gmacs"], *speed_cells, published, measured])
    return rows


def _speed_cells(model: str, speeds: dict[tuple[str, str], Speed],
                 sections: Callable[[str, str], str | None]) -> list[str]:
    cells = []
    for device in DEVICES:
        speed = speeds.get((architecture(model), device))
        cells.append(_link(f"{speed.images_per_s:.4g} (batch {speed.batch_size})", sections(device, speed.file))
                     if speed else NOT_MEASURED)
    return cells


def _baseline_row(baseline: dict[str, Any], figures: dict[str, dict[str, Any]], speeds: dict[tuple[str, str], Speed],
                  speed_sections: Callable[[str, str], str | None], peers: str | None) -> list[str]:
    """A timm baseline: its counted params and GMACs, and timm's published top-1 (never a measurement of ours)."""
    params = figures.get("params_m")
    return [baseline["model"], str(baseline["img_size"]),
            _link(f"{params['measured']:.3f}", peers) if params and params["measured"] is not None else NOT_MEASURED,
            _link(f"{baseline['gmacs']:.3f}", peers) if baseline.get("gmacs") is not None else NOT_MEASURED,
            *_speed_cells(baseline["model"], speeds, speed_sections),
            _link(f"{baseline['top1_text']} (timm)", peers), NOT_MEASURED]


def summary_section(results: Any, anchors: Mapping[str, str]) -> Section:
    """"At a glance": the summary table of a page's results, each value linked to its section."""
    rows = summary_rows(results.verify_document, results.throughput, results.accuracy, anchors)
    headers = list(HEADERS)
    if not any(device == "GPU" for _, device in images_per_s(results.throughput)):
        gpu = headers.index("images/s GPU")  # a page of CPU runs never mentions a GPU
        headers.pop(gpu)
        rows = [row[:gpu] + row[gpu + 1:] for row in rows]
    files = [name for name, _ in [results.verify, *results.throughput, *results.accuracy]]
    return Section("At a glance", [
        f"From {', '.join(f'`{name}`' for name in files)}. Params and GMACs are measured, one image at the "
        "model's size; images/s is the median over timed rounds at the largest batch size measured, under the "
        "stock kernels where a run timed several policies, from the first file listed that timed the model "
        "(the spread across runs is in its section); a baseline's published top-1 is timm's own "
        "(`expected/baselines.csv`). Each value links to the section that says how it was measured.",
        Table(rows, headers, files)], key=SUMMARY)
