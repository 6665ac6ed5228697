"""Our models are the paper's models: checked against what the official release computes.

The truth is ``tests/fixtures/official`` (see its README). The precisions asserted here are
the ones README.md states: keys, shapes, parameter and FLOP counts exactly equal; logits to
``LOGITS_ATOL`` (1e-6).
"""
from __future__ import annotations

import re

import pytest
import timm
import torch

import sret  # noqa: F401  (registers the models)
from bench.flops import count_flops
from conftest import FIXTURES, LOGITS_ATOL, OFFICIAL_TO_TAG, official_seed0_weights, weights_digest, weights_mismatch

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
    measured = (counts.params, counts.fvcore_macs, counts.thop_macs, counts.torch_counter_flops)
    official = (expected["params"], expected["fvcore_flops"], expected["thop_macs"], expected["torch_flop_counter_flops"])
    assert measured == official  # README: "equal the official ones", to the unit


# Each tag's row of the official README, as PAPER_VALUES.md prints it (written out by hand).
PAPER_ROWS = {
    "sret_t_wo_slice.in1k": "SReT_⋇T", "sret_t.in1k": "SReT_T", "sret_lt_wo_slice.in1k": "SReT_⋇LT",
    "sret_lt.in1k": "SReT_LT [8-4-1,2-1-1]", "sret_lt_g16_14_1.in1k": "SReT_LT [16-14-1,1-1-1]",
    "sret_s_wo_slice.in1k": "SReT_⋇S", "sret_s.in1k": "SReT_S", "sret_t_wo_slice.distill_in1k": "SReT_⋇T_Distill",
    "sret_t.distill_in1k": "SReT_T_Distill", "sret_lt_wo_slice.distill_in1k": "SReT_⋇LT_Distill",
    "sret_lt.distill_in1k": "SReT_LT_Distill", "sret_t_wo_slice_384.distill_in1k": "SReT_⋇T_Distill_Finetune384",
    "sret_s_wo_slice_384.distill_in1k": "SReT_⋇S_Distill_Finetune384",
    "sret_s_wo_slice_512.distill_in1k": "SReT_⋇S_Distill_Finetune512",
}


def _published_drive_ids() -> dict[str, str]:
    """PAPER_VALUES.md's table of Drive file ids: README row -> id."""
    text = (FIXTURES / "PAPER_VALUES.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| (SReT_[^|]+?) \| ([0-9A-Za-z_-]{25,}) \|$", text, flags=re.M))


@pytest.mark.parametrize("official, tag", sorted(OFFICIAL_TO_TAG.items()))
def test_pretrained_cfg_carries_the_published_source(official, tag, manifest):
    cfg = timm.models.get_pretrained_cfg(tag).to_dict()
    size = manifest[official]["image_size"]
    assert cfg["input_size"] == (3, size, size)
    assert cfg["crop_pct"] == 0.875 and cfg["interpolation"] == "bicubic"
    assert cfg["mean"] == (0.485, 0.456, 0.406) and cfg["std"] == (0.229, 0.224, 0.225)
    drive_ids = _published_drive_ids()
    assert len(drive_ids) == 14
    assert cfg["paper_row"] == PAPER_ROWS[tag]
    assert cfg["drive_id"] == drive_ids[PAPER_ROWS[tag]]
    assert cfg["url"] == f"https://drive.google.com/uc?id={cfg['drive_id']}"


def test_official_initialisation_is_reproduced(official_weights_digest):
    """Seed 0 gives the official initial weights bit for bit: the digest of the official file."""
    state = official_seed0_weights()
    measured = weights_digest(state)
    assert measured["tensors"] == official_weights_digest["tensors"]
    assert measured["sha256"] == official_weights_digest["sha256"]
    assert weights_mismatch(state, official_weights_digest) is None


@pytest.mark.parametrize("change, named", [
    ("value", "the values of transformers.1.blocks.0.attn.qkv.weight differ"),
    ("dtype", "transformers.1.blocks.0.attn.qkv.weight is torch.float64"),
    ("missing", "key transformers.1.blocks.0.attn.qkv.weight is missing"),
    ("extra", "key zz.extra is not in the official weights"),
])
def test_a_changed_initialisation_is_one_line_naming_the_tensor(change, named, official_weights, official_weights_digest):
    """The check behind the official_weights fixture can fail, and says where and why."""
    state = dict(official_weights)
    key = "transformers.1.blocks.0.attn.qkv.weight"
    if change == "value":
        state[key] = state[key].clone()
        state[key].view(-1)[7] = torch.nextafter(state[key].view(-1)[7], torch.tensor(1.0))  # one ulp
    elif change == "dtype":
        state[key] = state[key].double()
    elif change == "missing":
        del state[key]
    else:
        state["zz.extra"] = torch.zeros(1)
    problem = weights_mismatch(state, official_weights_digest)
    assert problem is not None and "\n" not in problem
    assert named in problem and "seed-0 weights of sret_t are not the official ones" in problem
    assert "sret/model.py" in problem  # the cause: our model, or (another torch) the torch named


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
    torch.testing.assert_close(logits, official_logits[key], rtol=0, atol=LOGITS_ATOL)


def test_logits_of_one_image_equal_the_official_logits(official_weights, official_logits):
    """Batch 1 runs other kernels than batch 2, to the same precision (the unsliced model: the
    sliced one draws its permutations per batch, so its logits depend on the batch)."""
    model = timm.create_model("sret_t_wo_slice").eval()
    model.load_state_dict(official_weights)
    with torch.no_grad():
        logits = torch.cat([model(image[None]) for image in official_logits["input"]])
    torch.testing.assert_close(logits, official_logits["SReT_T_wo_slice"], rtol=0, atol=LOGITS_ATOL)


def test_sliced_model_depends_on_the_global_rng_as_released(official_weights, official_logits):
    model = timm.create_model("sret_t").eval()
    model.load_state_dict(official_weights)
    torch.manual_seed(1)
    with torch.no_grad():
        other = model(official_logits["input"])
    assert (other - official_logits["SReT_T"]).abs().max() > 1e-4


def test_fused_attention_gives_the_same_logits_and_the_same_count(official_weights, official_logits, manifest):
    model = timm.create_model("sret_t", fused_attn=True).eval()
    model.load_state_dict(official_weights)
    torch.manual_seed(1234)
    with torch.no_grad():
        logits = model(official_logits["input"])
    torch.testing.assert_close(logits, official_logits["SReT_T"], rtol=0, atol=LOGITS_ATOL)
    counts = count_flops(model, 224)
    official = manifest["SReT_T"]  # the official code computes attention explicitly
    assert (counts.fvcore_macs, counts.torch_counter_flops) == (official["fvcore_flops"],
                                                                official["torch_flop_counter_flops"])
