"""bench.gpu and the CUDA paths of the timing code, without a GPU.

CUDA is imitated where the code asks torch about it (events, memory counters, device
checks, the card's name), so what is checked is this project's logic: which peak MFU is
measured against, how a call is timed and its memory read, which units a budget lets run,
and what the runner writes. The runner itself runs end to end on the CPU on tiny models;
torch.compile under bf16 autocast, the compiled GPU phase's path, runs on the CPU too.
"""
from __future__ import annotations

import json

import pytest
import torch

from bench.measure import environment
from bench.measure import gpu_run
from bench.measure import throughput_run
from bench.measure import timing
from bench.core.cli import EXIT_OK, EXIT_USAGE, run

H100 = "NVIDIA H100 80GB HBM3"


# --- imitated CUDA ---------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeEvent:
    """A CUDA event on a fake clock that a fake forward advances."""

    clock = FakeClock()

    def __init__(self, enable_timing: bool = False) -> None:
        assert enable_timing
        self.at = None

    def record(self) -> None:
        self.at = FakeEvent.clock.now

    def elapsed_time(self, end: "FakeEvent") -> float:
        return (end.at - self.at) * 1e3  # milliseconds, as torch.cuda.Event's


def test_cuda_calls_are_timed_between_events_with_one_synchronize(monkeypatch):
    syncs = []
    monkeypatch.setattr(torch.cuda, "Event", FakeEvent)
    monkeypatch.setattr(timing, "synchronize", lambda device: syncs.append(device))
    durations = iter([0.010, 0.030, 0.020])

    def forward():
        FakeEvent.clock.now += next(durations)

    seconds = timing.time_calls(forward, 3, torch.device("cuda"))
    assert seconds == pytest.approx([0.010, 0.030, 0.020])
    assert len(syncs) == 2  # before the first call and once after the last, never between calls


def test_cuda_memory_is_the_peak_above_what_was_allocated_before(monkeypatch):
    state = {"allocated": 100, "peak": 500}
    monkeypatch.setattr(timing, "synchronize", lambda device: None)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device: state.update(peak=state["allocated"]))
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device: state["allocated"])
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device: state["peak"])

    def forward():  # allocates 300 bytes of activations, frees them
        state["peak"] = max(state["peak"], state["allocated"] + 300)

    growth, method = timing.forward_memory_growth(forward, torch.device("cuda"))
    assert growth == 300 and method == timing.CUDA_MEMORY_METHOD
    assert timing.cuda_max_memory_allocated(torch.device("cuda")) == 400
    assert timing.cuda_max_memory_allocated(torch.device("cpu")) is None


@pytest.mark.parametrize(("amp", "tf32", "precision", "peak"), [
    (None, True, "tf32", 4.0), ("bf16", False, "bf16", 8.0), (None, False, "fp32", 1.0)])
def test_mfu_on_a_card_is_against_a_matmul_measured_there_in_the_precision_run(monkeypatch, amp, tf32, precision,
                                                                             peak):
    monkeypatch.setattr(environment, "device_name", lambda device: H100)
    monkeypatch.setattr(timing, "GPU_PEAK_TFLOPS", (("H100", {"tf32": 4.0, "bf16": 8.0, "fp32": 1.0},
                                                     "H100 SXM sheet"),))
    readings = iter([0.5, 0.7, 0.6])
    asked = []

    def measured(device, precision_):
        asked.append(precision_)
        return next(readings) * peak, f"measured {precision_} mm"

    monkeypatch.setattr(timing, "cuda_peak_tflops", measured)
    config = throughput_run.Config(models=("x",), device="cuda", amp=amp, tf32=tf32)
    tracker = timing.PeakTracker(config.device, config.precision)
    assert config.precision == precision and tracker.tflops == 0.5 * peak
    tracker.sample()
    tracker.sample()  # re-measured between rounds, the best kept
    assert tracker.tflops == pytest.approx(0.7 * peak) and tracker.samples == 3 and asked == [precision] * 3
    assert "best of 3" in tracker.description and f"measured {precision} mm" in tracker.description
    assert tracker.reference == (peak, f"H100 SXM sheet; {precision} peak")  # the datasheet, kept beside it
    conditions = timing.conditions(None, tracker)
    assert conditions["peak_datasheet_tflops"] == peak and "H100 SXM sheet" in conditions["peak_datasheet_source"]
    block = throughput_run.config_block(config)
    assert block["timing"].startswith("CUDA events") and block["tf32"] is tf32


def test_tf32_is_switched_for_the_block_and_restored():
    before = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    with timing.tf32_allowed(True):
        assert torch.get_float32_matmul_precision() == "high" and torch.backends.cudnn.allow_tf32
    with timing.tf32_allowed(False):
        assert torch.get_float32_matmul_precision() == "highest" and not torch.backends.cudnn.allow_tf32
    assert (torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32) == before


@pytest.mark.parametrize(("available", "count", "device", "culprit"), [
    (False, 0, "cuda", "no CUDA GPU"), (True, 1, "cuda:1", "only 1 GPU"), (True, 1, "mps", "'mps'")])
def test_a_device_torch_cannot_use_is_one_line_exit_2(monkeypatch, capsys, tmp_path, available, count, device, culprit):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    assert run(gpu_run.main, ["--device", device, "--out", str(tmp_path / "out")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and culprit in err and not (tmp_path / "out").exists()


def test_a_visible_card_passes_the_check(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert throughput_run.check_device("cuda:1") == "cuda:1"


@pytest.mark.parametrize("argv", [["--budget-s", "0"], ["--max-batch", "0"], ["--models", "sret_q"],
                                  ["--speed-models", "deit_tiny_patch16_224"], ["--dtypes", "fp16"],
                                  ["--counts", "no/such/verify.json"]])
def test_bad_runner_options_are_one_line_exit_2(capsys, tmp_path, argv):
    assert run(gpu_run.main, ["--device", "cpu", "--out", str(tmp_path), *argv]) == EXIT_USAGE
    assert capsys.readouterr().err.count("\n") == 1


def test_on_cuda_only_the_stock_policy_is_timed(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    settings = gpu_run.parse_args(["--device", "cuda", "--out", str(tmp_path), "--kernels", "stock,tuned"])
    assert settings.kernels == ("stock",)
    assert all(policy == "stock" for *_, policy in gpu_run.COMPILE_PLAN)


def test_ratios_pair_rows_of_one_unit_only():
    """Two compiled units at the same batch and size (sret_t+deit_tiny, then sret_s+deit_small) were
    not timed side by side: no ratio may pair sret_t with deit_small."""
    def row(model):
        return {"model": model, "kernels": "stock", "img_size": 224, "batch_size": 8, "batch_size_requested": 8,
                "images_per_s_median": 10.0, "images_per_s_max": 11.0, "images_per_s_by_round": [10.0],
                "flops_per_image": 2, "error": None}

    written = gpu_run.Written("throughput-bf16-compiled", "throughput")
    for unit, models in (("tiny", ("sret_t", "deit_tiny_patch16_224")), ("small", ("sret_s", "deit_small_patch16_224"))):
        config = throughput_run.Config(models=models, batch_sizes=(8,), kernels=("stock",), compile=True, amp="bf16")
        written.add(unit, config, [row(m) for m in models])
    assert {(r["model"], r["over"]) for r in written.ratios()} == {
        ("sret_t", "deit_tiny_patch16_224"), ("sret_s", "deit_small_patch16_224")}
    assert [(u["unit"], u["models"]) for u in written.unit_records()] == [
        ("tiny", ["sret_t", "deit_tiny_patch16_224"]), ("small", ["sret_s", "deit_small_patch16_224"])]
    assert written.config().models == ("sret_t", "deit_tiny_patch16_224", "sret_s", "deit_small_patch16_224")
    assert [r["unit"] for r in written.rows] == ["tiny", "tiny", "small", "small"]


def test_counts_recorded_on_the_cpu_spare_the_runner_counting_again(monkeypatch):
    from bench.page.results import REPORTS

    known = gpu_run.recorded_macs(REPORTS / "verify.json")
    assert known["sret_t@224"] > 0 and known["deit_tiny_patch16_224@224"] > 0  # SReT and a baseline
    monkeypatch.setattr(throughput_run, "model_macs", lambda model, size: pytest.fail("counted again"))
    config = throughput_run.Config(models=("test_vit",), img_size=64)
    _, size, macs = throughput_run.build("test_vit", config, {"test_vit@64": 123})
    assert (size, macs) == (64, 123)


def test_card_names_become_file_names():
    assert gpu_run.slug(H100) == "nvidia-h100-80gb-hbm3"
    assert gpu_run.slug("NVIDIA A100-SXM4-40GB") == "nvidia-a100-sxm4-40gb"


# --- the budget ------------------------------------------------------------------------------------


def test_a_unit_starts_only_if_the_slowest_so_far_fits_and_failures_are_recorded():
    clock = FakeClock()
    budget = gpu_run.Budget(100.0, clock=clock, reserve_s=10.0)
    ran = []

    def work(name, seconds, fail=False):
        def unit():
            ran.append(name)
            clock.now += seconds
            if fail:
                raise RuntimeError("CUDA error: an illegal memory access\nmore")
        return gpu_run.Unit(name, unit)

    # prior 20 s: a (30 s) starts; then estimate 30 s: b (5 s) at 30, c (fails) at 35, d at 45 fit
    # (90 - 45 >= 30); e at 75 does not (90 - 75 < 30), nor f
    units = [work("a", 30), work("b", 5), work("c", 10, fail=True), work("d", 30), work("e", 1), work("f", 1)]
    phase = gpu_run.Phase("eager")
    writes = []
    gpu_run.run_units(phase, units, budget, after_each=lambda: writes.append(len(ran)), log=lambda line: None)
    assert ran == ["a", "b", "c", "d"]
    assert [d["unit"] for d in phase.done] == ["a", "b", "d"]
    assert phase.errors == [{"unit": "c", "error": "RuntimeError: CUDA error: an illegal memory access"}]
    assert [(s["unit"], s["estimate_s"], s["left_s"]) for s in phase.skipped_for_time] == [
        ("e", 30.0, 25.0), ("f", 30.0, 25.0)]
    assert writes == [1, 2, 3, 4]  # the files written after every unit that ran
    assert phase.status == "partial"


# --- the runner, end to end on the CPU -------------------------------------------------------------


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory):
    """The whole runner on two tiny models at 64 px on the CPU; the gate's counting is replaced by
    a hand-made result naming one model, so what runs on the device is that model's check."""
    out = tmp_path_factory.mktemp("gpu")
    patch = pytest.MonkeyPatch()
    import bench.gate.paper_gate
    patch.setattr(timing, "cpu_peak_tflops", lambda dtype: (1.0, "fixed for the test"))  # not the subject here
    patch.setattr(bench.gate.paper_gate, "verify", lambda models, progress: {
        "results": [{"status": "pass"}], "claims": [{"status": "fail"}], "elapsed_s": 1.0,
        "counters": {"test_vit@64": {"fvcore_macs": 123, "params": 45}}})
    try:
        code = gpu_run.main(["--device", "cpu", "--out", str(out), "--models", "test_vit,resnet10t", "--img-size", "64",
                         "--speed-models", "", "--max-batch", "2", "--warmup", "1", "--rounds", "1", "--iters", "1",
                         "--kernels", "stock,tuned", "--budget-s", "300"])
    finally:
        patch.undo()
    return code, out


def _document(out, stem):
    slug = gpu_run.slug(throughput_run.device_name("cpu"))
    return json.loads((out / f"{stem}-{slug}.json").read_text())


@pytest.mark.slow
def test_the_runner_writes_every_phase_and_what_it_did(cpu_run):
    code, out = cpu_run
    assert code == EXIT_OK
    manifest = _document(out, "gpu_run")
    assert manifest["kind"] == "gpu_run" and manifest["budget_s"] == 300
    assert [(p["phase"], p["status"]) for p in manifest["phases"]] == [
        ("gate", "done"), ("device_check", "done"), ("eager", "done"), ("model_speed", "not run"),
        ("slicing", "not run"), ("compiled", "not run")]
    eager = next(p for p in manifest["phases"] if p["phase"] == "eager")
    assert [u["unit"] for u in eager["units_done"]] == [
        "64 px, fp32, batch 2", "64 px, fp32, batch 1", "64 px, bf16, batch 2", "64 px, bf16, batch 1"]
    check = _document(out, "device_check")
    assert check["verdict"]["pass"] == 1 and check["verdict"]["fail"] == 1
    assert [(r["model"], r["agrees"], r["error"]) for r in check["results"]] == [("test_vit", True, None)]


@pytest.mark.slow
def test_the_runner_times_both_precisions_and_policies_at_batch_1_and_the_largest(cpu_run):
    _, out = cpu_run
    for dtype in ("fp32", "bf16"):
        document = _document(out, f"throughput-{dtype}")
        assert document["config"]["dtype"] == dtype and document["runner_phase"] == "eager"
        rows = document["results"]
        assert {(r["model"], r["kernels"], r["batch_size_requested"]) for r in rows} == {
            (m, k, b) for m in ("test_vit", "resnet10t") for k in ("stock", "tuned") for b in (1, 2)}
        assert all(r["error"] is None and r["images_per_s_median"] > 0 for r in rows)
        assert {r["comparison"] for r in document["ratios"]} == {"architecture", "implementation"}
        assert [u["unit"] for u in document["config"]["units"]] == [f"64 px, {dtype}, batch 2", f"64 px, {dtype}, batch 1"]
        assert document["config"]["batch_sizes"] == [2, 1] and "same unit" in document["config"]["ratio_rule"]
        assert {r["unit"] for r in rows} == {u["unit"] for u in document["config"]["units"]}
        # the attention kernel each row ran, read off the profiler: test_vit runs SDPA, resnet10t none
        kernels = {r["model"]: r["attention_kernels"] for r in rows if r["kernels"] == "stock"}
        assert kernels["resnet10t"] == [] and kernels["test_vit"] and "head_dim" in kernels["test_vit"][0]


def test_a_budget_too_small_for_anything_records_every_unit_as_skipped(tmp_path, monkeypatch):
    settings = gpu_run.Settings(out=tmp_path, device="cpu", budget_s=1.0, models=("test_vit",), speed_models=("sret_t",),
                            img_size=64, compile=False)
    runner = gpu_run.Runner(settings, gpu_run.Budget(1.0), ["--budget-s", "1"])
    runner.run()
    manifest = json.loads(runner.path("gpu_run").read_text())
    assert [(p["phase"], p["status"]) for p in manifest["phases"]] == [
        ("gate", "skipped for time"), ("device_check", "not run"), ("eager", "skipped for time"),
        ("model_speed", "skipped for time"), ("slicing", "not run"), ("compiled", "not run")]
    assert manifest["phases"][-1]["note"] == "--no-compile"
    assert sorted(p.name for p in tmp_path.iterdir()) == [runner.path("gpu_run").name]


@pytest.mark.slow
def test_compiled_bf16_autocast_runs_on_the_cpu(tmp_path):
    """The compiled phase's path: torch.compile under bf16 autocast, compile time reported, not timed."""
    code = throughput_run.main(["--models", "test_vit", "--img-size", "64", "--batch-sizes", "2", "--kernels", "stock",
                            "--compile", "--amp", "bf16", "--warmup", "1", "--rounds", "1", "--iters", "1",
                            "--json", str(tmp_path / "tp.json")])
    assert code == EXIT_OK
    [row] = json.loads((tmp_path / "tp.json").read_text())["results"]
    assert (row["compile"], row["dtype"], row["kernels"], row["error"]) == (True, "bf16", "stock", None)
    assert row["compile_s"] > 0 and row["images_per_s_median"] > 0
