"""bench.slicing_speed and bench.zoo: which models are paired and compared, on hand-made rows.

Nothing here asserts a speed: the time saved is computed from hand-made per-round rates,
and the pairing and the shared weights are checked on the real models.
"""
from __future__ import annotations

import pytest
import timm
import torch

import sret  # noqa: F401  (registers the models)
from bench.measure import slicing as slicing_speed
from bench.measure import throughput_run
from bench.measure import zoo
from bench.core.names import is_subject
from bench.measure.models import native_size
from bench.core.cli import EXIT_USAGE, run


def _row(model, kernels, by_round, flops, batch=8):
    return {"model": model, "kernels": kernels, "img_size": 224, "batch_size": batch, "batch_size_requested": batch,
            "images_per_s_median": by_round[0], "images_per_s_by_round": by_round,
            "images_per_s_max": max(by_round), "flops_per_image": flops, "error": None}


def test_time_saved_is_per_round_and_pairs_only_rows_timed_side_by_side():
    rows = [
        _row("sret_t", "stock", [100.0, 90.0, 50.0], 1.0e9), _row("sret_t_wo_slice", "stock", [80.0, 90.0, 45.0], 1.25e9),
        _row("sret_t", "tuned", [200.0], 1.0e9), _row("sret_t_wo_slice", "tuned", [100.0], 1.25e9),
        _row("sret_t_wo_slice", "stock", [10.0], 1.25e9, batch=1),  # no sliced row at batch 1: no pair
    ]
    records = slicing_speed.pair_records(rows, [("sret_t", "sret_t_wo_slice")])
    assert [(r["kernels"], r["batch_size_requested"]) for r in records] == [("stock", 8), ("tuned", 8)]
    stock, tuned = records
    # round time saved = 1 - (1/sliced rate) / (1/unsliced rate): 1 - 80/100, 1 - 90/90, 1 - 45/50
    assert (stock["time_saved_pct_round_median"], stock["time_saved_pct_round_min"],
            stock["time_saved_pct_round_max"]) == pytest.approx((10.0, 0.0, 20.0))
    assert stock["macs_saved_pct"] == pytest.approx(20.0) and stock["comparison"] == "slicing"
    assert tuned["time_saved_pct_round_median"] == pytest.approx(50.0)


@pytest.mark.slow
def test_each_pair_runs_on_one_set_of_weights_under_each_policy():
    config = throughput_run.Config(models=("sret_t",), kernels=("stock", "tuned"))
    subjects = slicing_speed.pair_subjects("sret_t", config)
    assert [(s.name, s.kernels) for s in subjects] == [
        ("sret_t", "stock"), ("sret_t", "tuned"), ("sret_t_wo_slice", "stock"), ("sret_t_wo_slice", "tuned")]
    reference = subjects[0].module.state_dict()
    for subject in subjects[1:]:
        state = subject.module.state_dict()
        assert state.keys() == reference.keys()
        assert all(torch.equal(state[key], reference[key]) for key in reference)
    assert subjects[0].macs_per_image < subjects[2].macs_per_image  # slicing saves multiply-adds


@pytest.mark.parametrize(("models", "culprit"), [("sret_t_wo_slice", "sret_t_wo_slice"),
                                                 ("deit_tiny_patch16_224", "deit_tiny_patch16_224"),
                                                 ("", "names no model")])
def test_a_model_without_a_partner_is_one_line_exit_2(capsys, models, culprit):
    assert run(slicing_speed.main, ["--models", models]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and culprit in err


def test_the_default_pairs_are_the_three_released_ones():
    assert sorted(pair for pair in zoo.slicing_pairs(zoo.sret_models()) if pair[0] in slicing_speed.DEFAULT_MODELS) == [
        ("sret_lt", "sret_lt_wo_slice"), ("sret_s", "sret_s_wo_slice"), ("sret_t", "sret_t_wo_slice")]


# --- the zoo -----------------------------------------------------------------------------------


def test_sret_is_every_architecture_beside_the_baselines_of_its_resolution():
    names = throughput_run.check_models(["sret"])
    assert set(timm.list_models("sret_*")) <= set(names)
    assert throughput_run.check_models(["all"]) == names
    sizes = [native_size(name) for name in names]
    assert sizes == sorted(sizes) and set(sizes) == {224, 384, 512}  # resolution by resolution
    timed = zoo.timed_baselines()
    # the rows of baselines.csv with a timed_because, in row order: resolution by resolution, DeiT before PiT
    assert [b.architecture for b in timed] == ["deit_tiny_patch16_224", "pit_ti_224", "deit_small_patch16_224",
                                              "pit_s_224", "vit_tiny_patch16_384", "deit3_small_patch16_384",
                                              "tiny_vit_21m_512"]
    for baseline in timed:
        assert baseline.architecture in names
        # timm releases each baseline at the resolution it stands beside
        assert native_size(baseline.architecture) == baseline.img_size
    assert not [b for b in timed if is_subject(b.architecture)]


def test_each_resolution_has_a_baseline_and_the_choices_travel_with_the_results():
    resolutions = {native_size(name) for name in zoo.sret_models()}
    assert resolutions == {b.img_size for b in zoo.timed_baselines()}
    block = throughput_run.config_block(throughput_run.Config(models=("sret_t", "vit_tiny_patch16_384")))
    assert [c["model"] for c in block["baseline_choices"]] == ["vit_tiny_patch16_384"]
    assert "384" in block["baseline_choices"][0]["why"]


def test_the_default_set_is_small_and_names_both_scales_and_their_baselines():
    # README: "SReT-T/S beside DeiT-Tiny/Small and PiT-Ti/S at 224 px"
    assert set(throughput_run.parse_args([]).models) == {"sret_t", "sret_s", "deit_tiny_patch16_224", "deit_small_patch16_224",
                                                    "pit_ti_224", "pit_s_224"}
    assert {native_size(name) for name in zoo.DEFAULT_MODELS} == {224}
    assert {"sret_t", "sret_s", "deit_tiny_patch16_224", "deit_small_patch16_224"} <= set(zoo.DEFAULT_MODELS)
