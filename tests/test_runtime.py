"""The model runs the ways a deployment runs it: compiled, in bf16, channels-last."""
from __future__ import annotations

import timm
import torch

import sret  # noqa: F401


def _official_model(official_weights, name="sret_t"):
    model = timm.create_model(name).eval()
    model.load_state_dict(official_weights)
    return model


def test_compiled_model_gives_the_official_logits_random_slices_included(official_weights, official_logits):
    model = _official_model(official_weights)
    compiled = torch.compile(model)
    with torch.no_grad():
        compiled(official_logits["input"])  # compile outside the seeded pass
        torch.manual_seed(1234)
        logits = compiled(official_logits["input"])
    torch.testing.assert_close(logits, official_logits["SReT_T"], rtol=0, atol=1e-4)


def test_bf16_autocast_on_the_cpu_stays_close_to_fp32(official_weights, official_logits):
    model = _official_model(official_weights)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        torch.manual_seed(1234)
        logits = model(official_logits["input"])
    assert logits.dtype == torch.bfloat16
    assert (logits.float() - official_logits["SReT_T"]).abs().max() < 0.1 * official_logits["SReT_T"].abs().max()


def test_channels_last_input_and_model_give_the_same_logits(official_weights, official_logits):
    model = _official_model(official_weights).to(memory_format=torch.channels_last)
    x = official_logits["input"].contiguous(memory_format=torch.channels_last)
    torch.manual_seed(1234)
    with torch.no_grad():
        logits = model(x)
    torch.testing.assert_close(logits, official_logits["SReT_T"], rtol=0, atol=1e-5)
