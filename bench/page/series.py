"""Separate runs of one configuration, grouped: a speed figure is quoted with its spread across runs.

Runs are separate files named ``<series>-run<N>.json`` (``throughput-cpu-run1.json``,
``throughput-cpu-run2.json``): a series is every file whose name is the same once ``-run<N>`` is
dropped. Its runs must share their conditions (device, precision, compile, threads); files that
do not are refused with a line naming both, so a table never mixes two machines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

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

    @property
    def files(self) -> list[str]:
        return [name for name, _ in self.runs]


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
