"""Kernel policies change kernels only, and any counter a user has counts our models right.

Truth is independent of the code under test: the official logits and FLOP totals
(fixtures), operator counts worked out by hand from the architecture, the plain PyTorch
model for timm baselines, and the two-matmul cost of attention.
"""
from __future__ import annotations

import copy
from collections import Counter

import pytest
import timm
import torch
import torch.nn.functional as F
from fvcore.nn import FlopCountAnalysis
from torch.profiler import profile
from torch.utils.flop_counter import FlopCounterMode

import sret  # noqa: F401  (registers the models and the CPU SDPA FLOP formula)
from bench.measure.counting import count_flops
from conftest import ROWS_OF_ARCHITECTURE
from sret import kernel_choice
from sret.kernels import (FusedIntoLinear, TunedLinear, apply_kernel_policy,
                          kernel_policy_of, register_cpu_sdpa_flops)

# SReT-T by hand: 4 + 10 + 6 = 20 block applications, each a shared block (qkv, proj, fc1, fc2)
# and an NLL (fc1, fc2), plus the head; a GELU in each of the 40 MLP calls, made by 30 MLP
# modules (2 + 5 + 3 = 10 shared blocks, 20 NLLs). Attention over at least
# the default decision's SDPA crossover (256) tokens only in stage 0's 2 recursive applications: 784 tokens in 2
# shuffled slices of 392 (first applications: 8 slices of 98; stage 1: 49 or 196; stage 2: 49).
SRET_T_LINEARS, SRET_T_GELUS, SRET_T_ATTENTIONS, SRET_T_LONG_ATTENTIONS = 20 * 6 + 1, 40, 20, 2
SRET_T_MLP_MODULES = 10 + 20


def _ops(model: torch.nn.Module, x: torch.Tensor, grad: bool = False) -> Counter:
    with torch.set_grad_enabled(grad), torch.inference_mode(not grad), profile() as prof:
        model(x)
    return Counter(event.name for event in prof.events())


def _logits(model: torch.nn.Module, x: torch.Tensor, seed: int = 1234) -> torch.Tensor:
    torch.manual_seed(seed)
    with torch.no_grad():
        return model(x)


# -- what each policy keeps ---------------------------------------------------------------------
@pytest.mark.slow
def test_tuned_sret_keeps_the_official_logits_keys_and_parameter_tensors(official_weights, official_logits):
    model = timm.create_model("sret_t").eval()
    model.load_state_dict(official_weights)
    parameters = {name: id(p) for name, p in model.named_parameters()}
    keys = list(model.state_dict())
    assert apply_kernel_policy(model, "tuned") is model and kernel_policy_of(model) == "tuned"
    assert {name: id(p) for name, p in model.named_parameters()} == parameters
    assert list(model.state_dict()) == keys
    torch.testing.assert_close(_logits(model, official_logits["input"]), official_logits["SReT_T"], rtol=0, atol=1e-5)
    apply_kernel_policy(model, "stock")
    assert kernel_policy_of(model) == "stock" and {n: id(p) for n, p in model.named_parameters()} == parameters
    torch.testing.assert_close(_logits(model, official_logits["input"]), official_logits["SReT_T"], rtol=0, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["deit_tiny_patch16_224", "pit_ti_224"])
def test_tuned_timm_baseline_keeps_its_logits_keys_and_parameter_tensors(name):
    stock = timm.create_model(name, img_size=64).eval()
    x = torch.randn(2, 3, 64, 64)
    expected = _logits(stock, x)
    tuned = apply_kernel_policy(copy.deepcopy(stock), "tuned")
    assert list(tuned.state_dict()) == list(stock.state_dict())
    torch.testing.assert_close(_logits(tuned, x), expected, rtol=0, atol=1e-5)
    parameters = {n: id(p) for n, p in tuned.named_parameters()}
    apply_kernel_policy(tuned, "tuned")  # twice changes nothing
    assert {n: id(p) for n, p in tuned.named_parameters()} == parameters
    assert sum(type(m) is TunedLinear for m in tuned.modules()) == sum(type(m) is torch.nn.Linear
                                                                       for m in stock.modules())


def test_unknown_policy_names_itself_and_the_known_ones():
    with pytest.raises(ValueError, match="'fast'.*stock, tuned"):
        apply_kernel_policy(torch.nn.Linear(2, 2), "fast")


# -- each policy runs the kernels it names --------------------------------------------------------
def test_stock_sret_runs_plain_linears_gelus_and_sdpa():
    model = timm.create_model("sret_t").eval()
    ops = _ops(model, torch.randn(1, 3, 224, 224))
    assert ops["aten::addmm"] == SRET_T_LINEARS and ops["mkldnn::_linear_pointwise"] == 0
    assert ops["aten::gelu"] == SRET_T_GELUS
    assert ops["aten::scaled_dot_product_attention"] == SRET_T_ATTENTIONS  # timm's default: fused


@pytest.mark.slow
def test_tuned_sret_runs_onednn_fused_gelus_and_attention_by_length():
    model = apply_kernel_policy(timm.create_model("sret_t").eval(), "tuned")
    ops = _ops(model, torch.randn(1, 3, 224, 224))
    # One image: every linear call is at least 49 tokens x 256 x 256 multiply-adds, over the
    # oneDNN threshold, except the head's 1 x 256 x 1000, under it.
    assert 256 * 1000 < kernel_choice.current().onednn_min_macs <= 49 * 256 * 256
    assert ops["mkldnn::_linear_pointwise"] == SRET_T_LINEARS - 1 and ops["aten::addmm"] == 1
    assert ops["aten::gelu"] == 0 and sum(type(m) is FusedIntoLinear for m in model.modules()) == SRET_T_MLP_MODULES
    assert ops["aten::scaled_dot_product_attention"] == SRET_T_LONG_ATTENTIONS
    assert ops["aten::softmax"] == SRET_T_ATTENTIONS - SRET_T_LONG_ATTENTIONS
    assert 196 < kernel_choice.current().sdpa_min_tokens <= 392  # the hand count: only stage 0's 392-token slices take SDPA


@pytest.mark.slow
def test_tuned_model_trains_and_autocasts_on_the_plain_path():
    stock = timm.create_model("sret_ext").train()
    tuned = apply_kernel_policy(copy.deepcopy(stock), "tuned")
    x = torch.randn(2, 3, 224, 224)
    ops = _ops(tuned, x, grad=True)
    assert ops["mkldnn::_linear_pointwise"] == 0 and ops["aten::addmm"] > 0
    torch.manual_seed(0)
    expected = stock(x)
    torch.manual_seed(0)
    torch.testing.assert_close(tuned(x), expected, rtol=0, atol=1e-5)  # same drop-path draws
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16), profile() as prof:
        tuned.eval()(x)
    assert not any(e.name == "mkldnn::_linear_pointwise" for e in prof.events())


def test_stock_sret_is_made_of_plain_modules():
    model = timm.create_model("sret_t")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(type(m) is torch.nn.Linear for m in linears)
    assert kernel_policy_of(model) == "stock"


# -- counting ---------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["sret_ext", "deit_tiny_patch16_224"])
def test_every_counter_counts_a_tuned_model_as_the_stock_one(name):
    stock = timm.create_model(name, img_size=64).eval()
    expected = count_flops(stock, 64)
    tuned = count_flops(apply_kernel_policy(stock, "tuned"), 64)
    assert (tuned.fvcore_macs, tuned.thop_macs, tuned.torch_counter_flops) == (
        expected.fvcore_macs, expected.thop_macs, expected.torch_counter_flops)
    assert min(expected.fvcore_macs, expected.thop_macs, expected.torch_counter_flops) > 0


@pytest.mark.slow
def test_every_counter_counts_a_model_that_expands_a_parameter_and_leaves_it_trainable():
    """PiT expands its class token to the batch: under no_grad that view still requires grad but has
    no grad_fn, which the torch counter's module tracker refused (torch 2.14)."""
    model = timm.create_model("pit_ti_224", img_size=64).eval()
    counts = count_flops(model, 64)
    assert min(counts.fvcore_macs, counts.thop_macs, counts.torch_counter_flops) > 0
    assert all(parameter.requires_grad for parameter in model.parameters())


def test_flop_counter_counts_cpu_sdpa_as_its_two_matmuls():
    b, h, n, d = 2, 3, 50, 16
    q, k, v = (torch.randn(b, h, n, d) for _ in range(3))
    with FlopCounterMode(display=False) as counter:
        F.scaled_dot_product_attention(q, k, v)
    assert counter.get_total_flops() == 2 * (b * h * n * n * d) * 2  # q @ k^T and attn @ v, 2 per MAC
    assert register_cpu_sdpa_flops() is False  # registered once, at import; never twice


@pytest.mark.slow
@pytest.mark.parametrize("name, officials", sorted(ROWS_OF_ARCHITECTURE.items()))
def test_plain_counters_give_the_official_count_of_every_released_row(name, officials, manifest):
    """fvcore and FlopCounterMode as a user calls them, no handler of ours: the headline."""
    size = manifest[officials[0]]["image_size"]
    model = timm.create_model(name).eval()
    x = torch.zeros(1, 3, size, size)
    with torch.no_grad():
        fvcore_total = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).total()
        with FlopCounterMode(display=False) as counter:
            model(x)
    for official in officials:
        assert fvcore_total == pytest.approx(manifest[official]["fvcore_flops"], rel=1e-3), official
        assert counter.get_total_flops() == pytest.approx(manifest[official]["torch_flop_counter_flops"], rel=1e-3)
