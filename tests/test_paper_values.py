"""The published figures (``bench.spec.paper_values``): ``expected/paper_values.csv`` against the independent
transcription ``PAPER_VALUES.md``, the printed precision kept, and one-line errors for bad rows."""
from __future__ import annotations

import re

import pytest

from _expected_files import PAPER_VALUES, markdown_tables, one_line_error, write
from bench.spec.data_files import METRICS
from bench.spec.deviations import load_deviations
from bench.spec.paper_values import DEFAULT, ExpectedFigure, load_expected
from bench.spec.verdicts import status

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


def figure(published: str) -> ExpectedFigure:
    return ExpectedFigure("sret_t", 224, "gmacs", published, "hand-made")


def test_precision_properties():
    assert (figure("76.0").published, figure("76.0").decimals) == (76.0, 1)
    assert (figure("42.8").decimals, figure("76").decimals, figure("1.12").decimals) == (1, 0, 2)


@pytest.fixture(scope="module")
def paper_tables():
    tables = markdown_tables(PAPER_VALUES.read_text(encoding="utf-8"))
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
    write(tmp_path, "# Known deviations\n", "deviations.md")
    message = one_line_error(write(tmp_path, HEADER + GOOD_ROW + row), load_expected)
    assert line_column in message and words in message




def test_a_header_alone_is_no_figures(tmp_path):
    assert "no figures" in one_line_error(write(tmp_path, HEADER), load_expected)


def test_known_deviation_with_explanation_loads(tmp_path):
    write(tmp_path, "# Known deviations\n\nFree header text.\n\n"
                     "## sret_ext 224 gmacs\n\nMeasured: 0.62\n\nThe configuration\nwas reconstructed.\n\n"
                     "```\n## not a heading\n```\n", "deviations.md")
    path = write(tmp_path, HEADER + "sret_ext,224,gmacs,0.7,src,,known-deviation\n")
    (only,) = load_expected(path)
    assert only.status_override == "known-deviation"
    assert only.deviation.measured_text == "0.62"
    assert only.deviation.explanation.startswith("The configuration\nwas reconstructed.")
    assert status(only, 0.62, None).status == "known-deviation"
    assert status(only, 0.7, None).status == "pass"
    # explanations given are used instead of the file beside the CSV
    other = write(tmp_path, "# none\n", "other.md")
    assert "without an explanation" in one_line_error(path, lambda p: load_expected(p, load_deviations(other)))


# --- the optional columns: a training setting, and the device and batch of a published throughput ---

WIDE = "model,img_size,metric,published,source,note,status_override,setting,device,batch_size\n"


@pytest.mark.parametrize("row, line_column, words", [
    ("pit_ti_224,224,gmacs,~0.71,src,,,,,\n", "line 3, column 'published'", "'~0.71'"),
    ("pit_ti_224,224,top1,73.0,src,,,+DeiT,,\n", "line 3, column 'model'",
     "duplicate figure pit_ti_224 224 top1 +DeiT"),
    ("pit_ti_224,224,top1,71.3,src,,,Vanilla recipe,,\n", "line 3, column 'setting'", "'Vanilla recipe'"),
    ("pit_ti_224,224,images_per_s,3030,src,,,,,128\n", "line 3, column 'device'", "name the device"),
    ("pit_ti_224,224,images_per_s,3030,src,,,,V100,\n", "line 3, column 'batch_size'", "batch size"),
    ("pit_ti_224,224,gmacs,0.71,src,,,,V100,\n", "line 3, column 'device'", "only a images_per_s figure"),
])
def test_bad_rows_of_the_optional_columns(tmp_path, row, line_column, words):
    good = "pit_ti_224,224,top1,73.0,src,,,+DeiT,,\n"
    message = one_line_error(write(tmp_path, WIDE + good + row), load_expected)
    assert line_column in message and words in message


def test_a_setting_is_part_of_the_key_and_a_throughput_keeps_its_device_and_batch(tmp_path):
    """PiT's README prints PiT-Ti's top-1 once per training setting (71.3 Vanilla, 73.0 +DeiT) and its
    3030 images/s on one V100 at batch 128: three rows, none a duplicate of another."""
    path = write(tmp_path, WIDE + "pit_ti_224,224,top1,71.3,src,,,Vanilla,,\n"
                                  "pit_ti_224,224,top1,73.0,src,,,+DeiT,,\n"
                                  "pit_ti_224,224,images_per_s,3030,src,,,,V100,128\n")
    vanilla, deit, speed = load_expected(path)
    assert (vanilla.key, deit.key) == (("pit_ti_224", 224, "top1", "Vanilla"), ("pit_ti_224", 224, "top1", "+DeiT"))
    assert (speed.key, speed.device, speed.batch_size) == (("pit_ti_224", 224, "images_per_s"), "V100", 128)
    assert vanilla.where == f"{path}, line 2"
