"""bench.page.peers_report: the points drawn, the comparison table by hand, labels that never overlap
(checked on the rendered text), and a figure that re-renders byte for byte."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from matplotlib.text import Text

from bench.page import peers_report
from bench.page import pages, plot_files
from bench.page import results as page_results
from bench.page.section import render

REPO = Path(__file__).resolve().parents[1]
COMMITTED_VERIFY = REPO / "reports" / "verify.json"


def _row(model, metric, published, measured, status="pass", img_size=224, source_kind="official_readme"):
    return {"model": model, "architecture": model.split(".")[0], "img_size": img_size, "metric": metric,
            "published": published, "published_text": str(published), "measured": measured, "method": "",
            "published_note": "", "status": status, "comparison": "", "deviation": None, "deviation_stale": False,
            "source": "official README (szq0214/SReT) table, row X", "source_kind": source_kind, "source_row": "X",
            "reconstructed": False}


def _baseline(model, label, training, compared_with, params, gmacs, top1_text, budget="tiny", img_size=224):
    return {"model": model, "architecture": model.split(".")[0], "img_size": img_size, "top1_text": top1_text,
            "label": label, "budget": budget, "training": training, "training_words": training,
            "compared_with": compared_with, "params": params, "gmacs": gmacs}


# The counts are those the gate printed for these models (bench.verify, fvcore); the top-1 are the
# published figures (the official README for SReT, expected/baselines.csv for the baselines).
DEIT_TI = _baseline("deit_tiny_patch16_224.fb_in1k", "DeiT-Ti", "in1k", ["in1k"], 5_717_416, 1.257719424, "72.190")
PIT_TI = _baseline("pit_ti_224.in1k", "PiT-Ti", "in1k", ["in1k"], 4_847_176, 0.702, "72.926")
DEIT_S = _baseline("deit_small_patch16_224.fb_in1k", "DeiT-S", "in1k", ["in1k"], 22_050_664, 4.608, "79.856",
                   budget="small")
PIT_TI_DIST = _baseline("pit_ti_distilled_224.in1k", "PiT-Ti dist.", "in1k_distilled", ["distill_in1k"], 5_104_000,
                        0.708, "74.276")


def _verify(results, baselines=()):
    return {"results": results, "claims": [], "baselines": list(baselines)}


def test_points_take_published_top1_measured_costs_and_a_measured_top1_only_on_imagenet():
    verify = _verify([_row("sret_t.in1k", "gmacs", 1.1, 1.121665792), _row("sret_t.in1k", "params_m", 4.8, 4.755979),
                      _row("sret_t.in1k", "top1", 76.0, 75.91),
                      _row("sret_lt.in1k", "gmacs", 1.2, 1.17), _row("sret_lt.in1k", "top1", 76.7, 70.0, "subset"),
                      _row("sret_t", "gmacs", 1.1, 1.12)], [DEIT_TI])
    accuracy = {"model": "deit_tiny_patch16_224", "images": 50_000, "classes": 1000, "top1": 72.2}
    drawn = {p.model: p for p in peers_report.points(verify, [accuracy])}
    # an architecture's row (sret_t) is no released model
    assert set(drawn) == {"sret_t.in1k", "sret_lt.in1k", "deit_tiny_patch16_224.fb_in1k"}
    t, lt, deit = drawn["sret_t.in1k"], drawn["sret_lt.in1k"], drawn["deit_tiny_patch16_224.fb_in1k"]
    assert (t.label, t.params_m, t.gmacs, t.top1_published, t.top1_measured) == (
        "T", 4.755979, 1.121665792, 76.0, 75.91)
    assert (lt.params_m, lt.top1_measured) == (None, None)  # no params row; a subset top-1 is not drawn
    assert (deit.label, deit.params_m, deit.gmacs, deit.top1_published, deit.top1_measured) == (
        "DeiT-Ti", 5.717416, 1.257719424, 72.19, 72.2)
    subset = {**accuracy, "images": 40}
    assert {p.model: p for p in peers_report.points(verify, [subset])}[deit.model].top1_measured is None


def test_each_sret_model_against_its_peers_by_hand():
    verify = _verify([_row("sret_t.in1k", "gmacs", 1.1, 1.121665792), _row("sret_t.in1k", "params_m", 4.8, 4.755979),
                      _row("sret_t.in1k", "top1", 76.0, None, "not-measured"),
                      _row("sret_t.distill_in1k", "gmacs", 1.1, 1.121665792),
                      _row("sret_t.distill_in1k", "params_m", 4.8, 4.755979),
                      _row("sret_t.distill_in1k", "top1", 77.6, None, "not-measured")],
                     [DEIT_TI, PIT_TI, DEIT_S, PIT_TI_DIST])
    rows = {(row["model"], row["peer"]): row for row in peers_report.comparisons(verify)}
    assert set(rows) == {("sret_t.in1k", "DeiT-Ti"), ("sret_t.in1k", "PiT-Ti"), ("sret_t.distill_in1k", "PiT-Ti dist.")}
    deit = rows["sret_t.in1k", "DeiT-Ti"]
    # 76.0 - 72.190; 4.755979 / 5.717416; 1.121665792 / 1.257719424
    assert deit["top1_difference"] == pytest.approx(3.81)
    assert deit["params_ratio"] == pytest.approx(0.831841, abs=1e-6)
    assert deit["gmacs_ratio"] == pytest.approx(0.891825, abs=1e-6) and deit["holds"]
    pit = rows["sret_t.in1k", "PiT-Ti"]  # 76.0 - 72.926; 4.755979 / 4.847176; 1.121665792 / 0.702
    assert pit["top1_difference"] == pytest.approx(3.074) and pit["gmacs_ratio"] == pytest.approx(1.597814, abs=1e-6)
    assert not pit["holds"] and peers_report._holds(pit) == "no: more GMACs"
    table = _cells("\n".join(render(peers_report.section(verify, [], "plot.png", "v.json"), {"v.json": {"argv": ["x"]}})))
    assert ["sret_t.in1k", "DeiT-Ti (deit_tiny_patch16_224.fb_in1k)", "in1k", "+3.8", "0.83x", "0.89x", "yes"] in table
    assert ["sret_t.in1k", "PiT-Ti (pit_ti_224.in1k)", "in1k", "+3.1", "0.98x", "1.60x", "no: more GMACs"] in table


def _cells(markdown: str) -> list[list[str]]:
    """The cells of every table row of a Markdown text."""
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in markdown.splitlines()
            if line.startswith("|")]


def _crowded() -> dict:
    """The 14 released SReT tags as the committed gate measured them, beside four baselines."""
    committed = json.loads(COMMITTED_VERIFY.read_text(encoding="utf-8"))
    return _verify(committed["results"], [DEIT_TI, PIT_TI, DEIT_S, PIT_TI_DIST])


def test_no_two_labels_overlap_and_all_stay_inside_their_panel():
    """Where the labels collided before (LT, LT 16-14-1, LT w/o slice at 1.17-1.43 GFLOPs, 76.6-76.8 %)."""
    drawn = peers_report.points(_crowded())
    figure = peers_report.draw(drawn)
    figure.canvas.draw()  # every text at its final place, as savefig renders it
    renderer = figure.canvas.get_renderer()
    for axes in figure.axes:
        texts = [t for t in axes.texts if t.get_text()]
        assert sorted(t.get_text() for t in texts) == sorted(p.label for p in drawn)
        assert {"LT", "LT 16-14-1", "LT w/o slice"} <= {t.get_text() for t in texts}
        boxes = [Text.get_window_extent(t, renderer) for t in texts]  # the text alone, not its leader line
        for (a, text_a), (b, text_b) in itertools.combinations(zip(boxes, texts), 2):
            assert not a.overlaps(b), (axes.get_title(), text_a.get_text(), text_b.get_text())
        panel = axes.get_window_extent(renderer)
        assert all(panel.x0 <= box.x0 and box.x1 <= panel.x1 and panel.y0 <= box.y0 and box.y1 <= panel.y1
                   for box in boxes)


def test_the_figure_re_renders_byte_for_byte_at_its_fixed_size(tmp_path):
    verify = _crowded()
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    assert peers_report.plot(verify, [], first) and peers_report.plot(verify, [], second)
    data = first.read_bytes()
    assert data == second.read_bytes()
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (1300, 600)
    assert b"tEXt" not in data and b"tIME" not in data


def test_the_report_shows_the_comparison_and_keeps_baselines_out_of_the_readme_table(tmp_path):
    committed = json.loads(COMMITTED_VERIFY.read_text(encoding="utf-8"))
    baseline_row = {**_row("deit_tiny_patch16_224.fb_in1k", "params_m", 5.72, 5.717416, source_kind="timm_results"),
                    "source": "timm's validation results ..., line 1490 (commit aa4b585...)"}
    committed["results"] = [row for row in committed["results"] if row["model"].startswith("sret")] + [baseline_row]
    committed["baselines"] = [DEIT_TI]
    path = tmp_path / "verify.json"
    path.write_text(json.dumps(committed), encoding="utf-8")
    results = page_results.load_results([path])
    written = plot_files.write_plots(results, tmp_path / "plots")
    assert written["accuracy"].name == peers_report.PLOT_NAME
    markdown = pages.render_markdown(results, plot_files.plot_links(results, tmp_path / "plots"))
    assert "### SReT among its peers" in markdown
    assert ["sret_t.in1k", "DeiT-Ti (deit_tiny_patch16_224.fb_in1k)"] in [row[:2] for row in _cells(markdown)]
    readme = markdown.split("## Official README figures")[1].split("\n## ")[0]
    assert "deit_tiny" not in readme
