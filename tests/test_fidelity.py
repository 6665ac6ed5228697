"""Our models are the paper's models: checked against what the official release computes.

The truth is ``tests/fixtures/official`` (see its README). The precisions asserted here are
the ones sret/README.md states: keys, shapes, parameter and FLOP counts exactly equal; logits to
``LOGITS_ATOL`` (1e-5, the gate's tolerance); the seed-0 weights within float rounding.
"""
from __future__ import annotations

import re

import pytest
import timm
import torch

import sret  # noqa: F401  (registers the models)
from bench.measure.counting import count_flops
from conftest import (FIXTURES, LOGITS_ATOL, OFFICIAL_TO_TAG, ROUNDING, ROWS_OF_ARCHITECTURE, init_mismatch,
                      official_seed0_weights)

ARCHITECTURES = ["sret_t", "sret_t_wo_slice", "sret_lt", "sret_lt_wo_slice", "sret_lt_g16_14_1",
                 "sret_s", "sret_s_wo_slice", "sret_t_wo_slice_384", "sret_s_wo_slice_384",
                 "sret_s_wo_slice_512", "sret_ext"]


def test_registry_lists_every_architecture_and_every_released_checkpoint():
    assert sorted(timm.list_models("sret_*")) == sorted(ARCHITECTURES)
    assert sorted(timm.list_pretrained("sret_*")) == sorted(OFFICIAL_TO_TAG.values())


@pytest.mark.slow
@pytest.mark.parametrize("architecture", sorted(ROWS_OF_ARCHITECTURE))
def test_every_released_row_matches_the_official_model(architecture, manifest):
    model = timm.create_model(architecture)
    state = model.state_dict()
    counts = count_flops(model, manifest[ROWS_OF_ARCHITECTURE[architecture][0]]["image_size"], architecture)
    measured = (counts.params, counts.fvcore_macs, counts.thop_macs, counts.torch_counter_flops)
    for official in ROWS_OF_ARCHITECTURE[architecture]:  # every row of the official README that is this architecture
        expected = manifest[official]
        assert [(k, list(v.shape)) for k, v in state.items()] == list(expected["state_dict"].items()), official
        assert measured == (expected["params"], expected["fvcore_flops"], expected["thop_macs"],
                            expected["torch_flop_counter_flops"]), official  # README: "equal", to the unit


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


def test_official_initialisation_is_reproduced(official_init_fingerprint):
    """Seed 0 gives the official initial weights within float rounding: the fingerprint of the official file."""
    assert init_mismatch(official_seed0_weights(), official_init_fingerprint) is None


def test_another_cpus_erfinv_rounding_is_not_a_changed_initialisation(official_weights, official_init_fingerprint):
    """What an Intel Xeon with AVX-512 draws: pos_embed 367 values apart by up to 3.7e-9 (shared README)."""
    state = dict(official_weights)
    flat = state["pos_embed"].clone().reshape(-1)
    flat[::137][:367] += 3.7e-9
    state["pos_embed"] = flat.reshape(state["pos_embed"].shape)
    assert not torch.equal(state["pos_embed"], official_weights["pos_embed"])
    assert init_mismatch(state, official_init_fingerprint) is None


KEY = "transformers.1.blocks.0.attn.qkv.weight"


@pytest.mark.parametrize("change, named", [
    ("redrawn", f"{KEY} differs by up to"),
    ("reordered", f"{KEY} differs by up to"),
    ("dtype", f"{KEY} is torch.float64"),
    ("missing", f"key {KEY} is missing"),
    ("extra", "key zz.extra is not in the official weights"),
])
def test_a_changed_initialisation_is_one_line_naming_the_tensor_and_the_model(change, named, official_weights,
                                                                              official_init_fingerprint):
    """The check behind the official_weights fixture can fail, and blames sret/model.py, not rounding."""
    state = dict(official_weights)
    if change == "redrawn":  # another init function: another spread
        state[KEY] = torch.randn_like(state[KEY])
    elif change == "reordered":  # the same values drawn in another order
        state[KEY] = state[KEY].flip(0)
    elif change == "dtype":
        state[KEY] = state[KEY].double()
    elif change == "missing":
        del state[KEY]
    else:
        state["zz.extra"] = torch.zeros(1)
    problem = init_mismatch(state, official_init_fingerprint)
    assert problem is not None and "\n" not in problem
    assert named in problem and "seed-0 weights of sret_t are not the official ones" in problem
    assert "sret/model.py" in problem
    if change == "reordered":
        assert "in another order (the same distribution)" in problem
    if change == "redrawn":
        assert "from another distribution" in problem and f"beyond float rounding ({ROUNDING:g}" in problem


def test_another_torch_is_named_as_a_cause_beside_the_model(official_weights, official_init_fingerprint):
    state = dict(official_weights, **{KEY: official_weights[KEY].flip(0)})
    problem = init_mismatch(state, dict(official_init_fingerprint, reproduced_by_torch="1.0.0"))
    assert f"torch {torch.__version__} draws seed 0 differently from torch 1.0.0" in problem


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


@pytest.mark.slow
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
