"""The one model factory of the measurements, and what a built model says about itself.

Every measurement builds its models here: timm's ``create_model`` at an image size, or the
model's own size (its pretrained cfg) when none is given; a model that takes any size and has
no ``img_size`` argument (a convnet, TinyViT) is built without one.
"""
from __future__ import annotations

from typing import Any, Callable

import timm
from torch import nn

import sret  # noqa: F401  (registers the sret_* models with timm)

Builder = Callable[..., nn.Module]


def native_size(name: str) -> int:
    """The input size a timm model (architecture or tag) is released at."""
    return int(timm.models.get_pretrained_cfg(name).input_size[-1])


def create(name: str, img_size: int | None = None, build: Builder = timm.create_model,
           **kwargs: Any) -> tuple[nn.Module, int]:
    """``name`` in eval mode, randomly initialised, built for ``img_size`` (its own size when None),
    and the image side it runs at."""
    if img_size is None:
        model = build(name, **kwargs).eval()
        return model, int(model.pretrained_cfg["input_size"][-1])
    try:
        return build(name, img_size=img_size, **kwargs).eval(), img_size
    except TypeError:  # takes any size: no img_size argument
        return build(name, **kwargs).eval(), img_size


def draws_permutation(model: nn.Module) -> bool:
    """Whether the model shuffles its tokens in a forward pass (SReT's sliced recursive applications)."""
    return any(any(getattr(module, "slot_shuffled", ())) for module in model.modules())


def reconstructed(name: str) -> bool:
    """Whether the model's cfg says it was never released but rebuilt from the paper (SReT-ExT)."""
    return bool(getattr(timm.models.get_pretrained_cfg(name), "reconstructed", False))


def describe(name: str, model: nn.Module) -> dict[str, bool]:
    """What the page says about a model without building it: recorded by whoever built it."""
    return {"draws_permutation": draws_permutation(model), "reconstructed": reconstructed(name)}
