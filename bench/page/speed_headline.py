"""The speed page's headline ratios, which the verdict page quotes: read from the results, never typed.

Three comparisons a reader of the paper asks about: SReT's images/s over the baseline nearest
to it in multiply-adds (stock kernels, torch, the largest batch of the first throughput series),
our SReT over the release's formulation (the forms with a goal), and the time slicing saves
(stock kernels). Each is the median over runs of the runs' medians, with the runs' range.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from bench.page.section import Section, Table
from bench.page.series import Series, group_series
from bench.page.throughput_section import median, spread

HEADLINE = "speed-headline"
HEADERS = ["comparison", "value", "runs' range", "details"]


def _stock_torch(ratio: Mapping[str, Any]) -> bool:
    return all(ratio.get(f"{side}runtime", "torch") == "torch" and ratio.get(f"{side}kernels") in (None, "stock")
               for side in ("", "over_"))


def architecture_rows(series: Sequence[Series]) -> list[tuple[str, list[float | None], str]]:
    """Per SReT model and size: its images/s over the nearest-cost baseline's, each run's median."""
    first = next((one for one in series if any(r.get("comparison", "architecture") == "architecture"
                                                 for d in one.documents for r in d["ratios"])), None)
    if first is None:
        return []
    chosen = [r for r in first.documents[0]["ratios"] if r.get("comparison", "architecture") == "architecture"
              and _stock_torch(r) and r.get("flops_ratio") and r.get("throughput_ratio_round_median") is not None]
    found = []
    for model, size in dict.fromkeys((r["model"], r.get("img_size")) for r in chosen):
        mine = [r for r in chosen if (r["model"], r.get("img_size")) == (model, size)]
        batch = max(r["batch_size_requested"] for r in mine)
        nearest = min((r for r in mine if r["batch_size_requested"] == batch),
                      key=lambda r: abs(math.log(r["flops_ratio"])))
        key = (model, nearest["over"], size, batch)
        values = [next((r.get("throughput_ratio_round_median") for r in d["ratios"]
                        if r.get("comparison", "architecture") == "architecture" and _stock_torch(r)
                        and (r["model"], r["over"], r.get("img_size"), r["batch_size_requested"]) == key), None)
                  for d in first.documents]
        found.append((f"{model} images/s over {nearest['over']} (nearest in MACs), {size} px, batch {batch}",
                      values, f"throughput:{first.name}"))
    return found


def model_speed_rows(series: Sequence[Series]) -> list[tuple[str, list[float | None], str]]:
    """Per model and form with a goal: our images/s over the release formulation's."""
    found = []
    for one in series:
        by_run = [{row["model"]: row for row in d["results"]} for d in one.documents]
        for model in dict.fromkeys(m for run in by_run for m in run):
            rows = [run[model] for run in by_run if model in run]
            for form in dict.fromkeys(f for row in rows for f, r in row["ratios"].items() if r.get("goal")):
                values = [row["ratios"][form]["ratio_median"] if form in row["ratios"] else None for row in rows]
                found.append((f"our {model} ({form}) images/s over the release's formulation", values,
                              f"model_speed:{one.name}"))
    return found


def slicing_rows(series: Sequence[Series]) -> list[tuple[str, list[float | None], str]]:
    """Per sliced model, stock kernels, largest batch: the share of time slicing saves."""
    found = []
    for one in series:
        pairs = [p for d in one.documents for p in d["pairs"] if p["kernels"] == "stock"]
        for model in dict.fromkeys(p["model"] for p in pairs):
            batch = max(p["batch_size_requested"] for p in pairs if p["model"] == model)
            values = [next((p["time_saved_pct_round_median"] for p in d["pairs"] if p["kernels"] == "stock"
                            and (p["model"], p["batch_size_requested"]) == (model, batch)), None)
                      for d in one.documents]
            found.append((f"% of time slicing saves in {model}, batch {batch}", values, f"slicing:{one.name}"))
    return found


def headline_table(results: Any, anchors: Mapping[str, str], page: str = "") -> Table | None:
    """The headline ratios, each linked to its section (``page``: the file that holds the sections)."""
    throughput, model_speed, slicing = (group_series(getattr(results, kind))
                                        for kind in ("throughput", "model_speed", "slicing_speed"))
    found = architecture_rows(throughput) + model_speed_rows(model_speed) + slicing_rows(slicing)
    if not found:
        return None
    rows = []
    for what, values, key in found:
        value, unit = median(values), "%" if what.startswith("%") else "x"
        rows.append([what, "-" if value is None else f"{value:.{1 if unit == '%' else 2}f}{unit}",
                     spread(values, ".1f" if unit == "%" else ".2f"),
                     f"[{key.split(':', 1)[1]}]({page}#{anchors[key]})" if key in anchors else "-"])
    used = {key for _, _, key in found}
    files = [name for kind, group in (("throughput", throughput), ("model_speed", model_speed),
                                      ("slicing", slicing))
             for one in group if f"{kind}:{one.name}" in used for name in one.files]
    return Table(rows, HEADERS, files)


def headline_section(results: Any, anchors: Mapping[str, str]) -> list[Section]:
    table = headline_table(results, anchors)
    if table is None:
        return []
    return [Section("Headline ratios", ["Quoted on the verdict page (`reports/latest.md`).", table], key=HEADLINE)]
