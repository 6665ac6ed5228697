"""The verdict page's first table: one row per model, what a researcher looks for first, each
column's header linked to the section that says how its values were measured.

Params and GMACs are the verify gate's measurements (its counters' when no figure names the
model, e.g. a reconstructed one); images/s come from the throughput results through
:func:`images_per_s` alone, so a change of the throughput schema is adapted there; top-1 is
the published figure and the one measured on ImageNet-1k val, if any. A value that no results
file holds reads "not measured".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from bench.core.names import architecture
from bench.spec.verdicts import SUBSET
from bench.page.accuracy_section import ACCURACY, PEERS
from bench.page.figures import README
from bench.page.speed_method import METHOD as SPEED_METHOD
from bench.page.section import Section, Table
from bench.core.schema import is_full_val

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


def _link(text: str, target: str | None, page: str = "") -> str:
    return f"[{text}]({page}#{target})" if target else text


def _models(verify: dict[str, Any]) -> list[str]:
    """Every pretrained tag with figures, then every architecture with figures that no tag covers."""
    models = list(dict.fromkeys(row["model"] for row in verify["results"]))
    tagged = {architecture(model) for model in models if "." in model}
    return [m for m in models if "." in m] + [m for m in models if "." not in m and m not in tagged]


def summary_rows(verify: dict[str, Any], throughput: Sequence[tuple[str, dict[str, Any]]],
                 accuracy: Sequence[tuple[str, dict[str, Any]]]) -> list[list[str]]:
    """The summary's rows, cells as the page shows them."""
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
        if model in baselines:  # beside SReT under "SReT among its peers"
            continue
        cost = {}
        for metric, scale, key in (("params_m", 1e6, "params"), ("gmacs", 1e9, "fvcore_macs")):
            row = figures.get(metric)
            if row is not None and row["measured"] is not None:
                cost[metric] = f"{row['measured']:.3f}"
            else:
                count = verify["counters"].get(f"{architecture(model)}@{size}")
                cost[metric] = (f"{count[key] / scale:.3f}" if count and count.get(key) is not None
                                else NOT_MEASURED)
        top1 = figures.get("top1")
        published = top1["published_text"] if top1 else "-"
        if top1 is not None and top1["measured"] is not None and top1["status"] != SUBSET:
            measured = f"{top1['measured']:.2f}"
        elif model in measured_top1:
            measured = f"{measured_top1[model]:.2f}"
        else:
            measured = NOT_MEASURED
        label = f"{model} (reconstructed)" if any(row.get("reconstructed") for row in figures.values()) else model
        rows.append([label, str(size), cost["params_m"], cost["gmacs"], *_speed_cells(model, speeds), published,
                     measured])
    return rows


def _speed_cells(model: str, speeds: dict[tuple[str, str], Speed]) -> list[str]:
    cells = []
    for device in DEVICES:
        speed = speeds.get((architecture(model), device))
        cells.append(f"{speed.images_per_s:.4g} (batch {speed.batch_size})" if speed else NOT_MEASURED)
    return cells


def _headers(anchors: Mapping[str, str], speed_anchors: Mapping[str, str], speed_page: str) -> list[str]:
    """Each header linked to where its values are explained: the figures, the speed page, the top-1."""
    speed = speed_anchors.get(SPEED_METHOD)
    targets = {"params (M)": (anchors.get(README), ""), "GMACs": (anchors.get(README), ""),
               "images/s CPU": (speed, speed_page), "images/s GPU": (speed, speed_page),
               "top-1 published (%)": (anchors.get(README), ""), "top-1 measured (%)": (anchors.get(ACCURACY), "")}
    return [_link(header, *targets[header]) if header in targets else header for header in HEADERS]


def summary_section(results: Any, anchors: Mapping[str, str], speed_anchors: Mapping[str, str] = {},
                    speed_page: str = "") -> Section:
    """"At a glance": the summary table of a page's results, each header linked to its section."""
    rows = summary_rows(results.verify_document, results.throughput, results.accuracy)
    headers = _headers(anchors, speed_anchors, speed_page)
    if not any(device == "GPU" for _, device in images_per_s(results.throughput)):
        gpu = HEADERS.index("images/s GPU")  # a page of CPU runs never mentions a GPU
        headers.pop(gpu)
        rows = [row[:gpu] + row[gpu + 1:] for row in rows]
    files = [name for name, _ in [results.verify, *results.accuracy]]  # the throughput files: on the speed page
    baselines = f"[its peers](#{anchors[PEERS]})" if PEERS in anchors else "its peers"
    return Section("At a glance", [
        "Params and GMACs: measured, one image at the model's size; the baselines are beside SReT under "
        f"{baselines}. Images/s: median over timed rounds at the largest batch "
        "measured, stock kernels, from the first file that timed the model (runs' spread on the speed page).",
        Table(rows, headers, files)], key=SUMMARY)
