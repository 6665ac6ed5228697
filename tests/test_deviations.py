"""Known deviations (``bench.spec.deviations``): parsing ``deviations.md``, one-line errors for bad
entries, and every shipped explanation belonging to a marked row or a claim."""
from __future__ import annotations

import pytest

from _expected_files import one_line_error, write
from bench.spec.deviations import DEFAULT_DEVIATIONS, Deviation, load_deviations
from bench.spec.paper_values import load_expected
from bench.spec.text_claims import DEFAULT_CLAIMS, load_claims


def test_every_shipped_deviation_explains_a_marked_row_or_a_claim():
    figures = load_expected()
    marked = {f.key for f in figures if f.status_override == "known-deviation"}
    claims = {("claim", c.claim_id) for c in load_claims(DEFAULT_CLAIMS)}
    assert set(load_deviations(DEFAULT_DEVIATIONS)) <= marked | claims
    assert marked <= set(load_deviations(DEFAULT_DEVIATIONS))


@pytest.mark.parametrize("text, words", [
    ("## sret_t 224\n\nMeasured: 1.2\n\nwhy\n", "is not '## <model> <img_size> <metric>'"),
    ("## sret_t 224 flops\n\nMeasured: 1.2\n\nwhy\n", "is not '## <model> <img_size> <metric>'"),
    ("## sret_t 224 gmacs\n\n## sret_s 224 gmacs\nMeasured: 1.2\nwhy\n",
     "line 1: heading '## sret_t 224 gmacs' has no explanation"),
    ("## sret_t 224 gmacs\nMeasured: 1.2\nwhy\n## sret_t 224 gmacs\nagain\n",
     "line 4: second explanation for sret_t 224 gmacs"),
    # the recorded measurement: missing, unprinted, or with nothing explained under it
    ("# Deviations\n\n## sret_t 224 gmacs\n\nThe counter differs.\n",
     "line 5: entry '## sret_t 224 gmacs' records no measured value: its first line must be 'Measured: "),
    ("## claim deep\n\nMeasured 9.565\n\nwhy\n", "line 3: entry '## claim deep' records no measured value"),
    ("## sret_t 224 gmacs\n\nMeasured: 1.2G\n\nwhy\n", "line 3: entry '## sret_t 224 gmacs': recorded value '1.2G' is not a plain decimal"),
    ("## sret_t 224 gmacs\n\nMeasured: 1.2\n\n## sret_s 224 gmacs\n",
     "line 1: heading '## sret_t 224 gmacs' has no explanation under its measured value"),
])
def test_bad_deviations(tmp_path, text, words):
    assert words in one_line_error(write(tmp_path, text, "deviations.md"), load_deviations)


def test_deviations_parse(tmp_path):
    path = write(tmp_path, "# Header\n\n## sret_t 224 gmacs\n\nMeasured: 1.200\n\nOne.\n\nTwo.\n\n"
                            "## sret_s.in1k 224 top1\nMeasured:81\nThree.\n"
                            "## claim deep\n\nMeasured: 9.565\nFour.\n", "deviations.md")
    assert load_deviations(path) == {
        ("sret_t", 224, "gmacs"): Deviation("1.200", "One.\n\nTwo."),
        ("sret_s.in1k", 224, "top1"): Deviation("81", "Three."),
        ("claim", "deep"): Deviation("9.565", "Four.")}




def test_an_explanation_covers_the_value_it_records_by_the_rounding_rule():
    recorded = Deviation("21.091", "why")  # [21.0905, 21.0915)
    assert recorded.covers(21.091212) and recorded.covers(21.0905)
    assert not recorded.covers(21.0915) and not recorded.covers(21.191212)
