"""bench.page.model_index: a hand-made verify document's export parsed by huggingface_hub's model-card
parser, only measured values in it (never a subset or missing top-1, never a published figure), the
document's commit, one-line errors; and the committed reports/verify.json exported, each count equal
to the gate's."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard, ModelCardData
from huggingface_hub.repocard_data import model_index_to_eval_results

from bench.core.io import ResultsError
from bench.page.model_index import model_index, write_model_index

REPO = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
URL = "https://example.org/weights/sret_t.pth"


def _row(model: str, metric: str, measured, status: str, published: float, method: str = "m",
         img_size: int = 224, **extra) -> dict:
    return {"model": model, "architecture": model.split(".")[0], "img_size": img_size, "metric": metric,
            "published": published, "published_text": str(published), "measured": measured, "method": method,
            "status": status, "source": "hand-made", **extra}


def _document(**environment) -> dict:
    """A small verify document whose every value is written here: the truth the export is checked against."""
    return {
        "schema": "sret-bench/2", "kind": "verify",
        "environment": {"timm": "1.0.31", "git_commit": COMMIT, "git_dirty": False, **environment},
        "results": [
            _row("sret_x", "gmacs", 0.75, "pass", 0.8, "fvcore, one image, multiply-adds"),  # a shape row
            _row("sret_x.in1k", "gmacs", 1.5, "fail", 9.9, "fvcore, one image, multiply-adds"),
            _row("sret_x.in1k", "params_m", 4.25, "pass", 4.3, "unique parameters", weights_url=URL),
            _row("sret_x.in1k", "top1", 77.125, "pass", 77.1, "50,000 images of 1,000 classes"),
            _row("sret_y.in1k", "params_m", 20.5, "known-deviation", 20.0, "unique parameters", img_size=384),
            _row("sret_y.in1k", "top1", 60.5, "subset", 81.0, "40 images of 20 classes"),  # not the full val
            _row("sret_z.in1k", "top1", None, "not-measured", 80.0, "needs the checkpoint"),  # nothing measured
            _row("deit_q.fb_in1k", "params_m", 5.75, "pass", 5.75, "unique parameters"),
        ],
        "baselines": [{"model": "deit_q.fb_in1k", "img_size": 224, "params": 5_750_000, "fvcore_macs": 1_258_411_200,
                       "gmacs": 1.2584112, "top1_text": "72.190"}],
    }


def test_each_measured_model_gets_its_counts_and_only_a_full_val_top1():
    index = model_index(_document())
    assert list(index) == ["sret_x", "sret_x.in1k", "sret_y.in1k", "deit_q.fb_in1k"]  # sret_z: nothing measured
    x = index["sret_x.in1k"]["Models"][0]
    assert x["Metadata"] == {"FLOPs": 1_500_000_000, "Parameters": 4_250_000}  # mmpretrain: whole counts
    assert x["Results"] == [{"Task": "Image Classification", "Dataset": "ImageNet-1k",
                             "Metrics": {"Top 1 Accuracy": 77.125}}]
    assert x["Weights"] == URL
    assert index["sret_x"]["Models"][0]["Metadata"] == {"FLOPs": 750_000_000}
    y = index["sret_y.in1k"]
    assert y["Models"][0]["Metadata"] == {"Parameters": 20_500_000}
    assert "Results" not in y["Models"][0] and "Weights" not in y["Models"][0]
    assert y["model-index"] == [{"name": "sret_y.in1k", "results": []}]
    # a baseline's FLOPs are the gate's recorded count of it; its published top-1 never goes in
    assert index["deit_q.fb_in1k"]["Models"][0]["Metadata"] == {"FLOPs": 1_258_411_200, "Parameters": 5_750_000}
    text = json.dumps(index)
    for published in ("0.8", "9.9", "4.3", "77.1", "20.0", "81.0", "72.190", "60.5"):
        assert f": {published}," not in text and f": {published}}}" not in text and f"\"{published}\"" not in text


def test_every_model_names_the_documents_commit_and_says_its_values_are_measured():
    for model, entry in model_index(_document()).items():
        metafile = entry["Models"][0]
        assert metafile["Name"] == model == entry["model-index"][0]["name"]
        assert metafile["Converted From"] == {"Code": f"sret-bench@{COMMIT}"}
        assert "measurements" in metafile["Measurements"]["Note"] and "not published" in metafile["Measurements"]["Note"]
    flops = model_index(_document())["sret_x.in1k"]["Models"][0]["Measurements"]["FLOPs"]
    assert "fvcore" in flops and "multiply-adds" in flops and "224x224" in flops
    published = model_index(_document(), repository="https://github.com/someone/sret-bench")
    assert published["sret_x"]["Models"][0]["Converted From"]["Code"] == \
        f"https://github.com/someone/sret-bench@{COMMIT}"


def test_the_written_files_parse_as_model_cards_and_metafiles(tmp_path):
    paths = write_model_index(_document(), tmp_path / "out", repository="https://github.com/someone/sret-bench")
    assert [p.name for p in paths] == ["sret_x.yml", "sret_x.in1k.yml", "sret_y.in1k.yml", "deit_q.fb_in1k.yml"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)  # no temporaries
    loaded = yaml.safe_load((tmp_path / "out" / "sret_x.in1k.yml").read_text(encoding="utf-8"))
    name, results = model_index_to_eval_results(loaded["model-index"])
    assert name == "sret_x.in1k" and len(results) == 1
    result = results[0]
    assert (result.task_type, result.dataset_type, result.dataset_name, result.dataset_split) == (
        "image-classification", "imagenet-1k", "ImageNet-1k", "validation")
    assert (result.metric_type, result.metric_value) == ("top1", 77.125)
    assert result.source_url == f"https://github.com/someone/sret-bench/tree/{COMMIT}"
    # the same YAML as a model card's front matter
    card = ModelCard(f"---\n{paths[1].read_text(encoding='utf-8')}---\n\n# sret_x.in1k\n")
    assert card.data.model_name == "sret_x.in1k" and card.data.eval_results[0].metric_value == 77.125
    assert card.data.to_dict()["Models"][0]["Metadata"] == {"FLOPs": 1_500_000_000, "Parameters": 4_250_000}
    for path in paths:  # every file: valid front matter, and no eval result but a full-val top-1
        data = ModelCardData(**yaml.safe_load(path.read_text(encoding="utf-8")))
        assert [r.metric_value for r in data.eval_results or []] == ([77.125] if path == paths[1] else [])


def test_a_subset_or_missing_top1_never_appears_in_any_file(tmp_path):
    paths = write_model_index(_document(), tmp_path)
    texts = {p.name: p.read_text(encoding="utf-8") for p in paths}
    assert "60.5" not in texts["sret_y.in1k.yml"] and "Top 1" not in texts["sret_y.in1k.yml"]
    assert "sret_z.in1k.yml" not in texts
    assert sum("Top 1 Accuracy: 77.125" in text for text in texts.values()) == 1


@pytest.mark.parametrize("change, words", [
    (lambda d: d["environment"].update(git_commit=None), "git_commit is None"),
    (lambda d: d["environment"].update(git_commit="1be830c"), "not a full commit"),
    (lambda d: d["environment"].update(git_dirty=True), "uncommitted changes"),
    (lambda d: d.update(kind="throughput"), "not 'verify'"),
    (lambda d: d["results"][1].update(measured="1.5"), "results[1] (sret_x.in1k gmacs): measured '1.5'"),
    (lambda d: d["results"][0].update(model="../../etc/x"), "results[0]: model '../../etc/x'"),
    (lambda d: d["results"].append(_row("sret_x.in1k", "gmacs", 1.75, "pass", 1.5)), "measured 1.75 here and 1.5"),
])
def test_a_malformed_document_is_one_line_and_writes_nothing(tmp_path, change, words):
    document = _document()
    change(document)
    with pytest.raises(ResultsError) as info:
        write_model_index(document, tmp_path / "out")
    assert words in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_the_committed_verify_document_exports_the_gates_counts(tmp_path):
    document = json.loads((REPO / "reports" / "verify.json").read_text(encoding="utf-8"))
    paths = write_model_index(document, tmp_path)
    exported = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in paths}
    # independent of the results rows: the counters' and baselines' whole counts
    counted = {row["model"]: row for row in document["counters"].values()}
    counted.update({row["model"]: row for row in document["baselines"]})
    measured = [row for row in document["results"] if row["measured"] is not None]
    assert set(exported) == {row["model"] for row in measured} and len(exported) > 20
    for row in measured:
        entry = exported[row["model"]]
        assert entry["Models"][0]["Converted From"]["Code"].endswith(f"@{document['environment']['git_commit']}")
        field, whole = {"gmacs": ("FLOPs", "fvcore_macs"), "params_m": ("Parameters", "params"),
                        "top1": (None, None)}[row["metric"]]
        if field:
            count = counted.get(row["model"]) or counted[row["architecture"]]
            assert entry["Models"][0]["Metadata"][field] == count[whole], (row["model"], field)
    for baseline in document["baselines"]:
        assert exported[baseline["model"]]["Models"][0]["Metadata"] == {"FLOPs": baseline["fvcore_macs"],
                                                                       "Parameters": baseline["params"]}
    for entry in exported.values():  # no top-1 was measured on ImageNet here, so none is exported
        assert model_index_to_eval_results(entry["model-index"])[1] == []
        assert "Results" not in entry["Models"][0]


def test_pits_committed_run_exports_model_cards_that_parse_with_its_counts(tmp_path):
    """The second paper's export: every file is valid model-card front matter, and PiT-Ti's and PiT-B's counts are
    the ones papers/pit/COUNTING.md's own script (count_pit.py, explicit attention) recorded: 4,847,272
    parameters; 0.702020 and 12.419868 G multiply-adds."""
    document = json.loads((REPO / "reports" / "verify-pit.json").read_text(encoding="utf-8"))
    paths = write_model_index(document, tmp_path)
    exported = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in paths}
    for entry in exported.values():
        assert ModelCardData(**entry).model_name in exported
        assert model_index_to_eval_results(entry["model-index"])[1] == []  # no ImageNet here: no top-1
    ti, b = exported["pit_ti_224"]["Models"][0]["Metadata"], exported["pit_b_224"]["Models"][0]["Metadata"]
    assert ti["Parameters"] == 4_847_272
    assert round(ti["FLOPs"] / 1e3) == 702_020 and round(b["FLOPs"] / 1e3) == 12_419_868
