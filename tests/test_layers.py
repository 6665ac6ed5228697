"""The layers' import rule, held: the page renders from results JSON without torch or timm, and the
schema, CLI and published-data layers (core, spec) import neither, nor does the speed gate
(bench.compare) nor the paper gate judging a recorded run (bench.verify --judge); names agree with timm's."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import timm

import sret  # noqa: F401  (registers the sret_* tags)
from bench.core.names import architecture

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
HEAVY = ("torch", "timm", "fvcore", "thop", "sret", "bench.measure", "bench.gate")

_IMPORTED = """
import contextlib, io, json, sys
{body}
print(json.dumps(sorted(name for name in {heavy} if name in sys.modules)))
"""


def _imported_by(body: str) -> list[str]:
    """The heavy modules imported once ``body`` ran, and, if ``body`` printed a list first, before the rest."""
    code = _IMPORTED.format(body=body, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("[")]
    assert len(printed) == 1 or printed[0] == [], printed  # nothing heavy before the rule breaker
    return printed[-1]


def test_rendering_the_page_imports_neither_torch_nor_timm(tmp_path):
    files = [str(DATA / name) for name in ("verify.json", "throughput-cpu.json", "synthetic-throughput-gpu.json",
                                           "model_speed-cpu.json", "accuracy-subset.json")]
    assert _imported_by(f"""
from bench.page import pages
with contextlib.redirect_stdout(io.StringIO()) as page:
    assert pages.main(["--results", *{files!r}, "--plots", {str(tmp_path)!r}]) == 0
assert page.getvalue().startswith("# SReT")
""") == []


def test_core_and_spec_import_neither_torch_nor_timm_and_a_rule_breaker_would_be_caught():
    """Nothing heavy after core and spec; then a measurement pulls torch in (the check can fail)."""
    after = _imported_by("""
import bench.core.cli, bench.core.io, bench.core.names, bench.core.schema, bench.core.git
import bench.core.stats, bench.core.ratios, bench.core.rows
import bench.spec.rounding, bench.spec.data_files, bench.spec.deviations, bench.spec.paper_values
import bench.spec.verdicts, bench.spec.text_claims, bench.spec.function_rule, bench.spec.data_folder
import bench.spec.baselines, bench.spec.official, bench.spec.unchecked
print(json.dumps(sorted(name for name in {heavy} if name in sys.modules)))
import bench.measure.timing
""".replace("{heavy}", repr(HEAVY)))
    assert {"torch", "bench.measure"} <= set(after)


def test_the_speed_gate_compares_results_without_torch():
    """bench.compare reads results JSON only: a CI job gating speed loads no model (only --json does)."""
    results = str(DATA / "throughput-cpu.json")
    assert _imported_by(f"""
from bench.gate import speed_gate
with contextlib.redirect_stdout(io.StringIO()):
    assert speed_gate.main([{results!r}, {results!r}]) == 0
""") == ["bench.gate"]  # the gate package itself, nothing heavier


def test_judging_a_recorded_verify_run_imports_no_measuring_library():
    """bench.verify --judge reads a results file and expected/: no torch, timm, fvcore or thop, no model."""
    recorded = str(DATA / "verify-sret_t.json")
    assert _imported_by(f"""
from bench import verify
from bench.core.cli import run
with contextlib.redirect_stdout(io.StringIO()) as printed:
    assert run(verify.main, ["--judge", {recorded!r}]) == 0
assert "verdict:" in printed.getvalue()
""") == ["bench.gate"]


def test_a_tags_architecture_is_what_timm_splits_off():
    tags = timm.list_pretrained("sret_*") + ["deit_tiny_patch16_224.fb_in1k", "sret_ext", "sret_t"]
    for tag in tags:
        assert architecture(tag) == timm.models.split_model_name_tag(tag)[0], tag
