"""The claims' measurements (bench/claims.py) against hand-computed parameter counts and fvcore.

Parameter counts are worked out by hand from the layer shapes, anchored on SReT-T's
4,755,979 parameters recorded from the official code (the fixtures' manifest):

* an NLL layer at width d: LayerNorm 2d, two d x d linears with biases, two coefficients:
  2d^2 + 4d + 2, i.e. 8,450 / 33,282 / 132,098 at SReT-T's widths 64 / 128 / 256;
* a shared block at width d with an MLP of h = int(3.6 d) (230 / 460 / 921): two LayerNorms
  4d, qkv 3d^2 + 3d, proj d^2 + d, fc1 dh + h, fc2 hd + d, four coefficients:
  46,634 / 184,912 / 736,925;
* SReT-T has 2 / 5 / 3 shared blocks applied twice: 20 NLLs hold 1,159,208 and the blocks
  3,228,603, which leaves 368,168 for the stem, position embedding, pools, norm and head.
"""
from __future__ import annotations

import copy

import pytest
import timm

from bench.measure import claims
from bench.spec.text_claims import CLAIM_KINDS, load_claims
from bench.measure.counting import count_params, headline_macs
from bench.measure.paper_measurements import Measurer

NLL = {64: 8_450, 128: 33_282, 256: 132_098}
BLOCK = {64: 46_634, 128: 184_912, 256: 736_925}
WIDTHS, SHARED_BLOCKS = (64, 128, 256), (2, 5, 3)
SRET_T_PARAMS = 4_755_979  # official manifest
SRET_T_WITHOUT_NLLS = SRET_T_PARAMS - sum(2 * r * NLL[d] for d, r in zip(WIDTHS, SHARED_BLOCKS))


@pytest.fixture(autouse=True)
def one_thread():
    """Count on one thread, as the gate does (bench.verify.COUNT_THREADS): counts do not depend on it."""
    with claims.torch_threads(1):
        yield


def test_the_hand_counts_add_up_to_the_official_sret_t():
    assert SRET_T_WITHOUT_NLLS == 3_596_771
    assert SRET_T_WITHOUT_NLLS - sum(r * BLOCK[d] for d, r in zip(WIDTHS, SHARED_BLOCKS)) == 368_168
    assert count_params(timm.create_model("sret_t")) == SRET_T_PARAMS


def test_every_claim_kind_the_spec_knows_has_a_measurement_and_every_shipped_claim_is_of_one():
    assert set(CLAIM_KINDS) == set(claims.MEASUREMENTS)
    assert {c.kind for c in load_claims()} == set(claims.MEASUREMENTS)


def test_the_counterpart_is_the_model_with_each_block_applied_once():
    model = timm.create_model("sret_t").eval()
    counterpart = claims.non_recursive_counterpart(model)
    once = claims.build_sret(claims.sret_t_blocks_applied(1))  # built, not derived: depth = recursive_num
    assert count_params(counterpart) == count_params(once) == SRET_T_PARAMS - sum(
        r * NLL[d] for d, r in zip(WIDTHS, SHARED_BLOCKS))  # 10 NLLs fewer: 4,176,375
    assert headline_macs(counterpart, 224) == headline_macs(once, 224)
    assert count_params(model) == SRET_T_PARAMS  # the model itself is left as it was


def test_recursion_adds_no_parameters_outside_the_nlls_while_depth_and_flops_grow():
    measurer = Measurer()
    result = claims.recursion_adds_no_params(("sret_t",), measurer.count, measurer.build)
    (detail,) = result.details
    assert result.values == [0] and result.unmet == []
    assert (detail["params"], detail["params_counterpart"]) == (SRET_T_PARAMS, 4_176_375)
    assert detail["nll_params_added"] == 2 * 8_450 + 5 * 33_282 + 3 * 132_098  # 579,604
    assert (detail["block_applications"], detail["block_applications_counterpart"]) == (20, 10)
    assert (detail["layers_with_nll"], detail["layers_with_nll_counterpart"]) == (40, 20)
    assert detail["gmacs"] > detail["gmacs_counterpart"]
    assert "579,604 parameters (12.2%)" in result.note  # 579,604 / 4,755,979


def _unshared(name, **kwargs):
    """SReT with every recursive application given its own copy of the block."""
    model = timm.create_model(name, **kwargs)
    for stage in model.transformers:
        for application in range(len(stage.blocks) // 2):
            if application % stage.loops:
                stage.blocks[2 * application] = copy.deepcopy(stage.blocks[2 * application])
    return model


@pytest.mark.slow
def test_unshared_blocks_and_a_model_without_recursion_fail_the_claim():
    measurer = Measurer(_unshared)
    result = claims.recursion_adds_no_params(("sret_t",), measurer.count, measurer.build)
    # each of the 10 blocks' second application now stores a copy of the block
    assert result.values == [2 * 46_634 + 5 * 184_912 + 3 * 736_925]  # 3,228,603

    measurer = Measurer(lambda name, **kwargs: timm.create_model(name, depth=(2, 5, 3), **kwargs))
    result = claims.recursion_adds_no_params(("sret_t",), measurer.count, measurer.build)
    assert result.values == [0]
    assert [line.split(":")[1].strip() for line in result.unmet] == ["depth does not grow (10 -> 10 block "
                                                                     "applications)", "GMACs do not grow (0.563 -> 0.563)"]


@pytest.mark.slow
def test_the_100_part_builds_120_applications():
    result = claims.deep_recursion_is_compact((), None, None)
    (detail,) = result.details
    params = SRET_T_WITHOUT_NLLS + 16 * NLL[64] + 80 * NLL[128] + 24 * NLL[256]
    assert params == 9_564_883 and result.values == [params / 1e6]
    assert (detail["block_applications"], detail["layers_with_nll"]) == (120, 240)


@pytest.mark.slow
def test_the_1000_part_is_built_counted_and_run():
    result = claims.thousand_layers_are_compact((), None, None)
    (detail,) = result.details
    params = SRET_T_WITHOUT_NLLS + 200 * NLL[64] + 500 * NLL[128] + 300 * NLL[256]
    assert params == 61_557_171 and result.values == [params / 1e6]
    assert (detail["block_applications"], detail["layers_with_nll"]) == (1000, 2000)
    assert detail["seconds"] > 0 and detail["first_call_s"] > 0
    assert detail["peak_memory_mib"] * 2**20 > 4 * params  # at least the fp32 weights
    # The GMACs are scaled from the blocks applied once and twice; fvcore on the 1000-application
    # model itself (20-50 s) must give the same count, to the multiply-add.
    model = claims.build_sret(claims.sret_t_blocks_applied(claims.THOUSAND_LOOPS))
    assert round(detail["gmacs"] * 1e9) == headline_macs(model, 224)
