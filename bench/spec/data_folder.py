"""Everything the gate checks against, read from one paper's folder and validated before anything is
measured: the published figures (``paper_values.csv``, the one required file), and, where the folder
has them, the known deviations, the weights behind each training setting, the baselines' parameter
counts, the text claims, the unchecked claims and the official function recordings.

A paper is a folder: SReT's is ``expected/``, any other ``papers/<name>/`` (:func:`paper_folder`),
each read the same way, so checking another paper's table is data, not code.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Collection

from bench.core.cli import unknown_name
from bench.spec.baselines import DEFAULT_BASELINES, Baseline, load_baselines, param_figures
from bench.spec.data_files import EXPECTED_DIR, PAPERS_DIR, ExpectedError
from bench.spec.deviations import DEFAULT_DEVIATIONS, Deviation, DeviationKey, load_deviations
from bench.spec.official import FUNCTION_DIR_NAME, OfficialFunction, load_official_function
from bench.spec.paper_values import DEFAULT, ExpectedFigure, load_expected
from bench.spec.text_claims import CLAIM_KINDS, DEFAULT_CLAIMS, Claim, load_claims
from bench.spec.unchecked import DEFAULT_UNCHECKED, UncheckedClaim, load_unchecked_claims
from bench.spec.weights import WEIGHTS_FILE, Weights, load_weights

__all__ = ["DEFAULT_PAPER", "DataFolder", "known_papers", "load_data_folder", "paper_folder"]

DEFAULT_PAPER = "sret"  # the suite's own paper, whose folder is expected/


@dataclass
class DataFolder:
    """Everything the gate checks against, from one folder."""

    figures: list[ExpectedFigure]  # the published figures, then the baselines' parameter counts
    claims: list[Claim]
    deviations: dict[DeviationKey, Deviation]
    baselines: list[Baseline]
    function: OfficialFunction | None  # what the official code computes for each released row; None: not recorded
    weights: list[Weights] = field(default_factory=list)
    unchecked: list[UncheckedClaim] = field(default_factory=list)
    path: Path = EXPECTED_DIR
    title: str = ""  # the first heading of the folder's README.md, if it has one


def known_papers() -> list[str]:
    """``sret`` and every folder under ``papers/`` that holds a figures file."""
    found = sorted(p.name for p in PAPERS_DIR.glob("*") if (p / DEFAULT.name).is_file()) if PAPERS_DIR.is_dir() else []
    return [DEFAULT_PAPER, *(name for name in found if name != DEFAULT_PAPER)]


def paper_folder(name: str) -> Path:
    """The folder of paper ``name``: ``expected/`` for SReT, else ``papers/<name>/``; an unknown name
    is a usage error listing the known ones."""
    if name == DEFAULT_PAPER:
        return EXPECTED_DIR
    if name not in known_papers():
        raise unknown_name("paper", name, known_papers(), list_known=True)
    return PAPERS_DIR / name


def _title(folder: Path) -> str:
    readme = folder / "README.md"
    if not readme.is_file():
        return ""
    lines = readme.read_text(encoding="utf-8").splitlines()
    return next((line[2:].strip() for line in lines if line.startswith("# ")), "")


def _with_weights(figures: list[ExpectedFigure], weights: list[Weights]) -> list[ExpectedFigure]:
    """Each top-1 figure with the weights it is about: its setting's row of ``weights.csv``, or, for a
    figure about a pretrained tag, the row naming that tag (for timm's top-1 beside it). A row of
    ``weights.csv`` that no top-1 figure uses is an error (a typo would otherwise pass silently)."""
    by_setting = {(w.model, w.setting): w for w in weights}
    by_tag = {w.tag: w for w in weights if w.tag}
    used: set[Weights] = set()
    out = []
    for figure in figures:
        found = None
        if figure.metric == "top1":
            found = by_tag.get(figure.model) if figure.is_pretrained and not figure.setting else \
                by_setting.get((figure.model, figure.setting))
        if found is not None:
            used.add(found)
            figure = replace(figure, weights=found)
        out.append(figure)
    for row in weights:
        if row not in used:
            raise ExpectedError(f"{row.where}, column 'setting': no top-1 figure of paper_values.csv is about "
                                f"{row.model} {row.setting}" + (f" or {row.tag}" if row.tag else ""))
    return out


def load_data_folder(folder: str | Path = EXPECTED_DIR, claim_kinds: Collection[str] = CLAIM_KINDS) -> DataFolder:
    """The figures of ``folder`` and whichever of its optional files it has, all validated.

    ``claim_kinds``: the checks the gate knows; a claim of another kind is a load error.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ExpectedError(f"paper folder {folder} does not exist")
    if not (folder / DEFAULT.name).is_file():
        raise ExpectedError(f"paper folder {folder} has no {DEFAULT.name}, the figures file every paper folder "
                            "needs (expected/README.md describes it)")

    def optional(name: str, load, empty):
        return load(folder / name) if (folder / name).exists() else empty

    deviations = optional(DEFAULT_DEVIATIONS.name, load_deviations, {})
    figures = load_expected(folder / DEFAULT.name, deviations)
    weights = optional(WEIGHTS_FILE, load_weights, [])
    figures = _with_weights(figures, weights)
    baselines = optional(DEFAULT_BASELINES.name, lambda p: load_baselines(p, deviations), [])
    claims = optional(DEFAULT_CLAIMS.name, lambda p: load_claims(p, claim_kinds), [])
    return DataFolder(figures + param_figures(baselines), claims, deviations, baselines,
                      optional(FUNCTION_DIR_NAME, load_official_function, None),
                      weights=weights,
                      unchecked=optional(DEFAULT_UNCHECKED.name, load_unchecked_claims, []),
                      path=folder, title=_title(folder))
