"""The rendered pages (latest.md, speed.md), read as a researcher reads them: the summary table says what the results JSON says,
every table names a command that runs, every link lands on a heading, one unit has one name, and the
committed PNGs are what the committed code draws from the committed JSON."""
from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path

import matplotlib
import matplotlib.image
import numpy as np
import pytest
import torch

from bench.page import markdown
from bench.page import pages, plot_files
from bench.page.report_runs import PAPER_RUNS, REPORT_RUNS, VERIFY
from bench.page import results as page_results
from bench.page.section import REPRODUCE, command, commands_on_page
from bench.core.cli import UsageError
from test_pages import _committed_reports

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
HAND_MADE = [DATA / "verify.json", DATA / "throughput-cpu.json", DATA / "synthetic-throughput-gpu.json",
             DATA / "model_speed-cpu.json", DATA / "accuracy-subset.json"]


def _render(paths: list[Path]) -> str:
    return pages.render_markdown(page_results.load_results(paths))


def _render_speed(paths: list[Path]) -> str:
    return pages.render_speed(page_results.load_results(paths))


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    """The committed results (git's copy) and the page rendered from them, named as reports/..."""
    root, _ = _committed_reports(tmp_path_factory.mktemp("committed"))
    paths = page_results.default_paths(root / "reports")
    results = page_results.load_results(paths, root=root)
    return root / "reports", results, pages.render_markdown(results), pages.render_speed(results)


def _table_after(page: str, heading: str) -> list[dict[str, str]]:
    """The first table under ``heading`` as dicts of its cells."""
    lines = page.split(f"\n{heading}\n", 1)[1].splitlines()
    rows = [line for line in lines[next(i for i, line in enumerate(lines) if line.startswith("|")):]]
    rows = rows[:next((i for i, line in enumerate(rows) if not line.startswith("|")), len(rows))]
    split = [[_text(cell.strip()) if index == 0 else cell.strip()
              for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]] for index, line in enumerate(rows)]
    return [dict(zip(split[0], cells)) for cells in split[2:]]


def _text(cell: str) -> str:
    """A cell less its link: "[params (M)](#anchor)" -> "params (M)"."""
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell)


def _number(cell: str) -> float | None:
    """The value of a summary cell: "[4.756](#anchor)", "82.25 (batch 8)", or None for "not measured"."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell)
    return None if text in ("not measured", "-") else float(text.split(" ")[0])


# --- the summary table against the JSON -----------------------------------------------------------


def _check_summary(page: str, files: dict[str, dict]) -> int:
    """Every summary cell against the JSON read here on its own; returns the number of values compared."""
    verify = next(document for document in files.values()  # SReT's: another paper's run has a page of its own
                  if document["kind"] == "verify" and document.get("paper") in (None, "sret"))
    figures = {(row["model"], row["metric"]): row for row in verify["results"]}
    speeds: dict[tuple[str, str], tuple[int, float]] = {}
    for name in sorted(files):  # the page's rule: the first file by name that timed the model, at its largest
        document = files[name]   # batch, under the stock kernels (as timm.create_model builds it)
        if document["kind"] != "throughput":
            continue
        device = "GPU" if document["environment"]["device_type"] == "gpu" else "CPU"
        found: dict[tuple[str, str], tuple[int, float]] = {}
        for row in document["results"]:
            if (row.get("error") is None and row.get("images_per_s_median") and row.get("kernels") in (None, "stock")
                    and row.get("runtime", "torch") == "torch"):
                best = found.get((row["model"], device))
                if best is None or row["batch_size"] > best[0]:
                    found[(row["model"], device)] = (row["batch_size"], row["images_per_s_median"])
        speeds = {**found, **speeds}
    baselines = {baseline["model"]: baseline for baseline in verify.get("baselines", [])}
    compared = 0
    rows = _table_after(page, "## At a glance")
    assert {row["model"].split(" ")[0] for row in rows} >= {model for model, _ in figures
                                                             if "." in model and model not in baselines}
    assert not any(row["model"] in baselines for row in rows)  # the baselines are with the peers
    for row in rows:
        model = row["model"].split(" ")[0]
        arch = model.split(".")[0]
        for column, metric in (("params (M)", "params_m"), ("GMACs", "gmacs")):
            figure = figures.get((model, metric))
            if figure is not None:
                assert _number(row[column]) == pytest.approx(figure["measured"], abs=5e-4), (model, column)
                compared += 1
        for device in ("CPU", "GPU"):
            column = f"images/s {device}"
            if column not in row:
                assert not any(key[1] == device for key in speeds)
                continue
            if (arch, device) in speeds:
                batch, rate = speeds[(arch, device)]
                assert _number(row[column]) == pytest.approx(rate, rel=5e-4) and f"(batch {batch})" in row[column]
                compared += 1
            else:
                assert row[column] == "not measured"
        top1 = figures.get((model, "top1"))
        published = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", row["top-1 published (%)"])
        if model in baselines:  # timm's published top-1 and our count of its multiply-adds
            assert published == f"{baselines[model]['top1_text']} (timm)"
            assert _number(row["GMACs"]) == pytest.approx(baselines[model]["fvcore_macs"] / 1e9, abs=5e-4)
            compared += 2
        else:
            assert published == (top1["published_text"] if top1 else "-")
        if top1 is None or top1["measured"] is None or top1["status"] == "subset":
            assert row["top-1 measured (%)"] == "not measured"  # a subset top-1 is not the published kind
        else:
            assert _number(row["top-1 measured (%)"]) == pytest.approx(top1["measured"], abs=5e-3)
    return compared


def test_the_summary_says_what_the_committed_json_says(committed):
    reports, results, page, _ = committed
    files = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in reports.glob("*.json")}
    assert _check_summary(page, files) >= 20


def test_the_summary_of_the_hand_made_files_cpu_and_gpu():
    page = _render(HAND_MADE)
    files = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in HAND_MADE}
    assert _check_summary(page, files) >= 4
    sret_t = next(row for row in _table_after(page, "## At a glance") if row["model"] == "sret_t.in1k")
    assert not sret_t["images/s GPU"].startswith("[")  # no link in a cell: the header links to the speed page
    header = next(line for line in page.splitlines() if line.startswith("| model "))
    assert "[images/s GPU](speed.md#method)" in header and "[images/s CPU](speed.md#method)" in header


def test_every_link_to_the_page_lands_on_a_heading(committed):
    assert markdown.anchor("Official README figures (released checkpoints)") == \
        "official-readme-figures-released-checkpoints"  # GitHub's rule, by hand
    assert markdown.anchor("Claims of the paper's text") == "claims-of-the-papers-text"
    assert markdown.anchor("Top-1 measured by `bench.accuracy`") == "top-1-measured-by-benchaccuracy"
    hand_made = (_render(HAND_MADE), _render_speed(HAND_MADE))
    for page, speed in (committed[2:], hand_made):
        links = re.findall(r"\]\(#([^)]+)\)", page)
        assert len(links) >= 5
        assert set(links) <= markdown.anchors(page), set(links) - markdown.anchors(page)
        to_speed = re.findall(r"\]\(speed\.md#([^)]+)\)", page) + re.findall(r"\]\(#([^)]+)\)", speed)
        assert to_speed and set(to_speed) <= markdown.anchors(speed), set(to_speed) - markdown.anchors(speed)
        assert "](latest.md)" in speed


# --- commands -------------------------------------------------------------------------------------


def _tables_and_next_line(page: str):
    lines = page.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("|") and (index + 1 == len(lines) or not lines[index + 1].startswith("|")):
            following = [text for text in lines[index + 1:index + 6] if text.strip()]
            yield line, following


def test_every_table_is_followed_by_its_command(committed):
    for page in (*committed[2:], _render(HAND_MADE), _render_speed(HAND_MADE)):
        tables = list(_tables_and_next_line(page))
        assert len(tables) > 5
        for last_row, following in tables:  # one command on its line, or several in a shell block
            one = following[0].startswith(REPRODUCE + "`python -m bench.")
            block = (following[:2] == [REPRODUCE.rstrip(), "```sh"] and len(following) > 2
                     and following[2].startswith("python -m bench."))
            assert one or block, (last_row, following)


def test_every_command_on_the_page_passes_its_own_parser_and_checks(committed, monkeypatch):
    """Each command as printed, parsed by the ``parse_args`` of the module it names, with every check
    that runs before anything is measured (a GPU command as on a machine with one card)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    found = commands_on_page(_render(HAND_MADE)) + commands_on_page(_render_speed(HAND_MADE))
    found += [line for page in committed[2:] for line in commands_on_page(page) if line not in found]
    modules = {line.split()[2] for line in found}
    assert modules >= {"bench.verify", "bench.throughput", "bench.model_speed", "bench.accuracy", "bench.report"}
    for line in found:
        words = shlex.split(line)
        words = words[:words.index(">")] if ">" in words else words
        assert words[:2] == ["python", "-m"], line
        importlib.import_module(words[2]).parse_args(words[3:])  # raises UsageError (one line) if refused


def test_a_refused_command_would_be_caught():
    """The check above can fail: a command a parser refuses raises the one-line error."""
    with pytest.raises(UsageError, match="--batch-sizes"):
        importlib.import_module("bench.throughput").parse_args(["--batch-sizes", "0"])


def test_the_command_under_a_table_is_the_argv_its_file_recorded():
    document = {"argv": ["python", "-m", "bench.throughput", "--models", "sret_t", "--json", "runs/a b.json"]}
    assert command(document) == "python -m bench.throughput --models sret_t --json 'runs/a b.json'"


# --- units --------------------------------------------------------------------------------------


def _without_data_text(path: Path, tmp_path: Path) -> Path:
    """A verify file whose free text (notes, sources, claims, method) is blanked: what remains is the report's."""
    document = json.loads(path.read_text(encoding="utf-8"))
    for row in document["results"] + document["claims"]:
        for key in ("method", "comparison", "deviation", "published_note", "source", "claim"):
            row[key] = "" if key in row else row.get(key)
    document["counters_method"] = ""
    blank = tmp_path / "verify.json"
    blank.write_text(json.dumps(document))
    return blank


def test_one_unit_one_name_in_what_the_report_writes(tmp_path):
    page = markdown.unwrap(_render([_without_data_text(DATA / "verify.json", tmp_path), *HAND_MADE[1:]]))
    units = next(line for line in page.splitlines() if line.startswith("Units"))
    assert "GMACs" in units and "multiply-adds" in units and "MiB (2^20 bytes)" in units
    assert re.findall(r"\bGFLOPs\b", page.replace('"GFLOPs"', "")) == []
    assert re.findall(r"\bMB\b", page) == []


def test_one_unit_one_name_on_the_committed_page(committed):
    """The page rendered from the committed results, their notes and sources included, keeps to the units line."""
    for page in committed[2:]:
        assert re.findall(r"\bGFLOPs\b", page.replace('"GFLOPs"', "")) == []
        assert re.findall(r"\bMB\b", page) == []
    page = committed[2]
    assert re.findall(r"\bGFLOPs\b", page.replace('"GFLOPs"', "")) == []
    assert re.findall(r"\bMB\b", page) == []


# --- the committed plots ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_committed_pngs_are_what_the_committed_code_draws(committed, tmp_path, monkeypatch):
    """A fresh rendering of the committed JSON, even under a hostile matplotlibrc, has the committed pixels."""
    reports, results, _, _ = committed
    monkeypatch.setitem(matplotlib.rcParams, "lines.linewidth", 7.0)
    monkeypatch.setitem(matplotlib.rcParams, "font.size", 3.0)
    written = plot_files.render_plots(results, tmp_path)
    committed_pngs = {path.name for path in reports.glob("*.png")}
    assert {path.name for path in written.values()} == committed_pngs
    for path in written.values():
        fresh, kept = matplotlib.image.imread(path), matplotlib.image.imread(reports / path.name)
        assert fresh.shape == kept.shape and np.array_equal(fresh, kept), (
            f"reports/{path.name} is not what the code draws from the committed results: "
            f"run `python -m bench.report > reports/latest.md` and commit reports/")


def test_nox_report_measures_exactly_the_committed_files_of_the_page(monkeypatch):
    """`nox -s report` rewrites each committed results file under its own name (the series' -run<N>), and
    every command it runs passes its parser."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    # the latter two: nox -s speed_calibration, and nox -s speed_gate -- --json reports/speed_gate.json
    written = {"reports/speed_calibration.json", "reports/speed_gate.json"}
    for module, *args in (VERIFY, *PAPER_RUNS, *REPORT_RUNS):
        parsed = importlib.import_module(module).parse_args(args)
        # another paper's verify run writes verify-<paper>.json beside --json, as its parsed path says
        written.add(str(getattr(parsed, "json", None) or args[args.index("--json") + 1]))
    committed = {f"reports/{path.name}" for path in (REPO / "reports").glob("*.json")}
    assert written == committed


def test_the_speed_gate_sections_state_the_last_comparison_and_the_calibration(tmp_path):
    """A calibration and a comparison written by hand: the page states their floor, alarms, detection,
    noise, plan and each configuration's ratio, interval and verdict."""
    verify = json.loads((DATA / "verify.json").read_text(encoding="utf-8"))
    head = {"schema": verify["schema"], "environment": verify["environment"]}
    calibration = {**head, "kind": "speed_calibration", "argv": ["python", "-m", "bench.compare", "--calibrate", "HEAD"],
                   "config": {"patch": "slowdown.patch"}, "chosen_floor": 0.015, "rule": "the smallest silent floor",
                   "alarms_per_floor": [{"floor": 0.0, "aa_alarms": 2, "slowed_flagged": 10},
                                        {"floor": 0.015, "aa_alarms": 0, "slowed_flagged": 9}],
                   "aa": {"comparisons": 20, "false_alarms": 0}, "slowed": {"comparisons": 10, "flagged_slower": 9,
                                                                          "measured_cost_ratio": 0.966},
                   "variance": {"within_pair_sd_percent": 1.25, "between_pair_sd_percent": 0.75},
                   "plan": {"rounds": 8, "pairs": 6, "why": "by hand"}}
    pair = {"load": {"other_processes_cores": 0.04}}
    comparison = {**head, "kind": "compare", "argv": ["python", "-m", "bench.compare", "--revisions"],
                  "config": {"mode": "revisions"},
                  "revisions": {"base": {"commit": "a" * 40, "dirty": False}, "new": {"commit": "b" * 40, "dirty": True},
                                "settings": {"pairs": 6, "rounds": 8, "threads": 2}, "aslr_off": True,
                                "pairs": [pair] * 6},
                  "judged": {"floor": 0.015, "load_limit_cores": 0.15, "configurations": [
                      {"configuration": "sret_t stock batch 8", "ratio": 0.962, "ratio_low": 0.951, "ratio_high": 0.973,
                       "pair_medians": [0.96] * 6, "verdict": "slower"}]}}
    paths = []
    for name, document in (("speed_calibration.json", calibration), ("speed_gate.json", comparison)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(document), encoding="utf-8")
    page = markdown.unwrap(_render_speed([DATA / "verify.json", *paths]))
    page = re.sub(" +", " ", page)  # table cells are padded to their column's width
    last = page.split("## Speed gate: the last revision comparison", 1)[1].split("\n## ", 1)[0]
    assert "`bbbbbbbbbb` (dirty) against BASE `aaaaaaaaaa`, 6 process pairs x 8 rounds" in last
    assert "| sret_t stock batch 8 | 0.962 | 0.951-0.973 | 6 | slower |" in last
    assert "at most 0.04 cores" in last
    section = page.split("## Speed gate calibration", 1)[1].split("\n## ", 1)[0]
    assert "**0.015**" in section and "**0 of 20**" in section and "**9 of 10**" in section
    assert "ran at 0.966x its images/s" in section and "| 0.000 | 2 | 10 |" in section
    assert "1.25% from round to round" in section and "8 rounds x 6 pairs" in section
