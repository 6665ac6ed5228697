"""Tests of ``expected/`` and ``bench/expected.py``: the rounding rule, statuses, the files
against the independent ``PAPER_VALUES.md``, and one-line errors for bad files."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from bench.spec.expected import (
    DEFAULT, DEFAULT_CLAIMS, DEFAULT_DEVIATIONS, METRICS, Claim, Deviation, ExpectedError,
    ExpectedFigure, Verdict, agrees, interval, load_claims, load_deviations, load_expected, status,
)
from bench.core.io import ResultsError

PAPER_VALUES = Path(__file__).resolve().parent / "fixtures" / "PAPER_VALUES.md"
HEADER = "model,img_size,metric,published,source,note,status_override\n"
GOOD_ROW = "sret_t,224,gmacs,1.1,Papers with Code: SReT-T,,\n"

# README row name (as printed) -> pretrained tag and image size: the naming contract.
README_TAGS = {
    "SReT_⋇T": ("sret_t_wo_slice.in1k", 224),
    "SReT_T": ("sret_t.in1k", 224),
    "SReT_⋇LT": ("sret_lt_wo_slice.in1k", 224),
    "SReT_LT [8-4-1,2-1-1]": ("sret_lt.in1k", 224),
    "SReT_LT [16-14-1,1-1-1]": ("sret_lt_g16_14_1.in1k", 224),
    "SReT_⋇S": ("sret_s_wo_slice.in1k", 224),
    "SReT_S": ("sret_s.in1k", 224),
    "SReT_⋇T_Distill": ("sret_t_wo_slice.distill_in1k", 224),
    "SReT_T_Distill": ("sret_t.distill_in1k", 224),
    "SReT_⋇LT_Distill": ("sret_lt_wo_slice.distill_in1k", 224),
    "SReT_LT_Distill": ("sret_lt.distill_in1k", 224),
    "SReT_⋇T_Distill_Finetune384": ("sret_t_wo_slice_384.distill_in1k", 384),
    "SReT_⋇S_Distill_Finetune384": ("sret_s_wo_slice_384.distill_in1k", 384),
    "SReT_⋇S_Distill_Finetune512": ("sret_s_wo_slice_512.distill_in1k", 512),
}
PWC_MODELS = {
    "SReT-ExT": ("sret_ext", 224),
    "SReT-T": ("sret_t", 224),
    "SReT-S (384 res, ImageNet-1K only)": ("sret_s_wo_slice_384", 384),
    "SReT-S (512 res, ImageNet-1K only)": ("sret_s_wo_slice_512", 512),
}


def figure(published: str, override: str = "", deviation: Deviation | None = None) -> ExpectedFigure:
    return ExpectedFigure("sret_t", 224, "gmacs", published, "hand-made", "", override, deviation)


# --- the rounding rule ----------------------------------------------------------------

@pytest.mark.parametrize("measured, published, expected", [
    (1.0999, "1.1", True), (1.15, "1.1", False), (1.05, "1.1", True), (1.0499, "1.1", False),
    (1.1, "1.1", True), (1.149999, "1.1", True),
    (75.95, "76.0", True), (76.05, "76.0", False), (76.0, "76.0", True), (75.9499, "76.0", False),
    (42.75, "42.8", True), (42.85, "42.8", False), (42.8499, "42.8", True), (42.7499, "42.8", False),
    (0.649, "0.7", False), (0.65, "0.7", True), (0.7499, "0.7", True), (0.75, "0.7", False),
    (4.75, "4.8", True), (4.85, "4.8", False), (18.45, "18.5", True), (18.55, "18.5", False),
    (20.85, "20.9", True), (20.95, "20.9", False),
    (76, "76", True), (76.5, "76", False), (75.5, "76", True),
    (1.12, "1.12", True), (1.125, "1.12", False), (1.115, "1.12", True),
    (Decimal("1.15"), "1.1", False), (Decimal("1.05"), "1.1", True),
])
def test_rounding_rule(measured, published, expected):
    assert agrees(measured, published) is expected


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_never_agrees(bad):
    assert not agrees(bad, "1.1")


@pytest.mark.parametrize("published, low, high", [
    ("1.1", 1.05, 1.15), ("76.0", 75.95, 76.05), ("42.8", 42.75, 42.85), ("0.7", 0.65, 0.75),
    ("4.8", 4.75, 4.85), ("18.5", 18.45, 18.55), ("20.9", 20.85, 20.95), ("76", 75.5, 76.5),
])
def test_interval(published, low, high):
    assert interval(published) == (low, high)


@pytest.mark.parametrize("bad", ["", "1.1G", "abc", "1e3", "nan", "1.", ".5", "1,1"])
def test_rounding_rule_rejects_unprinted_numbers(bad):
    with pytest.raises(ValueError):
        agrees(1.0, bad)


def test_precision_properties():
    assert (figure("76.0").published, figure("76.0").decimals) == (76.0, 1)
    assert (figure("42.8").decimals, figure("76").decimals, figure("1.12").decimals) == (1, 0, 2)


# --- statuses -------------------------------------------------------------------------

def test_status_pass_and_fail():
    passed = status(figure("1.1"), 1.12, None)
    assert (passed.status, passed.deviation, passed.stale_deviation) == ("pass", None, False)
    failed = status(figure("1.1"), 1.15, None)
    assert failed.status == "fail" and "1.15" in failed.comparison and "[1.05, 1.15)" in failed.comparison


def test_status_not_measured_keeps_reason():
    assert status(figure("76.0"), None, "checkpoint absent") == Verdict("not-measured", "checkpoint absent")
    assert status(figure("76.0"), None, None).status == "not-measured"


def test_status_non_finite_is_a_failure():
    assert status(figure("1.1"), float("nan"), None).status == "fail"


def test_known_deviation_reports_measured_value_and_explanation():
    marked = figure("0.7", "known-deviation", Deviation("0.62", "The ExT configuration\nwas never published."))
    verdict = status(marked, 0.62, None)
    assert verdict.status == "known-deviation" and "0.62" in verdict.comparison
    assert verdict.deviation == "The ExT configuration was never published."


def test_known_deviation_never_widens_but_stale_one_passes():
    marked = figure("0.7", "known-deviation", Deviation("0.62", "why"))
    verdict = status(marked, 0.70, None)
    assert verdict.status == "pass" and verdict.stale_deviation and verdict.deviation == "why"
    assert status(marked, None, "no model").status == "not-measured"


@pytest.mark.parametrize("measured, expected", [
    # "21.091" covers [21.0905, 21.0915): the count it was written for, 21,091,212 parameters, and
    # nothing a real change would give (100,000 parameters more: 21.191212).
    (21.091212, "known-deviation"), (21.0905, "known-deviation"), (21.09149, "known-deviation"),
    (21.0915, "fail"), (21.09049, "fail"), (21.191212, "fail"), (50.0, "fail"),
    (21.0, "pass"),  # agrees with the published figure: the deviation is stale
])
def test_an_explanation_covers_the_one_measurement_it_records(measured, expected):
    marked = ExpectedFigure("sret_s_wo_slice_384.distill_in1k", 384, "params_m", "21.0", "README", "",
                            "known-deviation", Deviation("21.091", "The README truncates."))
    verdict = status(marked, measured, None)
    assert verdict.status == expected
    if expected == "fail":
        assert "no longer matches the measurement" in verdict.comparison and verdict.deviation is None
        assert "explains measured 21.091" in verdict.comparison and f"measurement is {measured!r}" in verdict.comparison


# --- the files themselves, against PAPER_VALUES.md ------------------------------------

def _markdown_tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of ``text``, as rows of stripped cells (header row included)."""
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r"-+", cell) for cell in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


@pytest.fixture(scope="module")
def paper_tables():
    tables = _markdown_tables(PAPER_VALUES.read_text(encoding="utf-8"))
    pwc = next(t for t in tables if t[0] == ["model (as listed)", "GFLOPs"])
    readme = next(t for t in tables if t[0] == ["model", "FLOPs", "#params", "top-1"])
    return pwc[1:], readme[1:]


@pytest.fixture(scope="module")
def figures():
    return load_expected()


def test_papers_with_code_rows(figures, paper_tables):
    pwc_rows, _ = paper_tables
    rows = {f.key: f for f in figures if f.source.startswith("Papers with Code")}
    assert len(rows) == 4
    truth = {(*PWC_MODELS[name], "gmacs"): value for name, value in pwc_rows}
    assert {key: f.published_text for key, f in rows.items()} == truth
    assert sorted(f.published_text for f in rows.values()) == ["0.7", "1.1", "18.5", "42.8"]
    for key, f in rows.items():
        listed = next(name for name, model in PWC_MODELS.items() if (*model, "gmacs") == key)
        assert f.source.endswith(": " + listed)
    assert "reconstructed" in rows[("sret_ext", 224, "gmacs")].note


def test_readme_rows(figures, paper_tables):
    _, readme_rows = paper_tables
    rows = {f.key: f for f in figures if f.source.startswith("official README")}
    assert len(rows) == 42 and {f.model for f in rows.values()} == {t for t, _ in README_TAGS.values()}
    truth, units = {}, {"gmacs": "G", "params_m": "M", "top1": ""}
    for name, flops, params, top1 in readme_rows:
        tag, size = README_TAGS[name]
        for metric, printed in zip(METRICS, (flops, params, top1)):
            assert printed.endswith(units[metric]), printed
            truth[(tag, size, metric)] = printed[:len(printed) - len(units[metric])]
            assert rows[(tag, size, metric)].source.endswith(f"row {name}")
    assert {key: f.published_text for key, f in rows.items()} == truth


def test_every_row_is_one_of_the_two_sources(figures):
    assert len(figures) == 46
    assert all(f.source.startswith(("Papers with Code", "official README")) for f in figures)
    marked = [f for f in figures if f.status_override]
    assert all(f.status_override == "known-deviation" and f.deviation.explanation.strip() for f in marked)


def test_printed_precision_is_kept(figures):
    raw = DEFAULT.read_text(encoding="utf-8")
    by_key = {f.key: f for f in figures}
    assert by_key[("sret_t.in1k", 224, "top1")].published_text == "76.0"
    assert by_key[("sret_s_wo_slice.in1k", 224, "top1")].published_text == "82.0"
    assert by_key[("sret_lt.in1k", 224, "params_m")].published_text == "5.0"
    assert all(re.fullmatch(r"\d+\.\d", f.published_text) for f in figures)
    assert all(f.decimals == 1 for f in figures)
    assert ",76.0," in raw


def test_csv_reads_with_pandas_keeping_text():
    import pandas
    frame = pandas.read_csv(DEFAULT, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["model", "img_size", "metric", "published", "source", "note",
                                   "status_override"]
    assert "76.0" in set(frame["published"])


def test_every_shipped_deviation_explains_a_marked_row_or_a_claim(figures):
    marked = {f.key for f in figures if f.status_override == "known-deviation"}
    claims = {("claim", c.claim_id) for c in load_claims(DEFAULT_CLAIMS)}
    assert set(load_deviations(DEFAULT_DEVIATIONS)) <= marked | claims
    assert marked <= set(load_deviations(DEFAULT_DEVIATIONS))


def test_claims(paper_tables):
    claims = {c.claim_id: c for c in load_claims(DEFAULT_CLAIMS)}
    assert len(claims) == 4
    no_params, slicing, deep, thousand = claims.values()
    assert (no_params.low, no_params.high) == (0.0, 0.0)
    assert no_params.models == ("sret_t", "sret_lt", "sret_s")
    assert (slicing.low_text, slicing.high_text, slicing.unit) == ("10", "30", "% FLOPs reduction")
    assert slicing.models == ("sret_t", "sret_lt", "sret_s")
    # one sentence, checked in its two parts: more than 100, and even 1000 shared layers
    assert deep.claim == thousand.claim and "more than 100 or even 1000 shared layers" in deep.claim
    assert "'100' part" in deep.check and "'1000' part" in thousand.check
    for part in (deep, thousand):
        assert (part.low_text, part.high_text, part.unit) == ("13", "15", "M parameters")
    text = PAPER_VALUES.read_text(encoding="utf-8")
    assert "10-30%" in text and "13-15M" in text
    assert "more than 100 or even 1000 shared\n  layers at a compact size (13-15M parameters)" in text


@pytest.mark.parametrize("measured, expected", [
    (12.49, False), (12.5, True), (14.0, True), (15.49, True), (15.5, False),
])
def test_claim_range_follows_rounding_rule(measured, expected):
    claim = Claim("deep", "c", "s", "k", (), "13", "15", "M parameters")
    assert claim.agrees(measured) is expected
    assert not Claim("x", "c", "s", "k").agrees(1.0)


SLICING = Claim("slicing", "cuts 10-30%", "s", "k", ("a", "b", "c"), "10", "30", "% FLOPs reduction")


@pytest.mark.parametrize("values, expected, shown", [
    ([18.4, 17.7, 10.6], "pass", 10.6),  # all in [9.5, 30.5); the one nearest an end is shown
    ([18.4, 35.0, 10.6], "fail", 35.0),  # the claim is checked whole: one model out fails it
    ([9.4, 35.0, 18.4], "fail", 35.0),   # the one farthest out is shown (4.5 above vs 0.1 below)
    ([30.5, 18.4], "fail", 30.5),        # 30.5 rounds to 31
    ([30.49, 9.5], "pass", 9.5),
])
def test_a_claim_holds_only_when_every_value_does(values, expected, shown):
    verdict, value = SLICING.judge(values)
    assert (verdict.status, value) == (expected, shown)
    if expected == "fail":
        assert "[9.5, 30.5)" in verdict.comparison


def test_a_claim_fails_on_an_unmet_condition_even_inside_its_range():
    verdict, value = Claim("no_params", "c", "s", "k", (), "0", "0", "parameters added").judge(
        [0, 0], unmet=["sret_t: depth does not grow (10 -> 10 block applications)"])
    assert (verdict.status, value) == ("fail", 0) and "depth does not grow" in verdict.comparison


def test_a_claim_deviation_covers_its_one_recorded_measurement():
    deep = Claim("deep", "c", "s", "k", (), "13", "15", "M parameters")
    explained = Deviation("9.565", "Our construction is narrower.")
    assert deep.judge([9.564883], deviation=explained)[0].status == "known-deviation"
    verdict, _ = deep.judge([9.664883], deviation=explained)  # 100,000 parameters more
    assert verdict.status == "fail" and "no longer matches" in verdict.comparison
    assert "9.565" in verdict.comparison and "9.664883" in verdict.comparison
    verdict, _ = deep.judge([14.0], deviation=explained)
    assert verdict.status == "pass" and verdict.stale_deviation
    assert deep.judge([9.564883])[0].status == "fail"  # no explanation
    # one explanation never covers a second value outside the range, nor an unmet condition
    assert SLICING.judge([35.0, 18.4, 5.0], deviation=Deviation("35.0", "why"))[0].status == "fail"
    assert SLICING.judge([35.0, 18.4], ["b: FLOPs do not grow"], Deviation("35.0", "why"))[0].status == "fail"
    assert SLICING.judge([35.0, 18.4], deviation=Deviation("35.0", "why"))[0].status == "known-deviation"


def test_a_claim_without_a_measurement_in_the_code_is_a_load_error(tmp_path):
    path = _write(tmp_path, CLAIM_HEADER + "a,c,s,k,sret_t,0,0,parameters added\n"
                                           "typo_claim,c,s,k,,1,2,%\n", "claims.csv")
    message = _one_line_error(path, lambda p: load_claims(p, measured_ids={"a", "b"}))
    assert "line 3, column 'claim_id'" in message and "'typo_claim'" in message
    assert "known: a, b" in message
    assert [c.claim_id for c in load_claims(path)] == ["a", "typo_claim"]  # without the check it loads


# --- bad files: one-line errors naming file, line and column --------------------------

def _write(tmp_path: Path, text: str, name: str = "paper_values.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _one_line_error(path: Path, loader=load_expected) -> str:
    with pytest.raises(ExpectedError) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert isinstance(info.value, ResultsError)
    return message


@pytest.mark.parametrize("row, line_column, words", [
    ("sret_t,224,flops,1.1,src,,\n", "line 3, column 'metric'", "unknown metric 'flops'"),
    ("sret_t,224,gmacs,1.1G,src,,\n", "line 3, column 'published'", "'1.1G'"),
    ("sret_t,224,gmacs,,src,,\n", "line 3, column 'published'", "''"),
    ("sret_t,224,gmacs,1.1,src,,\n", "line 3, column 'model'", "duplicate figure sret_t 224 gmacs"),
    ("sret_t,big,gmacs,1.1,src,,\n", "line 3, column 'img_size'", "'big'"),
    ("SReT T,224,gmacs,1.1,src,,\n", "line 3, column 'model'", "'SReT T'"),
    ("sret_s,224,gmacs,4.2,,,\n", "line 3, column 'source'", "source"),
    ("sret_s,224,gmacs,4.2,src,,maybe\n", "line 3, column 'status_override'", "'maybe'"),
    ("sret_s,224,gmacs,4.2,src,,known-deviation\n", "line 3, column 'status_override'",
     "## sret_s 224 gmacs"),
    ("sret_s,224,gmacs,4.2,src\n", "line 3", "expected 7 fields"),
])
def test_bad_rows(tmp_path, row, line_column, words):
    _write(tmp_path, "# Known deviations\n", "deviations.md")
    message = _one_line_error(_write(tmp_path, HEADER + GOOD_ROW + row))
    assert line_column in message and words in message


def test_bad_headers_and_files(tmp_path):
    assert "line 1: missing column(s) status_override" in _one_line_error(
        _write(tmp_path, HEADER.replace(",status_override", "") + "sret_t,224,gmacs,1.1,s,\n"))
    assert "unknown column(s) extra" in _one_line_error(
        _write(tmp_path, HEADER.strip() + ",extra\n" + GOOD_ROW.strip() + ",x\n"))
    assert "empty file" in _one_line_error(_write(tmp_path, ""))
    assert "no figures" in _one_line_error(_write(tmp_path, HEADER))
    assert "does not exist" in _one_line_error(tmp_path / "absent.csv")


def test_known_deviation_with_explanation_loads(tmp_path):
    _write(tmp_path, "# Known deviations\n\nFree header text.\n\n"
                     "## sret_ext 224 gmacs\n\nMeasured: 0.62\n\nThe configuration\nwas reconstructed.\n\n"
                     "```\n## not a heading\n```\n", "deviations.md")
    path = _write(tmp_path, HEADER + "sret_ext,224,gmacs,0.7,src,,known-deviation\n")
    (only,) = load_expected(path)
    assert only.status_override == "known-deviation"
    assert only.deviation.measured_text == "0.62"
    assert only.deviation.explanation.startswith("The configuration\nwas reconstructed.")
    assert status(only, 0.62, None).status == "known-deviation"
    assert status(only, 0.7, None).status == "pass"
    # explanations given are used instead of the file beside the CSV
    other = _write(tmp_path, "# none\n", "other.md")
    assert "without an explanation" in _one_line_error(
        path, lambda p: load_expected(p, load_deviations(other)))


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
    assert words in _one_line_error(_write(tmp_path, text, "deviations.md"), load_deviations)


def test_deviations_parse(tmp_path):
    path = _write(tmp_path, "# Header\n\n## sret_t 224 gmacs\n\nMeasured: 1.200\n\nOne.\n\nTwo.\n\n"
                            "## sret_s.in1k 224 top1\nMeasured:81\nThree.\n"
                            "## claim deep\n\nMeasured: 9.565\nFour.\n", "deviations.md")
    assert load_deviations(path) == {
        ("sret_t", 224, "gmacs"): Deviation("1.200", "One.\n\nTwo."),
        ("sret_s.in1k", 224, "top1"): Deviation("81", "Three."),
        ("claim", "deep"): Deviation("9.565", "Four.")}


CLAIM_HEADER = "claim_id,claim,source,check,models,low,high,unit\n"


@pytest.mark.parametrize("row, words", [
    ("b,c,s,k,,ten,30,%\n", "line 3, column 'low'"),
    ("b,c,s,k,,10,,%\n", "line 3, column 'high': give both bounds or neither"),
    ("b,c,s,k,,30,10,%\n", "line 3, column 'low': low 30 is above high 10"),
    ("b,c,s,k,,10,30,\n", "line 3, column 'unit'"),
    ("b,,s,k,,,,\n", "line 3, column 'claim': must not be empty"),
    ("b,c,s,k,Bad Model,,,\n", "line 3, column 'models'"),
    ("a,c,s,k,,,,\n", "line 3, column 'claim_id': duplicate claim 'a'"),
])
def test_bad_claims(tmp_path, row, words):
    path = _write(tmp_path, CLAIM_HEADER + "a,c,s,k,sret_t,0,0,parameters added\n" + row, "claims.csv")
    assert words in _one_line_error(path, load_claims)
