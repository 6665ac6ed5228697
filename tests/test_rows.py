"""Timed rows (bench.core.rows): what identifies a row of each timed kind, its label and samples,
on hand-written documents, and every committed results file of those kinds keyed without a clash."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.core.io import ResultsError
from bench.core.rows import TIMED_KINDS, by_key, timed_rows

REPORTS = Path(__file__).resolve().parents[1] / "reports"


def _throughput(*rows, kind="throughput"):
    return {"kind": kind, "environment": {"device": "cpu"}, "config": {}, "results": list(rows)}


def _row(**fields):
    return {"model": "sret_t", "kernels": "stock", "img_size": 224, "batch_size": 8, "batch_size_requested": 8,
            "dtype": "fp32", "images_per_s_by_round": [10.0, 12.0, 11.0], "error": None, **fields}


def test_a_throughput_row_is_keyed_by_its_configuration_with_the_defaults_of_absent_fields():
    [timed] = timed_rows(_throughput(_row()))
    assert timed.key == (("model", "sret_t"), ("img_size", 224), ("batch_size_requested", 8), ("kernels", "stock"),
                         ("runtime", "torch"), ("dtype", "fp32"), ("tf32", False), ("compile", False),
                         ("channels_last", False), ("device", "cpu"))
    assert timed.label == "sret_t stock 224px batch 8 fp32"
    assert timed.samples == [10.0, 12.0, 11.0]
    assert timed.row["model"] == "sret_t"


def test_a_file_without_a_field_means_its_default():
    old = _row()
    new = _row(runtime="torch", tf32=False, compile=False, channels_last=False, device="cpu")
    assert timed_rows(_throughput(old))[0].key == timed_rows(_throughput(new))[0].key


def test_a_row_without_a_requested_batch_is_keyed_by_the_batch_it_ran():
    row = _row(batch_size=4)
    del row["batch_size_requested"]
    assert dict(timed_rows(_throughput(row))[0].key)["batch_size_requested"] == 4


def test_the_label_names_what_differs_from_the_defaults():
    [timed] = timed_rows(_throughput(_row(kernels="tuned", dtype="bf16", compile=True, runtime="onnxruntime",
                                          device="cuda")))
    assert timed.label == "sret_t tuned 224px batch 8 bf16 runtime=onnxruntime compile device=cuda"


def test_an_errored_or_untimed_row_has_no_samples():
    errored, untimed, odd = timed_rows(_throughput(
        _row(error="OutOfMemoryError: CUDA"), _row(kernels="tuned", images_per_s_by_round=[]),
        _row(dtype="bf16", images_per_s_by_round=[0.0, "x", 5])))
    assert (errored.samples, untimed.samples, odd.samples) == ([], [], [5.0])


def test_slicing_rows_are_keyed_like_throughput_rows():
    sliced, full = timed_rows(_throughput(_row(), _row(model="sret_t_wo_slice"), kind="slicing_speed"))
    assert (sliced.label, full.label) == ("sret_t stock 224px batch 8 fp32", "sret_t_wo_slice stock 224px batch 8 fp32")


def _model_speed(by_round=True, device="cpu"):
    row = {"model": "sret_s", "batch_size": 8, "img_size": 224, "reference": "release_formulation",
           "images_per_s": {"release_formulation": 20.0, "stock": 25.0, "tuned": 30.0, "compiled": 40.0}}
    if by_round:
        row["images_per_s_by_round"] = {"release_formulation": [19.0, 21.0], "stock": [25.0, 24.0],
                                        "tuned": [30.0, 31.0], "compiled": [40.0, 39.0]}
    return {"kind": "model_speed", "environment": {"device": device}, "config": {"dtype": "fp32"}, "results": [row]}


def test_a_model_speed_row_gives_one_timed_row_per_form():
    rows = timed_rows(_model_speed())
    assert [r.label for r in rows] == ["sret_s release_formulation 224px batch 8 fp32", "sret_s stock 224px batch 8 fp32",
                                       "sret_s tuned 224px batch 8 fp32", "sret_s compiled 224px batch 8 fp32"]
    assert rows[2].key == (("model", "sret_s"), ("form", "tuned"), ("img_size", 224), ("batch_size", 8),
                           ("dtype", "fp32"), ("device", "cpu"))
    assert rows[3].samples == [40.0, 39.0]
    assert all(r.row is rows[0].row for r in rows)


def test_a_model_speed_file_without_rounds_has_keys_but_no_samples():
    rows = timed_rows(_model_speed(by_round=False))
    assert [r.samples for r in rows] == [[], [], [], []]
    assert [dict(r.key)["form"] for r in rows] == ["release_formulation", "stock", "tuned", "compiled"]


def test_a_gpu_model_speed_run_is_labelled_with_its_device():
    assert timed_rows(_model_speed(device="cuda"))[1].label == "sret_s stock 224px batch 8 fp32 device=cuda"


def test_two_rows_of_one_key_cannot_be_paired():
    with pytest.raises(ResultsError, match="two rows for sret_t stock 224px batch 8 fp32"):
        by_key(timed_rows(_throughput(_row(), _row())), "a.json")


@pytest.mark.parametrize("document, message", [({"kind": "verify", "results": []}, "not timed rows"),
                                               ({"kind": "throughput", "results": [{"kernels": "stock"}]},
                                                "row without a model"),
                                               ({"kind": "throughput"}, "no results list")])
def test_what_is_not_timed_rows_is_one_line(document, message):
    with pytest.raises(ResultsError, match=message):
        timed_rows(document)


COMMITTED = sorted(path for path in REPORTS.glob("*.json")
                   if json.loads(path.read_text(encoding="utf-8")).get("kind") in TIMED_KINDS)


def test_there_are_committed_files_of_every_timed_kind():
    kinds = {json.loads(path.read_text(encoding="utf-8"))["kind"] for path in COMMITTED}
    assert kinds == set(TIMED_KINDS)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.name)
def test_every_committed_timed_row_has_a_key_unique_in_its_file(path):
    document = json.loads(path.read_text(encoding="utf-8"))
    rows = timed_rows(document)
    indexed = by_key(rows, path.name)
    per_results_row = 1 if document["kind"] != "model_speed" else None
    assert len(indexed) == len(rows) >= len(document["results"]) * (per_results_row or 2)
    assert all(dict(r.key)["model"] and r.label for r in rows)
