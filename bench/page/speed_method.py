"""How the speed page's figures were measured, written once for every series it shows.

Each timed results file records its method (interleaving, clock, FLOP counter, memory, the
matmul peak behind MFU); the page states each distinct one once and gives every file one row
of the runs table: its series, date, machine, threads, rounds, peak and load.
"""
from __future__ import annotations

from typing import Any, Sequence

from bench.page.markdown import date, device_label
from bench.page.section import Section, Table
from bench.page.series import Series
from bench.page.throughput_section import RATIO_WORDS

METHOD = "speed-method"
METHOD_FIELDS = (("Interleaving", "interleaving"), ("Clock", "timing"), ("FLOPs", "flops_method"))


def synthetic_blocks(entries: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """A warning for every file that says it is no measurement (the test fixtures do)."""
    return [f"**Synthetic: `{name}` is {document['synthetic']}.**" for name, document in entries
            if document.get("synthetic")]


def _load(document: dict[str, Any]) -> str:
    start, end = document["config"]["load_average_1min_start"], document["config"]["load_average_1min_end"]
    if start is None or end is None:
        return "-"
    cpus = document["environment"].get("cpu_count") or 1
    shared = " (shared: trust the ratios)" if max(start, end) > cpus else ""
    return f"{start:.2f} → {end:.2f}{shared}"


def _rounds(document: dict[str, Any]) -> str:
    config = document["config"]
    head = (document.get("results") or [{}])[0] if document["kind"] == "model_speed" else config
    warmup = head.get("warmup_iters")
    calls = f"{head.get('rounds')} x {head.get('iters_per_round')}"
    return calls if warmup is None else f"{warmup} + {calls}"


def runs_table(series: Sequence[Series]) -> Table:
    """A row per results file of every timed series."""
    rows = []
    for one in series:
        for index, (name, document) in enumerate(one.runs, 1):
            environment, peak = document["environment"], document["config"]["peak_tflops"]
            rows.append([f"`{name}`", f"{one.name}, {index} of {len(one.runs)}", date(document),
                         f"{device_label(environment)}, {environment.get('cpu_count')} CPUs, torch "
                         f"{environment.get('torch')}", document["config"]["threads"], _rounds(document),
                         "-" if peak is None else f"{peak:.4g}", _load(document)])
    return Table(rows, ["file", "series, run", "date", "machine", "threads", "warm-up + rounds x calls",
                        "peak TFLOP/s (for MFU)", "load (1 min) start → end"],
                 [name for one in series for name in one.files])


def _distinct(documents: Sequence[dict[str, Any]], read) -> list[str]:
    return list(dict.fromkeys(value for value in map(read, documents) if value))


def _baselines(series: Sequence[Series]) -> list[Any]:
    """The baselines chosen per resolution and budget, once over every series."""
    seen: dict[tuple, list[Any]] = {}
    for one in series:
        for choice in one.documents[0]["config"].get("baseline_choices") or []:
            key = (choice["resolution"], choice["model"])
            seen.setdefault(key, [choice["resolution"], choice["model"], choice["budget"], choice["why"], []])
            seen[key][4].append(one.name)
    if not seen:
        return []
    rows = [[*row[:4], ", ".join(row[4])] for row in seen.values()]
    files = [one.files[0] for one in series if one.documents[0]["config"].get("baseline_choices")]
    return ["Baselines, chosen per resolution and budget (`expected/baselines.csv`, column `timed_because`):",
            Table(rows, ["px", "baseline", "beside SReT's", "why this one", "series"], files)]


def method_section(series: Sequence[Series]) -> list[Section]:
    """The method of every timed series, once, then the runs table and the baselines."""
    if not series:
        return []
    documents = [document for one in series for document in one.documents]
    section = Section("Method", key=METHOD)
    section.add(*synthetic_blocks([run for one in series for run in one.runs]))
    lines = [f"- {label}: {'; '.join(_distinct(documents, lambda d: d['config'].get(field)))}."
             for label, field in METHOD_FIELDS if _distinct(documents, lambda d: d["config"].get(field))]
    memory = _distinct([row for d in documents for row in d.get("results") or []], lambda r: r.get("memory_method"))
    if memory:
        lines.append(f"- Memory: {'; '.join(memory)}.")
    lines += [f"- Peak (for MFU): each run measures its own, e.g. {documents[0]['config']['peak_source']}.",
              "- GMACs are multiply-adds (the paper's \"GFLOPs\"); MFU counts 2 FLOPs per multiply-add against "
              "the run's peak.",
              f"- {RATIO_WORDS} Images/s and latency: median over runs; peak memory: the largest.",
              "- A series with one run has no spread across runs yet: a second run written as "
              "`<series>-run2.json` adds it."]
    section.add("\n".join(lines), runs_table(series), *_baselines(series))
    return [section]
