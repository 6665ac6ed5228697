"""The claims of the paper the suite does not check, as data (``expected/unchecked_claims.csv``).

So that silence is never read as agreement: the paper's words, whether they are quoted verbatim
or paraphrased, where they stand (section, arXiv version) and why the suite cannot check them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.spec.data_files import EXPECTED_DIR, ExpectedError, read_rows

DEFAULT_UNCHECKED = EXPECTED_DIR / "unchecked_claims.csv"
UNCHECKED_COLUMNS = ("claim_id", "quote", "wording", "section", "arxiv_version", "reason")
WORDINGS = ("verbatim", "paraphrase")


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
    for line, row, fail in read_rows(path, UNCHECKED_COLUMNS, "unchecked claims"):
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


