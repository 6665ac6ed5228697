"""bench.page.scope: the claims the suite does not check are data, validated like the rest of expected/, and
each names a claim id of claims.csv when it says a part is checked."""
from __future__ import annotations

import re

import pytest

from bench.page import scope
from bench.page.section import render
from bench.spec import unchecked
from bench.spec.data_files import ExpectedError
from bench.spec.text_claims import load_claims

HEADER = ",".join(unchecked.UNCHECKED_COLUMNS) + "\n"


def test_the_committed_list_loads_and_names_real_checked_claims():
    claims = unchecked.load_unchecked_claims()
    assert len(claims) >= 5 and {c.wording for c in claims} <= {"verbatim", "paraphrase"}
    assert any("~2%" in c.quote and "gain" in c.quote for c in claims)  # the issue's own example
    checked = {claim.claim_id for claim in load_claims()}
    for claim in claims:
        assert claim.place.startswith("arXiv 2111.05297v")
        for named in re.findall(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b", claim.reason):  # snake_case names
            assert named in checked, (claim.claim_id, named)


def test_the_page_quotes_verbatim_and_marks_paraphrase():
    claims = [unchecked.UncheckedClaim("a", "exact words", "verbatim", "Abstract", "v3", "why a"),
              unchecked.UncheckedClaim("b", "in other words", "paraphrase", "Sec. 4", "v1", "why b")]
    text = "\n".join(render(scope.unchecked_section(claims), {}))
    assert '| "exact words" ' in text and "| arXiv 2111.05297v3, Abstract " in text
    assert "| (paraphrase) in other words " in text and '"in other words"' not in text


@pytest.mark.parametrize("row, column", [
    ("a,q,quoted,Abstract,v3,r\n", "wording"),
    ("a,q,verbatim,Abstract,3,r\n", "arxiv_version"),
    ("a,q,verbatim,,v3,r\n", "section"),
    ("a,q,verbatim,Abstract,v3,r\na,q,verbatim,Abstract,v3,r\n", "claim_id"),
])
def test_a_malformed_row_is_one_error_naming_file_line_and_column(tmp_path, row, column):
    path = tmp_path / "unchecked_claims.csv"
    path.write_text(HEADER + row)
    with pytest.raises(ExpectedError, match=rf"unchecked_claims.csv, line \d, column '{column}'"):
        unchecked.load_unchecked_claims(path)
