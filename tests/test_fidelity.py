"""Our models are the paper's models: checked against what the official release computes."""
from __future__ import annotations

import pytest
import timm
import torch

import sret  # noqa: F401  (registers the models)
from bench.flops import count_flops
from conftest import OFFICIAL_TO_TAG

ARCHITECTURES = ["sret_t", "sret_t_wo_slice", "sret_lt", "sret_lt_wo_slice", "sret_lt_g16_14_1",
                 "sret_s", "sret_s_wo_slice", "sret_t_wo_slice_384", "sret_s_wo_slice_384",
                 "sret_s_wo_slice_512", "sret_ext"]


def test_registry_lists_every_architecture_and_every_released_checkpoint():
    assert sorted(timm.list_models("sret_*")) == sorted(ARCHITECTURES)
    assert sorted(timm.list_pretrained("sret_*")) == sorted(OFFICIAL_TO_TAG.values())


@pytest.mark.parametrize("official, tag", sorted(OFFICIAL_TO_TAG.items()))
def test_every_released_row_matches_the_official_model(official, tag, manifest):
    expected = manifest[official]
    model = timm.create_model(tag)
    state = model.state_dict()
    assert [(k, list(v.shape)) for k, v in state.items()] == list(expected["state_dict"].items())
    counts = count_flops(model, expected["image_size"], tag)
    assert counts.params == expected["params"]
    assert counts.fvcore_macs == pytest.approx(expected["fvcore_flops"], rel=1e-3)
    assert counts.thop_macs == pytest.approx(expected["thop_macs"], rel=1e-3)
    assert counts.torch_counter_flops == pytest.approx(expected["torch_flop_counter_flops"], rel=1e-3)


@pytest.mark.parametrize("official, tag", sorted(OFFICIAL_TO_TAG.items()))
def test_pretrained_cfg_carries_the_published_source(official, tag):
    cfg = timm.models.get_pretrained_cfg(tag).to_dict()
    size = 512 if "512" in official else 384 if "384" in official else 224
    assert cfg["input_size"] == (3, size, size)
    assert cfg["crop_pct"] == 0.875 and cfg["interpolation"] == "bicubic"
    assert cfg["mean"] == (0.485, 0.456, 0.406) and cfg["std"] == (0.229, 0.224, 0.225)
    assert cfg["drive_id"] and cfg["url"].endswith(cfg["drive_id"])
    assert cfg["paper_row"].startswith("SReT_")


def test_official_initialisation_is_reproduced(official_weights):
    torch.manual_seed(0)
    state = timm.create_model("sret_t").state_dict()
    mismatched = [k for k, v in official_weights.items() if not torch.equal(state[k], v)]
    assert mismatched == []


def test_official_checkpoint_loads_strictly_and_keeps_blocks_shared(official_weights):
    model = timm.create_model("sret_t")
    model.load_state_dict(official_weights, strict=True)
    stage = model.transformers[0]
    assert stage.blocks[0] is stage.blocks[2] and stage.blocks[4] is stage.blocks[6]
    assert stage.blocks[1] is not stage.blocks[3]
    assert stage.blocks[0].attn.qkv.weight.data_ptr() == stage.blocks[2].attn.qkv.weight.data_ptr()
    assert torch.equal(stage.blocks[2].attn.qkv.weight, official_weights["transformers.0.blocks.2.attn.qkv.weight"])


@pytest.mark.parametrize("name, key", [("sret_t", "SReT_T"), ("sret_t_wo_slice", "SReT_T_wo_slice")])
def test_logits_equal_the_official_logits(name, key, official_weights, official_logits):
    model = timm.create_model(name).eval()
    model.load_state_dict(official_weights)
    torch.manual_seed(1234)
    with torch.no_grad():
        logits = model(official_logits["input"])
    torch.testing.assert_close(logits, official_logits[key], rtol=0, atol=1e-5)


def test_sliced_model_depends_on_the_global_rng_as_released(official_weights, official_logits):
    model = timm.create_model("sret_t").eval()
    model.load_state_dict(official_weights)
    torch.manual_seed(1)
    with torch.no_grad():
        other = model(official_logits["input"])
    assert (other - official_logits["SReT_T"]).abs().max() > 1e-4


def test_fused_attention_gives_the_same_logits_and_the_same_count(official_weights, official_logits):
    model = timm.create_model("sret_t", fused_attn=True).eval()
    model.load_state_dict(official_weights)
    torch.manual_seed(1234)
    with torch.no_grad():
        logits = model(official_logits["input"])
    torch.testing.assert_close(logits, official_logits["SReT_T"], rtol=0, atol=1e-5)
    counts = count_flops(model, 224)
    assert counts.fvcore_macs == 1121665792  # manifest: the explicit formulation's count
    assert counts.torch_counter_flops == 2224889344
