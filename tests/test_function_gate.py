"""The gate's function rows: every released model computes what the official code computes,
and a change that keeps every count but computes another function fails the gate.

The truth is ``expected/official_function`` (the official code's logits on recipe weights and
input that every CPU regenerates bit for bit). Each change below is one a refactor, a port or a
speed-up could make, in every block and layer of the model and in the tuned kernels; none of
them changes a parameter or a multiply-add, so only the function rows can catch it.
"""
from __future__ import annotations

import json
import re
import shutil

import pytest
import timm
import torch
import torch.nn.functional as F
from torch import nn

import sret.kernels
import sret.model
from bench.gate import paper_gate as gate
from bench.spec.data_files import EXPECTED_DIR, ExpectedError
from bench.measure.function import COMPILED, EAGER_POLICIES, function_rows, recipe_input, recipe_tensor, recipe_weights
from bench.spec.official import FUNCTION_ATOL, load_official_function
from bench.measure.counting import count_params, headline_macs
from conftest import OFFICIAL_TO_TAG

RECORDING = load_official_function()


def test_the_recording_covers_the_14_released_rows_with_their_tags():
    assert {row.row: row.tag for row in RECORDING.rows} == OFFICIAL_TO_TAG
    assert "szq0214/SReT" in RECORDING.source and "af6db0ae" in RECORDING.source


def test_recipe_values_are_exact_small_integers_times_powers_of_two():
    """The shared README's formula, by hand for one key: r * 2^(e-12) + offset with |r| <= 4096."""
    values = recipe_tensor((3, 5), seed=7, exponent=-2, offset=1.0)
    draws = torch.randint(-4096, 4097, (3, 5), generator=torch.Generator().manual_seed(7))
    assert torch.equal(values, draws.float() / 2 ** 14 + 1.0)
    assert torch.equal((values - 1.0) * 2 ** 14, draws.float())  # exact in float32
    x = recipe_input(32)
    assert x.shape == (2, 3, 32, 32) and x.min() >= -2.0 and x.max() < 2.0 and torch.equal(x * 64, (x * 64).round())


@pytest.mark.slow
def test_every_released_model_computes_the_official_function_under_every_policy():
    rows = function_rows(RECORDING)
    assert len(rows) == 14 * len(EAGER_POLICIES)
    assert {(r["row"], r["policy"]) for r in rows} == {(row, p) for row in OFFICIAL_TO_TAG for p in EAGER_POLICIES}
    worst = max(rows, key=lambda r: r["measured"])
    assert all(r["status"] == "pass" for r in rows), worst
    assert worst["measured"] <= FUNCTION_ATOL


def test_the_tolerance_is_the_one_readme_and_expected_readme_state():
    from conftest import REPO

    assert FUNCTION_ATOL == 1e-5
    for page in ("README.md", "expected/README.md"):
        text = " ".join((REPO / page).read_text(encoding="utf-8").split())
        assert re.search(r"tolerance[^.]{0,20}1e-5", text), page


@pytest.mark.slow
def test_the_compiled_model_computes_the_official_function():
    rows = function_rows(RECORDING, {"sret_t"}, (COMPILED,))
    assert [r["status"] for r in rows] == ["pass", "pass"]  # sret_t.in1k and its distilled twin


# --- changes that keep every count and change the function --------------------------------------

def _block_attention_coefficients_swapped(self, x, groups=1, permutation=None):
    x = sret.model.scaled_residual(x, self.coefficient2.bias, self.attn(self.norm1(x), groups, permutation),
                                   self.coefficient1.bias)
    return sret.model.scaled_residual(x, self.coefficient3.bias, self.mlp(self.norm2(x)), self.coefficient4.bias)


def _block_mlp_coefficients_swapped(self, x, groups=1, permutation=None):
    x = sret.model.scaled_residual(x, self.coefficient1.bias, self.attn(self.norm1(x), groups, permutation),
                                   self.coefficient2.bias)
    return sret.model.scaled_residual(x, self.coefficient4.bias, self.mlp(self.norm2(x)), self.coefficient3.bias)


def _edit_modules(kind: type, edit):
    def build(name, **kwargs):
        model = timm.create_model(name, **kwargs)
        for module in model.modules():
            if isinstance(module, kind):
                edit(module)
        return model
    return build


def _attention_without_inverse_permutation(self, x, groups=1, permutation=None):
    batch, num_tokens, dim = x.shape
    if permutation is not None:
        x = x[:, permutation]
    qkv = self.qkv(x).reshape(batch * groups, num_tokens // groups, 3, self.num_heads, self.head_dim)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    x = F.scaled_dot_product_attention(q, k, v)
    return self.proj(x.transpose(1, 2).reshape(batch, num_tokens, dim))  # tokens left shuffled


def _attention_heads_not_transposed_back(self, x, groups=1, permutation=None):
    batch, num_tokens, dim = x.shape
    if permutation is not None:
        x = x[:, permutation]
    qkv = self.qkv(x).reshape(batch * groups, num_tokens // groups, 3, self.num_heads, self.head_dim)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    x = F.scaled_dot_product_attention(q, k, v).reshape(batch, num_tokens, dim)  # heads and tokens mixed
    if permutation is not None:
        x = x[:, torch.argsort(permutation)]
    return self.proj(x)


def _attention_q_and_k_swapped(self, x, groups=1, permutation=None):
    batch, num_tokens, dim = x.shape
    if permutation is not None:
        x = x[:, permutation]
    qkv = self.qkv(x).reshape(batch * groups, num_tokens // groups, 3, self.num_heads, self.head_dim)
    k, q, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    x = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, num_tokens, dim)
    if permutation is not None:
        x = x[:, torch.argsort(permutation)]
    return self.proj(x)


def _block_post_norm(self, x, groups=1, permutation=None):
    x = self.norm1(sret.model.scaled_residual(x, self.coefficient1.bias, self.attn(x, groups, permutation),
                                              self.coefficient2.bias))
    return self.norm2(sret.model.scaled_residual(x, self.coefficient3.bias, self.mlp(x), self.coefficient4.bias))


def _nll_norm_after_mlp(self, x):
    return sret.model.scaled_residual(x, self.coefficient1.bias, self.norm1(self.mlp(x)), self.coefficient2.bias)


def _stem_relu_before_norm(self, x):
    x = x.contiguous(memory_format=torch.channels_last)
    x = self.bn1(F.relu(self.conv1(x)))
    x = self.bn2(F.relu(self.conv2(x)))
    return self.bn3(F.relu(self.conv3(x)))


def _stem_without_position(self, x):
    return self.pos_drop(self.patch_embed(x))


def _tokens_column_major(self, x, generator=None):
    batch, channels, height, width = x.shape
    x = x.transpose(2, 3).flatten(2).transpose(1, 2).contiguous()
    for index, layer in enumerate(self.blocks):
        if hasattr(layer, "attn"):
            permutation = (sret.model.draw_permutation(x.shape[1], generator)
                           if self.slot_shuffled[index] else None)
            x = layer(x, self.slot_groups[index], permutation)
        else:
            x = layer(x)
    return x.transpose(1, 2).reshape(batch, channels, width, height).transpose(2, 3)


def _head_norm_weight_and_bias_swapped(self, x, pre_logits=False):
    x = F.layer_norm(self.avgpool(x).flatten(1), self.norm.normalized_shape, self.norm.bias, self.norm.weight,
                     self.norm.eps)
    return x if pre_logits else self.head(x)


def _shuffled_first_application(self):
    original_reschedule(self)
    self.slot_shuffled = [self.groups_recursive > 1 and i % 2 == 0 for i in range(len(self.blocks))]


original_reschedule = sret.model.RecursiveStage.reschedule


def _onednn_tanh_gelu(x, weight, bias, activation="none"):
    out = F.linear(x, weight, bias)
    return F.gelu(out, approximate="tanh") if activation == "gelu" else out


# (name, what it patches: (object, attribute, replacement) or None, a builder or None, the model)
CHANGES = [
    ("attention coefficients c1 and c2 swapped", (sret.model.SharedBlock, "forward",
                                                  _block_attention_coefficients_swapped), None, "sret_t"),
    ("MLP coefficients c3 and c4 swapped", (sret.model.SharedBlock, "forward", _block_mlp_coefficients_swapped),
     None, "sret_lt_wo_slice"),
    ("LayerNorm eps 1e-5", None, _edit_modules(nn.LayerNorm, lambda m: setattr(m, "eps", 1e-5)), "sret_t"),
    ("BatchNorm eps 1e-3", None, _edit_modules(nn.BatchNorm2d, lambda m: setattr(m, "eps", 1e-3)), "sret_t"),
    ("tanh-approximate GELU", None, _edit_modules(nn.GELU, lambda m: setattr(m, "approximate", "tanh")), "sret_t"),
    ("attention scale of the full width", None,
     _edit_modules(sret.model.SlicedAttention, lambda m: setattr(m, "fused_attn", False) or setattr(
         m, "scale", (m.head_dim * m.num_heads) ** -0.5)), "sret_t"),
    ("slices not put back in order", (sret.model.SlicedAttention, "forward", _attention_without_inverse_permutation),
     None, "sret_t"),
    ("heads not transposed back", (sret.model.SlicedAttention, "forward", _attention_heads_not_transposed_back),
     None, "sret_t_wo_slice"),
    ("q and k swapped", (sret.model.SlicedAttention, "forward", _attention_q_and_k_swapped), None, "sret_t_wo_slice"),
    ("post-norm blocks", (sret.model.SharedBlock, "forward", _block_post_norm), None, "sret_t"),
    ("NLL norm after its MLP", (sret.model.NonLinearProjection, "forward", _nll_norm_after_mlp), None,
     "sret_s_wo_slice"),
    ("stem ReLU before BatchNorm", (sret.model.ConvEmbedding, "forward", _stem_relu_before_norm), None, "sret_t"),
    ("no position embedding", (sret.model.SReT, "_stem", _stem_without_position), None, "sret_t_wo_slice_384"),
    ("tokens flattened column-major", (sret.model.RecursiveStage, "forward", _tokens_column_major), None,
     "sret_lt_g16_14_1"),
    ("final norm's weight and bias swapped", (sret.model.SReT, "forward_head", _head_norm_weight_and_bias_swapped),
     None, "sret_lt"),
    ("first applications shuffled too", (sret.model.RecursiveStage, "reschedule", _shuffled_first_application),
     None, "sret_t"),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, patch, build, model", CHANGES, ids=[change[0] for change in CHANGES])
def test_a_change_that_keeps_every_count_fails_the_function_rows(name, patch, build, model, monkeypatch, manifest):
    if patch is not None:
        monkeypatch.setattr(*patch)
    build = build or timm.create_model
    official = next(row for row, tag in OFFICIAL_TO_TAG.items() if tag.split(".")[0] == model)
    built = build(model, img_size=manifest[official]["image_size"])
    counts = count_params(built), headline_macs(built, manifest[official]["image_size"])
    assert counts == (manifest[official]["params"], manifest[official]["fvcore_flops"])  # the gate's figures hold
    rows = function_rows(RECORDING, {OFFICIAL_TO_TAG[official]}, ("stock",), build)
    assert [r["status"] for r in rows] == ["fail"], rows
    assert rows[0]["measured"] > 10 * FUNCTION_ATOL
    assert "under every policy: sret/ computes another function" in rows[0]["diagnosis"] or rows[0]["measured"] is None


@pytest.mark.slow
def test_a_change_to_the_tuned_kernels_fails_only_under_that_policy_and_says_so(monkeypatch):
    monkeypatch.setattr(sret.kernels, "onednn_linear", _onednn_tanh_gelu)
    monkeypatch.setattr(sret.kernels, "use_onednn", lambda x: sret.kernels.use_tuned_path(x))
    rows = {r["policy"]: r for r in function_rows(RECORDING, {"sret_t.in1k"})}
    assert rows["stock"]["status"] == "pass" and rows["tuned"]["status"] == "fail"
    assert "stock holds on the same weights: the code only the tuned policy runs computes another function" in \
        rows["tuned"]["diagnosis"]
    assert "sret/kernels.py" in rows["tuned"]["diagnosis"]


def _explicit_attention_softmax_over_queries(self, x, groups=1, permutation=None):
    batch, num_tokens, dim = x.shape
    if permutation is not None:
        x = x[:, permutation]
    qkv = self.qkv(x).reshape(batch * groups, num_tokens // groups, 3, self.num_heads, self.head_dim)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    if self.fused_attn:
        x = F.scaled_dot_product_attention(q, k, v)
    else:
        x = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-2) @ v
    x = x.transpose(1, 2).reshape(batch, num_tokens, dim)
    if permutation is not None:
        x = x[:, torch.argsort(permutation)]
    return self.proj(x)


@pytest.mark.slow
def test_a_change_to_the_explicit_attention_the_tuned_policy_selects_fails_under_tuned(monkeypatch):
    monkeypatch.setattr(sret.model.SlicedAttention, "forward", _explicit_attention_softmax_over_queries)
    rows = {r["policy"]: r for r in function_rows(RECORDING, {"sret_t.in1k"})}
    assert rows["stock"]["status"] == "pass" and rows["tuned"]["status"] == "fail"
    assert "explicit attention it selects for short slices in sret/model.py" in rows["tuned"]["diagnosis"]


def test_a_model_that_no_longer_takes_the_release_weights_fails_with_the_key():
    def renamed(name, **kwargs):
        model = timm.create_model(name, **kwargs)
        model.final_norm = model.norm  # a second name for one module: an extra state-dict key
        return model

    rows = function_rows(RECORDING, {"sret_t.in1k"}, ("stock",), renamed)
    assert rows[0]["status"] == "fail" and rows[0]["measured"] is None
    assert "the model's key final_norm.bias is not released" in rows[0]["diagnosis"] and "\n" not in rows[0]["diagnosis"]


@pytest.mark.slow
def test_the_gate_exits_1_on_a_function_change_and_names_it(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "expected"
    shutil.copytree(EXPECTED_DIR, folder)
    (folder / "claims.csv").write_text(  # a claim about sret_lt alone: none measured for sret_t
        "claim_id,kind,claim,source,check,models,low,high,unit\n"
        "slicing_cuts_flops_10_30,slicing_cuts_flops_10_30,cuts 10-30%,hand-made,k,sret_lt,10,30,% FLOPs reduction\n", encoding="utf-8")
    monkeypatch.setattr(sret.model.SharedBlock, "forward", _block_post_norm)
    assert gate.main(["--models", "sret_t", "--expected", str(folder), "--json", str(tmp_path / "v.json")]) == 1
    printed = capsys.readouterr().out
    assert "function against the official code (2 released models x stock, tuned): 0 pass, 4 fail" in printed
    body = json.loads((tmp_path / "v.json").read_text())
    assert {r["status"] for r in body["function"]} == {"fail"}
    assert all(r["status"] != "fail" for r in body["results"])  # every count still holds


def test_a_data_folder_with_half_the_recordings_is_one_line_naming_it_and_without_them_has_no_rows(tmp_path):
    folder = tmp_path / "expected"
    shutil.copytree(EXPECTED_DIR, folder)
    (folder / "official_function" / "function.json").unlink()
    with pytest.raises(ExpectedError, match="official_function/function.json does not exist"):
        gate.load_data_folder(folder)
    shutil.rmtree(folder / "official_function")  # optional: a paper without recordings has no function rows
    assert gate.load_data_folder(folder).function is None


def test_the_recipe_weights_fit_every_released_state_dict(manifest):
    for row in RECORDING.rows:
        recorded = {key for key in manifest[row.row]["state_dict"] if not key.endswith("num_batches_tracked")}
        assert set(RECORDING.recipe(row)) == recorded, row.row


def test_recipe_weights_name_the_first_key_the_model_lacks():
    model = timm.create_model("sret_t")
    recipe = dict(RECORDING.recipe(RECORDING.rows[0]), **{"zz.extra": (1, 0, 0.0)})
    with pytest.raises(KeyError, match="the model has no key zz.extra"):
        recipe_weights(model, recipe)
