"""The operator profile: operators counted under the right family, shares of the whole pass, and a page
section that says what the CPU offers bf16."""
from __future__ import annotations

import json

import pytest

from bench.core.cli import run
from bench.measure import op_profile
from bench.measure.op_profile import family, profile_model
from bench.page import report
from conftest import REPO


@pytest.mark.parametrize("op, expected", [
    ("aten::addmm", "matmul"), ("mkldnn::_linear_pointwise", "matmul"), ("aten::bmm", "matmul"),
    ("aten::mkldnn_convolution", "convolution"), ("aten::_slow_conv2d_forward", "convolution"),
    ("aten::_scaled_dot_product_flash_attention_for_cpu", "attention"), ("aten::native_layer_norm", "norm"),
    ("aten::_to_copy", "casts and copies"), ("aten::copy_", "casts and copies"),
    ("aten::t", "layout and gathers"), ("aten::randperm", "layout and gathers"),
    ("aten::add", "elementwise"), ("aten::addcmul", "elementwise"), ("aten::gelu", "activation"),
    ("aten::made_up_op", "other"),
])
def test_each_operator_is_counted_under_its_family_by_its_exact_name(op, expected):
    assert family(op) == expected


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_profile_shares_the_whole_pass_among_its_families(precision):
    row = profile_model("sret_t_wo_slice", precision, batch=1, steps=1, warmup=1, img_size=64)
    assert sum(row["share"].values()) == pytest.approx(1.0, abs=5e-3)  # self times add up to the pass
    assert row["share"]["matmul"] > 0 and row["share"]["convolution"] > 0  # linears, and the conv stem
    assert [op["share"] for op in row["top_ops"]] == sorted((op["share"] for op in row["top_ops"]), reverse=True)
    if precision == "bf16":  # autocast casts every linear's fp32 weight and input to bf16
        assert row["share"]["casts and copies"] > 0


def test_an_unknown_precision_is_one_line_and_exit_2(capsys):
    assert run(op_profile.main, ["--precisions", "fp16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fp16" in err[0]


def test_an_unknown_model_is_one_line_naming_the_closest(capsys):
    assert run(op_profile.main, ["--models", "sret_tx"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'sret_tx'" in err[0] and "sret_t" in err[0].split("did you mean", 1)[1]


def _document() -> dict:
    """A profile file by hand: a CPU without bf16 units, two rows."""
    verify = json.loads((REPO / "tests" / "data" / "verify.json").read_text(encoding="utf-8"))
    environment = dict(verify["environment"], device_name="Test CPU", date="2026-12-01T10:00:00+00:00")
    row = {"img_size": 224, "batch_size": 8, "steps": 3, "profiled_ms_per_image": 10.0}
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
    markdown = report.render_markdown(report.load_results([REPO / "tests" / "data" / "verify.json", path]))
    assert "## Where the CPU time goes (CPU (Test CPU))" in markdown
    assert "no native bf16" in markdown
    section = markdown.split("## Where the CPU time goes", 1)[1].split("\n## ", 1)[0].splitlines()
    sret_row = next(line for line in section if line.startswith("| sret_t "))
    cells = [cell.strip() for cell in sret_row.strip("|").split("|")]
    assert cells[:5] == ["sret_t", "224", "bf16", "11.2", "61.0"]  # convolution, matmul: sorted by name
    deit_row = next(line for line in section if line.startswith("| deit_tiny_patch16_224 "))
    assert [cell.strip() for cell in deit_row.strip("|").split("|")][3] == "0.0"  # a family it lacks: 0
