"""Which released weights a training setting's top-1 is about (``weights.csv``), and timm's top-1 for them.

A paper that trains one model several ways prints a top-1 per setting, and released weights for
some settings only. Each row names a figure's model and setting, the timm pretrained tag of the
weights behind it (empty: none released, so nothing to measure) with the evidence that they are
those weights, and timm's own top-1 for that tag as printed in its ``results-imagenet.csv`` (file,
line, commit): shown beside the published figure, labelled as timm's, never judged against it.
Torch-free: that each tag is a pretrained cfg of that architecture in timm is checked before
anything is measured (``bench.measure.known_models``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bench.spec.data_files import MODEL_NAME, SETTING, read_rows
from bench.spec.rounding import PRINTED_NUMBER

__all__ = ["WEIGHTS_FILE", "Weights", "load_weights"]

WEIGHTS_FILE = "weights.csv"
COLUMNS = ("model", "setting", "tag", "evidence", "timm_top1", "timm_source", "timm_commit", "note")
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Weights:
    """The released weights (or none) behind one model's figures under one training setting."""

    model: str
    setting: str
    tag: str  # a timm pretrained tag of the model's architecture; "" when none was released
    evidence: str
    timm_top1_text: str = ""  # timm's published top-1 of ``tag``, as printed; "" when it prints none
    timm_source: str = ""
    timm_commit: str = ""
    note: str = ""
    where: str = field(default="", compare=False)  # "<file>, line <n>"

    @property
    def timm_words(self) -> str:
        """timm's figure as the gate shows it beside the published one ("" when there is none)."""
        if not self.timm_top1_text:
            return ""
        return (f"timm's published top-1 for {self.tag}: {self.timm_top1_text} ({self.timm_source}, "
                f"commit {self.timm_commit[:12]}); timm's, not the paper's and not measured here")


def load_weights(path: str | Path) -> list[Weights]:
    """The rows of ``weights.csv``, validated; an error names the file, the line and the column."""
    path = Path(path)
    rows: list[Weights] = []
    seen: dict[tuple[str, str], int] = {}
    tags: dict[str, int] = {}
    for line, row, fail in read_rows(path, COLUMNS, "weights"):
        if not MODEL_NAME.fullmatch(row["model"]):
            raise fail("model", f"{row['model']!r} is not a model name such as 'pit_ti_224'")
        if not SETTING.fullmatch(row["setting"]):
            raise fail("setting", f"{row['setting']!r} is not a setting of paper_values.csv (one word)")
        key = (row["model"], row["setting"])
        if key in seen:
            raise fail("setting", f"duplicate weights for {row['model']} {row['setting']} (first on line {seen[key]})")
        seen[key] = line
        if not row["evidence"]:
            raise fail("evidence", "say why these are the weights of that setting (or why there are none)")
        tag = row["tag"]
        if tag:
            if not MODEL_NAME.fullmatch(tag) or "." not in tag:
                raise fail("tag", f"{tag!r} is not a timm pretrained tag such as 'pit_ti_224.in1k'")
            if tag.split(".", 1)[0] != row["model"].split(".", 1)[0]:
                raise fail("tag", f"{tag!r} is weights of {tag.split('.', 1)[0]}, not of {row['model']}")
            if tag in tags:
                raise fail("tag", f"{tag!r} is named already on line {tags[tag]}: one setting per weights")
            tags[tag] = line
        if row["timm_top1"]:
            if not tag:
                raise fail("timm_top1", "timm's top-1 needs the tag it was published for")
            if not PRINTED_NUMBER.fullmatch(row["timm_top1"]):
                raise fail("timm_top1", f"{row['timm_top1']!r} is not a plain decimal number as timm prints it")
            if not row["timm_source"]:
                raise fail("timm_source", "name the file and line timm's top-1 was copied from")
            if not _COMMIT.fullmatch(row["timm_commit"]):
                raise fail("timm_commit", f"{row['timm_commit']!r} is not a full 40-hex-digit commit")
        elif row["timm_source"] or row["timm_commit"]:
            raise fail("timm_top1", "a source or commit without timm's top-1")
        rows.append(Weights(row["model"], row["setting"], tag, row["evidence"], row["timm_top1"],
                            row["timm_source"], row["timm_commit"], row["note"], where=f"{path}, line {line}"))
    return rows
