"""Measured figures exported as model-index: Hugging Face's model-card block and mmpretrain's metafile fields.

Runs from a recorded verify document (``reports/verify.json``, written by ``python -m
bench.verify``), without torch. Per model (a pretrained tag, or an architecture for the rows about
a shape) with at least one measured figure, :func:`model_index` gives a mapping of two keys:

* ``model-index``: the block a Hugging Face model card carries in its YAML front matter
  (``huggingface_hub.repocard_data.model_index_to_eval_results`` reads it): the model's name and
  its results; a top-1 goes in only when it was measured on the full ImageNet-1k validation set
  (``subset`` and ``not-measured`` rows never do), as ``{type: top1, value}`` in percent.
  The parameters and FLOPs of a timm baseline come from the document's ``baselines`` rows (the
  gate counts them with SReT's headline counter; only their parameters are a results row).
* ``Models``: one entry of an mmpretrain ``metafile.yml``: ``Name``; ``Metadata`` with ``FLOPs``
  (an integer count of multiply-adds for one image, mmpretrain's convention: DeiT-Tiny is
  ``FLOPs: 1080000000`` there) and ``Parameters`` (an integer count); ``Results`` with ``Task``,
  ``Dataset`` and ``Metrics`` (``Top 1 Accuracy``) only when top-1 was measured so; ``Weights``
  when the document records the weights' URL (a results row's optional ``weights_url``);
  ``Converted From: {Code: <repository>@<commit>}`` with the commit the document was measured
  at; and ``Measurements``, saying that every value is an sret-bench measurement, by which
  method, in which environment.

Only measured values go in: never a published figure. A document that records no commit, or
was measured with uncommitted code, is refused (its values belong to no commit).
:func:`write_model_index` writes one ``<model>.yml`` per model, atomically.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping

import yaml

from bench.core.io import ResultsError, write_text_atomic
from bench.spec.data_files import MODEL_NAME
from bench.spec.verdicts import SUBSET

REPOSITORY = "sret-bench"  # the suite, as pyproject.toml names it; pass a URL where it is published
TOP1_METRIC = "top1"
NOT_TOP1 = (SUBSET, "not-measured")  # statuses of a top-1 that is not a full-val measurement
_COUNTS = {"gmacs": ("FLOPs", 1e9), "params_m": ("Parameters", 1e6)}
HF_TASK = {"type": "image-classification", "name": "Image Classification"}
HF_DATASET = {"type": "imagenet-1k", "name": "ImageNet-1k", "split": "validation"}
MMPRETRAIN_TASK, MMPRETRAIN_DATASET = "Image Classification", "ImageNet-1k"
NOTE = "sret-bench measurements, not published figures: only values the suite measured, at the commit in By"
BASELINE_FLOPS = "fvcore, one image, multiply-adds, the gate's headline count of a timm baseline"


def _fail(problem: str) -> ResultsError:
    return ResultsError(f"model-index: {problem}")


def _commit(document: Mapping[str, Any]) -> str:
    environment = document.get("environment")
    if not isinstance(environment, Mapping):
        raise _fail("the document has no 'environment': not a recorded verify document")
    commit = environment.get("git_commit")
    if not isinstance(commit, str) or len(commit) != 40 or any(c not in "0123456789abcdef" for c in commit):
        raise _fail(f"environment.git_commit is {commit!r}, not a full commit: the values belong to no commit")
    if environment.get("git_dirty"):
        raise _fail(f"environment.git_dirty is true: measured with uncommitted changes to {commit[:12]}, "
                    "so no commit holds the code that measured them; rerun the gate on a clean checkout")
    return commit


def _rows(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if document.get("kind") != "verify":
        raise _fail(f"a document of kind {document.get('kind')!r}, not 'verify' (python -m bench.verify --json)")
    results = document.get("results")
    if not isinstance(results, list):
        raise _fail("the document has no 'results' list")
    for number, row in enumerate(results):
        where = f"results[{number}]"
        if not isinstance(row, Mapping) or not all(key in row for key in ("model", "metric", "measured", "status")):
            raise _fail(f"{where} lacks model, metric, measured or status")
        if not isinstance(row["model"], str) or not MODEL_NAME.fullmatch(row["model"]):
            raise _fail(f"{where}: model {row['model']!r} is not a timm name or pretrained tag")
        measured = row["measured"]
        if measured is not None and (isinstance(measured, bool) or not isinstance(measured, (int, float))
                                     or not math.isfinite(measured)):
            raise _fail(f"{where} ({row['model']} {row['metric']}): measured {measured!r} is not a finite number")
    return results


def _measured_top1(row: Mapping[str, Any]) -> bool:
    """A top-1 measured on the full ImageNet-1k val (the gate's status is then pass, fail or known-deviation)."""
    return row["measured"] is not None and row["status"] not in NOT_TOP1


def _figures(results: list[Mapping[str, Any]]) -> dict[str, dict[str, Mapping[str, Any]]]:
    """{model: {metric: row}} for every measured figure, in the document's order."""
    figures: dict[str, dict[str, Mapping[str, Any]]] = {}
    for number, row in enumerate(results):
        metric = row["metric"]
        if metric not in (*_COUNTS, TOP1_METRIC) or row["measured"] is None:
            continue
        if metric == TOP1_METRIC and not _measured_top1(row):
            continue
        earlier = figures.setdefault(row["model"], {}).get(metric)
        if earlier is not None and earlier["measured"] != row["measured"]:
            raise _fail(f"results[{number}]: {row['model']} {metric} measured {row['measured']!r} here and "
                        f"{earlier['measured']!r} before")
        figures[row["model"]].setdefault(metric, row)
    return figures


def _baseline_flops(document: Mapping[str, Any], figures: dict[str, dict[str, Mapping[str, Any]]]) -> None:
    """Add each baseline's recorded fvcore count (the ``baselines`` rows) as a measured ``gmacs`` figure."""
    baselines = document.get("baselines") or []
    if not isinstance(baselines, list):
        raise _fail("'baselines' is not a list")
    for number, row in enumerate(baselines):
        macs = row.get("fvcore_macs") if isinstance(row, Mapping) else None
        if macs is None:
            continue
        if isinstance(macs, bool) or not isinstance(macs, int) or macs < 0 or not MODEL_NAME.fullmatch(
                str(row.get("model"))):
            raise _fail(f"baselines[{number}]: model {row.get('model')!r} with fvcore_macs {macs!r}, not a timm "
                        "tag with a whole count")
        metrics = figures.setdefault(row["model"], {})
        recorded = {"measured": macs / 1e9, "img_size": row.get("img_size"), "method": BASELINE_FLOPS}
        if "gmacs" in metrics and round(metrics["gmacs"]["measured"] * 1e9) != macs:
            raise _fail(f"baselines[{number}]: {row['model']} fvcore_macs {macs} but its results row measured "
                        f"{metrics['gmacs']['measured']!r} GMACs")
        metrics.setdefault("gmacs", recorded)


def _environment_words(document: Mapping[str, Any]) -> str:
    environment = document["environment"]
    return ", ".join(f"{name} {environment[name]}" for name in ("timm", "torch", "fvcore", "python")
                     if environment.get(name))


def _entry(model: str, metrics: Mapping[str, Mapping[str, Any]], document: Mapping[str, Any], commit: str,
           repository: str) -> dict[str, Any]:
    """The model-index block and the metafile entry of one model."""
    code = f"{repository}@{commit}"
    metadata: dict[str, Any] = {}
    methods: dict[str, Any] = {"Note": NOTE, "By": code}
    for metric, (field, scale) in _COUNTS.items():
        if metric in metrics:
            row = metrics[metric]
            metadata[field] = round(row["measured"] * scale)
            size = f" ({row['img_size']}x{row['img_size']} px)" if row.get("img_size") else ""
            methods[field] = f"{row.get('method') or metric}{size if metric == 'gmacs' else ''}"
    hf_results, mm_results = [], []
    if TOP1_METRIC in metrics:
        row = metrics[TOP1_METRIC]
        value = row["measured"]
        methods["Top 1 Accuracy"] = f"ImageNet-1k val: {row.get('method') or 'top-1'}"
        hf_result: dict[str, Any] = {"task": dict(HF_TASK), "dataset": dict(HF_DATASET),
                                     "metrics": [{"type": "top1", "value": value, "name": "Top-1 accuracy (%)"}]}
        if repository.startswith(("https://", "http://")):  # the hub asks a source name to come with its URL
            hf_result["source"] = {"name": f"sret-bench measurement at {commit[:12]}",
                                   "url": f"{repository.rstrip('/')}/tree/{commit}"}
        hf_results.append(hf_result)
        mm_results.append({"Task": MMPRETRAIN_TASK, "Dataset": MMPRETRAIN_DATASET,
                           "Metrics": {"Top 1 Accuracy": value}})
    methods["Environment"] = _environment_words(document)
    entry: dict[str, Any] = {"Name": model, "Metadata": metadata}
    if mm_results:
        entry["Results"] = mm_results
    weights = next((row["weights_url"] for row in metrics.values() if row.get("weights_url")), None)
    if weights:
        entry["Weights"] = weights
    entry["Converted From"] = {"Code": code}
    entry["Measurements"] = methods
    return {"model-index": [{"name": model, "results": hf_results}], "Models": [entry]}


def model_index(document: Mapping[str, Any], repository: str = REPOSITORY) -> dict[str, dict[str, Any]]:
    """{model: {"model-index": [...], "Models": [...]}} for every model of a verify document with a
    measured figure, in the document's order; ``repository`` names the suite's code (``<repository>@<commit>``).

    Raises :class:`bench.core.io.ResultsError` (one line) for a document that is not a verify
    document, records no clean commit, or holds a malformed results row.
    """
    commit = _commit(document)
    figures = _figures(_rows(document))
    _baseline_flops(document, figures)
    return {model: _entry(model, metrics, document, commit, repository)
            for model, metrics in figures.items() if metrics}


def to_yaml(entry: Mapping[str, Any]) -> str:
    """One model's mapping as YAML: the front matter of a model card, or a metafile with one model."""
    return yaml.safe_dump(dict(entry), sort_keys=False, allow_unicode=True, width=100)


def write_model_index(document: Mapping[str, Any], out_dir: str | os.PathLike,
                      repository: str = REPOSITORY) -> list[Path]:
    """Write ``<out_dir>/<model>.yml`` for every model :func:`model_index` gives, each atomically;
    the paths written, in the document's order. Everything is computed before the first write."""
    entries = model_index(document, repository)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise _fail(f"{out} exists and is not a folder")
    texts = {out / f"{model}.yml": to_yaml(entry) for model, entry in entries.items()}
    for path, text in texts.items():
        write_text_atomic(path, text)
    return list(texts)
