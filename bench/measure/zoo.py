"""Which models the speed benchmarks run, and the timm baselines each SReT is set beside.

``--models sret`` (or ``all``) is every SReT architecture at its native resolution (224, 384,
512 px), each beside the timm baselines of its resolution and budget. The baselines are rows of
``expected/baselines.csv`` (one ``Baseline`` type for the published figures and the timing); why
each is timed is said here, and the throughput results carry it, so the page can say which models
a ratio compares and why those.
"""
from __future__ import annotations

from typing import Sequence

import timm

from bench.core.names import SUBJECT_PREFIX, is_subject
from bench.measure.models import native_size
from bench.spec.baselines import Baseline, load_baselines


# The timm baselines the speed benchmarks time beside SReT, each a row of expected/baselines.csv
# (its resolution and budget are read there), with why it was chosen. Params and GMACs in the
# reasons: the gate's headline counts of the architecture at its native size (timm 1.0.31).
WHY: dict[str, str] = {
    "deit_tiny_patch16_224": "DeiT-Tiny, the paper's tiny baseline (5.72M, 1.26 GMACs)",
    "pit_ti_224": "PiT-Ti, the paper's pooling baseline and SReT's ancestor (4.85M, 0.70 GMACs)",
    "deit_small_patch16_224": "DeiT-Small, the paper's small baseline (22.05M, 4.61 GMACs)",
    "pit_s_224": "PiT-S, the paper's small pooling baseline (23.46M, 2.88 GMACs)",
    "vit_tiny_patch16_384": "ViT-Ti/16 at 384 px: DeiT-Tiny's exact architecture and timm's only 384-px release of it "
                            "(5.79M, 4.70 GMACs, beside sret_t_wo_slice_384's 4.85M, 6.44 GMACs); PiT has no 384 "
                            "release",
    "deit3_small_patch16_384": "DeiT III Small at 384 px (fb_in1k, trained on ImageNet-1k only, as SReT): DeiT-Small's "
                               "ViT-S/16 body with LayerScale, 22.21M, 15.52 GMACs, beside sret_s_wo_slice_384's "
                               "21.09M, 18.50 GMACs. DeiT-Small itself has no 384 release; vit_small_patch16_384 costs "
                               "the same (15.52 GMACs) but its weights saw ImageNet-21k; deit_base_patch16_384 "
                               "(86.86M, 55.54 GMACs) is 4x the budget",
    "tiny_vit_21m_512": "TinyViT-21M at 512 px: the only ImageNet-1k classifier timm releases at 512 px with SReT-S's "
                        "parameters (21.27M vs sret_s_wo_slice_512's 21.32M; 27.02 vs 42.77 GMACs), hierarchical like "
                        "SReT; maxvit_tiny_tf_512 (31.05M, 33.49 GMACs) is 1.5x the parameters, and no DeiT or PiT is "
                        "released at 512 px",
}


def timed_baselines() -> list[Baseline]:
    """The baselines of expected/baselines.csv the speed benchmarks time, in WHY's order."""
    by_architecture = {b.architecture: b for b in load_baselines()}
    return [by_architecture[name] for name in WHY]


DEFAULT_MODELS = ("sret_t", "sret_s", "deit_tiny_patch16_224", "pit_ti_224", "deit_small_patch16_224", "pit_s_224")
ZOO_KEYWORDS = ("sret", "all")  # each stands for the whole zoo


def sret_models() -> list[str]:
    """Every registered SReT architecture, by native resolution then name."""
    return sorted(timm.list_models(f"{SUBJECT_PREFIX}_*"), key=lambda name: (native_size(name), name))


def full_zoo() -> list[str]:
    """Every SReT architecture, each resolution's SReT models followed by its baselines."""
    sret_names = sret_models()
    ordered: list[str] = []
    for resolution in sorted({native_size(name) for name in sret_names}):
        ordered += [name for name in sret_names if native_size(name) == resolution]
        ordered += [b.architecture for b in timed_baselines() if b.img_size == resolution]
    return ordered


def expand(names: Sequence[str]) -> list[str]:
    """Model names with ``sret``/``all`` replaced by the whole zoo, duplicates dropped in order."""
    expanded: list[str] = []
    for name in names:
        expanded += full_zoo() if name in ZOO_KEYWORDS else [name]
    return list(dict.fromkeys(expanded))


def baseline_choices(names: Sequence[str]) -> list[dict[str, object]]:
    """The zoo's reasons for the baselines among ``names``, as plain records for a results file."""
    chosen = set(names)
    return [{"model": b.architecture, "resolution": b.img_size, "budget": b.budget, "why": WHY[b.architecture]}
            for b in timed_baselines() if b.architecture in chosen]


def slicing_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """(sliced, without slicing) for every sliced SReT among ``names`` that has a released partner."""
    registered = set(timm.list_models(f"{SUBJECT_PREFIX}_*"))
    return [(name, f"{name}_wo_slice") for name in names
            if is_subject(name) and "_wo_slice" not in name and f"{name}_wo_slice" in registered]
