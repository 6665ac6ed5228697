"""bench.throughput: one-line usage errors, the JSON document, OOM halving, statistics, ratios, traces.

Tiny timm models at 64 px keep the whole file fast; nothing here asserts a speed.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.measure import models
from bench.measure import throughput_run
from bench.measure import timing
from bench.core.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, run

TINY = ["--models", "test_vit,resnet10t", "--img-size", "64", "--warmup", "1",
        "--iters", "2", "--rounds", "2"]
ROW_KEYS = {
    "model", "kernels", "img_size", "batch_size", "batch_size_requested", "dtype", "compile",
    "channels_last", "warmup_iters", "timed_iters", "images_per_s_median", "images_per_s_iqr",
    "images_per_s_min", "images_per_s_max", "latency_ms_p50", "latency_ms_p90",
    "peak_memory_mib", "memory_method", "flops_per_image", "achieved_tflops", "mfu",
}


# --- bad input -----------------------------------------------------------------------------

BAD_INPUT = [
    (["--models", "no_such_model"], "no_such_model"),
    (["--models", "deit_tiny_patch16_22"], "did you mean deit_tiny_patch16_224"),
    (["--models", "test_vit", "--batch-sizes", "0"], "'0'"),
    (["--models", "test_vit", "--batch-sizes", "1,-4"], "'-4'"),
    (["--models", "test_vit", "--batch-sizes", "2.5"], "'2.5'"),
    (["--models", "test_vit", "--batch-sizes", "eight"], "'eight'"),
    (["--models", "test_vit", "--amp", "fp8"], "'fp8'"),
    (["--models", "test_vit", "--device", "tpu"], "'tpu'"),
    (["--models", "test_vit", "--threads", "0"], "--threads"),
    (["--models", "test_vit", "--iters", "x"], "--iters"),
    (["--models", "test_vit", "--bogus"], "--bogus"),
]
if not torch.cuda.is_available():
    BAD_INPUT.append((["--models", "test_vit", "--device", "cuda"], "--device cuda"))


@pytest.mark.parametrize(("argv", "culprit"), BAD_INPUT)
def test_bad_input_is_one_line_exit_2_before_building(argv, culprit, capsys, monkeypatch):
    def must_not_build(*args, **kwargs):
        raise AssertionError("a model was built before the input was checked")

    monkeypatch.setattr(models, "create", must_not_build)
    monkeypatch.setattr(timing, "cpu_peak_tflops", must_not_build)
    assert run(throughput_run.main, argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and culprit in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_bad_input_from_the_command_line_has_no_traceback():
    done = subprocess.run([sys.executable, "-m", "bench.throughput", "--models", "resnet10t,nope_net"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == EXIT_USAGE
    assert done.stderr.strip().count("\n") == 0 and "nope_net" in done.stderr
    assert "Traceback" not in done.stderr


def test_default_models_are_registered():
    """The default comparison names only models timm builds: SReT-T and -S and baselines to compare them with."""
    import timm

    import sret  # noqa: F401  (registers the models)

    models = throughput_run.parse_args([]).models
    assert [name for name in models if not timm.is_model(name)] == []
    assert {"sret_t", "sret_s"} <= set(models)
    assert any(not name.startswith("sret") for name in models)  # something to take the ratios against


# --- a real (tiny) run: JSON, table, traces ----------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("throughput")
    writes = []
    real_write = throughput_run.write_json_atomic

    def spy(path, payload):
        writes.append(path)
        real_write(path, payload)

    patch = pytest.MonkeyPatch()
    patch.setattr(throughput_run, "write_json_atomic", spy)
    try:
        code = throughput_run.main([*TINY, "--batch-sizes", "1,2", "--json", str(out / "tp.json"),
                                "--profile", str(out / "prof")])
    finally:
        patch.undo()
    return code, out, writes


@pytest.mark.slow
def test_json_document_is_complete_and_unit_named(tiny_run):
    code, out, writes = tiny_run
    assert code == EXIT_OK
    assert writes == [out / "tp.json"]  # through the atomic writer
    assert sorted(p.name for p in out.iterdir()) == ["prof", "tp.json"]  # no temp file left
    doc = json.loads((out / "tp.json").read_text())
    assert doc["kind"] == "throughput" and doc["environment"]["threads"] >= 1
    assert doc["config"]["warmup_iters"] == 1 and doc["config"]["rounds"] == 2
    assert {"load_average_1min_start", "load_average_1min_end", "flops_method", "threads", "peak_tflops",
            "peak_source"} <= set(doc["config"])
    rows = doc["results"]
    # every model under both kernel policies (the default), each row naming its policy
    assert [(r["model"], r["kernels"], r["batch_size"]) for r in rows] == [
        (model, policy, batch) for batch in (1, 2) for model in ("test_vit", "resnet10t")
        for policy in ("stock", "tuned")]
    assert doc["config"]["kernels"] == ["stock", "tuned"]
    for row in rows:
        assert ROW_KEYS <= set(row)
        assert row["error"] is None and row["timed_iters"] == 4 and row["img_size"] == 64
        assert row["images_per_s_min"] <= row["images_per_s_median"] <= row["images_per_s_max"]
        assert row["peak_memory_mib"] > 0 and row["memory_method"]
        assert row["mfu"] == pytest.approx(row["achieved_tflops"] / doc["config"]["peak_tflops"])
        has_latency = row["batch_size"] == 1
        assert (row["latency_ms_p50"] is not None) == has_latency
        assert (row["latency_ms_p90"] is not None) == has_latency
    # the architecture under each policy (same kernels on both sides), the implementation per model
    assert {(r["comparison"], r["model"], r["kernels"], r["over"], r["over_kernels"], r["batch_size_requested"])
            for r in doc["ratios"]} == {
        *(("architecture", "test_vit", policy, "resnet10t", policy, batch)
          for policy in ("stock", "tuned") for batch in (1, 2)),
        *(("implementation", model, "tuned", model, "stock", batch)
          for model in ("test_vit", "resnet10t") for batch in (1, 2))}


@pytest.mark.slow
def test_profile_writes_traces_with_the_models_ops(tiny_run):
    _, out, _ = tiny_run
    for model, op in (("test_vit", "aten::addmm"), ("resnet10t", "aten::conv2d")):
        traces = sorted((out / "prof" / model).glob("*.pt.trace.json"))
        assert [t.name.split(".")[0] for t in traces] == ["stock-bs1", "stock-bs2", "tuned-bs1", "tuned-bs2"]
        names = {event.get("name") for event in json.loads(traces[0].read_text())["traceEvents"]}
        assert op in names


def test_table_goes_to_stdout(capsys):
    assert throughput_run.main([*TINY, "--models", "test_vit", "--batch-sizes", "1"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "| test_vit" in out and "img/s median" in out and "warm-up 1 calls" in out


# --- out of memory -------------------------------------------------------------------------------


def _fake_forward(limit: int):
    """A forward that runs out of memory above ``limit`` images, like a GPU would."""
    calls = []

    def attempt(batch: int) -> int:
        calls.append(batch)
        if batch > limit:
            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {batch} GiB")
        return batch

    return attempt, calls


@pytest.mark.parametrize(("requested", "limit", "settled", "tried"), [
    (64, 20, 16, [64, 32, 16]),
    (48, 20, 12, [48, 24, 12]),
    (8, 8, 8, [8]),
    (7, 3, 3, [7, 3]),
    (5, 1, 1, [5, 2, 1]),
])
def test_batch_is_halved_until_it_fits(requested, limit, settled, tried):
    attempt, calls = _fake_forward(limit)
    assert timing.fit_batch_size(attempt, requested) == (settled, settled)
    assert calls == tried


def test_batch_that_never_fits_reraises_and_other_errors_pass_through():
    attempt, calls = _fake_forward(0)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        timing.fit_batch_size(attempt, 4)
    assert calls == [4, 2, 1]

    def broken(batch):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes"):
        timing.fit_batch_size(broken, 4)


@pytest.mark.parametrize(("error", "oom"), [
    (torch.cuda.OutOfMemoryError("CUDA out of memory"), True),
    (RuntimeError("CUDA error: out of memory"), True),
    (RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"), True),
    (RuntimeError("Expected all tensors to be on the same device"), False),
    (ValueError("out of memory"), False),
])
def test_out_of_memory_is_recognised(error, oom):
    assert timing.is_out_of_memory(error) is oom


@pytest.mark.slow
def test_oom_halves_one_model_and_never_kills_the_run(monkeypatch, capsys, tmp_path):
    """resnet10t fits only 2 images, test_vit none: the run goes on and says so."""
    real = throughput_run.make_forward

    def limited(subject, batch, config):
        forward = real(subject, batch, config)
        limit = {"resnet10t": 2, "test_vit": 0}[subject.name]

        def run_forward():
            if batch > limit:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory (fake)")
            return forward()
        return run_forward

    monkeypatch.setattr(throughput_run, "make_forward", limited)
    code = throughput_run.main([*TINY, "--batch-sizes", "8", "--json", str(tmp_path / "tp.json")])
    assert code == EXIT_FAILED
    rows = {r["model"]: r for r in json.loads((tmp_path / "tp.json").read_text())["results"]}
    assert (rows["resnet10t"]["batch_size_requested"], rows["resnet10t"]["batch_size"]) == (8, 2)
    assert rows["resnet10t"]["error"] is None and rows["resnet10t"]["images_per_s_median"] > 0
    assert rows["test_vit"]["batch_size"] is None and "OutOfMemoryError" in rows["test_vit"]["error"]
    captured = capsys.readouterr()
    assert "ran at 2" in captured.out and "test_vit" in captured.err


# --- statistics on hand-made timings -------------------------------------------------------------


def test_percentiles_interpolate_linearly():
    assert timing.percentile([4, 1, 3, 2], 50) == 2.5
    assert timing.percentile(list(range(1, 12)), 90) == 10
    assert timing.percentile([1, 2, 3, 4, 5], 90) == pytest.approx(4.6)
    assert timing.percentile([7], 90) == 7
    assert timing.summarize([50, 10, 40, 20, 30]) == {"median": 30, "iqr": 20, "min": 10, "max": 50}


def test_rates_from_hand_made_timings():
    # batch 4 over 0.5 s, 1 s, 2 s -> 8, 4, 2 images/s; p25 = 3, p75 = 6
    rates = throughput_run.summarize_rates(4, [[0.5, 1.0], [2.0]])
    assert rates == {"images_per_s_median": 4, "images_per_s_iqr": 3, "images_per_s_min": 2,
                     "images_per_s_max": 8, "images_per_s_by_round": [6, 2]}


def test_latency_and_mfu_of_a_hand_made_row():
    subject = throughput_run.Subject("sret_x", module=None, img_size=64, macs_per_image=5 * 10**8,
                                 param_count=1, weight_bytes=2**20)
    entry = throughput_run.Entry(subject, batch_size_requested=1, batch_size=1, memory_bytes=3 * 2**20,
                             memory_method="m", rounds=[[0.001, 0.004], [0.002, 0.003]])
    config = throughput_run.Config(models=("sret_x",), warmup=1, iters=2, rounds=2)
    row = throughput_run.result_row(entry, config, peak_tflops=2.0)
    assert row["latency_ms_p50"] == pytest.approx(2.5)
    assert row["latency_ms_p90"] == pytest.approx(3.7)
    # rates 1000, 250, 500, 333.3 img/s: the median is the mean of 333.3 and 500
    median = (1 / 0.003 + 1 / 0.002) / 2
    assert row["images_per_s_median"] == pytest.approx(median)
    assert row["achieved_tflops"] == pytest.approx(1e9 * median / 1e12)
    assert row["mfu"] == pytest.approx(1e9 * median / 1e12 / 2.0)
    assert row["peak_memory_mib"] == 3 and row["timed_iters"] == 4


# --- ratios --------------------------------------------------------------------------------------


def _row(model, batch, median, by_round, flops=1e9, error=None):
    return {"model": model, "batch_size": batch, "batch_size_requested": batch,
            "images_per_s_median": median, "images_per_s_by_round": by_round,
            "images_per_s_max": max(by_round, default=None), "flops_per_image": flops, "error": error}


def test_ratios_pair_each_sret_model_with_each_baseline():
    rows = [
        _row("sret_x", 8, 100, [100, 90], flops=1e9),
        _row("base_a", 8, 50, [50, 60], flops=2e9),
        _row("sret_y", 8, 10, [10, 10]),
        _row("base_b", 8, 200, [200, 180], flops=5e8),
        _row("sret_x", 1, 30, [30]),
        _row("base_a", 1, 15, [15]),
        _row("base_b", 1, None, [], error="OutOfMemoryError"),
    ]
    got = {(r["model"], r["over"], r["batch_size_requested"]): r
           for r in throughput_run.compute_ratios(rows)}
    assert set(got) == {("sret_x", "base_a", 8), ("sret_x", "base_b", 8), ("sret_y", "base_a", 8),
                        ("sret_y", "base_b", 8), ("sret_x", "base_a", 1)}
    x_a = got["sret_x", "base_a", 8]
    assert (x_a["throughput_ratio"], x_a["throughput_ratio_round_min"],
            x_a["throughput_ratio_round_max"], x_a["flops_ratio"]) == (2.0, 1.5, 2.0, 0.5)
    assert x_a["throughput_ratio_best"] == 100 / 60
    x_b = got["sret_x", "base_b", 8]
    assert (x_b["throughput_ratio"], x_b["throughput_ratio_round_min"], x_b["flops_ratio"]) == (0.5, 0.5, 2.0)
    assert got["sret_x", "base_a", 1]["throughput_ratio"] == 2.0


def test_deployment_pairs_each_model_at_its_fastest_runtime():
    def under(runtime, kernels, *args):
        return {**_row(*args), "runtime": runtime, "kernels": kernels}
    rows = [under("torch", "stock", "sret_x", 8, 20, [20, 22]), under("openvino", None, "sret_x", 8, 30, [30, 33]),
            under("torch", "stock", "base_a", 8, 40, [40, 40]), under("openvino", None, "base_a", 8, 25, [25, 24])]
    deployment = [r for r in throughput_run.compute_ratios(rows) if r["comparison"] == "deployment"]
    # sret_x is fastest on OpenVINO (30 img/s), base_a on torch (40): 30/40, 33/40 per round
    assert [(r["model"], r["runtime"], r["over"], r["over_runtime"]) for r in deployment] == [
        ("sret_x", "openvino", "base_a", "torch")]
    assert (deployment[0]["throughput_ratio_round_min"], deployment[0]["throughput_ratio_round_max"]) == (0.75, 0.825)
    single = [r for r in rows if r["runtime"] == "torch"]  # one runtime only: nothing to choose, no deployment row
    assert not [r for r in throughput_run.compute_ratios(single) if r["comparison"] == "deployment"]


def test_without_an_sret_model_the_first_model_is_compared():
    rows = [_row("deit", 8, 30, [30]), _row("pit", 8, 60, [60]), _row("resnet", 8, 10, [10])]
    got = [(r["model"], r["over"], r["throughput_ratio"]) for r in throughput_run.compute_ratios(rows)]
    assert got == [("deit", "pit", 0.5), ("deit", "resnet", 3.0)]


# --- FLOPs and peaks -------------------------------------------------------------------------------


def test_macs_count_fused_attention_like_the_explicit_one():
    """The CPU's fused SDPA kernel must cost what the explicit matmul-softmax-matmul costs."""
    import timm
    model = timm.create_model("test_vit", img_size=64).eval()
    fused = throughput_run.model_macs(model, 64)
    for block in model.blocks:
        block.attn.fused_attn = False
    assert fused == throughput_run.model_macs(model, 64)
    assert fused > 0


# A hand-made sheet, so what is checked is the lookup: the more specific name first, the precision asked.
SHEET = (("H100 PCIe", {"bf16": 2.0, "fp32": 0.2}, "pcie sheet"), ("H100", {"bf16": 3.0, "fp32": 0.3}, "sxm sheet"))


@pytest.mark.parametrize(("name", "dtype", "peak"), [
    ("NVIDIA H100 80GB HBM3", "bf16", 3.0), ("NVIDIA H100 PCIe", "bf16", 2.0), ("nvidia h100 pcie", "fp32", 0.2),
    ("NVIDIA GeForce GTX 1080", "fp32", None),
])
def test_a_gpu_peak_is_read_from_the_first_sheet_entry_its_name_matches(monkeypatch, name, dtype, peak):
    monkeypatch.setattr(timing, "GPU_PEAK_TFLOPS", SHEET)
    value, source = timing.gpu_peak_tflops(name, dtype)
    assert value == peak and source and (peak is not None or "no known peak" in source)


def test_macs_of_pit_which_passes_its_cls_token_between_stages():
    """PiT passes its cls token between stages as a tuple; it is counted, grads untouched."""
    import timm
    model = timm.create_model("pit_ti_224", img_size=64).eval()
    assert throughput_run.model_macs(model, 64) > 0
    assert all(p.requires_grad for p in model.parameters())


def test_the_cpu_peak_is_the_best_of_its_samples(monkeypatch):
    readings = iter([0.1, 0.3, 0.2])
    monkeypatch.setattr(timing, "cpu_peak_tflops", lambda dtype: (next(readings), "mm"))
    peak = timing.PeakTracker("cpu", "fp32")
    assert peak.samples == 0  # nothing measured until asked for
    peak.sample()
    peak.sample()
    peak.sample()
    assert peak.tflops == 0.3 and "best of 3" in peak.description


@pytest.mark.parametrize("native", [False, True])
def test_the_bf16_peak_times_what_nn_linear_runs_and_skips_the_fallback_mm(monkeypatch, native):
    """Without native bf16 kernels torch.mm in bf16 takes minutes at 2048: it must not be timed
    there, and F.linear (what nn.Linear and autocast run) always is."""
    called = []
    real_mm, real_linear = torch.mm, torch.nn.functional.linear
    monkeypatch.setattr(timing, "native_bf16", lambda: native)
    monkeypatch.setattr(torch, "mm", lambda *args: called.append("mm") or real_mm(*args))
    monkeypatch.setattr(torch.nn.functional, "linear", lambda *args: called.append("linear") or real_linear(*args))
    tflops, source = timing.cpu_peak_tflops("bf16", size=64, repeats=1)
    assert tflops > 0 and "linear" in called and ("mm" in called) == native
    assert ("torch.mm left out: no native bf16 kernels" in source) != native
