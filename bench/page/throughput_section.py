"""A throughput series as the speed page shows it: one images/s table, one ratios table, its plot.

How every run was timed is said once, in the speed page's method (``bench.page.speed_method``);
here only what this series holds. Rows are identified as the speed gate identifies them
(``bench.core.rows.config_key``), so a row of run 1 meets the same row of run 2.
"""
from __future__ import annotations

import statistics
from typing import Any, Sequence

from bench.core.rows import config_key
from bench.page.markdown import device_label, number, significant
from bench.page.section import Section, Table
from bench.page.series import Series

RATIO_WORDS = ("Ratio: the median of the per-round ratios of two rows timed side by side in one run (in brackets: "
               "its smallest and largest round); above 1, the first row is faster.")


def throughput_title(document: dict[str, Any]) -> str:
    config = document["config"]
    precision = config.get("dtype", "fp32") + (" (TF32)" if config.get("tf32") else "")
    form = "compiled" if config.get("compile") else "eager"
    return f"Throughput on {device_label(document['environment'])}, {precision}, {form}, {config.get('threads')} threads"


def spread(values: Sequence[float | None], digits: str = ".3f") -> str:
    """``low–high`` of the values present, or "-" when fewer than two runs hold one."""
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return "-"
    return f"{min(present):{digits}}–{max(present):{digits}}"


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _runtime(entry: dict[str, Any], prefix: str = "") -> str:
    return entry.get(f"{prefix}runtime") or "torch"


def has_runtimes(series: Series) -> bool:
    return any(_runtime(row) != "torch" for document in series.documents for row in document["results"])


def under(entry: dict[str, Any], with_runtime: bool, prefix: str = "") -> str:
    """What a row (or one side of a ratio, ``prefix="over_"``) ran under: its kernel policy in torch,
    named with torch when the series also ran other runtimes; else the runtime."""
    runtime, kernels = _runtime(entry, prefix), entry.get(f"{prefix}kernels")
    if runtime != "torch":
        return runtime
    return f"torch, {kernels} kernels" if with_runtime else str(kernels)


def _versions(series: Series) -> dict[str, str]:
    """Each runtime's version, as run 1 recorded it (torch's from the environment)."""
    first = series.documents[0]
    found = {state["runtime"]: state.get("version") for state in first["config"].get("runtimes") or []}
    found.setdefault("torch", first["environment"].get("torch"))
    return {runtime: version for runtime, version in found.items() if version}


def _versioned(text: str, versions: dict[str, str]) -> str:
    """``torch, stock kernels`` -> ``torch 2.14.1, stock kernels``."""
    runtime, _, rest = text.partition(",")
    version = versions.get(runtime)
    return f"{runtime} {version}{',' + rest if rest else ''}" if version else text


def _batch(row: dict[str, Any]) -> str:
    if row["batch_size"] not in (None, row["batch_size_requested"]):
        return f"{row['batch_size']} (asked {row['batch_size_requested']})"
    return str(row["batch_size_requested"])


def _speed_table(series: Series) -> Table:
    """A row per configuration: images/s as the median of the runs' medians and their range."""
    by_run = [{config_key(row): row for row in document["results"]} for document in series.documents]
    with_runtime, versions = has_runtimes(series), _versions(series)
    body = []
    for key in dict.fromkeys(key for run in by_run for key in run):
        rows = [run[key] for run in by_run if key in run]
        first = rows[0]
        errors = [row["error"] for row in rows if row.get("error")]
        rates = [None if row.get("error") else row.get("images_per_s_median") for row in rows]
        body.append([first["model"], _versioned(under(first, with_runtime), versions) if with_runtime
                     else under(first, False), first["img_size"], _batch(first),
                     significant(first["flops_per_image"] / 2e9 if first.get("flops_per_image") else None),
                     ("error: " + errors[0]) if errors and median(rates) is None else significant(median(rates)),
                     spread(rates, ".4g"),
                     significant(max((row.get("images_per_s_iqr") or 0.0) for row in rows) or None),
                     significant(median([row.get("latency_ms_p50") for row in rows])),
                     significant(max((row.get("peak_memory_mib") or 0.0) for row in rows) or None),
                     significant(median([row["mfu"] * 100 if row.get("mfu") is not None else None for row in rows]))])
    headers = ["model", "runs under" if with_runtime else "kernels", "px", "batch", "GMACs/img", "img/s",
               "img/s runs' range", "largest IQR in a run", "latency p50 ms", "peak MiB", "MFU %"]
    return Table(body, headers, series.files)


def _ratio_cell(ratio: dict[str, Any] | None) -> str:
    if ratio is None or ratio.get("throughput_ratio_round_median") is None:
        return "-"
    return (f"{ratio['throughput_ratio_round_median']:.3f} ({ratio['throughput_ratio_round_min']:.3f}–"
            f"{ratio['throughput_ratio_round_max']:.3f})")


def ratio_under(ratio: dict[str, Any], with_runtime: bool) -> str:
    row, base = under(ratio, with_runtime), under(ratio, with_runtime, "over_")
    return row if row == base else f"{row} / {base}"


def _ratio_key(ratio: dict[str, Any], with_runtime: bool) -> tuple:
    return (ratio.get("comparison", "architecture"), ratio["model"], ratio["over"], ratio.get("img_size"),
            ratio["batch_size_requested"], ratio_under(ratio, with_runtime))


def _ratio_table(series: Series) -> list[Table]:
    """Every ratio of the series, one row per comparison of two configurations, each run's value."""
    with_runtime = has_runtimes(series)
    by_run = [{_ratio_key(r, with_runtime): r for r in document["ratios"]} for document in series.documents]
    body = []
    for key in dict.fromkeys(key for run in by_run for key in run):
        per_run = [run.get(key) for run in by_run]
        first = next(r for r in per_run if r is not None)
        comparison, model, over, size, batch, both = key
        body.append([comparison, model, "itself" if over == model else over, size, batch, both,
                     "-" if over == model else number(first.get("flops_ratio")),
                     "; ".join(_ratio_cell(r) for r in per_run),
                     spread([None if r is None else r.get("throughput_ratio_round_median") for r in per_run])])
    if not body:
        return []
    headers = ["comparison", "model", "over", "px", "batch", "under", "MACs ratio", "images/s ratio, each run",
               "runs' range"]
    return [Table(body, headers, series.files)]


def _agreement(series: Series) -> list[str]:
    """The largest logit difference from torch eager fp32 that each runtime showed before it was timed."""
    rows = [row for document in series.documents for row in document["results"]
            if row.get("agreement_max_abs_logit_difference") is not None]
    checked = []
    for runtime in dict.fromkeys(under(row, True) for row in rows):
        mine = [row for row in rows if under(row, True) == runtime]
        worst = max(row["agreement_max_abs_logit_difference"] for row in mine)
        checked.append(f"{runtime} {worst:.2g} (tolerance {mine[0]['agreement_tolerance']:g})")
    if not checked:
        return []
    return ["Checked before timing against torch eager fp32 on the same weights and input, SReT's slices frozen "
            "(largest absolute logit difference over the models): " + ", ".join(checked) + "."]


def throughput_section(series: Series, links: dict[str, str]) -> list[Section]:
    """One configuration's runs: what differs from the method, its images/s, its ratios and its plot."""
    first = series.documents[0]
    config = first["config"]
    section = Section(f"{throughput_title(first)} ({series.name})", key=f"throughput:{series.name}")
    section.add(f"{len(series.runs)} run{'s' if len(series.runs) > 1 else ''}; kernel policies "
                f"{', '.join(config['kernels'])}; {config['precision']}."
                + (f" Batch: {config['batch_rule']}." if config.get("batch_rule") else ""))
    section.add(_speed_table(series), *_agreement(series), *_ratio_table(series))
    if series.name in links:
        section.add(f"![{throughput_title(first)}]({links[series.name]})")
    return [section]
