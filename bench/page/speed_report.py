"""The report's speed sections: throughput, model speed, slicing's cost in time, device runs.

A speed figure is worth quoting only with its date, machine, matmul peak and its spread
across separate runs. Separate runs of one configuration are separate files named
``<series>-run<N>.json`` (``throughput-cpu-run1.json``, ``throughput-cpu-run2.json``): a
series is every file whose name is the same once ``-run<N>`` is dropped, and it is rendered
as one table with each run's value and the spread over runs. The runs of a series must
share their conditions (device, precision, compile, threads); files that do not are refused
with a line naming both. The figures quoted are the ratios of interleaved rounds.
"""
from __future__ import annotations

import re
import shlex
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from bench.page.markdown import date, device_label, number, significant
from bench.page.section import Section, Table
from bench.core.io import ResultsError

RUN_SUFFIX = re.compile(r"-run(\d+)$")


@dataclass
class Series:
    """Every run of one configuration, in run order: (file name as shown, document)."""

    name: str
    runs: list[tuple[str, dict[str, Any]]]

    @property
    def documents(self) -> list[dict[str, Any]]:
        return [document for _, document in self.runs]


def series_name(file_name: str) -> str:
    """``reports/throughput-cpu-run2.json`` -> ``throughput-cpu``."""
    return RUN_SUFFIX.sub("", Path(file_name).stem)


def _run_number(file_name: str) -> int:
    found = RUN_SUFFIX.search(Path(file_name).stem)
    return int(found.group(1)) if found else 0


def _throughput_conditions(document: dict[str, Any]) -> dict[str, Any]:
    config = document["config"]
    return {"device": document["environment"].get("device_name"), "dtype": config.get("dtype"),
            "tf32": config.get("tf32"), "compile": config.get("compile"),
            "channels_last": config.get("channels_last"), "threads": config.get("threads")}


def _model_speed_conditions(document: dict[str, Any]) -> dict[str, Any]:
    config = document["config"]
    return {"device": document["environment"].get("device_name"), "dtype": config["dtype"], "threads": config["threads"],
            "batch": document["results"][0]["batch_size"] if document["results"] else None}


CONDITIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "throughput": _throughput_conditions, "slicing_speed": _throughput_conditions,
    "model_speed": _model_speed_conditions,
}


def group_series(entries: Sequence[tuple[str, dict[str, Any]]]) -> list[Series]:
    """The files grouped into series, in the order of their first file; runs ordered by number.
    Runs that differ in a condition are refused, naming both files and the condition."""
    grouped: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, document in entries:
        grouped.setdefault(series_name(name), []).append((name, document))
    series = []
    for key, runs in grouped.items():
        runs.sort(key=lambda entry: _run_number(entry[0]))
        conditions = CONDITIONS.get(runs[0][1]["kind"], lambda _: {})
        first_name, first = runs[0][0], conditions(runs[0][1])
        for name, document in runs[1:]:
            other = conditions(document)
            for condition, value in first.items():
                if other.get(condition) != value:
                    raise ResultsError(
                        f"results files {first_name} and {name} are runs of one series ({key}) but differ in "
                        f"{condition}: {value!r} vs {other.get(condition)!r}; rename one")
        series.append(Series(key, runs))
    return series


# --- what every speed section starts with -------------------------------------------------------


def _peak_of(document: dict[str, Any]) -> tuple[float | None, str]:
    return document["config"]["peak_tflops"], document["config"]["peak_source"]


def _load_of(document: dict[str, Any]) -> str:
    start, end = document["config"]["load_average_1min_start"], document["config"]["load_average_1min_end"]
    if start is None or end is None:
        return "-"
    cpus = document["environment"].get("cpu_count") or 1
    shared = " (shared: trust the ratios)" if max(start, end) > cpus else ""
    return f"{start:.2f} → {end:.2f}{shared}"


def synthetic_blocks(entries: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """A warning for every file that says it is no measurement (the test fixtures do)."""
    return [f"**Synthetic: `{name}` is {document['synthetic']}.**" for name, document in entries
            if document.get("synthetic")]


def _files(series: Series) -> list[str]:
    return [name for name, _ in series.runs]


def runs_blocks(series: Series) -> list[Any]:
    """A row per run: its file, date, machine, matmul peak and load; the peak's method below."""
    rows = []
    for index, (name, document) in enumerate(series.runs, 1):
        environment = document["environment"]
        peak, _ = _peak_of(document)
        threads = document["config"]["threads"]
        rows.append([index, f"`{name}`", date(document), f"{device_label(environment)}, "
                     f"{environment.get('cpu_count')} CPUs, torch {environment.get('torch')}", threads,
                     "-" if peak is None else f"{peak:.4g}", _load_of(document)])
    blocks: list[Any] = synthetic_blocks(series.runs)
    blocks.append(Table(rows, ["run", "file", "date", "machine", "threads", "peak TFLOP/s (for MFU)",
                               "load (1 min) start → end"], _files(series)))
    _, source = _peak_of(series.runs[0][1])
    if source:
        blocks.append(f"Peak of run 1: {source}.")
    if len(series.runs) == 1:
        blocks.append(f"One run of this configuration: no spread across runs yet (a second run written as "
                      f"`{series.name}-run2.json` adds it).")
    return blocks


def _run_headers(series: Series, what: str) -> list[str]:
    return [f"{what} run {index}" for index in range(1, len(series.runs) + 1)]


def _spread(values: Sequence[float | None], digits: str = ".3f") -> str:
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return "-"
    return f"{min(present):{digits}}–{max(present):{digits}}"


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _batch(row: dict[str, Any]) -> str:
    if row["batch_size"] not in (None, row["batch_size_requested"]):
        return f"{row['batch_size']} (asked {row['batch_size_requested']})"
    return str(row["batch_size_requested"])


# --- throughput ---------------------------------------------------------------------------------


def throughput_title(document: dict[str, Any]) -> str:
    config = document["config"]
    precision = config.get("dtype", "fp32") + (" (TF32)" if config.get("tf32") else "")
    form = "compiled" if config.get("compile") else "eager"
    return f"Throughput on {device_label(document['environment'])}, {precision}, {form}, {config.get('threads')} threads"


def section_title(series: Series) -> str:
    """The plot's title and the series name: two series of one configuration get two headings."""
    return f"{throughput_title(series.documents[0])} ({series.name})"


def _runtime(entry: dict[str, Any], prefix: str = "") -> str:
    return entry.get(f"{prefix}runtime") or "torch"


def _under(entry: dict[str, Any], with_runtime: bool, prefix: str = "") -> str:
    """What a row (or one side of a ratio, ``prefix="over_"``) ran under: its kernel policy in torch,
    named with torch when the series also ran other runtimes; else the runtime."""
    runtime, kernels = _runtime(entry, prefix), entry.get(f"{prefix}kernels")
    if runtime != "torch":
        return runtime
    return f"torch, {kernels} kernels" if with_runtime else str(kernels)


def _has_runtimes(series: Series) -> bool:
    return any(_runtime(row) != "torch" for document in series.documents for row in document["results"])


def _versions(series: Series) -> dict[str, str]:
    """Each runtime's version, as run 1 recorded it (torch's from the environment)."""
    first = series.documents[0]
    found = {state["runtime"]: state.get("version") for state in first["config"].get("runtimes") or []}
    found.setdefault("torch", first["environment"].get("torch"))
    return {runtime: version for runtime, version in found.items() if version}


def _versioned(under: str, versions: dict[str, str]) -> str:
    """``torch, stock kernels`` -> ``torch 2.14.1, stock kernels``."""
    runtime, _, rest = under.partition(",")
    version = versions.get(runtime)
    return f"{runtime} {version}{',' + rest if rest else ''}" if version else under


def _row_key(row: dict[str, Any]) -> tuple:
    return (row["model"], _runtime(row), row.get("kernels"), row["batch_size_requested"], row["img_size"])


def _ratio_key(ratio: dict[str, Any]) -> tuple:
    return (ratio["model"], ratio["over"], ratio["batch_size_requested"], ratio.get("img_size"))


def _ratio_under(ratio: dict[str, Any], with_runtime: bool) -> str:
    row, base = _under(ratio, with_runtime), _under(ratio, with_runtime, "over_")
    return row if row == base else f"{row} / {base}"


def _ratio_cell(ratio: dict[str, Any] | None) -> str:
    if ratio is None or ratio.get("throughput_ratio_round_median") is None:
        return "-"
    return (f"{ratio['throughput_ratio_round_median']:.3f} ({ratio['throughput_ratio_round_min']:.3f}–"
            f"{ratio['throughput_ratio_round_max']:.3f})")


def _speed_table(series: Series, size: int, by_run: list[dict[tuple, dict[str, Any]]]) -> Table:
    keys = list(dict.fromkeys(key for rows in by_run for key in rows if key[-1] == size))
    with_runtime = _has_runtimes(series)
    body = []
    for key in keys:
        rows = [run.get(key) for run in by_run]
        first = next(row for row in rows if row is not None)
        medians = [None if row is None or row.get("error") else row.get("images_per_s_median") for row in rows]
        cells = [first["model"], _under(first, with_runtime), _batch(first),
                 significant(first["flops_per_image"] / 2e9 if first.get("flops_per_image") else None)]
        cells += [("error: " + row["error"]) if row is not None and row.get("error") else significant(value)
                  for row, value in zip(rows, medians)]
        cells += [_spread(medians, ".4g"),
                  significant(max((row.get("images_per_s_iqr") or 0.0) for row in rows if row is not None) or None),
                  significant(_median([row.get("latency_ms_p50") for row in rows if row])),
                  significant(_median([row.get("latency_ms_p90") for row in rows if row])),
                  significant(max((row.get("peak_memory_mib") or 0.0) for row in rows if row) or None),
                  significant(_median([row["mfu"] * 100 if row.get("mfu") is not None else None
                                       for row in rows if row]))]
        body.append(cells)
    headers = ["model", "runs under" if with_runtime else "kernels", "batch", "GMACs/img",
               *_run_headers(series, "img/s"), "img/s over runs",
               "largest IQR in a run", "latency p50 ms", "latency p90 ms", "peak MiB", "MFU %"]
    return Table(body, headers, _files(series))


def _ratio_table(series: Series, ratios_by_run: list[list[dict[str, Any]]], size: int, comparison: str,
                 title: str, group: str = "{}", same_model: bool = False) -> list[Section]:
    """One comparison's ratios at one resolution: a column group per pair of what the two rows ran
    under (``group`` words its heading), each run's ratio and the range over runs. A comparison of
    one model with itself (``same_model``) names it once and has no MACs ratio."""
    with_runtime = _has_runtimes(series)
    chosen = [[r for r in ratios if r.get("comparison", "architecture") == comparison and r.get("img_size") == size]
              for ratios in ratios_by_run]
    keys = list(dict.fromkeys(_ratio_key(r) for ratios in chosen for r in ratios))
    if not keys:
        return []
    unders = list(dict.fromkeys(_ratio_under(r, with_runtime) for ratios in chosen for r in ratios))
    lookup = [{(_ratio_key(r), _ratio_under(r, with_runtime)): r for r in ratios} for ratios in chosen]
    headers = ["model", "batch"] if same_model else ["model", "over", "batch", "MACs ratio"]
    for under in unders:
        label = group.format(under)
        headers += [f"{label}, run {i}" for i in range(1, len(series.runs) + 1)] + [f"{label}, over runs"]
    body = []
    for key in keys:
        first = next(run[(key, under)] for under in unders for run in lookup if (key, under) in run)
        cells = [key[0], key[2]] if same_model else [key[0], key[1], key[2], number(first.get("flops_ratio"))]
        for under in unders:
            per_run = [run.get((key, under)) for run in lookup]
            cells += [_ratio_cell(r) for r in per_run]
            cells += [_spread([None if r is None else r.get("throughput_ratio_round_median") for r in per_run])]
        body.append(cells)
    return [Section(title, [Table(body, headers, _files(series))], level=4)]


def _architecture_table(series: Series, ratios_by_run: list[list[dict[str, Any]]], size: int) -> list[Section]:
    return _ratio_table(series, ratios_by_run, size, "architecture",
                        "Architecture: SReT images/s over the baseline's, both under the same kernel policy or runtime",
                        group="both {}")


def _runtime_table(series: Series, ratios_by_run: list[list[dict[str, Any]]], size: int) -> list[Section]:
    return _ratio_table(series, ratios_by_run, size, "runtime",
                        "Runtime: each deployment runtime's images/s over torch eager's, the same model and weights",
                        same_model=True)


def _deployment_ratio_table(series: Series, ratios_by_run: list[list[dict[str, Any]]], size: int) -> list[Section]:
    return _ratio_table(series, ratios_by_run, size, "deployment",
                        "Deployment: SReT at its fastest runtime over the baseline at its fastest")


def _deployment_table(series: Series, size: int, by_run: list[dict[tuple, dict[str, Any]]]) -> list[Section]:
    """Per model, what a deployer chooses between: images/s and MFU under every runtime, and the
    fastest. Only for a series that ran more than torch."""
    if not _has_runtimes(series):
        return []
    rows = [row for run in by_run for key, row in run.items() if key[-1] == size and not row.get("error")]
    unders = list(dict.fromkeys(_under(row, True) for row in rows))
    models = list(dict.fromkeys(row["model"] for row in rows))
    body = []
    for model in models:
        rates, mfus = {}, {}
        for under in unders:
            mine = [row for row in rows if row["model"] == model and _under(row, True) == under]
            rates[under] = _median([row.get("images_per_s_median") for row in mine])
            mfus[under] = _median([100 * row["mfu"] if row.get("mfu") is not None else None for row in mine])
        measured = {under: rate for under, rate in rates.items() if rate is not None}
        fastest = max(measured, key=measured.get) if measured else "-"
        body.append([model, *[f"{significant(rates[u])} ({significant(mfus[u])} %)" if rates[u] is not None else "-"
                              for u in unders], fastest])
    versions = _versions(series)
    headers = ["model", *[_versioned(under, versions) for under in unders], "fastest"]
    return [Section("Deployment: images/s (MFU) under each runtime", [
        Table(body, headers, _files(series)),
        "Median over runs; MFU against the run's peak of this precision. A row's fastest runtime is the one a "
        "deployer would pick; the ratios below compare models both there and under equal runtimes."
        + _agreement(rows, unders)], level=4)]


def _agreement(rows: list[dict[str, Any]], unders: list[str]) -> str:
    """The largest logit difference from torch eager fp32 that each runtime showed before it was timed."""
    checked = []
    for under in unders:
        mine = [row for row in rows if _under(row, True) == under
                and row.get("agreement_max_abs_logit_difference") is not None]
        if mine:
            worst = max(row["agreement_max_abs_logit_difference"] for row in mine)
            checked.append(f"{under} {worst:.2g} (tolerance {mine[0]['agreement_tolerance']:g})")
    if not checked:
        return ""
    return (" Checked before timing against torch eager fp32 on the same weights and input, SReT's slices frozen "
            "(largest absolute logit difference over the models): " + ", ".join(checked) + ".")


def _implementation_table(series: Series, ratios_by_run: list[list[dict[str, Any]]], size: int) -> list[Section]:
    chosen = [[r for r in ratios if r.get("comparison") == "implementation" and r.get("img_size") == size]
              for ratios in ratios_by_run]
    keys = list(dict.fromkeys(_ratio_key(r) for ratios in chosen for r in ratios))
    if not keys:
        return []
    lookup = [{_ratio_key(r): r for r in ratios} for ratios in chosen]
    body = []
    for key in keys:
        per_run = [run.get(key) for run in lookup]
        body.append([key[0], key[2], *[_ratio_cell(r) for r in per_run],
                     _spread([None if r is None else r.get("throughput_ratio_round_median") for r in per_run])])
    headers = ["model", "batch", *[f"tuned over stock, run {i}" for i in range(1, len(series.runs) + 1)],
               "over runs"]
    return [Section("Implementation: tuned kernels' images/s over stock's, the same model",
                    [Table(body, headers, _files(series))], level=4)]


def _baseline_choices(series: Series) -> list[Any]:
    choices = series.documents[0]["config"].get("baseline_choices") or []
    if not choices:
        return []
    rows = [[c["resolution"], c["model"], c["budget"], c["why"]] for c in choices]
    return ["Baselines, chosen per resolution and budget (`bench/measure/zoo.py`):",
            Table(rows, ["px", "baseline", "beside SReT's", "why this one"], _files(series))]


def throughput_section(series: Series, links: dict[str, str]) -> list[Section]:
    """One configuration's runs: the method, then per resolution the images/s and both ratio tables."""
    first = series.documents[0]
    config = first["config"]
    section = Section(section_title(series), key=f"throughput:{series.name}")
    section.add(*runs_blocks(series))
    section.add(f"Each run: kernel policies {', '.join(config['kernels'])} (`sret.kernels`; each policy a copy of the "
                f"same weights); {config['precision']}; warm-up {config['warmup_iters']} calls, then "
                f"{config['rounds']} interleaved rounds of {config['iters_per_round']} timed calls "
                f"({config['interleaving']}); timing: {config['timing']}."
                + (f" Batch: {config['batch_rule']}." if config.get("batch_rule") else ""))
    memory = next((row.get("memory_method") for row in first["results"] if row.get("memory_method")), None)
    if memory:
        section.add(f"Memory: {memory}.")
    section.add(f"FLOPs: {config['flops_method']}. GMACs are multiply-adds (the paper's \"GFLOPs\"); MFU counts "
                "2 FLOPs per multiply-add against the run's peak.")
    section.add(*_baseline_choices(series))
    by_run = [{_row_key(row): row for row in document["results"]} for document in series.documents]
    ratios_by_run = [document["ratios"] for document in series.documents]
    sizes = list(dict.fromkeys(row["img_size"] for document in series.documents for row in document["results"]))
    for size in sizes:
        section.add(Section(f"{size} px", [_speed_table(series, size, by_run),
                                           *_deployment_table(series, size, by_run),
                                           *_architecture_table(series, ratios_by_run, size),
                                           *_deployment_ratio_table(series, ratios_by_run, size),
                                           *_runtime_table(series, ratios_by_run, size),
                                           *_implementation_table(series, ratios_by_run, size)], level=3))
    section.add("Ratios are the median of the per-round ratios of two rows timed side by side in the same "
                "interleaved rounds (in brackets: their smallest and largest round); \"over runs\" is the range of "
                "the runs' medians. Above 1: the first model (or the tuned kernels) is faster. Latency (batch 1 only) "
                "and MFU: median over runs; peak memory: the largest.")
    if series.name in links:
        section.add(f"![{throughput_title(first)}]({links[series.name]})",
                    "Images/s against multiply-adds per image, every run's round medians pooled: the point is their "
                    "median, the bar their range.")
    return [section]


# --- model speed ---------------------------------------------------------------------------------

_MODEL_SPEED_FORMS = {"stock": "stock eager", "tuned": "tuned eager", "compiled": "compiled",
                      "release_code": "the released code itself"}


def model_speed_section(series: Series) -> list[Section]:
    first = series.documents[0]
    section = Section(f"Our SReT vs the release's formulation, same weights, on {device_label(first['environment'])}",
                      key=f"model_speed:{series.name}")
    section.add(*runs_blocks(series))
    head = first["results"][0] if first["results"] else {}
    section.add(f"{first['config']['dtype']}, batch {head.get('batch_size')}, {head.get('rounds')} interleaved "
                f"rounds of {head.get('iters_per_round')} calls per run; ratio = our images/s over the release "
                f"formulation's (`bench.measure.reference`), median of the per-round ratios (min-max), logits checked "
                f"equal first.")
    by_run = [{row["model"]: row for row in document["results"]} for document in series.documents]
    models = list(dict.fromkeys(model for run in by_run for model in run))
    body = []
    for model in models:
        rows = [run.get(model) for run in by_run]
        forms = list(dict.fromkeys(form for row in rows if row for form in row["ratios"]))
        for form in forms:
            ratios = [None if row is None else row["ratios"].get(form) for row in rows]
            present = [r for r in ratios if r is not None]
            goal = present[0].get("goal")
            verdicts = [r.get("met") for r in present]
            verdict = ("" if goal is None or None in verdicts else "met" if all(verdicts)
                       else "**not met**" + (f" in {verdicts.count(False)} of {len(verdicts)} runs"
                                             if len(verdicts) > 1 else ""))
            body.append([
                model, _MODEL_SPEED_FORMS.get(form, form),
                significant(_median([row["images_per_s"][row["reference"]] for row in rows if row])),
                significant(_median([row["images_per_s"].get(form) for row in rows if row])),
                *[("-" if r is None else f"{r['ratio_median']:.2f}x ({r['ratio_min']:.2f}-{r['ratio_max']:.2f})")
                  for r in ratios],
                _spread([None if r is None else r["ratio_median"] for r in ratios], ".2f"),
                "" if goal is None else f">= {goal:.2f}x", verdict,
                " / ".join(f"{r['ratio_of_best_calls']:.2f}x" for r in present if "ratio_of_best_calls" in r) or "-",
                significant(_median([100 * row["mfu"][form] for row in rows
                                     if row and row.get("mfu", {}).get(form) is not None])),
                f"{max(r['max_abs_logit_diff'] for r in present):.1e}"])
    section.add(Table(body, ["model", "ours", "release formulation img/s", "ours img/s", *_run_headers(series, "ratio,"),
                             "ratio over runs", "goal", "", "ratio of best calls (per run)", "MFU %",
                             "max abs logit diff"], _files(series)),
                "Images/s and MFU: median over runs. The goals are the CPU's; on another device none is judged.")
    if first["config"]["compile_settings"]:
        section.add(f"Compiled with `{first['config']['compile_settings']}`.")
    if not any("compiled" in row["ratios"] for row in first["results"]):
        section.add("The compiled form was not run (`--no-compile`): its goal is not measured.")
    if any(ratio.get("met") is False for document in series.documents for row in document["results"]
           for ratio in row["ratios"].values()):
        section.add("Where a goal is not met, `python -m bench.op_profile --forms release_formulation,eager,compiled` "
                    "says where the time goes that the form did not remove (the operator profile by form, where "
                    "this page has one).")
    return [section]


# --- slicing's cost in time --------------------------------------------------------------------


def gate_flop_reduction(verify: dict[str, Any], claim_id: str) -> dict[str, float]:
    """The gate's FLOP reduction by slicing per sliced model (verify.json, the details of claim ``claim_id``)."""
    claim = next((c for c in verify.get("claims", []) if c.get("claim_id") == claim_id), None)
    return {d["model"]: d["reduction_pct"] for d in (claim or {}).get("details") or [] if "reduction_pct" in d}


def slicing_section(series: Series, verify_name: str, verify: dict[str, Any]) -> list[Section]:
    first = series.documents[0]
    device = device_label(first["environment"])
    config = first["config"]
    claim_id = config["claim_id"]
    section = Section(f"Slicing's cost in time as well as FLOPs, on {device}", key=f"slicing:{series.name}")
    section.add("The paper says slicing \"reduces the cost consumption by 10~30%\"; the gate checks it in FLOPs "
                f"(claim `{claim_id}`). Here each sliced model and its `_wo_slice` partner run on the same "
                f"weights and kernels, interleaved, on {device}: a measurement, not a gate row.")
    section.add(*runs_blocks(series))
    section.add(f"{config['precision']}; {config['rounds']} interleaved rounds of {config['iters_per_round']} calls; "
                "time saved = 100 × (1 − sliced seconds / unsliced seconds) per round, median (round min to max).")
    gate = gate_flop_reduction(verify, claim_id)
    by_run = [{(p["model"], p["kernels"], p["batch_size_requested"]): p for p in document["pairs"]}
              for document in series.documents]
    keys = list(dict.fromkeys(key for run in by_run for key in run))
    body = []
    for key in keys:
        pairs = [run.get(key) for run in by_run]
        present = [p for p in pairs if p is not None]
        body.append([key[0], present[0]["over"], key[1], key[2],
                     significant(_median([p["images_per_s_sliced"] for p in present])),
                     significant(_median([p["images_per_s_wo_slice"] for p in present])),
                     *[("-" if p is None else f"{p['time_saved_pct_round_median']:.1f} "
                        f"({p['time_saved_pct_round_min']:.1f} to {p['time_saved_pct_round_max']:.1f})") for p in pairs],
                     _spread([None if p is None else p["time_saved_pct_round_median"] for p in pairs], ".1f"),
                     f"{present[0]['macs_saved_pct']:.1f}", number(gate.get(key[0]), 1)])
    return [section.add(Table(body, ["sliced", "without slicing", "kernels", "batch", "img/s sliced", "img/s without",
                                     *_run_headers(series, "time saved %,"), "time saved % over runs",
                                     "MACs saved % (this file)", "FLOPs saved % (the gate, verify.json)"],
                              [*_files(series), verify_name]))]


# --- device runs (bench.gpu) ----------------------------------------------------------------------


def device_check_section(name: str, document: dict[str, Any], verify: dict[str, Any]) -> list[Section]:
    device = device_label(document["environment"])
    section = Section(f"The gate's models run on {device}", key=f"device_check:{name}")
    section.add(*synthetic_blocks([(name, document)]), f"From `{name}` ({date(document)}): {document['method']}.")
    verdict = document.get("verdict")
    if verdict:
        section.add("The gate's verdict from the counts made there: "
                    + ", ".join(f"{count} {status}" for status, count in verdict.items()) + ".")
    counts, committed = document.get("counts") or {}, verify["counters"]
    differ = [key for key, count in counts.items() if key in committed and (
        count["fvcore_macs"], count["params"]) != (committed[key]["fvcore_macs"], committed[key]["params"])]
    compared = [key for key in counts if key in committed]
    if compared:
        section.add(f"Multiply-adds and parameters equal the verify results' for all {len(compared)} models both "
                    "counted." if not differ else f"Counts differ from the verify results' for: {', '.join(differ)}.")
    rows = [[r["model"], r["img_size"], significant(r.get("max_abs_logit_diff")), significant(r.get("max_abs_logit")),
             "yes" if r.get("agrees") else "**no**", significant(r.get("forward_ms")), r.get("error") or ""]
            for r in document["results"]]
    if rows:
        section.add(Table(rows, ["model", "px", "max abs logit diff vs CPU", "max abs logit", "agrees",
                                 "first forward ms", "error"], [name]))
    return [section]


def gpu_run_section(name: str, document: dict[str, Any]) -> list[Section]:
    device = device_label(document["environment"])
    section = Section(f"`python -m bench.gpu` on {device}", key=f"gpu_run:{name}")
    section.add(*synthetic_blocks([(name, document)]),
                f"From `{name}` ({date(document)}): `{shlex.join(document['argv'])}`, "
                f"{document.get('elapsed_s')} s of a {document.get('budget_s')} s budget. Phases in priority order; "
                f"a unit started only when the budget left covered its estimate.")
    rows = []
    for phase in document["phases"]:
        skipped = "; ".join(f"{s['unit']} (~{s['estimate_s']} s needed, {s['left_s']} s left)"
                            for s in phase.get("skipped_for_time", []))
        errors = "; ".join(f"{e['unit']}: {e['error']}" for e in phase.get("errors", []))
        rows.append([phase["phase"], phase["status"], phase["seconds"], len(phase.get("units_done", [])),
                     skipped or "-", errors or "-", ", ".join(f"`{f}`" for f in phase.get("files", []))
                     or phase.get("note") or "-"])
    section.add(Table(rows, ["phase", "status", "s", "units done", "skipped for time", "failed", "files"], [name]))
    dtypes = (document.get("settings") or {}).get("dtypes") or {}
    if dtypes:
        section.add("Precisions: " + "; ".join(f"{k}: {v}" for k, v in dtypes.items()) + ".")
    return [section]
