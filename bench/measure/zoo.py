"""Which models the speed benchmarks run, and the timm baselines each SReT is set beside.

``--models sret`` (or ``all``) is every SReT architecture at its native resolution (224, 384,
512 px), each beside the timm baselines of its resolution and budget. The baselines, with
why each was chosen, are data here; the throughput results carry them, so the report can
say which models a ratio compares and why those.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import timm

import sret  # noqa: F401  (registers the SReT models with timm)

SUBJECT_PREFIX = "sret"


@dataclass(frozen=True)
class Baseline:
    """A timm model run beside the SReT models of its resolution."""

    name: str
    resolution: int
    budget: str  # the SReT scale it stands beside: "tiny" (~5M params) or "small" (~21M)
    why: str


# Params and GMACs below: our counts (fvcore multiply-adds, fused attention counted, the gate's
# headline, bench.flops.headline_macs) of the architecture at its native size, counted 2026-11-27 (timm 1.0.31).
BASELINES: tuple[Baseline, ...] = (
    Baseline("deit_tiny_patch16_224", 224, "tiny", "DeiT-Tiny, the paper's tiny baseline (5.72M, 1.26 GMACs)"),
    Baseline("pit_ti_224", 224, "tiny", "PiT-Ti, the paper's pooling baseline and SReT's ancestor "
                                         "(4.85M, 0.70 GMACs)"),
    Baseline("deit_small_patch16_224", 224, "small", "DeiT-Small, the paper's small baseline (22.05M, 4.61 GMACs)"),
    Baseline("pit_s_224", 224, "small", "PiT-S, the paper's small pooling baseline (23.46M, 2.88 GMACs)"),
    Baseline("vit_tiny_patch16_384", 384, "tiny",
             "ViT-Ti/16 at 384 px: DeiT-Tiny's exact architecture and timm's only 384-px release of it "
             "(5.79M, 4.70 GMACs, beside sret_t_wo_slice_384's 4.85M, 6.44 GMACs); PiT has no 384 release"),
    Baseline("deit3_small_patch16_384", 384, "small",
             "DeiT III Small at 384 px (fb_in1k, trained on ImageNet-1k only, as SReT): DeiT-Small's ViT-S/16 "
             "body with LayerScale, 22.21M, 15.52 GMACs, beside sret_s_wo_slice_384's 21.09M, 18.50 GMACs. "
             "DeiT-Small itself has no 384 release; vit_small_patch16_384 costs the same (15.52 GMACs) but "
             "its weights saw ImageNet-21k; deit_base_patch16_384 (86.86M, 55.54 GMACs) is 4x the budget"),
    Baseline("tiny_vit_21m_512", 512, "small",
             "TinyViT-21M at 512 px: the only ImageNet-1k classifier timm releases at 512 px with SReT-S's "
             "parameters (21.27M vs sret_s_wo_slice_512's 21.32M; 27.02 vs 42.77 GMACs), hierarchical like SReT; "
             "maxvit_tiny_tf_512 (31.05M, 33.49 GMACs) is 1.5x the parameters, and no DeiT or PiT is "
             "released at 512 px"),
)

DEFAULT_MODELS = ("sret_t", "sret_s", "deit_tiny_patch16_224", "pit_ti_224", "deit_small_patch16_224", "pit_s_224")
ZOO_KEYWORDS = ("sret", "all")  # each stands for the whole zoo


def native_size(name: str) -> int:
    """The input size a timm model is released at (its default pretrained cfg)."""
    return int(timm.models.get_pretrained_cfg(name).input_size[-1])


def sret_models() -> list[str]:
    """Every registered SReT architecture, by native resolution then name."""
    return sorted(timm.list_models(f"{SUBJECT_PREFIX}_*"), key=lambda name: (native_size(name), name))


def full_zoo() -> list[str]:
    """Every SReT architecture, each resolution's SReT models followed by its baselines."""
    sret_names = sret_models()
    ordered: list[str] = []
    for resolution in sorted({native_size(name) for name in sret_names}):
        ordered += [name for name in sret_names if native_size(name) == resolution]
        ordered += [b.name for b in BASELINES if b.resolution == resolution]
    return ordered


def expand(names: Sequence[str]) -> list[str]:
    """Model names with ``sret``/``all`` replaced by the whole zoo, duplicates dropped in order."""
    expanded: list[str] = []
    for name in names:
        expanded += full_zoo() if name in ZOO_KEYWORDS else [name]
    return list(dict.fromkeys(expanded))


def is_subject(name: str) -> bool:
    """SReT models are the subjects of the architecture ratios; everything else is a baseline."""
    return name.startswith(SUBJECT_PREFIX)


def baseline_choices(names: Sequence[str]) -> list[dict[str, object]]:
    """The zoo's reasons for the baselines among ``names``, as plain records for a results file."""
    chosen = set(names)
    return [{"model": b.name, "resolution": b.resolution, "budget": b.budget, "why": b.why}
            for b in BASELINES if b.name in chosen]


def slicing_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """(sliced, without slicing) for every sliced SReT among ``names`` that has a released partner."""
    registered = set(timm.list_models(f"{SUBJECT_PREFIX}_*"))
    return [(name, f"{name}_wo_slice") for name in names
            if is_subject(name) and "_wo_slice" not in name and f"{name}_wo_slice" in registered]
