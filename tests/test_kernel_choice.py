"""The tuned policy's crossovers are decided on the machine that runs them: from measured shapes, cached per
CPU model and torch version, followed at once by the policy, and recorded in every results file."""
from __future__ import annotations

from collections import Counter

import pytest
import timm
import torch
from torch.profiler import profile

import sret  # noqa: F401
from bench.measure import kernel_scan, throughput_run
from bench.measure.kernel_scan import attention_macs, best_switch, decide, ensure_decided, picks
from sret import kernel_choice
from sret.kernel_choice import KernelChoice
from sret.kernels import apply_kernel_policy

LINEAR = [{"macs": 2**18, "oneDNN / F.linear": 0.4}, {"macs": 2**20, "oneDNN / F.linear": 1.8},
          {"macs": 2**24, "oneDNN / F.linear": 2.2}]
ATTENTION = [{"batch*groups": 8, "heads": 4, "head_dim": 32, "tokens": tokens, "explicit / SDPA": speed}
             for tokens, speed in ((49, 3.0), (196, 1.05), (392, 0.4), (784, 0.3))]


@pytest.mark.parametrize("shapes, expected", [
    # (size, weight, candidate's speed): saves 100 from 400, 100 + 200 from 200, 300 - 100 from 100
    ([(100, 100, 0.5), (200, 200, 2.0), (400, 200, 2.0)], 200),
    # a small loss between larger wins: switching from 100 saves 50 - 22.2 + 200, from 400 only 200
    ([(100, 100, 2.0), (200, 200, 0.9), (400, 400, 2.0)], 100),
    ([(100, 100, 0.5), (200, 100, 0.8)], 10**9),  # loses everywhere: never
    ([(100, 100, 1.0), (200, 100, 2.0)], 200),  # a tie (nothing saved at 100) goes to the larger size
])
def test_the_switch_is_where_the_candidate_saves_the_most_time(shapes, expected):
    assert best_switch(shapes, never=10**9) == expected


def test_an_attention_call_counts_both_of_its_products():
    assert attention_macs({"batch*groups": 2, "heads": 3, "tokens": 5, "head_dim": 7}) == 2 * 2 * 3 * 25 * 7


def test_a_decision_from_measured_shapes_picks_the_faster_kernel_on_each():
    rows = {"linear": LINEAR, "attention": ATTENTION}
    choice = decide(rows, "Test CPU", "2.14.1", "2026-12-02")
    assert (choice.onednn_min_macs, choice.sdpa_min_tokens) == (2**20, 392)
    assert "measured on Test CPU with torch 2.14.1, 2026-12-02" in choice.source
    shown = picks(rows, choice)
    assert [r["tuned picks"] for r in shown["linear"]] == ["F.linear", "oneDNN", "oneDNN"]
    assert [r["tuned picks"] for r in shown["attention"]] == ["explicit", "explicit", "SDPA (stock)", "SDPA (stock)"]
    assert all(r["tuned picks the faster"] for r in shown["linear"] + shown["attention"])


def test_the_decision_is_cached_per_cpu_and_torch(tmp_path, monkeypatch):
    monkeypatch.setenv(kernel_choice.CACHE_ENV, str(tmp_path))
    path = kernel_choice.cache_path("AMD EPYC 7B13", "2.14.1+cu130")
    assert path == tmp_path / "kernels" / "amd-epyc-7b13-torch2.14.1-cu130.json"
    choice = KernelChoice(100, 5000, "hand-made", cpu="AMD EPYC 7B13", torch="2.14.1+cu130")
    assert kernel_choice.save(choice) == path and kernel_choice.load(path) == choice
    path.write_text("{not json")
    assert kernel_choice.load(path) is None  # a broken cache is no decision


def test_a_benchmark_measures_a_decision_only_where_none_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv(kernel_choice.CACHE_ENV, str(tmp_path))
    scans = []
    monkeypatch.setattr(kernel_scan, "measure", lambda *args, **kwargs: scans.append(1) or {
        "linear": LINEAR, "attention": ATTENTION})
    made = ensure_decided()
    assert scans == [1] and kernel_choice.current() == made and made.sdpa_min_tokens == 392
    assert kernel_choice.load() == made  # cached for this machine
    assert ensure_decided() == made and scans == [1]  # the second time: read, not measured


def _ops(model: torch.nn.Module, x: torch.Tensor) -> Counter:
    with torch.inference_mode(), profile() as prof:
        model(x)
    return Counter(event.name for event in prof.events())


@pytest.mark.slow
def test_the_tuned_policy_follows_the_decision_at_once():
    model = apply_kernel_policy(timm.create_model("sret_t_wo_slice", img_size=64).eval(), "tuned")
    x = torch.randn(1, 3, 64, 64)  # 64 tokens in stage 0, 16 in stage 1, 4 in stage 2
    kernel_choice.use(KernelChoice(sdpa_min_tokens=1, onednn_min_macs=2**62, source="every call SDPA"))
    every = _ops(model, x)
    kernel_choice.use(KernelChoice(sdpa_min_tokens=2**31, onednn_min_macs=2**62, source="never SDPA"))
    never = _ops(model, x)
    assert every["aten::scaled_dot_product_attention"] == 20 and every["aten::softmax"] == 0
    assert never["aten::scaled_dot_product_attention"] == 0 and never["aten::softmax"] == 20


def test_a_results_file_of_the_tuned_policy_records_its_decision():
    block = throughput_run.config_block(throughput_run.Config(models=("sret_t",), kernels=("stock", "tuned")))
    assert block["kernel_choice"] == kernel_choice.DEFAULT.record()
    assert throughput_run.config_block(throughput_run.Config(models=("sret_t",), kernels=("stock",)))["kernel_choice"] is None


def test_cpuinfo_fields_are_read_by_their_exact_name(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: Test CPU 9000\n"
                       "flags\t\t: fpu avx2 avx512f avx512_bf16\nprocessor\t: 1\nmodel name\t: Other\n")
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(cpuinfo if path == "/proc/cpuinfo" else path,
                                                                         *a, **k))
    assert kernel_choice.cpu_name() == "Test CPU 9000 (family 25 model 17, AVX-512 BF16)"
    assert kernel_choice.cpuinfo_field("flags").split() == ["fpu", "avx2", "avx512f", "avx512_bf16"]
    assert kernel_choice.cpuinfo_field("microcode") is None


def test_the_cache_is_read_when_first_asked_for_not_at_import(tmp_path, monkeypatch):
    monkeypatch.setenv(kernel_choice.CACHE_ENV, str(tmp_path))  # set after sret was imported
    kernel_choice.save(KernelChoice(64, 1 << 10, "cached for the test"))
    kernel_choice.use(None)  # as a new process: nothing read yet
    assert kernel_choice.current().source == "cached for the test"
    kernel_choice.use(None)  # as a new process: nothing read yet
    monkeypatch.setenv(kernel_choice.CACHE_ENV, str(tmp_path / "empty"))
    assert kernel_choice.current() == kernel_choice.DEFAULT


def test_the_widest_units_name_the_cpu_generation():
    assert kernel_choice.vector_units({"avx2", "avx512f", "amx_tile", "avx512_bf16"}) == "AMX"
    assert kernel_choice.vector_units({"avx2", "avx512f"}) == "AVX-512"
    assert kernel_choice.vector_units({"avx2", "fma"}) == "AVX2"
    assert kernel_choice.vector_units({"sse2"}) == ""
    # two generations one hypervisor names alike ("AMD EPYC") keep separate kernel decisions
    assert kernel_choice.cache_path("AMD EPYC (family 25 model 1, AVX2)", "2.14.1") != \
        kernel_choice.cache_path("AMD EPYC (family 25 model 17, AVX-512 BF16)", "2.14.1")


@pytest.mark.slow
def test_a_tuned_model_compiles_to_one_graph_even_before_the_decision_was_read(tmp_path, monkeypatch):
    """Reading the decision's file inside torch.compile broke the graph at every tuned layer (16
    breaks in SReT-S, and past dynamo's recompile limit the NLLs ran eager): the policy reads it first."""
    monkeypatch.setenv(kernel_choice.CACHE_ENV, str(tmp_path))
    kernel_choice.use(None)  # as a new process: nothing read yet
    model = apply_kernel_policy(timm.create_model("sret_t", img_size=64).eval(), "tuned")
    torch._dynamo.reset()
    with torch.no_grad():
        explained = torch._dynamo.explain(model)(torch.randn(1, 3, 64, 64))
    assert (explained.graph_count, explained.graph_break_count) == (1, 0), explained.break_reasons
