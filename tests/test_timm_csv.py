"""bench.measure.timm_csv: our results in timm's CSV formats, checked column by column against lines of
timm's own published files (``tests/fixtures/timm``, transcribed with ``git show | grep -n``)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import timm

from bench.measure import throughput_run
from bench.measure import timm_csv
from bench.core.cli import EXIT_OK, EXIT_USAGE, run
from bench.measure.counting import count_params, headline_macs

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "timm"
BENCHMARK_HEADER = ("model,infer_img_size,infer_samples_per_sec,infer_step_time,infer_batch_size,param_count,"
                    "infer_gmacs,infer_macts")
VALIDATE_HEADER = "model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation"


def _lines(name: str) -> dict[str, str]:
    """The excerpt's lines by model name (the header under "model")."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    lines = [line.partition(":")[2] for line in text.splitlines() if line and not line.startswith("#")]
    return {line.split(",", 1)[0]: line for line in lines}


BENCHMARK = _lines("benchmark-infer-fp32-cpu-i9_10940x-excerpt.txt")
RESULTS = _lines("results-imagenet-excerpt.txt")


def _read(path: Path) -> tuple[str, list[dict[str, str]]]:
    text = path.read_text(encoding="utf-8")
    return text.splitlines()[0], list(csv.DictReader(io.StringIO(text)))


def test_the_headers_are_timms_as_its_files_print_them():
    assert BENCHMARK["model"] == BENCHMARK_HEADER and RESULTS["model"] == VALIDATE_HEADER
    assert ",".join(timm_csv.BENCHMARK_COLUMNS) == BENCHMARK_HEADER
    assert ",".join(timm_csv.VALIDATE_COLUMNS) == VALIDATE_HEADER
    assert timm_csv.render(timm_csv.VALIDATE_COLUMNS, []) == VALIDATE_HEADER + "\n"


def test_a_hand_made_throughput_row_column_by_column():
    result = {"model": "deit_tiny_patch16_224", "img_size": 224, "batch_size": 4, "images_per_s_median": 181.904,
              "param_count": 5_717_416, "flops_per_image": 2 * 1_257_719_424, "error": None}
    failed = {**result, "batch_size": 8, "images_per_s_median": None, "error": "OutOfMemoryError: ..."}
    (row,) = timm_csv.benchmark_rows([result, failed], {}, "Some CPU", activations=lambda name, size: 5_974_636)
    assert row == {
        "model": "deit_tiny_patch16_224", "infer_img_size": "224",
        "infer_samples_per_sec": "181.9",  # round(181.904, 2), printed as Python prints it
        "infer_step_time": "21.99",  # one batch of 4 at 181.904 images/s: 21.9896 ms, round(x, 3)
        "infer_batch_size": "4", "param_count": "5.72", "infer_gmacs": "1.26", "infer_macts": "5.97",
        "kernel_policy": "stock", "device": "Some CPU"}
    tuned = timm_csv.benchmark_rows([{**result, "kernel_policy": "tuned"}], {}, "cpu", lambda *_: 1)
    assert tuned[0]["kernel_policy"] == "tuned"


@pytest.mark.parametrize("name", ["deit_tiny_patch16_224", "pit_ti_224"])
def test_our_counts_print_as_timms_published_benchmark_columns(name):
    """param_count, infer_gmacs and infer_macts of timm's CPU benchmark file, from our counters."""
    model = timm.create_model(name)
    result = {"model": name, "img_size": 224, "batch_size": 1, "images_per_s_median": 100.0,
              "param_count": count_params(model), "flops_per_image": 2 * headline_macs(model, 224), "error": None}
    (row,) = timm_csv.benchmark_rows([result], {}, "cpu")
    published = dict(zip(BENCHMARK_HEADER.split(","), BENCHMARK[name].split(",")))
    for column in ("model", "infer_img_size", "infer_batch_size", "param_count", "infer_gmacs", "infer_macts"):
        assert row[column] == published[column], column


@pytest.mark.slow
def test_throughput_csv_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "bench.csv"
    code = throughput_run.main(["--models", "test_vit", "--img-size", "64", "--warmup", "1", "--iters", "1",
                            "--rounds", "1", "--batch-sizes", "1,2", "--csv", str(out), "--json",
                            str(tmp_path / "tp.json")])
    assert code == EXIT_OK and f"wrote {out}" in capsys.readouterr().out
    header, rows = _read(out)
    assert header == BENCHMARK_HEADER + ",kernel_policy,device"
    # a row per kernel policy (both by default), each naming its own
    assert [(r["model"], r["infer_img_size"], r["infer_batch_size"], r["kernel_policy"]) for r in rows] == [
        ("test_vit", "64", "1", "stock"), ("test_vit", "64", "1", "tuned"),
        ("test_vit", "64", "2", "stock"), ("test_vit", "64", "2", "tuned")]
    for row in rows:  # the columns' formats are checked against timm's own rows above
        rate, step = float(row["infer_samples_per_sec"]), float(row["infer_step_time"])
        assert rate > 0 and step == pytest.approx(1000 * int(row["infer_batch_size"]) / rate, rel=0.01)
        assert row["device"]


def test_a_csv_path_that_is_a_folder_is_refused_before_anything_runs(tmp_path, capsys):
    assert run(throughput_run.main, ["--models", "test_vit", "--csv", str(tmp_path)]) == EXIT_USAGE
    assert capsys.readouterr().err.strip() == f"error: --csv: {str(tmp_path)!r} is a directory"


def _record(top1: float, top5: float, params: int, crop_pct: float, model="deit_tiny_patch16_224.fb_in1k"):
    return {"model": model, "top1": top1, "top5": top5, "param_count": params,
            "transform": {"input_size": [3, 224, 224], "crop_pct": crop_pct, "interpolation": "bicubic"}}


def test_an_accuracy_record_prints_as_timms_results_line():
    row = timm_csv.validate_row(_record(72.19, 91.1, 5_717_416, 0.9))
    assert ",".join(row[column] for column in timm_csv.VALIDATE_COLUMNS) == RESULTS["deit_tiny_patch16_224.fb_in1k"]
    row = timm_csv.validate_row(_record(89.7896, 98.99, 1_014_447_000, 1.0, "eva"))
    assert (row["top1"], row["top1_err"], row["param_count"], row["crop_pct"]) == ("89.790", "10.210", "1,014.45",
                                                                                   "1.000")
    text = timm_csv.render(timm_csv.VALIDATE_COLUMNS, [row])
    assert text.splitlines()[1] == 'eva,224,89.790,10.210,98.990,1.010,"1,014.45",1.000,bicubic'  # timm quotes it too
