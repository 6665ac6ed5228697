"""Tests of ``expected/baselines.csv`` and ``bench/baselines.py``: every published figure against
an independent transcription of timm's results file, one-line errors for bad rows, the pairing."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bench.spec.baselines import DEFAULT_BASELINES, VALIDATE_COLUMNS, load_baselines, param_figures, peers_of
from bench.spec.data_files import ExpectedError

EXCERPT = Path(__file__).resolve().parent / "fixtures" / "timm" / "results-imagenet-excerpt.txt"
HEADER = DEFAULT_BASELINES.read_text(encoding="utf-8").splitlines()[0] + "\n"
COMMIT = "aa4b5850c1543fa488abf260f18390eda46cf85d"
GOOD_ROW = ("deit_tiny_patch16_224.fb_in1k,224,72.190,27.810,91.100,8.900,5.72,0.900,bicubic,DeiT-Ti,tiny,in1k,"
            f"in1k,\"results/results-imagenet.csv, line 1490\",{COMMIT},\n")
# The issue asks for at least these, and the 384/512 models of the throughput work.
REQUIRED = {"deit_tiny_patch16_224", "deit_small_patch16_224", "pit_ti_224", "pit_s_224"}


def _excerpt() -> tuple[str, dict[int, str]]:
    """The commit named in the excerpt's header and its lines by line number."""
    text = EXCERPT.read_text(encoding="utf-8")
    commit = next(word.rstrip(",") for word in text.split() if len(word.rstrip(",")) == 40)
    lines = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            number, _, content = line.partition(":")
            lines[int(number)] = content
    return commit, lines


def test_every_baseline_is_its_line_of_timms_results_file_as_printed():
    commit, lines = _excerpt()
    assert lines[1] == ",".join(VALIDATE_COLUMNS)  # timm's header, in its order
    with DEFAULT_BASELINES.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["model"].split(".")[0] for row in rows} >= REQUIRED
    for row in rows:
        assert row["commit"] == commit
        line = int(row["source"].rsplit("line ", 1)[1])
        assert lines[line] == ",".join(row[column] for column in VALIDATE_COLUMNS), row["model"]


def test_shipped_baselines_load_as_published_param_figures():
    baselines = load_baselines()
    figures = param_figures(baselines)
    assert [f.model for f in figures] == [b.model for b in baselines]
    deit = next(f for f in figures if f.model == "deit_tiny_patch16_224.fb_in1k")
    assert (deit.metric, deit.published_text, deit.decimals) == ("params_m", "5.72", 2)
    assert COMMIT in deit.source and "results-imagenet.csv" in deit.source


@pytest.mark.parametrize("row, column, words", [
    (GOOD_ROW.replace("deit_tiny_patch16_224.fb_in1k", "deit_tiny_patch16_224"), "model", "pretrained tag"),
    (GOOD_ROW.replace(",224,", ",2x4,", 1), "img_size", "positive whole number"),
    (GOOD_ROW.replace("72.190", "72,19").replace(",72,19,", ",\"72,19\","), "top1", "plain decimal"),
    (GOOD_ROW.replace(",tiny,", ",huge,"), "budget", "unknown budget"),
    (GOOD_ROW.replace(",in1k,in1k,", ",jft,in1k,"), "training", "unknown training"),
    (GOOD_ROW.replace(",in1k,in1k,", ",in1k,in22k,"), "compared_with", "SReT pretrained tags"),
    (GOOD_ROW.replace(COMMIT, "aa4b585"), "commit", "40-hex-digit"),
    (GOOD_ROW.rstrip("\n") + "known-deviation\n", "status_override", "without an explanation"),
])
def test_a_bad_row_is_one_error_naming_file_line_and_column(tmp_path, row, column, words):
    path = tmp_path / "baselines.csv"
    path.write_text(HEADER + GOOD_ROW.replace("deit_tiny", "deit_small") + row, encoding="utf-8")
    (tmp_path / "deviations.md").write_text("# none\n", encoding="utf-8")
    with pytest.raises(ExpectedError) as info:
        load_baselines(path)
    message = str(info.value)
    assert f"{path}, line 3, column '{column}'" in message and words in message and "\n" not in message


def test_duplicates_and_an_empty_file_are_errors(tmp_path):
    path = tmp_path / "baselines.csv"
    path.write_text(HEADER + GOOD_ROW + GOOD_ROW, encoding="utf-8")
    with pytest.raises(ExpectedError, match="line 3, column 'model': duplicate baseline"):
        load_baselines(path, {})
    path.write_text(HEADER, encoding="utf-8")
    with pytest.raises(ExpectedError, match="no baselines"):
        load_baselines(path, {})


def _record(model: str, img_size: int, budget: str, compared_with: list[str]) -> dict:
    return {"model": model, "img_size": img_size, "budget": budget, "compared_with": compared_with}


def test_an_sret_tag_is_compared_within_its_size_budget_and_training():
    baselines = [_record("a.in1k", 224, "tiny", ["in1k"]), _record("b.in1k", 224, "small", ["in1k"]),
                 _record("c.dist", 224, "tiny", ["distill_in1k"]), _record("d.x", 384, "tiny", ["distill_in1k"])]
    assert [b["model"] for b in peers_of("sret_lt_g16_14_1.in1k", 224, baselines)] == ["a.in1k"]
    assert [b["model"] for b in peers_of("sret_s.in1k", 224, baselines)] == ["b.in1k"]
    assert [b["model"] for b in peers_of("sret_t.distill_in1k", 224, baselines)] == ["c.dist"]
    assert [b["model"] for b in peers_of("sret_t_wo_slice_384.distill_in1k", 384, baselines)] == ["d.x"]
    assert peers_of("sret_s_wo_slice_512.distill_in1k", 512, baselines) == []
