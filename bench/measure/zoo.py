"""Which models the speed benchmarks run, and the timm baselines each SReT is set beside.

``--models sret`` (or ``all``) is every SReT architecture at its native resolution (224, 384,
512 px), each beside the timm baselines of its resolution and budget. The baselines are rows of
``expected/baselines.csv`` (one ``Baseline`` type for the published figures and the timing): those
with a ``timed_because``, in row order. That column says why each is timed (with the counts it
quotes, checked against the gate's), and the throughput results carry it, so the page can say
which models a ratio compares and why those.
"""
from __future__ import annotations

from typing import Sequence

import timm

from bench.core.names import SUBJECT_PREFIX, is_subject
from bench.measure.models import native_size
from bench.spec.baselines import Baseline, load_baselines, timed


def timed_baselines() -> list[Baseline]:
    """The baselines the speed benchmarks time: the rows of expected/baselines.csv with a
    ``timed_because``, in the file's row order."""
    return timed(load_baselines())


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
    return [{"model": b.architecture, "resolution": b.img_size, "budget": b.budget, "why": b.timed_because}
            for b in timed_baselines() if b.architecture in chosen]


def slicing_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """(sliced, without slicing) for every sliced SReT among ``names`` that has a released partner."""
    registered = set(timm.list_models(f"{SUBJECT_PREFIX}_*"))
    return [(name, f"{name}_wo_slice") for name in names
            if is_subject(name) and "_wo_slice" not in name and f"{name}_wo_slice" in registered]
