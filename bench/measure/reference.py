"""SReT computed in the released code's sequence of operations, on our model's weights.

The baseline of the speed benchmark. It follows ``SReT.py`` of github.com/szq0214/SReT call
for call: every layer called as a module (``nn.Linear``, ``nn.GELU``, the learnable
coefficients), in-place ReLUs in the NCHW stem, the token stream as einops' ``rearrange``
lays it out (``permute`` then ``reshape``), attention as explicit matmul-softmax-matmul
with the scale applied to the attention matrix and the release's reshape/permute sequence,
the ``(i + 2) % 4`` recursion marker and the same ``torch.randperm`` draws; for models
without slicing, the attention of ``SReT_wo_slice.py``. It runs the
modules of a *stock* :class:`~sret.model.SReT` (plain PyTorch kernels, as the release), so
both give the same logits and only the formulation differs. ``python -m bench.model_speed
--release-code DIR`` runs the released code itself beside it to check the two run at one speed.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from sret.kernels import kernel_policy_of
from sret.model import Mlp, NonLinearProjection, SharedBlock, SlicedAttention, SReT


def _mlp(mlp: Mlp, x: torch.Tensor) -> torch.Tensor:
    x = mlp.act(mlp.fc1(x))
    return mlp.drop(mlp.fc2(mlp.drop(x)))


def _full_attention(attn: SlicedAttention, x: torch.Tensor) -> torch.Tensor:
    """``Attention.forward`` of the release's ``SReT_wo_slice.py``."""
    batch, num_tokens, dim = x.shape
    qkv = attn.qkv(x).reshape(batch, num_tokens, 3, attn.num_heads, dim // attn.num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    weights = (q @ k.transpose(-2, -1)) * attn.scale
    weights = attn.attn_drop(weights.softmax(dim=-1))
    x = (weights @ v).transpose(1, 2).reshape(batch, num_tokens, dim)
    return attn.proj_drop(attn.proj(x))


def _attention(attn: SlicedAttention, x: torch.Tensor, num_groups: Optional[int], recursive: bool) -> torch.Tensor:
    """``Group_Attention.forward`` of the release's ``SReT.py``."""
    if num_groups is None:
        return _full_attention(attn, x)
    batch, num_tokens, dim = x.shape
    shuffled = recursive and num_groups != 1
    if shuffled:
        index = torch.randperm(num_tokens)
        x = x[:, index, :]
        inverse = torch.argsort(index)
    qkv = attn.qkv(x).reshape(batch, num_groups, num_tokens // num_groups, 3, attn.num_heads,
                              dim // attn.num_heads).permute(3, 0, 1, 4, 2, 5)
    q, k, v = qkv[0], qkv[1], qkv[2]
    weights = (q @ k.transpose(-2, -1)) * attn.scale
    weights = attn.attn_drop(weights.softmax(dim=-1))
    x = (weights @ v).transpose(2, 3).reshape(batch, num_groups, num_tokens // num_groups, dim)
    x = x.permute(0, 3, 1, 2).reshape(batch, dim, num_tokens).transpose(1, 2)
    if shuffled:
        x = x[:, inverse, :]
    return attn.proj_drop(attn.proj(x))


def _block(block: SharedBlock, x: torch.Tensor, groups: Optional[int], recursive: bool) -> torch.Tensor:
    x = block.coefficient1(x) + block.coefficient2(block.drop_path(_attention(block.attn, block.norm1(x), groups, recursive)))
    return block.coefficient3(x) + block.coefficient4(block.drop_path(_mlp(block.mlp, block.norm2(x))))


def _nll(layer: NonLinearProjection, x: torch.Tensor) -> torch.Tensor:
    return layer.coefficient1(x) + layer.coefficient2(_mlp(layer.mlp, layer.norm1(x)))


class PaperFormulation(nn.Module):
    """Runs a stock :class:`SReT`'s modules in the release's sequence of operations."""

    def __init__(self, model: SReT) -> None:
        super().__init__()
        if kernel_policy_of(model) != "stock":
            raise ValueError("PaperFormulation runs the release's plain kernels: give it a stock model")
        self.model = model

    def _stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        stage = self.model.transformers[index]
        sliced = any(s.groups_first != 1 or s.groups_recursive != 1 for s in self.model.transformers)
        batch, channels, h, w = x.shape
        x = x.permute(0, 2, 3, 1).reshape(batch, h * w, channels)  # rearrange 'b c h w -> b (h w) c'
        for i, layer in enumerate(stage.blocks):
            recursive = (i + 2) % 4 == 0  # the release's marker (right for two loops only)
            if isinstance(layer, SharedBlock):
                # SReT_wo_slice.py (no slicing anywhere) has its own attention: groups None.
                groups = None if not sliced else stage.groups_recursive if recursive else stage.groups_first
                x = _block(layer, x, groups, recursive)
            else:
                x = _nll(layer, x)
        return x.reshape(batch, h, w, channels).permute(0, 3, 1, 2)  # 'b (h w) c -> b c h w'

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        stem = m.patch_embed
        x = F.relu(stem.bn1(stem.conv1(x)), inplace=True)
        x = F.relu(stem.bn2(stem.conv2(x)), inplace=True)
        x = F.relu(stem.bn3(stem.conv3(x)), inplace=True)
        x = m.pos_drop(x + m.pos_embed)
        for index, pool in enumerate(m.pools):
            x = pool(self._stage(index, x))
        x = self._stage(len(m.pools), x)
        x = torch.flatten(m.avgpool(x), 1)
        return m.head(m.norm(x))
