"""Checkpoints are untrusted files: load tensors only, and name the culprit when they don't fit.

Official SReT checkpoints are ``torch.save({'model': state_dict, ...})`` pickles. They are
read with ``torch.load(weights_only=True)``, which refuses any pickle that would run code;
bare state dicts and ``.safetensors`` files are accepted too. Every failure is a
:class:`CheckpointError` whose message is one line naming the file.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Mapping

import torch
from torch import nn

__all__ = ["CheckpointError", "read_state_dict", "check_compatible", "load_checkpoint"]

# Keys under which training scripts (DeiT's, the official SReT one, timm's) nest the weights.
_NESTED_KEYS = ("model", "state_dict", "model_ema", "state_dict_ema")


class CheckpointError(Exception):
    """A checkpoint that is missing, unreadable, unsafe or of another architecture."""


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read the tensors of a checkpoint file without running any code stored in it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty")
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        reason = str(error).splitlines()[0] if str(error) else "unpickling failed"
        if "weights_only" in str(error) or "Unsupported global" in str(error):
            raise CheckpointError(
                f"checkpoint {path} refused: it needs arbitrary code to load "
                "(not a plain tensor checkpoint); it was not run"
            ) from None
        raise CheckpointError(f"checkpoint {path} is corrupt: {reason}") from None
    except Exception as error:  # any parse failure of an untrusted file means it is corrupt
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: {first_line}") from None
    return _unwrap(payload, path)


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path} is not a valid safetensors file: {error}") from None


def _unwrap(payload: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(payload, Mapping):
        for key in _NESTED_KEYS:
            if isinstance(payload.get(key), Mapping):
                payload = payload[key]
                break
    if not isinstance(payload, Mapping) or not payload:
        raise CheckpointError(f"checkpoint {path} holds no state dict")
    state_dict = {}
    for key, value in payload.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"checkpoint {path}: entry {key!r} is a {type(value).__name__}, not a tensor")
        state_dict[key.removeprefix("module.")] = value
    return state_dict


def check_compatible(model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Raise one line naming ``source`` and the first key that is missing, extra or misshapen."""
    expected = model.state_dict()
    for key, tensor in expected.items():
        if key not in state_dict:
            raise CheckpointError(f"checkpoint {source} does not fit {_model_name(model)}: missing key {key!r}")
        if tuple(state_dict[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"checkpoint {source} does not fit {_model_name(model)}: {key!r} has shape "
                f"{tuple(state_dict[key].shape)} in the checkpoint, {tuple(tensor.shape)} in the model"
            )
    for key in state_dict:
        if key not in expected:
            raise CheckpointError(f"checkpoint {source} does not fit {_model_name(model)}: unexpected key {key!r}")


def load_checkpoint(model: nn.Module, path: str | os.PathLike, filter_fn=None) -> nn.Module:
    """Load a checkpoint file into ``model`` strictly, adapting it with ``filter_fn`` first.

    Whatever ``filter_fn`` raises on a foreign checkpoint becomes one line naming the file.
    """
    state_dict = read_state_dict(path)
    if filter_fn is not None:
        try:
            state_dict = filter_fn(state_dict, model)
        except Exception as error:  # a foreign checkpoint can break a filter anywhere
            reason = " ".join(str(error).split()) or type(error).__name__
            raise CheckpointError(f"checkpoint {path} does not fit {_model_name(model)}: {reason}") from None
    check_compatible(model, state_dict, str(path))
    model.load_state_dict(state_dict, strict=True)
    return model


def _model_name(model: nn.Module) -> str:
    cfg = getattr(model, "pretrained_cfg", None) or {}
    return cfg.get("architecture") or type(model).__name__
