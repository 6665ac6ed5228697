"""SReT as a timm family: the model API timm's own tests exercise, checked against independent truth.

Shapes, widths and strides come from the architecture table (shared/SRET_ARCHITECTURE.md),
written out here by hand; every other check compares two different ways of computing the
same thing (a forward hook against forward_intermediates, fx against eager, TorchScript
against eager, checkpointed against plain gradients, a hand-resampled pos_embed against
dynamic_img_size). Sliced models draw random permutations, so every comparison draws them
from the same seed.
"""
from __future__ import annotations

import pytest
import timm
import torch
import torch.nn.functional as F
from timm.models import group_parameters
from timm.models._features import FeatureGetterNet

import sret  # noqa: F401  (registers the models)

# Stage widths (base_dim * heads) of every architecture, from the table of released configs.
TINY_WIDTHS, SMALL_WIDTHS = (64, 128, 256), (126, 252, 504)
WIDTHS = {
    "sret_t": TINY_WIDTHS, "sret_t_wo_slice": TINY_WIDTHS, "sret_lt": TINY_WIDTHS,
    "sret_lt_wo_slice": TINY_WIDTHS, "sret_lt_g16_14_1": TINY_WIDTHS, "sret_ext": TINY_WIDTHS,
    "sret_t_wo_slice_384": TINY_WIDTHS, "sret_s": SMALL_WIDTHS, "sret_s_wo_slice": SMALL_WIDTHS,
    "sret_s_wo_slice_384": SMALL_WIDTHS, "sret_s_wo_slice_512": SMALL_WIDTHS,
}
NATIVE_SIZE = {name: 512 if "512" in name else 384 if "384" in name else 224 for name in WIDTHS}
STRIDES = [8, 16, 32]  # the stem's three stride-2 convolutions, then one stride-2 pool per stage

# A small sliced SReT (64-pixel images, 8x8 tokens in stage 0, shuffled slices) for numerics.
TINY = dict(img_size=64, base_dims=(8, 8, 8), heads=(2, 2, 2), depth=(4, 2, 2), recursive_num=(2, 1, 1),
            groups_first=(4, 2, 1), groups_recursive=(2, 1, 1), mlp_ratio=2.0, num_classes=10)


def tiny(**overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return timm.create_model("sret_t", **{**TINY, **overrides}).eval()


def seeded(fn, *args, seed: int = 7, **kwargs):
    """Call ``fn`` after seeding the global generator the sliced models draw from."""
    torch.manual_seed(seed)
    return fn(*args, **kwargs)


def test_the_table_covers_every_registered_architecture():
    assert sorted(timm.list_models("sret_*")) == sorted(WIDTHS)


# -- cfgs and shapes, on the meta device (no memory, no compute) --------------------------------
@pytest.mark.parametrize("tag", timm.list_models("sret_*", include_tags=True))
def test_cfg_declares_the_shapes_the_model_produces(tag):
    name = tag.split(".")[0]
    size, widths = NATIVE_SIZE[name], WIDTHS[name]
    cfg = timm.models.get_pretrained_cfg(tag).to_dict()
    assert cfg["input_size"] == (3, size, size) and cfg["fixed_input_size"] is True
    assert cfg["pool_size"] == (size // 32, size // 32)

    model = timm.create_model(tag, device="meta")
    assert all(t.device.type == "meta" for t in [*model.parameters(), *model.buffers()])
    state = model.state_dict()
    assert cfg["first_conv"] + ".weight" in state and cfg["classifier"] + ".weight" in state
    assert model.in_chans == 3 and model.num_features == model.head_hidden_size == widths[-1]
    assert [(i["num_chs"], i["reduction"]) for i in model.feature_info] == list(zip(widths, STRIDES))

    features = model.forward_features(torch.empty(2, 3, size, size, device="meta"))
    assert features.shape == (2, widths[-1], size // 32, size // 32)
    assert model.forward_head(features, pre_logits=True).shape == (2, widths[-1])
    assert model.forward_head(features).shape == (2, 1000)


def test_unknown_argument_is_refused():
    with pytest.raises(TypeError):
        timm.create_model("sret_t", device="meta", not_a_model_arg=1)


def test_device_and_dtype_reach_every_tensor_and_survive_a_new_head():
    model = timm.create_model("sret_t", device="meta", dtype=torch.float64)
    model.reset_classifier(5)
    assert {(t.device.type, t.dtype) for t in model.parameters()} == {("meta", torch.float64)}
    assert model.get_classifier() is model.head and model.head.out_features == 5


# -- head: pre-logits, reset_classifier, global_pool ---------------------------------------------
def test_head_is_layernorm_of_the_average_and_can_be_removed():
    model = tiny()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        features = seeded(model.forward_features, x)
        assert features.shape == (2, 8 * 2, 2, 2)  # widest stage, 64 / 32
        pooled = model.forward_head(features, pre_logits=True)
        torch.testing.assert_close(pooled, model.norm(features.mean((2, 3))))
        torch.testing.assert_close(model.forward_head(features), model.head(pooled))
        logits = seeded(model, x)
        model.reset_classifier(0)
        assert model.num_classes == 0
        torch.testing.assert_close(seeded(model, x), pooled)
        model.reset_classifier(0, "")
        torch.testing.assert_close(seeded(model, x), features)
        model.reset_classifier(10, "avg")
        assert seeded(model, x).shape == logits.shape == (2, 10)
    with pytest.raises(AssertionError, match="global_pool"):
        model.reset_classifier(10, "max")


def test_num_classes_zero_and_no_pool_at_creation():
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert seeded(tiny(num_classes=0), x).shape == (1, 16)
        assert seeded(tiny(num_classes=0, global_pool=""), x).shape == (1, 16, 2, 2)


# -- feature maps ---------------------------------------------------------------------------------
def _stage_outputs_by_hooks(model, x):
    """Each stage's output as a forward hook sees it: the truth for feature maps."""
    seen = []
    hooks = [stage.register_forward_hook(lambda m, args, out: seen.append(out)) for stage in model.transformers]
    try:
        with torch.no_grad():
            final = seeded(model.forward_features, x)
    finally:
        for hook in hooks:
            hook.remove()
    return final, seen


def test_forward_intermediates_are_the_stage_outputs():
    x = torch.randn(2, 3, 64, 96)  # not square: 8x12, 4x6, 2x3 tokens
    final, stages = _stage_outputs_by_hooks(tiny(img_size=(64, 96)), x)
    model = tiny(img_size=(64, 96))
    with torch.no_grad():
        out, intermediates = seeded(model.forward_intermediates, x)
        last_two = seeded(model.forward_intermediates, x, indices=2, intermediates_only=True)
        early = seeded(model.forward_intermediates, x, indices=[1], stop_early=True)
    assert [tuple(t.shape) for t in intermediates] == [(2, 16, 8, 12), (2, 16, 4, 6), (2, 16, 2, 3)]
    torch.testing.assert_close(out, final, rtol=0, atol=0)
    for ours, hooked in zip(intermediates, stages):
        torch.testing.assert_close(ours, hooked, rtol=0, atol=0)
    assert len(last_two) == 2
    torch.testing.assert_close(last_two[0], stages[1], rtol=0, atol=0)
    torch.testing.assert_close(early[0], stages[1], rtol=0, atol=0)  # stopped: the final map is the tap
    torch.testing.assert_close(early[1][0], stages[1], rtol=0, atol=0)


def test_features_only_gives_each_stage_as_feature_info_states():
    model = timm.create_model("sret_s", features_only=True, out_indices=(0, 1, 2)).eval()
    assert isinstance(model, FeatureGetterNet)
    assert model.feature_info.channels() == list(SMALL_WIDTHS)
    assert model.feature_info.reduction() == STRIDES
    with torch.no_grad():
        maps = seeded(model, torch.randn(1, 3, 224, 224))
    assert [tuple(m.shape) for m in maps] == [(1, c, 224 // r, 224 // r) for c, r in zip(SMALL_WIDTHS, STRIDES)]


def test_features_only_drops_what_the_taps_do_not_need_and_matches_the_full_model():
    x = torch.randn(1, 3, 64, 64)
    _, stages = _stage_outputs_by_hooks(tiny(), x)
    features = tiny(features_only=True, out_indices=(0, 1))
    assert features.feature_info.channels() == [16, 16] and features.feature_info.reduction() == [8, 16]
    assert len(features.model.transformers) == 2 and len(features.model.pools) == 1
    with torch.no_grad():
        maps = seeded(features, x)
    for ours, hooked in zip(maps, stages):
        torch.testing.assert_close(ours, hooked, rtol=0, atol=0)


def test_pruned_model_ends_at_the_tap_and_trains_every_parameter():
    x = torch.randn(2, 3, 64, 64)
    _, stages = _stage_outputs_by_hooks(tiny(), x)
    model = tiny()
    assert model.prune_intermediate_layers([1]) == [1]
    assert model.num_features == model.head_hidden_size == 16 and model.num_classes == 0
    with torch.no_grad():
        torch.testing.assert_close(seeded(model.forward_features, x), stages[1], rtol=0, atol=0)
    model.train()
    model.reset_classifier(3, "avg")
    model(x).sum().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []


# -- input sizes: fixed by default, dynamic on request --------------------------------------------
def test_other_sizes_are_refused_unless_dynamic():
    model = timm.create_model("sret_t").eval()
    with pytest.raises(ValueError, match="dynamic_img_size=True"):
        model(torch.randn(1, 3, 256, 256))


def test_dynamic_img_size_is_the_model_with_a_resampled_pos_embed():
    torch.manual_seed(0)
    dynamic = timm.create_model("sret_t", dynamic_img_size=True).eval()
    fixed = timm.create_model("sret_t").eval()
    fixed.load_state_dict(dynamic.state_dict())
    at_256 = timm.create_model("sret_t", img_size=256).eval()
    state = dynamic.state_dict()
    state["pos_embed"] = F.interpolate(state["pos_embed"], size=(32, 32), mode="bicubic",
                                       align_corners=False, antialias=True)
    at_256.load_state_dict(state)
    with torch.no_grad():
        x = torch.randn(1, 3, 224, 224)
        torch.testing.assert_close(seeded(dynamic, x), seeded(fixed, x), rtol=0, atol=0)
        x = torch.randn(1, 3, 256, 256)
        torch.testing.assert_close(seeded(dynamic, x), seeded(at_256, x), rtol=0, atol=1e-5)
        maps = seeded(dynamic.forward_intermediates, torch.randn(1, 3, 256, 320), intermediates_only=True)
    assert [tuple(m.shape[-2:]) for m in maps] == [(32, 40), (16, 20), (8, 10)]


def test_a_size_whose_tokens_cannot_be_sliced_names_the_groups():
    model = tiny(dynamic_img_size=True)  # 72 pixels: 9x9 = 81 tokens, not 4 equal groups
    with pytest.raises(ValueError, match="81 tokens cannot be cut into 4 equal groups"):
        model(torch.randn(1, 3, 72, 72))


# -- TorchScript and torch.fx ----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("groups_recursive", [(2, 1, 1), (1, 1, 1)], ids=["sliced", "without_slice"])
def test_torchscript_computes_what_eager_computes(groups_recursive):
    model = tiny(groups_recursive=groups_recursive, drop_path_rate=0.1)  # blocks of two compiled types
    features = tiny(groups_recursive=groups_recursive, drop_path_rate=0.1, features_only=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(seeded(torch.jit.script(model), x), seeded(model, x), rtol=0, atol=1e-6)
        for ours, eager in zip(seeded(torch.jit.script(features), x), seeded(features, x)):
            torch.testing.assert_close(ours, eager, rtol=0, atol=1e-6)
    # A scripted model draws from the global generator, so a private one cannot be scripted.
    model.set_permutation_seed(3)
    with pytest.raises(RuntimeError, match="set_permutation_seed"):
        torch.jit.script(model)


def test_fx_features_equal_the_eager_features_in_both_permutation_modes():
    x = torch.randn(1, 3, 64, 64)
    getter = tiny(features_only=True)
    graph = tiny(features_only=True, feature_cls="fx")
    assert type(graph).__name__ == "FeatureGraphNet"
    with torch.no_grad():
        for ours, eager in zip(seeded(graph, x), seeded(getter, x)):
            torch.testing.assert_close(ours, eager, rtol=0, atol=1e-6)
        # A seed set before tracing still gives a fresh generator every pass.
        eager_model, traced_model = tiny(permutation_seed=3), tiny(permutation_seed=3)
        traced = timm.models.create_feature_extractor(traced_model, ["head"])
        first, second = traced(x)["head"], traced(x)["head"]
        torch.testing.assert_close(first, second, rtol=0, atol=0)
        torch.testing.assert_close(first, eager_model(x), rtol=0, atol=1e-6)


# -- gradient checkpointing -------------------------------------------------------------------------
def _gradients(model, x, checkpointing: bool, seed: int):
    model.set_grad_checkpointing(checkpointing)
    model.zero_grad()
    seeded(model, x, seed=seed).square().mean().backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("mode", ["global", "seed", "generator"])
def test_checkpointed_gradients_equal_plain_ones_in_every_permutation_mode(mode):
    model = tiny(drop_path_rate=0.3, drop_rate=0.1).train()  # random drops replay too
    x = torch.randn(2, 3, 64, 64)
    runs = []
    for checkpointing in (False, True):
        if mode == "seed":
            model.set_permutation_seed(5)
        elif mode == "generator":
            model.set_permutation_generator(torch.Generator().manual_seed(5))
        runs.append(_gradients(model, x, checkpointing, seed=11))
    plain, checkpointed = runs
    assert plain.keys() == checkpointed.keys()
    for name in plain:
        torch.testing.assert_close(checkpointed[name], plain[name], rtol=1e-5, atol=1e-6, msg=name)


def test_checkpointing_recomputes_every_block_application():
    model = tiny().train()
    calls = []
    block = model.transformers[0].blocks[0]  # applied twice per pass (loops = 2)
    block.register_forward_pre_hook(lambda m, args: calls.append(1))
    x = torch.randn(1, 3, 64, 64)
    for checkpointing, expected in ((False, 2), (True, 4)):  # forward, plus the recomputation
        calls.clear()
        model.set_grad_checkpointing(checkpointing)
        model(x).sum().backward()
        assert len(calls) == expected


# -- optimiser groups ------------------------------------------------------------------------------
def test_group_matcher_orders_parameters_stem_blocks_head():
    model = tiny()
    layer_of = group_parameters(model, model.group_matcher(coarse=False), reverse=True)
    assert layer_of["pos_embed"] == layer_of["patch_embed.conv1.weight"] == 0
    stage0 = [layer_of[f"transformers.0.blocks.{i}.norm1.weight"] for i in (0, 1, 3)]
    assert stage0 == sorted(stage0) and len(set(stage0)) == 3  # block, NLL, NLL in forward order
    assert layer_of["pools.0.conv.weight"] == layer_of["transformers.0.blocks.7.norm1.weight"]
    assert layer_of["transformers.0.blocks.7.norm1.weight"] < layer_of["transformers.1.blocks.0.norm1.weight"]
    assert layer_of["head.weight"] == max(layer_of.values())
    coarse = group_parameters(model, model.group_matcher(coarse=True), reverse=True)
    assert coarse["pools.1.conv.weight"] == coarse["transformers.1.blocks.3.norm1.weight"]
    assert len(set(coarse.values())) == 5  # stem, three stages, norm + head


# -- pretrained weights adapted as timm adapts them -------------------------------------------------
def test_pretrained_in_chans_and_features_only_from_a_local_checkpoint(tmp_path, official_weights):
    path = tmp_path / "SReT_T.pth"
    torch.save({"model": official_weights}, path)
    overlay = dict(file=str(path))
    grey = timm.create_model("sret_t.in1k", pretrained=True, in_chans=1, num_classes=0, pretrained_cfg_overlay=overlay)
    torch.testing.assert_close(grey.patch_embed.conv1.weight,
                               official_weights["patch_embed.conv1.weight"].sum(1, keepdim=True))
    assert isinstance(grey.head, torch.nn.Identity)
    features = timm.create_model("sret_t.in1k", pretrained=True, features_only=True, pretrained_cfg_overlay=overlay)
    assert torch.equal(features.model.transformers[2].blocks[0].attn.qkv.weight,
                       official_weights["transformers.2.blocks.0.attn.qkv.weight"])
