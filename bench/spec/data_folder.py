"""Everything the gate checks against, read from one folder and validated before anything is measured:
the published figures (``paper_values.csv``), the baselines' parameter counts, the text claims,
the known deviations and the official function recordings."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Collection

from bench.spec.baselines import DEFAULT_BASELINES, Baseline, load_baselines, param_figures
from bench.spec.data_files import EXPECTED_DIR
from bench.spec.deviations import DEFAULT_DEVIATIONS, Deviation, DeviationKey, load_deviations
from bench.spec.official import FUNCTION_DIR_NAME, OfficialFunction, load_official_function
from bench.spec.paper_values import DEFAULT, ExpectedFigure, load_expected
from bench.spec.text_claims import DEFAULT_CLAIMS, Claim, load_claims

__all__ = ["DataFolder", "load_data_folder"]


@dataclass
class DataFolder:
    """Everything the gate checks against, from one folder."""

    figures: list[ExpectedFigure]  # the published figures, then the baselines' parameter counts
    claims: list[Claim]
    deviations: dict[DeviationKey, Deviation]
    baselines: list[Baseline]
    function: OfficialFunction  # what the official code computes for each released row


def load_data_folder(folder: str | Path = EXPECTED_DIR, claim_ids: Collection[str] | None = None) -> DataFolder:
    """The published figures, claims, deviations, baselines and official function recordings of ``folder``.

    ``claim_ids``: the claims the code can measure (a claim of another id is a load error); None
    when judging recorded measurements, where a claim nothing measured is "not-measured".
    """
    folder = Path(folder)
    deviations = load_deviations(folder / DEFAULT_DEVIATIONS.name)
    figures = load_expected(folder / DEFAULT.name, deviations)
    baselines = load_baselines(folder / DEFAULT_BASELINES.name, deviations)
    return DataFolder(figures + param_figures(baselines), load_claims(folder / DEFAULT_CLAIMS.name, claim_ids),
                      deviations, baselines, load_official_function(folder / FUNCTION_DIR_NAME))
