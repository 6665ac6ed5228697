"""SReT computed the way the paper's released code computes it, on our model's weights.

The baseline of the speed benchmark: explicit matmul-softmax-matmul attention with the
scale applied to the attention matrix, the release's reshape/permute sequence, every
learnable coefficient a separate multiply, the ``(i + 2) % 4`` recursion marker, and the
same ``torch.randperm`` draws, every linear layer through ``F.linear`` (PyTorch's default
kernel, as ``nn.Linear`` runs it). It shares the weights of the :class:`~sret.model.SReT` it
wraps, so both give the same logits and only the formulation differs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sret.model import NonLinearProjection, SharedBlock, SlicedAttention, SReT


def _linear(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, layer.weight, layer.bias)


def _mlp(mlp: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return mlp.drop(_linear(mlp.fc2, mlp.drop(F.gelu(_linear(mlp.fc1, x)))))


def _attention(attn: SlicedAttention, x: torch.Tensor, num_groups: int, recursive: bool) -> torch.Tensor:
    batch, num_tokens, dim = x.shape
    inverse = None
    if recursive and num_groups != 1:
        index = torch.randperm(num_tokens)
        x = x[:, index, :]
        inverse = torch.argsort(index)
    qkv = _linear(attn.qkv, x).reshape(batch, num_groups, num_tokens // num_groups, 3, attn.num_heads,
                              dim // attn.num_heads).permute(3, 0, 1, 4, 2, 5)
    q, k, v = qkv[0], qkv[1], qkv[2]
    weights = (q @ k.transpose(-2, -1)) * attn.scale
    weights = attn.attn_drop(weights.softmax(dim=-1))
    x = (weights @ v).transpose(2, 3).reshape(batch, num_groups, num_tokens // num_groups, dim)
    x = x.permute(0, 3, 1, 2).reshape(batch, dim, num_tokens).transpose(1, 2)
    if inverse is not None:
        x = x[:, inverse, :]
    return attn.proj_drop(_linear(attn.proj, x))


def _block(block: SharedBlock, x: torch.Tensor, groups: int, recursive: bool) -> torch.Tensor:
    x = block.coefficient1(x) + block.coefficient2(block.drop_path(_attention(block.attn, block.norm1(x), groups, recursive)))
    return block.coefficient3(x) + block.coefficient4(block.drop_path(_mlp(block.mlp, block.norm2(x))))


def _nll(layer: NonLinearProjection, x: torch.Tensor) -> torch.Tensor:
    return layer.coefficient1(x) + layer.coefficient2(_mlp(layer.mlp, layer.norm1(x)))


class PaperFormulation(nn.Module):
    """Runs a :class:`SReT`'s weights through the release's sequence of operations."""

    def __init__(self, model: SReT) -> None:
        super().__init__()
        self.model = model

    def _stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        stage = self.model.transformers[index]
        h, w = x.shape[2:4]
        x = x.flatten(2).transpose(1, 2)
        for i, layer in enumerate(stage.blocks):
            recursive = (i + 2) % 4 == 0  # the release's marker (right for two loops only)
            if isinstance(layer, SharedBlock):
                groups = stage.groups_recursive if recursive else stage.groups_first
                x = _block(layer, x, groups, recursive)
            else:
                x = _nll(layer, x)
        return x.transpose(1, 2).reshape(x.shape[0], -1, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        stem = m.patch_embed
        x = torch.relu(stem.bn1(stem.conv1(x)))
        x = torch.relu(stem.bn2(stem.conv2(x)))
        x = torch.relu(stem.bn3(stem.conv3(x)))
        x = m.pos_drop(x + m.pos_embed)
        for index, pool in enumerate(m.pools):
            x = pool(self._stage(index, x))
        x = self._stage(len(m.pools), x)
        x = torch.flatten(m.avgpool(x), 1)
        return _linear(m.head, m.norm(x))
