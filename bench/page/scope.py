"""The report's "What was checked" section: the evidence behind the verdict, the sources, and the
claims of the paper the suite does not check, each with why, so silence is never read as agreement.

The unchecked claims are data (``expected/unchecked_claims.csv``, ``bench.spec.unchecked``).
"""
from __future__ import annotations

from bench.page import evidence
from bench.page.results import Results
from bench.page.section import Section, Table
from bench.spec.unchecked import UncheckedClaim, load_unchecked_claims

SCOPE = "scope"

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


def _quoted(claim: UncheckedClaim) -> str:
    return f"\"{claim.quote}\"" if claim.wording == "verbatim" else f"(paraphrase) {claim.quote}"


def unchecked_section(claims: list[UncheckedClaim]) -> Section:
    rows = [[_quoted(claim), claim.place, claim.reason] for claim in claims]
    return Section("Claims of the paper this suite does not check", [
        Table(rows, ["claim", "where", "why it is not checked"]),
        "Quotes in quotation marks are verbatim; the others say \"(paraphrase)\". The list is kept in "
        "[expected/unchecked_claims.csv](../expected/unchecked_claims.csv)."], level=3)


def sources_section() -> Section:
    return Section("Where each figure comes from", [
        "\n".join(f"- **{name}**: {how}." for name, how in SOURCES),
        "Every figure's row and every claim's place are in the `source` column of its table below, and in "
        "[expected/paper_values.csv](../expected/paper_values.csv) and "
        "[expected/claims.csv](../expected/claims.csv)."], level=3)


def scope_section(results: Results, unchecked: list[UncheckedClaim] | None = None) -> list[Section]:
    """What was checked: what a measurement is (the verdict counts them), the sources, what was not checked."""
    unchecked = load_unchecked_claims() if unchecked is None else unchecked
    return [Section("What was checked", [evidence.MEASUREMENT_WORDS, sources_section(), unchecked_section(unchecked)],
                    key=SCOPE)]
