"""What identifies a timed row, read the same way by the speed gate and the page.

A timed kind's results hold rows of per-round images/s. Each row is identified by its key fields;
a file that predates a field means that field's default by its absence (an old throughput file
without ``runtime`` ran torch). :func:`timed_rows` turns a results document of a timed kind into
:class:`TimedRow` s: key, label, per-round samples and the raw row.

A throughput or slicing row is one configuration. A model speed row holds every form of one model
(the release's formulation, stock, tuned, compiled) timed side by side, so it yields one
:class:`TimedRow` per form, the form a key field: a file's ``tuned`` row pairs with another file's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from bench.core.io import ResultsError

SAMPLES = "images_per_s_by_round"  # a row's per-round images/s: the samples a speed gate compares

# Throughput and slicing rows: the fields that identify one, each with what its absence means.
KEY_DEFAULTS: dict[str, Any] = {
    "model": None, "img_size": None, "batch_size_requested": None, "kernels": "stock", "runtime": "torch",
    "dtype": "fp32", "tf32": False, "compile": False, "channels_last": False, "device": "cpu",
}
# Model speed: one timed row per form of a results row. Its rows carry neither dtype nor device:
# the dtype is the document's config's, the device its environment's.
FORM_KEY_DEFAULTS: dict[str, Any] = {
    "model": None, "form": None, "img_size": None, "batch_size": None, "dtype": "fp32", "device": "cpu",
}
# The fields a label names only when they differ from their default.
EXTRAS = ("runtime", "tf32", "compile", "channels_last", "device")
TIMED_KINDS = ("throughput", "slicing_speed", "model_speed")

Key = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class TimedRow:
    """One timed configuration of a results file: what identifies it, how to name it, its samples."""

    key: Key
    label: str
    samples: list[float]  # per-round images/s; empty when the row errored or was not timed
    row: dict[str, Any]


def config_key(row: Mapping[str, Any]) -> Key:
    """The fields that identify a throughput or slicing row, absent ones at their default."""
    values = {name: row.get(name, default) for name, default in KEY_DEFAULTS.items()}
    if values["batch_size_requested"] is None:
        values["batch_size_requested"] = row.get("batch_size")
    return tuple(values.items())


def describe_key(key: Key) -> str:
    """``sret_t stock 224px batch 8 fp32`` plus whatever differs from the defaults."""
    values = dict(key)
    if "form" in values:
        text = f"{values['model']} {values['form']} {values['img_size']}px batch {values['batch_size']} {values['dtype']}"
        defaults = FORM_KEY_DEFAULTS
    else:
        text = (f"{values['model']} {values['kernels']} {values['img_size']}px "
                f"batch {values['batch_size_requested']} {values['dtype']}")
        defaults = KEY_DEFAULTS
    extras = [name if value is True else f"{name}={value}" for name, value in values.items()
              if name in EXTRAS and name in defaults and value != defaults[name]]
    return " ".join([text, *extras])


def positive_samples(values: Any) -> list[float]:
    """The positive numbers of a list of per-round images/s (a missing list: none)."""
    return [float(v) for v in values or [] if isinstance(v, (int, float)) and v > 0]


def samples(row: Mapping[str, Any]) -> list[float]:
    """The per-round images/s of a throughput or slicing row that ran (an errored or untimed row has none)."""
    return [] if row.get("error") else positive_samples(row.get(SAMPLES))


def form_key(row: Mapping[str, Any], form: str, document: Mapping[str, Any]) -> Key:
    """The fields that identify one form of a model speed row, absent ones at their default."""
    context = {"form": form, "dtype": (document.get("config") or {}).get("dtype"),
               "device": (document.get("environment") or {}).get("device")}
    values = {}
    for name, default in FORM_KEY_DEFAULTS.items():
        value = context[name] if name in context else row.get(name)
        values[name] = default if value is None else value
    return tuple(values.items())


def _model_rows(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = document.get("results")
    if not isinstance(rows, list):
        raise ResultsError(f"{document.get('kind')} results have no results list")
    for row in rows:
        if not isinstance(row, dict) or "model" not in row:
            raise ResultsError(f"{document.get('kind')} results have a row without a model")
    return rows


def timed_rows(document: Mapping[str, Any]) -> list[TimedRow]:
    """Every timed row of a throughput, slicing or model speed results document, in file order."""
    kind = document.get("kind")
    if kind not in TIMED_KINDS:
        raise ResultsError(f"{kind!r} results are not timed rows (timed kinds: {', '.join(TIMED_KINDS)})")
    out = []
    for row in _model_rows(document):
        if kind != "model_speed":
            key = config_key(row)
            out.append(TimedRow(key, describe_key(key), samples(row), row))
            continue
        by_round = row.get(SAMPLES) or {}
        for form in row.get("images_per_s") or {}:
            key = form_key(row, form, document)
            out.append(TimedRow(key, describe_key(key), positive_samples(by_round.get(form)), row))
    return out


def by_key(rows: list[TimedRow], name: str) -> dict[Key, TimedRow]:
    """Each timed row under its key; two rows of one key in one file (``name``) cannot be paired."""
    indexed: dict[Key, TimedRow] = {}
    for row in rows:
        if row.key in indexed:
            raise ResultsError(f"results file {name} has two rows for {row.label}: cannot pair them")
        indexed[row.key] = row
    return indexed
