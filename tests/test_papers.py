"""A paper is a folder: the gate checks a third timm family's table from data alone, refuses bad input
before measuring, writes another paper's results beside SReT's, and exports what it measured.

The third family is ResNet: its figures come from the ResNet paper (He et al., arXiv 1512.03385,
Table 1: 18-layer 1.8x10^9 FLOPs, i.e. multiply-adds) and torchvision's model table (resnet18
Params 11.7M, 11,689,512 parameters; resnet34 21.8M, 21,797,672), the architecture timm's
resnet18/resnet34 build. No code in bench/ names ResNet.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from huggingface_hub.repocard_data import model_index_to_eval_results

from bench.core.cli import run
from bench.gate import paper_gate as gate
from bench.measure import paper_measurements

HEADER = "model,img_size,metric,published,source,note,status_override\n"
RESNET = (HEADER +
          "resnet18,224,gmacs,1.8,\"He et al., arXiv 1512.03385, Table 1, column 18-layer, row FLOPs\",,\n"
          "resnet18,224,params_m,11.7,\"torchvision docs, classification models table, resnet18, Params\",,\n"
          "resnet34,224,params_m,21.8,\"torchvision docs, classification models table, resnet34, Params\",,\n")
TORCHVISION_PARAMS = {"resnet18": 11_689_512, "resnet34": 21_797_672}  # torchvision's num_params
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def folder(root: Path, text: str = RESNET, **files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "paper_values.csv").write_text(text, encoding="utf-8")
    for name, body in files.items():
        (root / name.replace("_csv", ".csv").replace("_md", ".md")).write_text(body, encoding="utf-8")
    return root


def test_a_third_family_is_checked_from_its_folder_alone_and_a_wrong_row_fails(tmp_path, capsys):
    paper = folder(tmp_path / "resnet")
    out = tmp_path / "runs" / "verify.json"
    assert gate.main(["--expected", str(paper), "--json", str(out)]) == 0
    document = json.loads(out.read_text())  # an --expected folder writes where --json says
    rows = {(r["model"], r["metric"]): r for r in document["results"]}
    assert {key: r["status"] for key, r in rows.items()} == {
        ("resnet18", "gmacs"): "pass", ("resnet18", "params_m"): "pass", ("resnet34", "params_m"): "pass"}
    assert rows["resnet18", "params_m"]["measured"] * 1e6 == pytest.approx(TORCHVISION_PARAMS["resnet18"], abs=0.5)
    assert rows["resnet34", "params_m"]["measured"] * 1e6 == pytest.approx(TORCHVISION_PARAMS["resnet34"], abs=0.5)
    assert document["function"] == [] and document["claims"] == []  # no recordings, no claims: none needed

    # One row deliberately wrong: torchvision prints 21.8, and 21,797,672 parameters do not round to 21.9.
    wrong = folder(tmp_path / "wrong", RESNET.replace("resnet34,224,params_m,21.8", "resnet34,224,params_m,21.9"))
    capsys.readouterr()
    assert gate.main(["--expected", str(wrong)]) == 1
    printed = capsys.readouterr().out
    assert "verdict: 2 pass, 1 fail" in printed

    # The recorded run, judged again with --model-index: the measured counts, parsed as model cards.
    document["environment"].update(git_commit=COMMIT, git_dirty=False)
    recorded = tmp_path / "recorded.json"
    recorded.write_text(json.dumps(document))
    index = tmp_path / "index"
    assert gate.main(["--judge", str(recorded), "--expected", str(paper), "--model-index", str(index)]) == 0
    assert "model-index: wrote 2 file(s)" in capsys.readouterr().out
    card = yaml.safe_load((index / "resnet34.yml").read_text())
    assert card["Models"][0]["Metadata"] == {"Parameters": TORCHVISION_PARAMS["resnet34"]}
    assert card["Models"][0]["Converted From"] == {"Code": f"sret-bench@{COMMIT}"}
    model_index_to_eval_results(card["model-index"])  # huggingface_hub's parser accepts it


def test_another_papers_results_go_beside_srets():
    assert gate.results_path(Path("runs/verify.json"), "pit") == Path("runs/verify-pit.json")
    assert gate.results_path(Path("runs/verify.json"), "sret") == Path("runs/verify.json")
    assert gate.results_path(Path("runs/verify.json"), None) == Path("runs/verify.json")  # --expected DIR


def _refused(capsys, monkeypatch, args: list[str]) -> str:
    """The one line a refused run prints, after checking that nothing was measured."""
    def never(*_, **__):
        raise AssertionError("measured despite bad input")

    monkeypatch.setattr(paper_measurements, "measure", never)
    capsys.readouterr()
    assert run(gate.main, args) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    return line


def test_an_unknown_paper_is_refused_listing_the_known_ones(capsys, monkeypatch):
    line = _refused(capsys, monkeypatch, ["--paper", "pitt"])
    assert "unknown paper 'pitt'" in line and "choose from sret" in line


def test_a_folder_without_its_figures_file_is_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "empty").mkdir()
    line = _refused(capsys, monkeypatch, ["--expected", str(tmp_path / "empty")])
    assert str(tmp_path / "empty") in line and "no paper_values.csv" in line


@pytest.mark.parametrize("row, where, words", [
    ("resnet_nope,224,gmacs,1.8,src,,\n", "line 5, column 'model'", "knows no model 'resnet_nope'"),
    ("resnet18.no_such_tag,224,params_m,11.7,src,,\n", "line 5, column 'model'", "not a pretrained tag"),
    ("resnet50,224,gmacs,~4.1,src,,\n", "line 5, column 'published'", "'~4.1'"),
    ("resnet18,224,gmacs,1.8,src,,\n", "line 5, column 'model'", "duplicate figure resnet18 224 gmacs"),
])
def test_a_bad_row_is_refused_naming_file_line_and_column(tmp_path, capsys, monkeypatch, row, where, words):
    paper = folder(tmp_path / "bad", RESNET + row)
    line = _refused(capsys, monkeypatch, ["--expected", str(paper)])
    assert f"{paper / 'paper_values.csv'}, {where}" in line and words in line


def test_a_claim_of_an_unknown_kind_is_refused(tmp_path, capsys, monkeypatch):
    claims = ("claim_id,kind,claim,source,check,models,low,high,unit\n"
              "deeper_is_better,depth_helps,c,s,k,resnet18,,,\n")
    paper = folder(tmp_path / "claims", claims_csv=claims)
    line = _refused(capsys, monkeypatch, ["--expected", str(paper)])
    assert f"{paper / 'claims.csv'}, line 2, column 'kind'" in line and "'depth_helps'" in line


@pytest.mark.parametrize("row, words", [
    ("resnet18,a1,resnet18.no_such_tag,e,,,,\n", "'resnet18.no_such_tag' is not a pretrained tag"),
    ("resnet18,a1,resnet18.gluon_in1k,e,,,,\n", None),  # a real tag of resnet18: loads
])
def test_weights_tags_are_checked_against_timms_pretrained_cfgs(tmp_path, capsys, monkeypatch, row, words):
    values = RESNET + "resnet18,224,top1,71.5,src,,,a1\n"
    values = values.replace("status_override\n", "status_override,setting\n").replace(",,\n", ",,,\n")
    paper = folder(tmp_path / "w", values, weights_csv="model,setting,tag,evidence,timm_top1,timm_source,"
                                                        "timm_commit,note\n" + row)
    if words is None:
        from bench.measure.known_models import check_known
        from bench.spec.data_folder import load_data_folder

        check_known(load_data_folder(paper))
        return
    line = _refused(capsys, monkeypatch, ["--expected", str(paper)])
    assert f"{paper / 'weights.csv'}, line 2, column 'tag'" in line and words in line
