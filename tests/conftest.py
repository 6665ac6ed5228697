"""Shared test fixtures: the official recordings carried in ``tests/fixtures/official``.

They were recorded once from the official release's outputs by
``tests/fixtures/record_official.py`` (see ``tests/fixtures/README.md``); nothing here reads
outside the checkout. The official initial weights (31 MB) are not carried: the same seed
regenerates them, and a fingerprint of the official file, compared within float rounding,
proves that it still does on any CPU. What the official code computes for all 14 released rows
is in ``expected/official_function`` (the gate reads it too).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Mapping

import pytest
import torch

from bench.spec.official import FUNCTION_ATOL

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
OFFICIAL = FIXTURES / "official"
INIT_FINGERPRINT = OFFICIAL / "sret_t_224_init.json"
RECORD = "python tests/fixtures/record_official.py"

# README: the official logits are reproduced to 1e-5, the gate's tolerance (float32 on the
# CPU; 1.1e-6 is the largest difference measured, on an AMD EPYC on logits up to 2.9, and
# 7.5e-7 on an Intel Xeon with AVX-512).
LOGITS_ATOL = FUNCTION_ATOL

# The official README rows (manifest names) and the pretrained tag of each, written out by
# hand from PAPER_VALUES.md so that the registry is checked against it.
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


# The released rows by architecture: a checkpoint and its distilled twin share one shape.
ROWS_OF_ARCHITECTURE: dict[str, list[str]] = {}
for _official, _tag in sorted(OFFICIAL_TO_TAG.items()):
    ROWS_OF_ARCHITECTURE.setdefault(_tag.split(".")[0], []).append(_official)


# --- a fingerprint of the initial weights -----------------------------------------------------

# Seed 0 does not draw the same weights on every CPU: trunc_normal_'s erfinv rounds differently
# on some, so pos_embed differs by up to 3.7e-9 (an ulp or two) between an AMD EPYC and an Intel
# Xeon with AVX-512. A digest would fail there; a fingerprint compared within float rounding
# holds on both, and still tells a reordered or redrawn initialisation (differences of 1e-3 and
# more) from rounding.
FINGERPRINT_SAMPLES = 8
FINGERPRINT_METHOD = (f"per tensor: dtype, shape, the float64 sum and sum of absolute values, and the values at "
                      f"{FINGERPRINT_SAMPLES} evenly spaced flat indices (round(i * (numel - 1) / "
                      f"{FINGERPRINT_SAMPLES - 1})); compared within ROUNDING per value")
ROUNDING = 1e-7  # per value: ~50 ulps of the initial weights' magnitudes, 25x the erfinv difference


def _sample_indices(numel: int) -> list[int]:
    return sorted({round(i * (numel - 1) / (FINGERPRINT_SAMPLES - 1)) for i in range(FINGERPRINT_SAMPLES)})


def init_fingerprint(state: Mapping[str, torch.Tensor]) -> dict:
    """The fingerprint of each tensor, as FINGERPRINT_METHOD states."""
    out = {}
    for key, tensor in state.items():
        flat = tensor.detach().reshape(-1).double()
        out[key] = {"dtype": str(tensor.dtype), "shape": list(tensor.shape), "sum": flat.sum().item(),
                    "abs_sum": flat.abs().sum().item(), "sample": [flat[i].item() for i in _sample_indices(flat.numel())]}
    return out


def _difference(got: dict, want: dict, numel: int) -> float:
    """The largest difference per value that the fingerprints show."""
    samples = max(abs(a - b) for a, b in zip(got["sample"], want["sample"]))
    return max(samples, abs(got["sum"] - want["sum"]) / numel, abs(got["abs_sum"] - want["abs_sum"]) / numel)


def init_mismatch(state: Mapping[str, torch.Tensor], recorded: dict) -> str | None:
    """None when ``state`` has the recorded fingerprint within float rounding; else one line
    naming the first tensor that differs beyond it and whether sret/model.py or torch is to blame."""
    measured, expected = init_fingerprint(state), recorded["tensors"]
    missing, extra = [k for k in expected if k not in measured], [k for k in measured if k not in expected]
    if missing or extra:
        first = f"key {missing[0]} is missing" if missing else f"key {extra[0]} is not in the official weights"
        return f"the seed-0 weights of sret_t are not the official ones ({first}): sret/model.py names its tensors differently"
    for key, want in expected.items():
        got = measured[key]
        if (got["dtype"], got["shape"]) != (want["dtype"], want["shape"]):
            return (f"the seed-0 weights of sret_t are not the official ones ({key} is {got['dtype']} {got['shape']}, "
                    f"the official {want['dtype']} {want['shape']}): sret/model.py builds this tensor differently")
        numel = max(1, math.prod(want["shape"]))
        difference = _difference(got, want, numel)
        if difference > ROUNDING:
            same_spread = abs(got["abs_sum"] - want["abs_sum"]) <= 0.01 * abs(want["abs_sum"])
            how = "in another order (the same distribution)" if same_spread else "from another distribution"
            reproduced_by = recorded["reproduced_by_torch"] or "none"
            if torch.__version__.split("+")[0] == reproduced_by.split("+")[0]:
                cause = (f"sret/model.py draws its initial weights {how} (torch {reproduced_by} reproduced the "
                         "official ones on every CPU tried)")
            else:
                cause = (f"torch {torch.__version__} draws seed 0 differently from torch {reproduced_by}, which "
                         f"reproduced them, or sret/model.py draws its initial weights {how}")
            return (f"the seed-0 weights of sret_t are not the official ones ({key} differs by up to {difference:.2g}, "
                    f"beyond float rounding ({ROUNDING:g} a value)): {cause}")
    return None


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def default_kernel_decision(monkeypatch):
    """Every test runs the tuned policy under the default decision, whatever this machine has cached,
    and no benchmark in a test scans the kernels first (tests/test_kernel_choice.py tests the scan)."""
    from bench.measure import kernel_scan
    from sret import kernel_choice

    kernel_choice.use(kernel_choice.DEFAULT)
    monkeypatch.setattr(kernel_scan, "ensure_decided", lambda threads=None: kernel_choice.DEFAULT)
    yield
    kernel_choice.use(kernel_choice.DEFAULT)


@pytest.fixture(autouse=True)
def small_peak_matmul(monkeypatch):
    """The CPU peak of MFU measured on 128-cubed matmuls: the same code path, not its 2048-cubed
    cost (seconds in fp32, minutes in bf16 on a CPU without bf16 units) in every timing test."""
    from bench.measure import timing

    real = timing.cpu_peak_tflops
    monkeypatch.setattr(timing, "cpu_peak_tflops", lambda dtype="fp32", size=128, repeats=1: real(dtype, size, repeats))


def _fixture_file(name: str) -> Path:
    path = OFFICIAL / name
    if not path.is_file():
        pytest.fail(f"tests/fixtures/official/{name} is missing: it is part of the checkout ({RECORD} wrote it)",
                    pytrace=False)
    return path


def official_seed0_weights() -> dict[str, torch.Tensor]:
    """sret_t as built under torch.manual_seed(0), one independent tensor per key as in the official file.

    The official file lists a shared block under every index at which it is applied, each a
    tensor of its own; so does this. The global RNG is left as it was.
    """
    import timm

    import sret  # noqa: F401  (registers the models)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        state = timm.create_model("sret_t").state_dict()
    return {key: tensor.clone() for key, tensor in state.items()}


@pytest.fixture(scope="session")
def manifest() -> dict:
    """The official manifest: for each of the 14 released rows, its size, counts and state-dict shapes."""
    return json.loads(_fixture_file("manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def official_init_fingerprint() -> dict:
    """The fingerprint of the official 31 MB initial weights, as recorded from them."""
    return json.loads(_fixture_file(INIT_FINGERPRINT.name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def official_weights(official_init_fingerprint) -> dict[str, torch.Tensor]:
    """The official initial weights of the T family at 224, regenerated and checked against their
    fingerprint within float rounding."""
    state = official_seed0_weights()
    problem = init_mismatch(state, official_init_fingerprint)
    if problem:
        pytest.fail(problem, pytrace=False)
    return state


@pytest.fixture(scope="session")
def official_logits() -> dict[str, torch.Tensor]:
    """``input`` (2,3,224,224) and the official logits of SReT_T and SReT_T_wo_slice on it (seed 1234)."""
    from safetensors.torch import load_file

    return load_file(str(_fixture_file("sret_t_224_logits.safetensors")))
