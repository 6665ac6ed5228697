"""The results schema: its version, its kinds, and the rules every reader shares.

Every command that measures writes one document ``{"schema", "kind", "environment", "argv",
...}``; ``argv`` is the command that produced it, so the page prints it instead of rebuilding
one. Field names say their unit: ``gmacs`` are 10^9 multiply-adds (the paper's "GFLOPs"),
``flops`` count 2 per multiply-add, ``mib`` are 2^20 bytes.
"""
from __future__ import annotations

from typing import Any, Mapping

SCHEMA = "sret-bench/2"
KINDS = ("verify", "throughput", "accuracy", "model_speed", "slicing_speed", "device_check", "gpu_run",
         "op_profile", "compare", "speed_calibration")

# The ImageNet-1k validation set, on which every published top-1 was measured.
IMAGENET_VAL_IMAGES, IMAGENET_VAL_CLASSES = 50_000, 1_000


def is_full_val(record: Mapping[str, Any]) -> bool:
    """Whether a top-1 was measured on the full ImageNet-1k val (anything else is a subset, not comparable)."""
    return record["images"] == IMAGENET_VAL_IMAGES and record["classes"] == IMAGENET_VAL_CLASSES
