"""bench.page.paper_page: another paper's page says what its results file says: the verdict counted by
hand below, each figure with its setting, timm's top-1 beside (labelled timm's), the known deviation
with its explanation, why each figure was not measured; and the verdict page links it in one line."""
from __future__ import annotations

import json
from pathlib import Path

from bench.page import pages
from bench.page import results as page_results
from bench.page.markdown import unwrap
from bench.page.paper_page import render_paper

DATA = Path(__file__).resolve().parent / "data"


def _row(model, metric, published, measured, status, setting="", method="m", **extra):
    return {"model": model, "architecture": model.split(".")[0], "img_size": 224, "metric": metric,
            "published": float(published), "published_text": published, "measured": measured, "method": method,
            "published_note": "", "status": status, "comparison": f"compared {published}", "deviation": None,
            "deviation_stale": False, "source": f"README {model} {metric}", "source_kind": "other",
            "source_row": model, "reconstructed": False, "setting": setting, **extra}


def _document() -> dict:
    verify = json.loads((DATA / "verify.json").read_text())
    rows = [_row("pit_xs_224", "gmacs", "1.4", 1.39914, "pass"),
            _row("pit_ti_224", "gmacs", "0.71", 0.702020096, "known-deviation", deviation="counted on the twin"),
            _row("pit_ti_224", "images_per_s", "3030", None, "not-measured", method="needs a V100"),
            _row("pit_ti_224", "top1", "73.0", None, "not-measured", "+DeiT", method="needs ImageNet",
                 timm_top1_text="72.926"),
            _row("pit_ti_224", "top1", "71.3", None, "not-measured", "Vanilla", method="no weights")]
    return {**verify, "paper": "pit", "paper_title": "PiT (arXiv 2103.16302)", "paper_folder": "papers/pit",
            "results": rows, "claims": [], "function": []}


def test_the_page_counts_and_shows_each_figure(tmp_path):
    page = unwrap(render_paper("reports/verify-pit.json", _document()))
    assert page.startswith("# PiT (arXiv 2103.16302): do the published figures hold?")
    assert ("**Verdict: of the 5 published figures, 1 hold, 0 fail, 1 known deviation, 3 not measured.**"
            in page)
    (deit,) = [[cell.strip() for cell in line.strip("|").split("|")] for line in page.splitlines()
               if line.startswith("| pit_ti_224") and "+DeiT" in line]
    assert deit[:8] == ["pit_ti_224", "+DeiT", "224", "top-1 (%)", "73.0", "-", "not-measured", "72.926"]
    assert "### pit_ti_224 224 gmacs: published 0.71, measured 0.702" in page and "> counted on the twin" in page
    assert "- needs a V100 (1: pit_ti_224 images/s)" in page
    assert "[papers/pit/deviations.md](../papers/pit/deviations.md)" in page


def test_the_verdict_page_links_another_paper_in_one_line_and_report_prints_its_page(tmp_path, capsys):
    other = tmp_path / "verify-pit.json"
    other.write_text(json.dumps(_document()))
    verdict = pages.render_markdown(page_results.load_results([DATA / "verify.json", other]))
    (line,) = [line for line in verdict.splitlines() if "(pit.md)" in line]
    assert "[PiT (arXiv 2103.16302)](pit.md) (of the 5 published figures, 1 hold" in line
    alone = pages.render_markdown(page_results.load_results([DATA / "verify.json"]))
    assert len(verdict.splitlines()) == len(alone.splitlines()) + 2  # the line and a blank: nothing else
    assert pages.main(["--results", str(DATA / "verify.json"), str(other), "--page", "pit",
                       "--plots", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("# PiT (arXiv 2103.16302)")
