"""Shared test fixtures: the official recordings in ../shared/fixtures/official."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OFFICIAL = REPO.parent / "shared" / "fixtures" / "official"

# The official README rows (manifest names) and the pretrained tag of each, written out by
# hand from shared/PAPER_VALUES.md so that the registry is checked against it.
OFFICIAL_TO_TAG = {
    "SReT_T_wo_slice": "sret_t_wo_slice.in1k",
    "SReT_T": "sret_t.in1k",
    "SReT_LT_wo_slice": "sret_lt_wo_slice.in1k",
    "SReT_LT": "sret_lt.in1k",
    "SReT_LT_16_14_1": "sret_lt_g16_14_1.in1k",
    "SReT_S_wo_slice": "sret_s_wo_slice.in1k",
    "SReT_S": "sret_s.in1k",
    "SReT_T_wo_slice_distill": "sret_t_wo_slice.distill_in1k",
    "SReT_T_distill": "sret_t.distill_in1k",
    "SReT_LT_wo_slice_distill": "sret_lt_wo_slice.distill_in1k",
    "SReT_LT_distill": "sret_lt.distill_in1k",
    "SReT_T_wo_slice_distill_finetune384": "sret_t_wo_slice_384.distill_in1k",
    "SReT_S_wo_slice_distill_finetune384": "sret_s_wo_slice_384.distill_in1k",
    "SReT_S_wo_slice_distill_finetune512": "sret_s_wo_slice_512.distill_in1k",
}


def _official(name: str) -> Path:
    path = OFFICIAL / name
    if not path.exists():
        pytest.fail(f"{path} is missing: the official fixtures must sit in ../shared beside the repo")
    return path


@pytest.fixture(scope="session")
def manifest() -> dict:
    return json.loads(_official("manifest.json").read_text())


@pytest.fixture(scope="session")
def official_weights() -> dict:
    from safetensors.torch import load_file

    return load_file(str(_official("sret_t_224_weights.safetensors")))


@pytest.fixture(scope="session")
def official_logits() -> dict:
    from safetensors.torch import load_file

    return load_file(str(_official("sret_t_224_logits.safetensors")))
