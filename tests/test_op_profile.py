"""The operator profile: operators counted under the right family, shares of the whole pass, and a page
section that says what the CPU offers bf16."""
from __future__ import annotations

import json

import pytest
import timm
import torch
from torch.profiler import ProfilerActivity, profile

from bench.core.cli import run
from bench.measure import op_profiler
from bench.measure.reference import PaperFormulation
from bench.measure.op_profiler import family, profile_model
from bench.page import pages, plot_files
from bench.page import results as page_results
from bench.page.markdown import unwrap
from conftest import REPO


@pytest.mark.parametrize("op, expected", [
    ("aten::addmm", "matmul"), ("mkldnn::_linear_pointwise", "matmul"), ("aten::bmm", "matmul"),
    ("aten::mkldnn_convolution", "convolution"), ("aten::_slow_conv2d_forward", "convolution"),
    ("aten::_scaled_dot_product_flash_attention_for_cpu", "attention"), ("aten::native_layer_norm", "norm"),
    ("aten::_to_copy", "casts and copies"), ("aten::copy_", "casts and copies"),
    ("aten::t", "layout and gathers"), ("aten::randperm", "layout and gathers"),
    ("aten::add", "elementwise"), ("aten::addcmul", "elementwise"), ("aten::gelu", "activation"),
    ("mkldnn::_convolution_pointwise", "convolution"), ("mkl::_mkl_linear", "matmul"), ("aten::sort", "layout and gathers"),
    ("graph_0_cpp_fused_addcmul_gelu_native_layer_norm_3", "fused by inductor"),
    ("## Call CompiledFxGraph fhcppxjbnd5bpm ##", "graph calls"), ("Torch-Compiled Region: 0/0", "graph calls"),
    ("aten::made_up_op", "other"),
])
def test_each_operator_is_counted_under_its_family_by_its_exact_name(op, expected):
    assert family(op) == expected


@pytest.mark.parametrize("precision", ["fp32", pytest.param("bf16", marks=pytest.mark.slow)])  # bf16: the slow one on a CPU without bf16 units
def test_a_profile_shares_the_whole_pass_among_its_families(precision):
    row = profile_model("sret_t_wo_slice", precision, batch=1, steps=1, warmup=1, img_size=64)
    assert sum(row["share"].values()) == pytest.approx(1.0, abs=5e-3)  # self times add up to the pass
    assert row["share"]["matmul"] > 0 and row["share"]["convolution"] > 0  # linears, and the conv stem
    assert [op["share"] for op in row["top_ops"]] == sorted((op["share"] for op in row["top_ops"]), reverse=True)
    if precision == "bf16":  # autocast casts every linear's fp32 weight and input to bf16
        assert row["share"]["casts and copies"] > 0


def test_under_compile_inductors_own_kernels_are_named_and_counted_as_fused():
    """The profile names the kernels inductor generates (else they hide in one graph call), by the names
    the family rule expects: a compiled norm, activation and residual, profiled."""
    torch._dynamo.reset()
    compiled = torch.compile(lambda x: torch.nn.functional.gelu(torch.nn.functional.layer_norm(x, (16,))) * 2 + x)
    x = torch.randn(64, 16)
    with op_profiler._kernel_names("compiled"):
        compiled(x)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        compiled(x)
    families = {family(event.key) for event in prof.key_averages()}
    assert "fused by inductor" in families and "graph calls" in families


def test_the_release_formulation_is_profiled_for_sret_models_only():
    assert op_profiler.forms_of("sret_t", op_profiler.FORMS) == ["eager", "release_formulation", "compiled"]
    assert op_profiler.forms_of("deit_tiny_patch16_224", op_profiler.FORMS) == ["eager", "compiled"]


def test_each_form_profiles_what_its_name_says():
    """eager: the model itself; release_formulation: the release's sequence of operations on its
    weights (what bench.model_speed's ratios are over), whose shares cover its whole pass."""
    model = timm.create_model("sret_t_wo_slice", img_size=64).eval()
    assert op_profiler._form(model, "eager") is model
    release = op_profiler._form(model, "release_formulation")
    assert isinstance(release, PaperFormulation) and release.model is model
    row = profile_model("sret_t_wo_slice", "fp32", batch=1, steps=1, warmup=1, img_size=64, form="release_formulation")
    assert row["form"] == "release_formulation" and row["share"]["matmul"] > 0
    assert sum(row["share"].values()) == pytest.approx(1.0, abs=5e-3)


def test_an_unknown_form_is_one_line_and_exit_2(capsys):
    assert run(op_profiler.main, ["--forms", "eager,jit"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'jit'" in err[0] and "compiled" in err[0]


def test_an_unknown_precision_is_one_line_and_exit_2(capsys):
    assert run(op_profiler.main, ["--precisions", "fp16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fp16" in err[0]


def test_an_unknown_model_is_one_line_naming_the_closest(capsys):
    assert run(op_profiler.main, ["--models", "sret_tx"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'sret_tx'" in err[0] and "sret_t" in err[0].split("did you mean", 1)[1]


def _document() -> dict:
    """A profile file by hand: a CPU without bf16 units, two rows."""
    verify = json.loads((REPO / "tests" / "data" / "verify.json").read_text(encoding="utf-8"))
    environment = dict(verify["environment"], device_name="Test CPU", date="2026-12-01T10:00:00+00:00")
    row = {"img_size": 224, "batch_size": 8, "steps": 3, "profiled_ms_per_image": 10.0, "form": "eager"}
    return {"schema": verify["schema"], "kind": "op_profile", "environment": environment,
            "argv": ["python", "-m", "bench.op_profile", "--json", "tests/data/op_profile.json"],
            "method": "by hand", "config": {"batch_size": 8, "steps": 3, "warmup": 2, "kernels": "stock",
                                            "threads": 2, "bf16_support": {"avx512_bf16": False, "amx_bf16": False}},
            "results": [dict(row, model="sret_t", precision="bf16", share={"matmul": 0.61, "convolution": 0.112},
                             top_ops=[{"op": "aten::addmm", "share": 0.61, "family": "matmul"}]),
                        dict(row, model="deit_tiny_patch16_224", precision="bf16", share={"matmul": 0.766},
                             top_ops=[{"op": "aten::addmm", "share": 0.766, "family": "matmul"}])]}


def test_the_page_shows_each_family_in_percent_and_whether_the_cpu_has_bf16(tmp_path):
    path = tmp_path / "op_profile-cpu.json"
    path.write_text(json.dumps(_document()), encoding="utf-8")
    markdown = unwrap(pages.render_speed(page_results.load_results([REPO / "tests" / "data" / "verify.json", path])))
    assert "## Where the CPU time goes (CPU (Test CPU))" in markdown
    assert "no native bf16" in markdown
    section = markdown.split("## Where the CPU time goes", 1)[1].split("\n## ", 1)[0].splitlines()
    sret_row = next(line for line in section if line.startswith("| sret_t "))
    cells = [cell.strip() for cell in sret_row.strip("|").split("|")]
    assert cells[:6] == ["sret_t", "224", "eager", "bf16", "11.2", "61.0"]  # convolution, matmul: sorted by name
    deit_row = next(line for line in section if line.startswith("| deit_tiny_patch16_224 "))
    assert [cell.strip() for cell in deit_row.strip("|").split("|")][4] == "0.0"  # a family it lacks: 0
    assert "Compiled:" not in markdown  # no compiled row, no compile settings


def test_a_compiled_profile_is_shown_by_form_with_its_compile_settings(tmp_path):
    document = _document()
    document["results"][1] = dict(document["results"][0], form="compiled", share={"fused by inductor": 0.1})
    document["config"].update(compile_settings={"policy": "tuned", "backend": "inductor", "mode": "default",
                                                "inductor_config": {"freezing": True}, "dynamic_batch": True},
                              kernel_choice={"onednn_min_macs": 77070336, "sdpa_min_tokens": 196})
    path = tmp_path / "op_profile-compiled-cpu.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    markdown = unwrap(pages.render_speed(page_results.load_results([REPO / "tests" / "data" / "verify.json", path])))
    assert "## Where the CPU time goes, by form (CPU (Test CPU))" in markdown
    assert "oneDNN linear from 77,070,336 MACs eager, SDPA from 196 tokens" in markdown
    section = markdown.split("## Where the CPU time goes", 1)[1].split("\n## ", 1)[0].splitlines()
    rows = [line for line in section if line.startswith("| sret_t ")]
    assert [[cell.strip() for cell in row.strip("|").split("|")][2] for row in rows] == ["eager", "torch.compile"]
