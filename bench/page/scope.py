"""The report's "What was checked" section: the evidence behind the verdict, the sources, and the
claims of the paper the suite does not check, each with why, so silence is never read as agreement.

The unchecked claims are data (``expected/unchecked_claims.csv``): the paper's words, whether
they are quoted verbatim or paraphrased, where they stand (section, arXiv version) and why the
suite cannot check them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.page import evidence
from bench.spec.expected import EXPECTED_DIR, ExpectedError, _read_csv
from bench.page.markdown import table

DEFAULT_UNCHECKED = EXPECTED_DIR / "unchecked_claims.csv"
UNCHECKED_COLUMNS = ("claim_id", "quote", "wording", "section", "arxiv_version", "reason")
WORDINGS = ("verbatim", "paraphrase")
PAPER_URL = "https://arxiv.org/abs/2111.05297"
README_URL = "https://github.com/szq0214/SReT"

# How a reader finds each kind of source the figures and claims name.
SOURCES = (
    ("Papers with Code", "the results table of the paper \"Sliced Recursive Transformer\" on Papers with Code, "
                         "task Image Classification, dataset ImageNet, metric \"GFLOPs\" (GMACs); each figure names its row "
                         "as listed there (e.g. `SReT-S (384 res, ImageNet-1K only)`)"),
    ("official README", f"the README of the authors' code release, {README_URL}: its pre-trained model table "
                        "(columns FLOPs, #params, accuracy); each figure names its row (e.g. `SReT_LT [8-4-1,2-1-1]`)"),
    ("paper text", f"the paper on arXiv, {PAPER_URL} (version and section named with each claim; the abstract "
                   "quoted is that of v3)"),
)


@dataclass(frozen=True)
class UncheckedClaim:
    """A claim of the paper that no measurement here tests, and why."""

    claim_id: str
    quote: str
    wording: str  # "verbatim" or "paraphrase"
    section: str
    arxiv_version: str
    reason: str

    @property
    def place(self) -> str:
        return f"arXiv 2111.05297{self.arxiv_version}, {self.section}"


def load_unchecked_claims(path: str | Path = DEFAULT_UNCHECKED) -> list[UncheckedClaim]:
    """The rows of ``unchecked_claims.csv``, validated; an error names file, line and column."""
    path = Path(path)
    claims, seen = [], set()
    for line, row in _read_csv(path, UNCHECKED_COLUMNS, "unchecked claims"):
        def fail(column: str, problem: str) -> ExpectedError:
            return ExpectedError(f"{path}, line {line}, column '{column}': {problem}")

        for column in UNCHECKED_COLUMNS:
            if not row[column]:
                raise fail(column, "must not be empty")
        if row["wording"] not in WORDINGS:
            raise fail("wording", f"{row['wording']!r} is not one of {', '.join(WORDINGS)}")
        if not (row["arxiv_version"].startswith("v") and row["arxiv_version"][1:].isdigit()):
            raise fail("arxiv_version", f"{row['arxiv_version']!r} is not an arXiv version such as 'v3'")
        if row["claim_id"] in seen:
            raise fail("claim_id", f"duplicate claim {row['claim_id']!r}")
        seen.add(row["claim_id"])
        claims.append(UncheckedClaim(**row))
    if not claims:
        raise ExpectedError(f"{path}: no claims (only a header)")
    return claims


def _quoted(claim: UncheckedClaim) -> str:
    return f"\"{claim.quote}\"" if claim.wording == "verbatim" else f"(paraphrase) {claim.quote}"


def unchecked_section(claims: list[UncheckedClaim]) -> list[str]:
    rows = [[_quoted(claim), claim.place, claim.reason] for claim in claims]
    return ["### Claims of the paper this suite does not check", "",
            table(rows, ["claim", "where", "why it is not checked"]), "",
            "Quotes in quotation marks are verbatim; the others say \"(paraphrase)\". The list is kept in "
            "[expected/unchecked_claims.csv](../expected/unchecked_claims.csv).", ""]


def sources_section() -> list[str]:
    rows = [[name, how] for name, how in SOURCES]
    return ["### Where each figure comes from", "", table(rows, ["source", "how to find the row"]), "",
            "Every figure's row and every claim's place are in the `source` column of its table below, and in "
            "[expected/paper_values.csv](../expected/paper_values.csv) and "
            "[expected/claims.csv](../expected/claims.csv).", ""]


def scope_section(verify: dict[str, Any], unchecked: list[UncheckedClaim] | None = None) -> list[str]:
    """What was checked: figures and measurements per status, the sources, what was not checked."""
    unchecked = load_unchecked_claims() if unchecked is None else unchecked
    return ["## What was checked", "", *evidence.evidence_table(verify), *sources_section(),
            *unchecked_section(unchecked)]
