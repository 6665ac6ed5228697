"""bench.spec.weights: which released weights a training setting's top-1 is about, validated row by row,
and joined to the figures of paper_values.csv (a row no top-1 figure uses is an error)."""
from __future__ import annotations

import pytest

from _expected_files import one_line_error, write
from bench.spec.data_folder import load_data_folder
from bench.spec.weights import load_weights

HEADER = "model,setting,tag,evidence,timm_top1,timm_source,timm_commit,note\n"
COMMIT = "aa4b5850c1543fa488abf260f18390eda46cf85d"  # the pytorch-image-models commit PiT's rows cite
# PiT-Ti +DeiT: timm ships the authors' weights as pit_ti_224.in1k; timm's results-imagenet.csv prints 72.926.
GOOD = f"pit_ti_224,+DeiT,pit_ti_224.in1k,authors' file pit_ti_730.pth,72.926,results-imagenet.csv line 1475,{COMMIT},\n"


@pytest.mark.parametrize("row, where, words", [
    ("pit_ti_224,+DeiT,,e,,,,\n", "line 3, column 'setting'", "duplicate weights for pit_ti_224 +DeiT"),
    ("pit_ti_224,Vanilla,pit_xs_224.in1k,e,,,,\n", "line 3, column 'tag'", "weights of pit_xs_224, not of pit_ti_224"),
    ("pit_ti_224,Vanilla,pit_ti_224,e,,,,\n", "line 3, column 'tag'", "not a timm pretrained tag"),
    ("pit_ti_224,Vanilla,pit_ti_224.in1k,e,,,,\n", "line 3, column 'tag'", "named already on line 2"),
    ("pit_xs_224,+DeiT,pit_xs_224.in1k,e,~78.2,s,,\n", "line 3, column 'timm_top1'", "'~78.2'"),
    ("pit_xs_224,+DeiT,pit_xs_224.in1k,e,78.196,s,aa4b585,\n", "line 3, column 'timm_commit'", "40-hex"),
    ("pit_xs_224,Vanilla,,e,78.196,s,,\n", "line 3, column 'timm_top1'", "needs the tag"),
    ("pit_xs_224,+DeiT,pit_xs_224.in1k,,,,,\n", "line 3, column 'evidence'", "say why"),
])
def test_bad_rows(tmp_path, row, where, words):
    message = one_line_error(write(tmp_path, HEADER + GOOD + row, "weights.csv"), load_weights)
    assert where in message and words in message


def test_a_setting_gets_its_weights_and_timms_top1_and_an_unused_row_is_refused(tmp_path):
    write(tmp_path, "model,img_size,metric,published,source,note,status_override,setting\n"
                    "pit_ti_224,224,top1,73.0,README,,,+DeiT\n"
                    "pit_ti_224,224,top1,71.3,README,,,Vanilla\n"
                    "pit_ti_224.in1k,224,top1,73.0,README,,,\n")
    write(tmp_path, HEADER + GOOD + "pit_ti_224,Vanilla,,no weights released for this setting,,,,\n", "weights.csv")
    deit, vanilla, tag = load_data_folder(tmp_path).figures
    assert (deit.weights_tag, vanilla.weights_tag, tag.weights_tag) == ("pit_ti_224.in1k", "", "pit_ti_224.in1k")
    assert deit.weights.timm_top1_text == "72.926" and "timm's published top-1 for pit_ti_224.in1k" in tag.weights.timm_words
    write(tmp_path, HEADER + GOOD + "pit_ti_224,+CutMix,,none released,,,,\n", "weights.csv")
    message = one_line_error(tmp_path / "weights.csv", lambda _: load_data_folder(tmp_path))
    assert "line 3, column 'setting'" in message and "pit_ti_224 +CutMix" in message
