"""The commands ``python -m bench.X`` (bench/X.py): each runs the ``main`` of the module its docstring names,
and runs as ``__main__``, printing its usage for ``--help``."""
from __future__ import annotations

import contextlib
import importlib
import io
import re
import runpy
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
COMMANDS = sorted(path.stem for path in BENCH.glob("*.py") if path.stem != "__init__")


def test_the_commands_are_the_ones_readme_lists_as_python_m():
    readme = (BENCH.parent / "README.md").read_text(encoding="utf-8")
    assert COMMANDS and all(f"python -m bench.{name}" in readme for name in COMMANDS), COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_runs_the_main_its_docstring_names_and_prints_its_usage(name, monkeypatch):
    entry = importlib.import_module(f"bench.{name}")
    first_line = entry.__doc__.splitlines()[0]
    assert first_line.startswith(f"`python -m bench.{name}"), first_line
    named = re.findall(r"\(`(bench\.[a-z0-9_.]+)`\)", first_line)
    assert len(named) == 1, first_line  # says what it runs, once
    assert entry.main is importlib.import_module(named[0]).main

    monkeypatch.setattr(sys, "argv", [f"bench/{name}.py", "--help"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        runpy.run_path(str(BENCH / f"{name}.py"), run_name="__main__")
    assert exited.value.code == 0 and out.getvalue().startswith("usage:"), out.getvalue()[:200]
