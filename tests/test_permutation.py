"""bench.page.permutation: which models draw a token permutation (the released configurations: groups2 of
T, LT and S is 2-1-1, of LT [16-14-1,1-1-1] and every ⋇ model 1-1-1), and the seed spread shown."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bench.core.names import architecture
from bench.measure import models
from bench.page import permutation
from bench.page.results import Results
from bench.page.section import render

DATA = Path(__file__).resolve().parent / "data"
VERIFY = ("v.json", {"argv": ["python", "-m", "bench.verify"], "models": {
    "sret_t": {"draws_permutation": True}, "sret_s": {"draws_permutation": True},
    "sret_t_wo_slice": {"draws_permutation": False}}})


@pytest.mark.parametrize("model, draws", [
    ("sret_t", True), ("sret_lt.in1k", True), ("sret_s.distill_in1k", True), ("sret_ext", True),
    ("sret_t_wo_slice.in1k", False), ("sret_s_wo_slice_384", False), ("sret_lt_g16_14_1.in1k", False),
    ("deit_tiny_patch16_224", False),
])
def test_models_that_draw_a_permutation(model, draws):
    with torch.device("meta"):
        built, _ = models.create(architecture(model))
    assert models.draws_permutation(built) is draws


def _text(results: Results) -> str:
    return "\n".join(line for section in permutation.permutation_section(results)
                     for line in render(section, results.documents()))


def test_the_spread_over_seeds_is_shown_where_measured_and_said_not_measured_elsewhere():
    document = json.loads((DATA / "accuracy-subset.json").read_text())  # sret_t, seeds 0, 1, 2
    text = _text(Results(verify=VERIFY, accuracy=[("tests/data/accuracy-subset.json", document)]))
    assert "`sret_s`, `sret_t` (and their pretrained tags)" in text and "sret_t_wo_slice" not in text
    row_t = next(line for line in text.splitlines() if line.startswith("| sret_t "))
    assert "27.273-45.455 (std 9.091) over seeds 0, 1, 2" in row_t and "11 images of 4 classes" in row_t
    row_s = next(line for line in text.splitlines() if line.startswith("| sret_s "))
    assert "not measured (no accuracy results file)" in row_s
    assert "The spread of the logits over seeds is not measured" in text


def test_no_sliced_model_no_table():
    unsliced = ("v.json", {"argv": ["x"], "models": {"sret_t_wo_slice": {"draws_permutation": False}}})
    assert _text(Results(verify=unsliced)).splitlines()[2] == "No model on this page draws a random permutation."
