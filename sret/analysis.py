"""The paper's claim "recursion adds no parameters", as a measurement.

A shared block is one module that a stage applies several times, so its tensors are
stored once but *applied* once per application. Each application is also followed by its
own non-shared NLL layer, which does add parameters; both are reported so the claim is
read against what the model really holds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn

from .model import NonLinearProjection, RecursiveStage, SharedBlock


@dataclass(frozen=True)
class RecursionParams:
    unique: int  # parameters the model stores (what the paper's #params counts)
    applied: int  # parameters as applied: every application of a shared block counted
    block_params_first_applications: int  # the shared blocks, each counted at its first application
    block_params_stored: int  # what all block applications together store
    nll: int  # non-shared projection layers, one per block application

    @property
    def block_params_added_by_recursion(self) -> int:
        """What the recursive (second, third, ...) applications store: 0 when blocks are shared."""
        return self.block_params_stored - self.block_params_first_applications

    def to_dict(self) -> dict:
        return {**asdict(self), "block_params_added_by_recursion": self.block_params_added_by_recursion}


def _numel(params) -> int:
    return sum(p.numel() for p in params)


def _unique(params) -> list:
    return list({id(p): p for p in params}.values())


def recursion_params(model: nn.Module) -> RecursionParams:
    """Count unique vs applied parameters of a recursive SReT model."""
    slots = [m for _, m in model.named_modules(remove_duplicate=False)]
    blocks = [m for m in slots if isinstance(m, SharedBlock)]
    first_applications = [
        stage.blocks[2 * application]
        for stage in model.modules() if isinstance(stage, RecursiveStage)
        for application in range(0, len(stage.blocks) // 2, stage.loops)
    ]
    return RecursionParams(
        unique=_numel(model.parameters()),
        applied=_numel(p for _, p in model.named_parameters(remove_duplicate=False)),
        block_params_first_applications=sum(_numel(b.parameters()) for b in first_applications),
        block_params_stored=_numel(_unique(p for b in blocks for p in b.parameters())),
        nll=sum(_numel(m.parameters()) for m in slots if isinstance(m, NonLinearProjection)),
    )


def applied_depth(model: nn.Module) -> int:
    """Block applications plus NLL layers: the depth of the unrolled network."""
    slots = (m for _, m in model.named_modules(remove_duplicate=False))
    return sum(1 for m in slots if isinstance(m, (SharedBlock, NonLinearProjection)))
