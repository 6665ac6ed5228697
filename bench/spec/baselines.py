"""The timm baselines SReT is compared with, as data: loading ``expected/baselines.csv`` and pairing.

Each row is a pretrained tag with timm's own published validation figures (copied as printed
from timm's ``results/results-imagenet.csv``, commit recorded), what it stands beside (the
SReT budget, resolution and training), and how it was trained. The gate checks timm's
published ``param_count`` of each by the rounding rule (:func:`param_figures`); the report
sets its published top-1 beside SReT's (:func:`peers_of`). Published figures only: nothing
here is measured, but for the counts quoted in ``timed_because``.

A row with a ``timed_because`` is one the speed benchmarks time beside SReT
(``bench.measure.zoo``), in row order; the prose says why that one, and may quote parameter and
GMAC counts (``5.72M``, ``1.26 GMACs``) of it or of the models it names, so that
:meth:`Baseline.quoted_counts` can set each count beside a measurement (the tests do, against
the gate's recorded counts).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Collection, Mapping, Sequence

from bench.spec.data_files import EXPECTED_DIR, MODEL_NAME, ExpectedError, read_rows
from bench.spec.deviations import DEFAULT_DEVIATIONS, Deviation, DeviationKey, explanation_for, load_deviations
from bench.spec.paper_values import TIMM_RESULTS, ExpectedFigure
from bench.spec.rounding import PRINTED_NUMBER

DEFAULT_BASELINES = EXPECTED_DIR / "baselines.csv"
# timm's results/results-imagenet.csv columns, in its order (what its validate.py writes); then ours.
VALIDATE_COLUMNS = ("model", "img_size", "top1", "top1_err", "top5", "top5_err", "param_count", "crop_pct",
                    "interpolation")
COLUMNS = (*VALIDATE_COLUMNS, "label", "budget", "training", "compared_with", "source", "commit", "timed_because",
           "status_override")
BUDGETS = ("tiny", "small")
# How a baseline was trained, in the words the report shows; SReT's released weights saw
# ImageNet-1k only (with distillation for the ``distill_in1k`` tags).
TRAINING = {
    "in1k": "ImageNet-1k",
    "in1k_distilled": "ImageNet-1k, distilled",
    "in21k_ft_in1k": "ImageNet-21k pre-training, ImageNet-1k fine-tuning",
    "in22k_distilled_ft_in1k": "distilled on ImageNet-22k, ImageNet-1k fine-tuning",
}
SRET_TAGS = ("in1k", "distill_in1k")  # the pretrained tags of SReT's released weights
# The budget of each SReT family (the architecture's first two words): what it is compared within.
SRET_BUDGETS = {"sret_t": "tiny", "sret_lt": "tiny", "sret_s": "small"}
_COMMIT = re.compile(r"[0-9a-f]{40}")
# Counts quoted in ``timed_because``: parameters in millions ("5.72M") and giga multiply-adds of one
# image ("1.26 GMACs"); ratios ("1.5x") are words. Any other number with decimals is refused, so
# that every decimal figure of the prose is a count a test can set beside a measurement.
QUOTED_COUNT = re.compile(r"(?<![\w.-])(?P<value>\d+\.\d+)(?P<unit>M| GMACs)(?!\w)")
_RATIO = re.compile(r"(?<![\w.])\d+(?:\.\d+)?x(?!\w)")
_DECIMAL = re.compile(r"\d+\.\d+")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
COUNT_METRICS = {"M": "params_m", " GMACs": "gmacs"}
PARAM_NOTE = ("timm's published param_count: all parameters, in millions, printed with two decimals; "
              "a baseline, not an SReT figure")


@dataclass(frozen=True)
class QuotedCount:
    """A count quoted in a ``timed_because``, as printed: ``("sret_t_wo_slice_384", "gmacs", "6.44")``."""

    architecture: str
    metric: str  # params_m (millions) or gmacs
    text: str


@dataclass(frozen=True)
class Baseline:
    """One timm pretrained tag: its published figures (text, as printed) and what it stands beside."""

    model: str  # the pretrained tag, as timm's row names it: deit_tiny_patch16_224.fb_in1k
    img_size: int
    top1_text: str
    top5_text: str
    param_count_text: str
    crop_pct: str
    interpolation: str
    label: str
    budget: str
    training: str
    compared_with: tuple[str, ...]
    source: str
    commit: str
    status_override: str = ""
    deviation: Deviation | None = None
    timed_because: str = ""  # why the speed benchmarks time it beside SReT; empty: not timed

    @property
    def architecture(self) -> str:
        return self.model.split(".", 1)[0]

    def quoted_counts(self, architectures: Collection[str]) -> list[QuotedCount]:
        """The counts ``timed_because`` quotes, each with the model it counts: the last name among
        ``architectures`` written before it, or this baseline's own architecture if none is."""
        names = [(match.end(), match.group()) for match in _NAME.finditer(self.timed_because)
                 if match.group() in architectures]
        counts = []
        for match in QUOTED_COUNT.finditer(self.timed_because):
            before = [name for end, name in names if end <= match.start()]
            counts.append(QuotedCount(before[-1] if before else self.architecture, COUNT_METRICS[match["unit"]],
                                      match["value"]))
        return counts

    @property
    def training_words(self) -> str:
        return TRAINING[self.training]

    def param_figure(self) -> ExpectedFigure:
        """timm's published parameter count as a figure of the gate (metric ``params_m``)."""
        return ExpectedFigure(
            model=self.model, img_size=self.img_size, metric="params_m", published_text=self.param_count_text,
            source=f"{self.source} (commit {self.commit})", note=PARAM_NOTE,
            status_override=self.status_override, deviation=self.deviation, source_kind=TIMM_RESULTS,
            source_row=self.model)

    def to_dict(self) -> dict[str, object]:
        """The published figures and the pairing, as the gate's results file carries them."""
        return {"model": self.model, "architecture": self.architecture, "img_size": self.img_size,
                "top1_text": self.top1_text, "top5_text": self.top5_text,
                "param_count_text": self.param_count_text, "crop_pct": self.crop_pct,
                "interpolation": self.interpolation, "label": self.label, "budget": self.budget,
                "training": self.training, "training_words": self.training_words,
                "compared_with": list(self.compared_with), "source": self.source, "commit": self.commit}


def load_baselines(path: str | Path = DEFAULT_BASELINES,
                   deviations: Mapping[DeviationKey, Deviation] | None = None) -> list[Baseline]:
    """The rows of ``baselines.csv``, validated; an error names the file, the line and the column.

    ``deviations`` (default: ``deviations.md`` beside ``path``) must explain every row marked
    ``known-deviation``, under the heading ``## <model> <img_size> params_m``.
    """
    path = Path(path)
    baselines: list[Baseline] = []
    seen: dict[str, int] = {}
    timed: dict[str, int] = {}
    for line, row, fail in read_rows(path, COLUMNS, "baselines"):
        if not MODEL_NAME.fullmatch(row["model"]) or "." not in row["model"]:
            raise fail("model", f"{row['model']!r} is not a timm pretrained tag such as "
                                "'deit_tiny_patch16_224.fb_in1k'")
        if row["model"] in seen:
            raise fail("model", f"duplicate baseline {row['model']!r} (first on line {seen[row['model']]})")
        seen[row["model"]] = line
        if not row["img_size"].isdigit() or int(row["img_size"]) <= 0:
            raise fail("img_size", f"{row['img_size']!r} is not a positive whole number of pixels")
        for column in ("top1", "top1_err", "top5", "top5_err", "param_count", "crop_pct"):
            if not PRINTED_NUMBER.fullmatch(row[column]):
                raise fail(column, f"{row[column]!r} is not a plain decimal number as timm prints it")
        for column in ("label", "interpolation", "source"):
            if not row[column]:
                raise fail(column, "must not be empty")
        if row["budget"] not in BUDGETS:
            raise fail("budget", f"unknown budget {row['budget']!r} (one of {', '.join(BUDGETS)})")
        if row["training"] not in TRAINING:
            raise fail("training", f"unknown training {row['training']!r} (one of {', '.join(TRAINING)})")
        compared_with = tuple(tag.strip() for tag in row["compared_with"].split(";") if tag.strip())
        unknown = [tag for tag in compared_with if tag not in SRET_TAGS]
        if not compared_with or unknown:
            raise fail("compared_with", f"{row['compared_with']!r}: give the SReT pretrained tags it stands "
                                        f"beside, ';'-separated, from {', '.join(SRET_TAGS)}")
        if not _COMMIT.fullmatch(row["commit"]):
            raise fail("commit", f"{row['commit']!r} is not a full 40-hex-digit commit")
        _check_timed_because(row["timed_because"], fail)
        architecture = row["model"].split(".", 1)[0]
        if row["timed_because"]:
            if architecture in timed:
                raise fail("timed_because", f"{architecture!r} is timed already (line {timed[architecture]}): "
                                            "the speed benchmarks time an architecture once")
            timed[architecture] = line
        override = row["status_override"]
        if override and deviations is None:  # read only when a row needs it
            deviations = load_deviations(path.parent / DEFAULT_DEVIATIONS.name)
        explanation = explanation_for(override, (row["model"], int(row["img_size"]), "params_m"), deviations or {},
                                      fail)
        baselines.append(Baseline(
            model=row["model"], img_size=int(row["img_size"]), top1_text=row["top1"], top5_text=row["top5"],
            param_count_text=row["param_count"], crop_pct=row["crop_pct"], interpolation=row["interpolation"],
            label=row["label"], budget=row["budget"], training=row["training"], compared_with=compared_with,
            source=row["source"], commit=row["commit"], status_override=override, deviation=explanation,
            timed_because=row["timed_because"]))
    if not baselines:
        raise ExpectedError(f"{path}: no baselines (only a header)")
    return baselines


def _check_timed_because(text: str, fail: Callable[[str, str], ExpectedError]) -> None:
    """Every number with decimals in the prose is a quoted count or a ratio."""
    words = _RATIO.sub(" ", QUOTED_COUNT.sub(" ", text))
    stray = _DECIMAL.search(words)
    if stray:
        raise fail("timed_because", f"{stray.group()!r} is neither a quoted count ('5.72M' parameters, "
                                    "'1.26 GMACs') nor a ratio ('1.5x'): write each count after the name of the "
                                    "model it counts")


def timed(baselines: Sequence[Baseline]) -> list[Baseline]:
    """The baselines the speed benchmarks time (a ``timed_because``), in the file's row order."""
    return [baseline for baseline in baselines if baseline.timed_because]


def param_figures(baselines: Sequence[Baseline]) -> list[ExpectedFigure]:
    return [baseline.param_figure() for baseline in baselines]


def sret_budget(architecture: str) -> str | None:
    """``sret_t_wo_slice_384`` -> "tiny": the budget of its family; None for a family without one."""
    return SRET_BUDGETS.get("_".join(architecture.split("_")[:2]))


def peers_of(tag: str, img_size: int, baselines: Sequence[Mapping[str, object]]) -> list[Mapping[str, object]]:
    """The baselines (as :meth:`Baseline.to_dict` records) an SReT pretrained tag is compared with:
    the same resolution and budget, and standing beside its training (``compared_with``)."""
    architecture, _, pretrained = tag.partition(".")
    budget = sret_budget(architecture)
    return [b for b in baselines
            if b["img_size"] == img_size and b["budget"] == budget and pretrained in b["compared_with"]]
