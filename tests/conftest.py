"""Shared test fixtures: the official recordings carried in ``tests/fixtures/official``.

They were recorded once from the official release's outputs by
``tests/fixtures/record_official.py`` (see ``tests/fixtures/README.md``); nothing here reads
outside the checkout. The official initial weights (31 MB) are not carried: the same seed
regenerates them, and a digest of the official file proves that it still does.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Mapping

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
OFFICIAL = FIXTURES / "official"
WEIGHTS_DIGEST = OFFICIAL / "sret_t_224_weights.sha256.json"
RECORD = "python tests/fixtures/record_official.py"

# README: "official logits are reproduced to 1e-6" (float32 on the CPU; 6.6e-7 is the largest
# difference measured, on logits of magnitude up to 2.1: a few float32 ulps).
LOGITS_ATOL = 1e-6

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


# --- the digest of a state dict ------------------------------------------------------------------

DIGEST_METHOD = ("sha256 over the keys in sorted order, each as: key (UTF-8), NUL, dtype (str(tensor.dtype)), "
                 "NUL, shape (comma-joined), NUL, then the tensor's bytes (C order, this machine's little-endian); "
                 "per tensor: sha256 of its bytes alone")


def tensor_bytes(tensor: torch.Tensor) -> bytes:
    """The raw bytes of a tensor in C order (0-d tensors included)."""
    return tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def weights_digest(state: Mapping[str, torch.Tensor]) -> dict:
    """The whole-state-dict sha256 and each tensor's, as DIGEST_METHOD states."""
    whole = hashlib.sha256()
    tensors = {}
    for key in sorted(state):
        tensor = state[key]
        data = tensor_bytes(tensor)
        shape = ",".join(str(size) for size in tensor.shape)
        whole.update(f"{key}\0{tensor.dtype}\0{shape}\0".encode())
        whole.update(data)
        tensors[key] = {"dtype": str(tensor.dtype), "shape": list(tensor.shape),
                        "sha256": hashlib.sha256(data).hexdigest()}
    return {"sha256": whole.hexdigest(), "tensors": tensors}


def weights_mismatch(state: Mapping[str, torch.Tensor], recorded: dict) -> str | None:
    """None when ``state`` has the recorded digest; else one line naming the first difference."""
    measured = weights_digest(state)
    if measured["sha256"] == recorded["sha256"]:
        return None
    expected = recorded["tensors"]
    missing, extra = sorted(set(expected) - set(measured["tensors"])), sorted(set(measured["tensors"]) - set(expected))
    if missing or extra:
        first = f"key {missing[0]} is missing" if missing else f"key {extra[0]} is not in the official weights"
        cause = "sret/model.py names its parameters differently from the release"
    else:
        key = next(key for key in sorted(expected) if measured["tensors"][key] != expected[key])
        got, want = measured["tensors"][key], expected[key]
        if (got["dtype"], got["shape"]) != (want["dtype"], want["shape"]):
            first = f"{key} is {got['dtype']} {got['shape']}, the official {want['dtype']} {want['shape']}"
            cause = "sret/model.py builds this tensor differently from the release"
        else:
            first = f"the values of {key} differ"
            reproduced_by = recorded["reproduced_by_torch"] or "none"
            if torch.__version__.split("+")[0] == reproduced_by.split("+")[0]:
                cause = (f"sret/model.py no longer initialises in the official order (torch {reproduced_by} "
                         "reproduced the official weights)")
            else:
                cause = (f"torch {torch.__version__} draws the seed-0 initialisation differently from torch "
                         f"{reproduced_by}, which reproduced it, or sret/model.py initialises in another order")
    return (f"the seed-0 weights of sret_t are not the official ones ({first}; sha256 "
            f"{measured['sha256'][:12]} != {recorded['sha256'][:12]}): {cause}")


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def small_peak_matmul(monkeypatch):
    """The CPU peak of MFU measured on 128-cubed matmuls: the same code path, not its 2048-cubed
    cost (seconds in fp32, minutes in bf16 on a CPU without bf16 units) in every timing test."""
    from bench import timing

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
def official_weights_digest() -> dict:
    """The digest of the official 31 MB weights file, as recorded from it."""
    return json.loads(_fixture_file(WEIGHTS_DIGEST.name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def official_weights(official_weights_digest) -> dict[str, torch.Tensor]:
    """The official initial weights of the T family at 224, regenerated and checked against their digest."""
    state = official_seed0_weights()
    problem = weights_mismatch(state, official_weights_digest)
    if problem:
        pytest.fail(problem, pytrace=False)
    return state


@pytest.fixture(scope="session")
def official_logits() -> dict[str, torch.Tensor]:
    """``input`` (2,3,224,224) and the official logits of SReT_T and SReT_T_wo_slice on it (seed 1234)."""
    from safetensors.torch import load_file

    return load_file(str(_fixture_file("sret_t_224_logits.safetensors")))
