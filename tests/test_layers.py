"""The layers' import rule, held: the page renders from results JSON without torch or timm, and the
schema, CLI and published-data layers (core, spec) import neither, nor does the speed gate
(bench.compare) nor the paper gate judging a recorded run (bench.verify --judge); names agree with timm's."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
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


def test_rendering_both_pages_imports_neither_torch_nor_timm(tmp_path):
    files = [str(DATA / name) for name in ("verify.json", "throughput-cpu.json", "synthetic-throughput-gpu.json",
                                           "model_speed-cpu.json", "accuracy-subset.json")]
    assert _imported_by(f"""
from bench.page import pages
for name, title in (("verdict", "# SReT (arXiv"), ("speed", "# SReT speed")):
    with contextlib.redirect_stdout(io.StringIO()) as page:
        assert pages.main(["--results", *{files!r}, "--plots", {str(tmp_path)!r}, "--page", name]) == 0
    assert page.getvalue().startswith(title)
    assert "## Throughput on" in page.getvalue() or name == "verdict"
""") == []


@pytest.mark.slow
def test_core_and_spec_import_neither_torch_nor_timm_and_a_rule_breaker_would_be_caught():
    """Nothing heavy after core and spec; then a measurement pulls torch in (the check can fail)."""
    after = _imported_by("""
import bench.core.cli, bench.core.io, bench.core.names, bench.core.schema, bench.core.git
import bench.core.stats, bench.core.ratios, bench.core.rows
import bench.spec.rounding, bench.spec.data_files, bench.spec.deviations, bench.spec.paper_values
import bench.spec.verdicts, bench.spec.text_claims, bench.spec.function_rule, bench.spec.data_folder
import bench.spec.baselines, bench.spec.official, bench.spec.unchecked, bench.spec.weights
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


# --- the import rules of docs/DESIGN.md, read from its table --------------------------------------

GOVERNED = ("bench", "sret", "torch", "timm", "fvcore", "thop")  # what the table's cells may name


def _design_rules() -> dict[str, tuple[set[str], set[str]]]:
    """docs/DESIGN.md's "What may import what" table: layer -> (at module level, in a function only)."""
    text = (REPO / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    section = text.split("## What may import what", 1)[1].split("\n## ", 1)[0]
    rules = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`bench."):
            top, lazy = ({name.strip(" `") for name in cell.split(",") if name.strip()} for cell in cells[1:])
            rules[cells[0].strip("`")] = (top, lazy)
    return rules


def _governed_imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, what it imports as a layer or package, at module level?) for each governed import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module_level = {id(node) for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                    and not any(isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef))
                                and any(child is node for child in ast.walk(parent)) for parent in ast.walk(tree))}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "bench" else [f"bench.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] in GOVERNED:
                found.append((node.lineno, ".".join(parts[:2]) if parts[0] == "bench" else parts[0],
                              id(node) in module_level))
    return found


def _breaches(rules: dict[str, tuple[set[str], set[str]]]) -> list[str]:
    breaches = []
    for path in sorted((REPO / "bench").glob("*/*.py")):
        layer = f"bench.{path.parent.name}"
        top, lazy = rules[layer]
        for line, imported, at_module_level in _governed_imports(path):
            allowed = {layer} | top | (set() if at_module_level else lazy)
            if imported not in allowed:
                where = "at module level" if at_module_level else "in a function"
                breaches.append(f"{path.relative_to(REPO)}:{line} imports {imported} {where}")
    return breaches


def test_every_import_under_bench_follows_the_table_in_docs_design():
    rules = _design_rules()
    assert set(rules) == {f"bench.{p.name}" for p in (REPO / "bench").iterdir() if (p / "__init__.py").is_file()}
    assert _breaches(rules) == []


@pytest.mark.slow
def test_the_design_check_would_catch_a_page_that_imports_torch():
    """The check can fail: with torch allowed nowhere but measure, the measuring layer's own imports breach
    a table that forbids them, and a layer's lazy imports breach a table that allows them at module level only."""
    rules = _design_rules()
    rules["bench.measure"] = (rules["bench.page"][0], set())
    assert any("imports torch" in breach for breach in _breaches(rules))
