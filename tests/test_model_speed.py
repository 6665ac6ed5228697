"""The speed benchmark's baseline is the release's computation; its figures and goals are sound.

No timing is asserted: the ratio, MFU and goal logic run on hand-made numbers.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import timm
import torch

from bench.core.cli import run
from bench.measure import formulation_speed
from bench.measure import timing
from bench.page.section import render
from bench.measure.kernel_scan import attention_shapes, linear_shapes
from bench.measure.reference import PaperFormulation
from conftest import REPO
from sret.kernels import apply_kernel_policy


def test_paper_formulation_gives_the_official_logits(official_weights, official_logits):
    model = timm.create_model("sret_t").eval()
    model.load_state_dict(official_weights)
    torch.manual_seed(1234)
    with torch.no_grad():
        logits = PaperFormulation(model).eval()(official_logits["input"])
    torch.testing.assert_close(logits, official_logits["SReT_T"], rtol=0, atol=1e-5)


def test_paper_formulation_refuses_tuned_kernels():
    with pytest.raises(ValueError, match="stock"):
        PaperFormulation(apply_kernel_policy(timm.create_model("sret_ext"), "tuned"))


def test_paper_formulation_of_a_model_without_slices_gives_its_logits():
    model = timm.create_model("sret_t_wo_slice", img_size=64).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(PaperFormulation(model)(x), model(x), rtol=0, atol=1e-5)


@pytest.mark.slow
def test_one_round_reports_every_form_and_their_agreement():
    row = formulation_speed.measure_model("sret_ext", batch_size=1, rounds=1, iters=1, compile_forms=False)
    assert set(row["images_per_s"]) == {"release_formulation", "stock", "tuned"}
    # one round: each form keeps its one per-round figure, which is then its median
    assert {form: len(rates) for form, rates in row["images_per_s_by_round"].items()} == {
        "release_formulation": 1, "stock": 1, "tuned": 1}
    assert all(row["images_per_s"][form] == rates[0] > 0 for form, rates in row["images_per_s_by_round"].items())
    assert row["reference"] == "release_formulation"
    assert all(ratio["max_abs_logit_diff"] < 1e-5 for ratio in row["ratios"].values())
    assert row["ratios"]["tuned"]["goal"] == 1.3 and row["ratios"]["stock"]["goal"] is None
    assert row["macs_per_image"] == pytest.approx(0.703e9, abs=0.5e6)  # "0.703 GFLOPs" (sret_ext's docstring)


def test_ratios_are_per_round_and_the_goal_reads_the_median():
    stats = formulation_speed.ratio_stats([20.0, 30.0, 26.0], [10.0, 20.0, 20.0], goal=1.4)
    assert (stats["ratio_median"], stats["ratio_min"], stats["ratio_max"]) == (1.5, 1.3, 2.0)
    assert stats["met"] is True
    assert formulation_speed.ratio_stats([13.0], [10.0], goal=1.31)["met"] is False
    assert formulation_speed.ratio_stats([13.0], [10.0], goal=None)["met"] is None


def test_mfu_is_model_flops_over_the_peak():
    # 10 images/s x 2 FLOPs x 1e9 MACs = 2e10 FLOP/s against 0.1 TFLOP/s: 20%.
    assert timing.mfu(10.0, 10**9, 0.1) == pytest.approx(0.2)
    assert timing.mfu(10.0, 10**9, None) is None  # no peak, no MFU


def test_a_goal_is_met_only_when_every_model_meets_it():
    def row(tuned_met, compiled_met=None):
        ratios = {"tuned": {"met": tuned_met}}
        if compiled_met is not None:
            ratios["compiled"] = {"met": compiled_met}
        return {"ratios": ratios}
    assert formulation_speed.goals_verdict([row(True, True), row(True, False)]) == {"tuned": True, "compiled": False}
    assert formulation_speed.goals_verdict([row(False)]) == {"tuned": False, "compiled": None}


@pytest.mark.slow
def test_kernel_shapes_are_the_models_layers():
    model = timm.create_model("sret_t").eval()
    linears = linear_shapes(model, 224, batch_size=2)
    # Stage 0 of SReT-T: 2 x 28 x 28 tokens, width 64, qkv 192, MLP 230 (int(64 * 3.6)) after
    # which comes the GELU; NLL MLPs 64 -> 64 -> 64, also with a GELU.
    assert {(1568, 64, 192, False), (1568, 64, 64, False), (1568, 64, 230, True), (1568, 230, 64, False),
            (1568, 64, 64, True)} <= set(linears)
    # Stage 0 slices: 8 groups of 98 tokens first, 2 shuffled groups of 392 when recursive.
    assert {(16, 2, 98, 32), (4, 2, 392, 32)} <= set(attention_shapes(model, 224, batch_size=2))
    # A timm baseline: DeiT-Tiny attends over 196 patches and the class token, 3 heads of 64.
    assert attention_shapes(timm.create_model("deit_tiny_patch16_224").eval(), 224, batch_size=2) == [(2, 3, 197, 64)]


@pytest.mark.slow
def test_bad_input_from_the_command_line_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, "-m", "bench.model_speed", "--models", "sret_q", "--rounds", "1"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "sret_q" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("args, culprit", [(["--models", "sret_t", "--release-code", "/nonexistent"], "/nonexistent"),
                                           (["--rounds", "0"], "--rounds")])
def test_bad_input_is_one_line_and_exit_2(args, culprit, capsys):
    assert run(formulation_speed.main, [*args, "--no-compile"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and culprit in err


def test_the_report_shows_every_form_its_goal_and_mfu():
    from bench.page.series import Series
    from bench.page import speed_method
    from bench.page.speed_report import model_speed_section

    def ratio(median, goal):
        return {"ratio_median": median, "ratio_min": median - 0.1, "ratio_max": median + 0.1, "goal": goal,
                "met": None if goal is None else median >= goal, "ratio_of_best_calls": median,
                "max_abs_logit_diff": 1e-6}
    row = {"model": "sret_t", "batch_size": 8, "rounds": 3, "iters_per_round": 2, "reference": "release_formulation",
           "images_per_s": {"release_formulation": 50.0, "stock": 60.0, "tuned": 70.0, "compiled": 75.0},
           "ratios": {"stock": ratio(1.2, None), "tuned": ratio(1.4, 1.3), "compiled": ratio(1.5, 1.6)},
           "mfu": {"release_formulation": 0.1, "stock": 0.12, "tuned": 0.14, "compiled": 0.15}}
    document = {"kind": "model_speed", "argv": ["python", "-m", "bench.model_speed"],
                "environment": {"device": "cpu", "device_type": "cpu", "device_name": "Test CPU",
                                "date": "2024-05-01T12:00:00+00:00", "cpu_count": 2},
                "config": {"threads": 2, "dtype": "fp32", "peak_tflops": 0.5, "peak_source": "measured",
                           "load_average_1min_start": None, "load_average_1min_end": None,
                           "compile_settings": formulation_speed.COMPILE},
                "results": [row]}
    documents = {"model_speed-cpu.json": document}
    series = Series("model_speed-cpu", list(documents.items()))
    text = "\n".join(line for section in model_speed_section(series) for line in render(section, documents))
    cells = [[cell.strip() for cell in line.strip("|").split("|")]
             for line in text.splitlines() if line.startswith("| sret_t")]
    # model, form, paper img/s, ours img/s, run 1's ratio, spread over runs (one run: none), goal, verdict,
    # ratio of best calls, MFU %, logit difference
    assert cells == [
        ["sret_t", "stock eager", "50", "60", "1.20x (1.10-1.30)", "-", "", "", "1.20x", "12", "1.0e-06"],
        ["sret_t", "tuned eager", "50", "70", "1.40x (1.30-1.50)", "-", ">= 1.30x", "met", "1.40x", "14", "1.0e-06"],
        ["sret_t", "compiled", "50", "75", "1.50x (1.40-1.60)", "-", ">= 1.60x", "**not met**", "1.50x", "15",
         "1.0e-06"]]
    method = "\n".join(line for section in speed_method.method_section([series]) for line in render(section, documents))
    run_row = next(line for line in method.splitlines() if line.startswith("| `model_speed-cpu.json`"))
    assert [cell.strip() for cell in run_row.strip("|").split("|")][6] == "0.5"  # the peak MFU is against
    assert "each run measures its own, e.g. measured." in method and "'freezing': True" in text
