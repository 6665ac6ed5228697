"""Model names: a pretrained tag's architecture, and which models are the subject of the suite.

``architecture`` splits a tag as timm's ``split_model_name_tag`` does (at the first dot), without
importing timm, so the page can use it; a test holds the two equal on every tag.
"""
from __future__ import annotations

SUBJECT_PREFIX = "sret"


def architecture(model: str) -> str:
    """``sret_t.distill_in1k`` -> ``sret_t``: the part of a pretrained tag that fixes the shape."""
    return model.split(".", 1)[0]


def is_subject(model: str) -> bool:
    """SReT models are the subjects of the suite (the numerators of its ratios); the rest are baselines."""
    return model.startswith(SUBJECT_PREFIX)
