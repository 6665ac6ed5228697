"""The speed benchmark's baseline is the paper's computation, and its CLI follows the conventions."""
from __future__ import annotations

import subprocess
import sys

import timm
import torch

from bench.kernels import attention_shapes, linear_shapes
from bench.model_speed import measure_model
from bench.paper_reference import PaperFormulation
from conftest import REPO


def test_paper_formulation_gives_the_official_logits(official_weights, official_logits):
    model = timm.create_model("sret_t").eval()
    model.load_state_dict(official_weights)
    torch.manual_seed(1234)
    with torch.no_grad():
        logits = PaperFormulation(model).eval()(official_logits["input"])
    torch.testing.assert_close(logits, official_logits["SReT_T"], rtol=0, atol=1e-5)


def test_one_round_reports_both_forms_and_their_agreement():
    row = measure_model("sret_ext", batch_size=1, rounds=1, iters=1, compile_model=False)
    assert set(row["images_per_s"]) == {"paper", "eager"}
    assert row["ratios"]["eager"]["max_abs_logit_diff"] < 1e-5
    assert row["ratios"]["eager"]["goal"] == 1.15


def test_kernel_shapes_are_the_models_layers():
    model = timm.create_model("sret_t").eval()
    linears = linear_shapes(model, batch_size=2)
    # Stage 0 of SReT-T: 2 x 28 x 28 tokens, width 64, qkv 192, MLP 230 (int(64 * 3.6)).
    assert {(1568, 64, 192), (1568, 64, 64), (1568, 64, 230), (1568, 230, 64)} <= set(linears)
    # Stage 0 slices: 8 groups of 98 tokens first, 2 shuffled groups of 392 when recursive.
    assert {(16, 2, 98, 32), (4, 2, 392, 32)} <= set(attention_shapes(model, batch_size=2))


def test_unknown_model_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, "-m", "bench.model_speed", "--models", "sret_q"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "sret_q" in done.stderr and "Traceback" not in done.stderr
