""" Sliced Recursive Transformer (SReT)

A PyTorch implementation of `Sliced Recursive Transformer` - https://arxiv.org/abs/2111.05297
(Zhiqiang Shen, Zechun Liu, Eric Xing, ECCV 2022), rebuilt so that the official checkpoints
load with ``strict=True`` and give the official logits.

SReT is a three-stage PiT-like pyramid whose stages apply a few *shared* transformer blocks
several times (recursion), each application followed by its own small non-linear projection
(NLL). Recursive applications attend within random slices of the token sequence ("sliced
group self-attention"), which is what makes deep recursion cheap.

Differences from the official code, none of which changes a weight or a logit (beyond
float rounding, < 1e-6 on the official fixtures):
* all groups of a sliced attention run in one batched call, for any ``depth / recursive_num``
  (the official ``(i + 2) % 4`` recursion marker is only right when every block runs twice);
* the attention scale is applied to ``q`` rather than to the (larger) attention matrix, and
  the learnable residual coefficients are applied with fused multiply-adds;
* the stem runs channels-last and the token stream stays contiguous (the release's
  transposed stream made every LayerNorm copy it);
* the model is built from plain modules (``nn.Linear``; SDPA attention as timm's default,
  the explicit matmuls when traced); the kernels measured faster on a device are applied to
  it, as to any timm model, by ``sret.kernels.apply_kernel_policy(model, "tuned")``;
* the random token permutation can come from a model-owned seed or generator
  (``set_permutation_seed`` / ``set_permutation_generator``) instead of the global RNG; it is
  drawn by the stage, before the block, so a checkpointed block recomputes with the same one;
* exporting (``torch.export``, ONNX) or built ``exportable=True``, the permutation is drawn in
  the graph as the argsort of uniform noise (random in every run, as released, but another draw
  than ``randperm``'s); ``fix_permutations`` freezes them, to compare an export with eager.

The timm model API on top of the release: ``dynamic_img_size`` (``pos_embed`` resampled at
run time, as timm's ViT does), ``forward_intermediates`` / ``features_only`` (each stage's
map), ``set_grad_checkpointing``, ``torch.jit.script`` and timm's ``torch.fx`` tracer.
"""
# No `from __future__ import annotations`: torch.fx copies forward's annotations into the code
# it generates, and TorchScript cannot read them back as strings.
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import DropPath, is_exportable, to_2tuple, trunc_normal_, use_fused_attn
from timm.models import (PretrainedCfg, adapt_input_conv, build_model_with_cfg, generate_default_cfgs,
                         register_model, register_notrace_function, register_notrace_module,
                         resolve_pretrained_cfg)
from timm.models._features import feature_take_indices

from .checkpoint import CheckpointError, load_checkpoint

__all__ = ["SReT", "SlicedAttention", "SharedBlock", "NonLinearProjection", "RecursiveStage"]


class LearnableCoefficient(nn.Module):
    """A learnable scalar (``bias``, initialised to 1) that scales a residual branch.

    Kept as a module so the state-dict keys stay ``coefficientK.bias`` as in the release.
    """

    def __init__(self, device=None, dtype=None) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.ones(1, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.bias


def scaled_residual(x: torch.Tensor, x_scale: torch.Tensor, branch: torch.Tensor,
                    branch_scale: torch.Tensor) -> torch.Tensor:
    """``x_scale * x + branch_scale * branch`` in two kernels instead of three."""
    return torch.addcmul(x * x_scale, branch, branch_scale)


# timm's fx tracer records the calls to the functions below instead of tracing into them:
# the first two draw random numbers or read Python objects, the third branches on shapes.

@register_notrace_function
def draw_permutation(num_tokens: int, generator: Optional[torch.Generator]) -> torch.Tensor:
    """A random token order, drawn on the CPU as the official code draws it.

    With ``generator=None`` this is ``torch.randperm(N)`` on PyTorch's default CPU generator,
    exactly the official call, so the official logits are reproduced after the same seed.
    """
    return torch.randperm(num_tokens, generator=generator)


def to_device(indices: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A permutation drawn on the CPU, on ``device``. To a GPU through pinned memory and a
    non-blocking copy: the same indices, without making the host wait for the device in every
    forward pass (a pageable copy synchronizes)."""
    if indices.device == device:
        return indices
    if device.type == "cuda":
        return indices.pin_memory().to(device, non_blocking=True)
    return indices.to(device)


@register_notrace_function
def permutation_in_graph(num_tokens: int, generator: Optional[torch.Generator]) -> torch.Tensor:
    """A random token order that exporters can express: the argsort of uniform noise (ONNX
    RandomUniform and TopK), uniform over orders like ``randperm`` but not the same draws."""
    # Without a generator, rand is the overload that exporters translate (not rand.generator).
    noise = torch.rand(num_tokens) if generator is None else torch.rand(num_tokens, generator=generator)
    return torch.argsort(noise)


def exporting() -> bool:
    """True while ``torch.export`` or the ONNX exporter traces the model. Not ``torch.jit.trace``
    alone: fvcore counts through it, and its counts keep the release's ``randperm``."""
    return torch.compiler.is_exporting() or torch.onnx.is_in_onnx_export()


@register_notrace_function
def generator_for_pass(x: torch.Tensor, seed: Optional[int],
                       generator: Optional[torch.Generator]) -> Optional[torch.Generator]:
    """The generator one forward pass draws its slices from: a fresh one seeded with ``seed``,
    else ``generator``; ``None`` means PyTorch's global generator, as released.

    ``x`` (the pass's input, unused) makes fx record the call, so that a traced model calls it
    every pass; fx runs a call without traced arguments once, while tracing.
    """
    if seed is not None:
        return torch.Generator().manual_seed(seed)
    return generator


@register_notrace_function
def pos_embed_for_grid(pos_embed: torch.Tensor, grid: List[int], resample: bool) -> torch.Tensor:
    """``pos_embed`` (1, C, h, w) at a ``grid`` of tokens, bicubic as timm resamples one.

    Without ``resample`` another grid is an error that says how to build the model instead.
    """
    if pos_embed.shape[-2] == grid[0] and pos_embed.shape[-1] == grid[1]:
        return pos_embed
    if not resample:
        raise ValueError(
            f"the image gives a {grid[0]}x{grid[1]} token grid but the model was built for "
            f"{pos_embed.shape[-2]}x{pos_embed.shape[-1]} (8 pixels a token): create it with that "
            f"img_size, or with dynamic_img_size=True")
    resampled = F.interpolate(pos_embed.float(), size=[grid[0], grid[1]], mode="bicubic",
                              align_corners=False, antialias=True)
    return resampled.to(pos_embed.dtype)


class Mlp(nn.Module):
    """Linear, GELU, Linear (keys ``fc1``, ``fc2`` as released). Plain modules: the tuned
    kernel policy (``sret.kernels``) fuses the GELU into ``fc1`` where that is faster."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0, device=None, dtype=None) -> None:
        super().__init__()
        dd = {"device": device, "dtype": dtype}
        self.fc1 = nn.Linear(dim, hidden, **dd)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim, **dd)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


@register_notrace_module  # timm's fx tracer keeps it whole: its kernel choice branches on shapes
class SlicedAttention(nn.Module):
    """Multi-head self-attention run independently within ``groups`` slices of the tokens.

    Slices are contiguous; with a ``permutation`` the tokens are first put in that order (and
    back afterwards), so each slice sees a random subset. All slices share the projections
    and run as one batched call of shape ``(B * groups, heads, N / groups, dim)``.

    ``fused_attn`` selects ``F.scaled_dot_product_attention`` as in timm's ``Attention``:
    ``None`` (default) follows timm's global switch (``TIMM_FUSED_ATTN``, on by default).
    Traced (fvcore, ``torch.jit.trace``) it always runs the explicit matmul-softmax-matmul,
    so any counter sees the attention matmuls. The tuned kernel policy (``sret.kernels``)
    sets ``fused_attn`` per call by slice length on the CPU, where that measured faster.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, fused_attn: Optional[bool] = None, device=None, dtype=None) -> None:
        super().__init__()
        assert dim % num_heads == 0, f"dim {dim} is not divisible by num_heads {num_heads}"
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.fused_attn = use_fused_attn() if fused_attn is None else fused_attn
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias, device=device, dtype=dtype)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim, device=device, dtype=dtype)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, groups: int = 1, permutation: Optional[torch.Tensor] = None) -> torch.Tensor:
        batch, num_tokens, dim = x.shape
        if num_tokens % groups:
            raise ValueError(f"{num_tokens} tokens cannot be cut into {groups} equal groups: "
                             "this image size does not fit the model's slices")
        if permutation is not None:
            permutation = to_device(permutation, x.device)
            x = x[:, permutation]

        slice_len = num_tokens // groups
        qkv = self.qkv(x).reshape(batch * groups, slice_len, 3, self.num_heads, self.head_dim)
        qkv = qkv.permute(2, 0, 3, 1, 4)  # (3, B * groups, heads, slice, dim), a strided view

        if self.fused_attn and not torch.jit.is_tracing():
            # SDPA reads q, k and v through their strides, as in timm's Attention: a copy first
            # would only add a pass over the projections.
            q, k, v = qkv.unbind(0)
            x = F.scaled_dot_product_attention(
                q, k, v, dropout_p=self.attn_drop.p if self.training else 0.0)
        else:
            # One copy makes q, k and v contiguous, so the matmuls below copy nothing more.
            q, k, v = qkv.contiguous().unbind(0)
            attn = (q * self.scale) @ k.transpose(-2, -1)
            attn = attn.softmax(dim=-1) if attn.requires_grad else torch.softmax(attn, -1, out=attn)
            x = self.attn_drop(attn) @ v

        x = x.transpose(1, 2).reshape(batch, num_tokens, dim)  # slices back in sequence order
        if permutation is not None:
            x = x[:, torch.argsort(permutation)]
        return self.proj_drop(self.proj(x))


class SharedBlock(nn.Module):
    """The transformer block that a stage applies several times (weights shared).

    ``x = c1 * x + c2 * attn(norm1(x))``, then ``x = c3 * x + c4 * mlp(norm2(x))``.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, drop: float = 0.0,
                 attn_drop: float = 0.0, drop_path: float = 0.0, fused_attn: Optional[bool] = None,
                 device=None, dtype=None) -> None:
        super().__init__()
        dd = {"device": device, "dtype": dtype}
        self.norm1 = nn.LayerNorm(dim, eps=1e-6, **dd)
        self.attn = SlicedAttention(dim, num_heads, qkv_bias=True, attn_drop=attn_drop,
                                    proj_drop=drop, fused_attn=fused_attn, **dd)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6, **dd)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop, **dd)
        self.coefficient1 = LearnableCoefficient(**dd)
        self.coefficient2 = LearnableCoefficient(**dd)
        self.coefficient3 = LearnableCoefficient(**dd)
        self.coefficient4 = LearnableCoefficient(**dd)

    def forward(self, x: torch.Tensor, groups: int = 1, permutation: Optional[torch.Tensor] = None) -> torch.Tensor:
        attn = self.attn(self.norm1(x), groups, permutation)
        x = scaled_residual(x, self.coefficient1.bias, self.drop_path(attn), self.coefficient2.bias)
        mlp = self.mlp(self.norm2(x))
        return scaled_residual(x, self.coefficient3.bias, self.drop_path(mlp), self.coefficient4.bias)


class NonLinearProjection(nn.Module):
    """The non-shared layer after every block application ("NLL"): ``c1 * x + c2 * mlp(norm1(x))``."""

    def __init__(self, dim: int, mlp_ratio: float, drop: float = 0.0, device=None, dtype=None) -> None:
        super().__init__()
        dd = {"device": device, "dtype": dtype}
        self.norm1 = nn.LayerNorm(dim, eps=1e-6, **dd)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop, **dd)
        self.coefficient1 = LearnableCoefficient(**dd)
        self.coefficient2 = LearnableCoefficient(**dd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return scaled_residual(x, self.coefficient1.bias, self.mlp(self.norm1(x)), self.coefficient2.bias)


class RecursiveStage(nn.Module):
    """``depth`` block applications made of ``recursive_num`` shared blocks, each applied
    ``depth // recursive_num`` times in a row, every application followed by its own NLL.

    ``blocks`` alternates block, NLL, block, NLL, ... as in the release, so a shared block sits
    under several indices (one module, so one set of tensors). The first application of a
    block attends within ``groups_first`` contiguous slices; every further (recursive)
    application within ``groups_recursive`` shuffled slices. ``exportable`` draws their
    permutations in the graph (see ``permutation_in_graph``), as any stage does while exported.
    """

    def __init__(self, dim: int, num_heads: int, depth: int, recursive_num: int,
                 groups_first: int, groups_recursive: int, mlp_ratio: float, np_mlp_ratio: float,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0,
                 drop_path_rates: Optional[Sequence[float]] = None, fused_attn: Optional[bool] = None,
                 exportable: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        dd = {"device": device, "dtype": dtype}
        if depth % recursive_num:
            raise ValueError(f"depth {depth} is not a multiple of recursive_num {recursive_num}")
        self.loops = depth // recursive_num
        self.groups_first = groups_first
        self.groups_recursive = groups_recursive
        self.grad_checkpointing = False
        self.exportable = exportable
        drop_path_rates = drop_path_rates or [0.0] * depth
        # Creation order (all shared blocks, then all NLLs) follows the release, so that the
        # same seed gives the same initial weights.
        shared = [
            SharedBlock(dim, num_heads, mlp_ratio, drop=drop_rate, attn_drop=attn_drop_rate,
                        drop_path=drop_path_rates[i], fused_attn=fused_attn, **dd)
            for i in range(recursive_num)
        ]
        nlls = [NonLinearProjection(dim, np_mlp_ratio, drop=drop_rate, **dd) for _ in range(depth)]
        sequence: List[nn.Module] = []
        for b in range(recursive_num):
            for loop in range(self.loops):
                sequence += [shared[b], nlls[b * self.loops + loop]]
        self.blocks = nn.ModuleList(sequence)
        # (shuffled applications, tokens) when frozen by SReT.fix_permutations; not in the state dict.
        self.register_buffer("fixed_permutations", None, persistent=False)
        self.reschedule()

    def reschedule(self) -> None:
        """Derive, per index of ``blocks`` (NLL entries unused), the slices and whether they are
        shuffled from ``loops``; call again after changing ``blocks`` or ``loops``."""
        recursive = [index // 2 % self.loops > 0 and hasattr(layer, "attn") for index, layer in enumerate(self.blocks)]
        self.slot_groups = [self.groups_recursive if r else self.groups_first for r in recursive]
        self.slot_shuffled = [r and self.groups_recursive > 1 for r in recursive]
        # Which row of fixed_permutations each shuffled slot takes, in forward order.
        self.slot_draw = [sum(self.slot_shuffled[:index]) for index in range(len(self.blocks))]

    def _permutation(self, index: int, num_tokens: int, generator: Optional[torch.Generator]) -> torch.Tensor:
        fixed = self.fixed_permutations
        if fixed is not None:
            if fixed.shape[1] != num_tokens:
                raise ValueError("the permutations were fixed for another number of tokens (image size)")
            return fixed[self.slot_draw[index]]
        if not torch.jit.is_scripting():  # a scripted model draws randperm, as released
            if self.exportable or exporting():
                return permutation_in_graph(num_tokens, generator)
        return draw_permutation(num_tokens, generator)

    def forward(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        batch, channels, height, width = x.shape
        # (B, C, H, W) -> (B, H*W, C), row-major tokens. Contiguous once here (free for a
        # channels-last map): otherwise the residual stream keeps the transposed layout and
        # every LayerNorm copies it.
        x = x.flatten(2).transpose(1, 2).contiguous()
        # A loop over the modules themselves, as TorchScript needs, telling blocks from NLLs by
        # their attention: TorchScript resolves hasattr statically for each module, while its
        # isinstance misses blocks of another compiled type (a DropPath instead of an Identity).
        for index, layer in enumerate(self.blocks):
            if hasattr(layer, "attn"):
                groups = self.slot_groups[index]
                permutation: Optional[torch.Tensor] = None
                if self.slot_shuffled[index]:
                    # Drawn here, outside the checkpointed block: a recomputation reuses it.
                    permutation = self._permutation(index, x.shape[1], generator)
                if self.grad_checkpointing and not torch.jit.is_scripting():
                    x = checkpoint(layer, x, groups, permutation, use_reentrant=False)
                else:
                    x = layer(x, groups, permutation)
            elif self.grad_checkpointing and not torch.jit.is_scripting():
                x = checkpoint(layer, x, use_reentrant=False)
            else:
                x = layer(x)
        return x.transpose(1, 2).reshape(batch, channels, height, width)


class ConvEmbedding(nn.Module):
    """Three 3x3 stride-2 convolutions with BatchNorm and ReLU: the image at 1/8 resolution."""

    def __init__(self, in_chans: int, embed_dim: int, device=None, dtype=None) -> None:
        super().__init__()
        dd = {"device": device, "dtype": dtype}
        self.conv1 = nn.Conv2d(in_chans, embed_dim // 2, kernel_size=3, stride=2, padding=1, **dd)
        self.bn1 = nn.BatchNorm2d(embed_dim // 2, **dd)
        self.conv2 = nn.Conv2d(embed_dim // 2, embed_dim, kernel_size=3, stride=2, padding=1, **dd)
        self.bn2 = nn.BatchNorm2d(embed_dim, **dd)
        self.conv3 = nn.Conv2d(embed_dim, embed_dim, kernel_size=3, stride=2, padding=1, **dd)
        self.bn3 = nn.BatchNorm2d(embed_dim, **dd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Channels-last: oneDNN's convolutions run about 1.5x faster on the CPU that way, and
        # the output is already laid out as the (B, H*W, C) tokens the first stage needs.
        x = x.contiguous(memory_format=torch.channels_last)
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        x = F.relu(self.bn2(self.conv2(x)), inplace=True)
        return F.relu(self.bn3(self.conv3(x)), inplace=True)


class ConvPooling(nn.Module):
    """Halves the resolution and widens the channels with a grouped 3x3 stride-2 convolution."""

    def __init__(self, in_dim: int, out_dim: int, device=None, dtype=None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_dim, out_dim, kernel_size=3, stride=2, padding=1, groups=in_dim,
                              device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SReT(nn.Module):
    """Sliced Recursive Transformer: conv stem, three recursive stages with pooling between,
    global average pooling, LayerNorm and a linear head (no class token).

    ``img_size`` sets the ``pos_embed`` grid (1/8 of the image); other image sizes are an error
    unless ``dynamic_img_size=True``, which resamples ``pos_embed`` to each input at run time.

    ``exportable`` (default: timm's ``create_model(..., exportable=True)`` layer config) draws the
    slices' permutations as the argsort of uniform noise, which ONNX and ``torch.export`` can hold
    in the graph; the model does so anyway while being exported. Eager models otherwise draw
    ``randperm`` as released, the draws the official logits were recorded with.
    """

    def __init__(
            self,
            img_size: Union[int, Tuple[int, int]] = 224,
            base_dims: Sequence[int] = (32, 32, 32),
            heads: Sequence[int] = (2, 4, 8),
            depth: Sequence[int] = (4, 10, 6),
            recursive_num: Sequence[int] = (2, 5, 3),
            groups_first: Sequence[int] = (8, 4, 1),
            groups_recursive: Sequence[int] = (2, 1, 1),
            mlp_ratio: float = 3.6,
            np_mlp_ratio: float = 1.0,
            num_classes: int = 1000,
            in_chans: int = 3,
            global_pool: str = "avg",
            drop_rate: float = 0.0,
            attn_drop_rate: float = 0.0,
            drop_path_rate: float = 0.1,
            dynamic_img_size: bool = False,
            fused_attn: Optional[bool] = None,
            permutation_seed: Optional[int] = None,
            exportable: Optional[bool] = None,
            device=None,
            dtype=None,
    ) -> None:
        super().__init__()
        dd = {"device": device, "dtype": dtype}
        reduction = 8 * 2 ** (len(depth) - 1)  # stem /8, then /2 per pool
        height, width = to_2tuple(img_size)
        if height % reduction or width % reduction:
            raise ValueError(f"img_size {img_size} must be a multiple of {reduction} "
                             f"(stem /8, {len(depth) - 1} pools /2)")
        assert global_pool in ("avg", ""), f"unsupported global_pool {global_pool!r}"
        widths = [d * h for d, h in zip(base_dims, heads)]
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.global_pool = global_pool
        self.num_features = self.head_hidden_size = self.embed_dim = widths[-1]
        self.grid_size = (height // 8, width // 8)
        self.dynamic_img_size = dynamic_img_size
        self.permutation_seed = permutation_seed
        self.permutation_generator = None  # a torch.Generator, see set_permutation_generator
        self.exportable = is_exportable() if exportable is None else exportable

        # Same creation order as the release: pos_embed, stem, stages with pools, norm, head.
        self.pos_embed = nn.Parameter(torch.randn(1, widths[0], *self.grid_size, **dd))
        self.patch_embed = ConvEmbedding(in_chans, widths[0], **dd)
        self.pos_drop = nn.Dropout(p=drop_rate)
        self.transformers = nn.ModuleList()
        self.pools = nn.ModuleList()
        total_depth, start = sum(depth), 0
        for stage in range(len(depth)):
            rates = [drop_path_rate * i / total_depth for i in range(start, start + depth[stage])]
            start += depth[stage]
            self.transformers.append(RecursiveStage(
                widths[stage], heads[stage], depth[stage], recursive_num[stage],
                groups_first[stage], groups_recursive[stage], mlp_ratio, np_mlp_ratio,
                drop_rate, attn_drop_rate, rates, fused_attn, self.exportable, **dd))
            if stage < len(depth) - 1:
                self.pools.append(ConvPooling(widths[stage], widths[stage + 1], **dd))
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # a module, so that thop counts it as released
        self.norm = nn.LayerNorm(self.embed_dim, eps=1e-6, **dd)
        self.head = nn.Linear(self.embed_dim, num_classes, **dd) if num_classes > 0 else nn.Identity()
        # Each stage's output map (before the pool that follows it).
        self.feature_info = [
            dict(num_chs=w, reduction=8 * 2 ** i, module=f"transformers.{i}") for i, w in enumerate(widths)]

        trunc_normal_(self.pos_embed, std=0.02)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # The release initialises only LayerNorms; Linear/Conv keep PyTorch's defaults.
        if isinstance(module, nn.LayerNorm):
            nn.init.constant_(module.bias, 0)
            nn.init.constant_(module.weight, 1.0)

    # -- the random slices -------------------------------------------------------------------
    @torch.jit.ignore
    def set_permutation_seed(self, seed: Optional[int]) -> None:
        """Repeatable slices: every forward draws from a fresh generator seeded with ``seed``
        (the global RNG is never touched). ``None`` returns to the official behaviour.
        Not for TorchScript: a scripted model draws from the global generator."""
        self.permutation_seed = seed
        self.permutation_generator = None

    @torch.jit.ignore
    def set_permutation_generator(self, generator: Optional[torch.Generator]) -> None:
        """Draw slices from ``generator`` (a CPU ``torch.Generator``), advancing it each pass."""
        self.permutation_generator = generator
        self.permutation_seed = None

    @torch.jit.ignore
    def fix_permutations(self, permutations: Optional[Sequence[torch.Tensor]] = None) -> List[torch.Tensor]:
        """Freeze the slices, to check an exported graph against eager: every pass then uses
        ``permutations``, one token order per shuffled block application in forward order; by
        default the ones the next pass would draw (after ``torch.manual_seed(s)``, the official
        draws). Kept as buffers outside the state dict, so an export holds them as constants.
        Returns them; ``unfix_permutations`` makes the slices random again."""
        tokens = [(self.grid_size[0] >> i) * (self.grid_size[1] >> i) for i in range(len(self.transformers))]
        counts = [sum(stage.slot_shuffled) for stage in self.transformers]
        if permutations is None:
            generator = generator_for_pass(self.pos_embed, self.permutation_seed, self.permutation_generator)
            draw = permutation_in_graph if self.exportable else draw_permutation
            permutations = [draw(n, generator) for n, count in zip(tokens, counts) for _ in range(count)]
        permutations = [p.to(torch.long) for p in permutations]
        if len(permutations) != sum(counts):
            raise ValueError(f"{len(permutations)} permutations given; the model shuffles {sum(counts)} "
                             "block applications")
        start = 0
        for stage, count in zip(self.transformers, counts):
            if count:
                stage.fixed_permutations = torch.stack(permutations[start:start + count]).to(self.pos_embed.device)
            start += count
        return permutations

    @torch.jit.ignore
    def unfix_permutations(self) -> None:
        """Random slices again, drawn as before ``fix_permutations``."""
        for stage in self.transformers:
            stage.fixed_permutations = None

    def __prepare_scriptable__(self) -> "SReT":
        # torch.jit.script calls this first. A scripted model draws from the global generator.
        if self.permutation_seed is not None or self.permutation_generator is not None:
            raise RuntimeError("a scripted SReT draws its slices from PyTorch's global generator: "
                               "call set_permutation_seed(None) before torch.jit.script")
        return self

    # -- timm model API ----------------------------------------------------------------------
    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        return {"pos_embed"}

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> dict:
        """Parameter groups in forward order (layer-wise lr decay); a pool joins the stage before it."""
        return dict(
            stem=r"^pos_embed|^patch_embed",
            blocks=[(r"^transformers\.(\d+)", None), (r"^pools\.(\d+)", (99999,))] if coarse else [
                (r"^transformers\.(\d+)\.blocks\.(\d+)", None),
                (r"^pools\.(\d+)", (99999,)),
                (r"^norm", (99999,)),
            ],
        )

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute every block application and NLL in the backward pass instead of storing them."""
        for stage in self.transformers:
            stage.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head

    @torch.jit.ignore
    def load_pretrained(self, checkpoint_path: str) -> None:
        """timm's hook for a pretrained file (``custom_load``): tensors only, strict, errors name the file."""
        load_checkpoint(self, checkpoint_path, adapt_pretrained)

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        if global_pool is not None:
            assert global_pool in ("avg", ""), f"unsupported global_pool {global_pool!r}"
            self.global_pool = global_pool
        self.num_classes = num_classes
        dd = {"device": self.pos_embed.device, "dtype": self.pos_embed.dtype}
        self.head = nn.Linear(self.num_features, num_classes, **dd) if num_classes > 0 else nn.Identity()
        self.head.train(self.training)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        pos_embed = pos_embed_for_grid(self.pos_embed, [x.shape[-2], x.shape[-1]], self.dynamic_img_size)
        return self.pos_drop(x + pos_embed)

    def _stages(self, x: torch.Tensor, take_indices: List[int], last_index: int) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Run the stages (and the pools between them) up to ``last_index``; also return the
        output maps of the stages in ``take_indices``."""
        generator: Optional[torch.Generator] = None
        # Scripted models draw from the global generator; an exported graph cannot hold one.
        if not torch.jit.is_scripting():
            if not exporting():
                generator = generator_for_pass(x, self.permutation_seed, self.permutation_generator)
        intermediates: List[torch.Tensor] = []
        # TorchScript can neither index modules by a loop variable nor leave a loop over
        # modules early, hence the inner loop for the pool before stage `index`.
        for index, stage in enumerate(self.transformers):
            if index <= last_index:
                for pool_index, pool in enumerate(self.pools):
                    if pool_index == index - 1:
                        x = pool(x)
                x = stage(x, generator)
                if index in take_indices:
                    intermediates.append(x)
        return x, intermediates

    def forward_intermediates(
            self,
            x: torch.Tensor,
            indices: Optional[Union[int, List[int]]] = None,
            norm: bool = False,
            stop_early: bool = False,
            output_fmt: str = "NCHW",
            intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """The output maps (B, C_i, H / 2^(3+i), W / 2^(3+i)) of the stages in ``indices`` (the
        last n if an int, all if None) and the final map of ``forward_features``.

        ``norm`` has no effect: SReT's norm acts on the pooled vector, never on a map.
        ``stop_early`` stops after the last stage asked for (then that map is the final one).
        """
        assert output_fmt == "NCHW", "Output shape must be NCHW."
        take_indices, max_index = feature_take_indices(len(self.transformers), indices)
        last_index = max_index if stop_early else len(self.transformers) - 1
        x, intermediates = self._stages(self._stem(x), take_indices, last_index)
        if intermediates_only:
            return intermediates
        return x, intermediates

    def prune_intermediate_layers(
            self,
            indices: Union[int, List[int]] = 1,
            prune_norm: bool = False,
            prune_head: bool = True,
    ) -> List[int]:
        """Drop the stages (and pools) after the last of ``indices``, and the norm and head as asked."""
        take_indices, max_index = feature_take_indices(len(self.transformers), indices)
        prune_end = max_index < len(self.transformers) - 1
        self.transformers = self.transformers[:max_index + 1]
        self.pools = self.pools[:max_index]
        if prune_end:
            self.num_features = self.head_hidden_size = self.feature_info[max_index]["num_chs"]
        if prune_norm or prune_head or prune_end:
            self.norm = nn.Identity()  # sized for the last stage, and only the head uses it
        if prune_head or prune_end:
            self.reset_classifier(0, "")
        return take_indices

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature map, (B, C, H/32, W/32), not pooled."""
        return self._stages(self._stem(x), [], len(self.transformers) - 1)[0]

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.global_pool == "avg":
            x = self.norm(self.avgpool(x).flatten(1))
        return x if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def checkpoint_filter_fn(state_dict: dict[str, torch.Tensor], model: SReT) -> dict[str, torch.Tensor]:
    """Adapt an official checkpoint: resample ``pos_embed`` to the model's image size and
    check that every copy of a shared block holds the same tensors."""
    out = dict(state_dict)
    pos_embed = out.get("pos_embed")
    if pos_embed is not None and pos_embed.ndim == 4:
        out["pos_embed"] = pos_embed_for_grid(pos_embed, list(model.pos_embed.shape[-2:]), resample=True)
    _check_shared_copies(out, model)
    return out


def _check_shared_copies(state_dict: dict[str, torch.Tensor], model: SReT) -> None:
    first_key_of = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        canonical = first_key_of.setdefault(id(tensor), key)
        if canonical != key and key in state_dict and canonical in state_dict:
            if not torch.equal(state_dict[key], state_dict[canonical]):
                raise CheckpointError(
                    f"checkpoint holds different tensors for {canonical!r} and {key!r}, "
                    "which this model shares (not a recursive SReT checkpoint?)")


def adapt_pretrained(state_dict: dict[str, torch.Tensor], model: SReT) -> dict[str, torch.Tensor]:
    """A released checkpoint made to fit ``model`` as timm adapts one: the filter above, the
    first convolution summed or repeated for another ``in_chans``, and a new head (the
    model's own initialisation) for another ``num_classes``."""
    state_dict = checkpoint_filter_fn(state_dict, model)
    first_conv = "patch_embed.conv1.weight"
    if first_conv in state_dict and state_dict[first_conv].shape[1] != model.in_chans:
        state_dict[first_conv] = adapt_input_conv(model.in_chans, state_dict[first_conv])
    if model.num_classes != getattr(model, "pretrained_cfg", {}).get("num_classes", 1000):
        state_dict = {k: v for k, v in state_dict.items() if not k.startswith("head.")}
        state_dict.update({f"head.{k}": v for k, v in model.head.state_dict().items()})
    return state_dict


def _create_sret(variant: str, pretrained: bool = False, **kwargs) -> SReT:
    if pretrained:
        # The released file is fetched here (gdown, sha256-checked cache); timm builds the model
        # and hands the file to SReT.load_pretrained before any features_only wrapping.
        from .hub import checkpoint_path

        overlay = kwargs.pop("pretrained_cfg_overlay", None) or {}
        cfg = resolve_pretrained_cfg(variant, kwargs.get("pretrained_cfg"), overlay)
        path = checkpoint_path(cfg.to_dict(), kwargs.get("cache_dir"))
        kwargs["pretrained_cfg_overlay"] = dict(overlay, file=str(path), custom_load=True)
    return build_model_with_cfg(
        SReT, variant, pretrained,
        # features_only: each stage's map through forward_intermediates (stages and pools interleave)
        feature_cfg=dict(feature_cls="getter", out_indices=(0, 1, 2)),
        **kwargs,
    )


# -- weights ---------------------------------------------------------------------------------
@dataclass
class SReTPretrainedCfg(PretrainedCfg):
    """timm's pretrained cfg plus where each published figure and checkpoint comes from."""
    drive_id: Optional[str] = None  # Google Drive file id of the released checkpoint
    paper_row: Optional[str] = None  # the row of the official README table it reproduces
    paper_source: Optional[str] = None  # which public source states the figures
    reconstructed: bool = False  # True: not released, rebuilt from the paper's text


_GDRIVE = "https://drive.google.com/uc?id="


def _cfg(drive_id: str = "", paper_row: str = "", img_size: int = 224, **kwargs) -> SReTPretrainedCfg:
    return SReTPretrainedCfg(**{
        "url": _GDRIVE + drive_id if drive_id else None,
        "drive_id": drive_id or None,
        "paper_row": paper_row or None,
        "paper_source": "official README (szq0214/SReT), ImageNet-1K results table" if paper_row else None,
        # A fixed input size, as for timm's ViTs: pos_embed has one grid unless the model is
        # built with another img_size, or with dynamic_img_size=True.
        "num_classes": 1000, "input_size": (3, img_size, img_size), "pool_size": (img_size // 32, img_size // 32),
        "crop_pct": 0.875, "interpolation": "bicubic", "fixed_input_size": True,
        "mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD,
        "first_conv": "patch_embed.conv1", "classifier": "head",
        "license": "apache-2.0", "origin_url": "https://github.com/szq0214/SReT",
        "paper_name": "Sliced Recursive Transformer", "paper_ids": "arXiv:2111.05297",
        **kwargs,
    })


default_cfgs = generate_default_cfgs({
    "sret_t.in1k": _cfg("1FDTpva6y-I_bKmyVmLFDn_3BlDq3dwni", "SReT_T"),
    "sret_t.distill_in1k": _cfg("1xzG4VQyQyxWJfQTcGCE-fuMuK3BwPCjK", "SReT_T_Distill"),
    "sret_t_wo_slice.in1k": _cfg("1wHM7NRSkz-WykCSES17xFV56h_m5RMXj", "SReT_⋇T"),
    "sret_t_wo_slice.distill_in1k": _cfg("1P1qK-j1Cac5le8-DNUFBbjmIpRThuiVp", "SReT_⋇T_Distill"),
    "sret_lt.in1k": _cfg("1uSWvoVLHmOH6rNYiXSxD_rlN5dSBvEm3", "SReT_LT [8-4-1,2-1-1]"),
    "sret_lt.distill_in1k": _cfg("1l6u0q4kwli5czEyo4TeJANtqsulh-J5G", "SReT_LT_Distill"),
    "sret_lt_wo_slice.in1k": _cfg("1EXwfiMMa1UVQ_tmY6YQJ-Se0b3bW5NpC", "SReT_⋇LT"),
    "sret_lt_wo_slice.distill_in1k": _cfg("1FDqkfkw5nZEuTcBmiBKg3lvPJOPQWS6i", "SReT_⋇LT_Distill"),
    "sret_lt_g16_14_1.in1k": _cfg("1sKW9KJ5PLkDVXcW6m7dp8ieLwyCJNRqV", "SReT_LT [16-14-1,1-1-1]"),
    "sret_s.in1k": _cfg("1y6F_bCgS1sagm7pxjAtuSPUB5HoNb8Ed", "SReT_S"),
    "sret_s_wo_slice.in1k": _cfg("1vlsxJieKhfnw-F6xFiwczvXBuk7ugXxm", "SReT_⋇S"),
    "sret_t_wo_slice_384.distill_in1k": _cfg(
        "11mWAktu6LrNa0Qt61WJGA0eTWoKYD1Be", "SReT_⋇T_Distill_Finetune384", img_size=384),
    "sret_s_wo_slice_384.distill_in1k": _cfg(
        "1z5whJpXbbtFdjLpS1pCPvKcJhVnYCeo-", "SReT_⋇S_Distill_Finetune384", img_size=384),
    "sret_s_wo_slice_512.distill_in1k": _cfg(
        "1AZXIGMiGboI-nkoKuPnHnhDlBwZumuiB", "SReT_⋇S_Distill_Finetune512", img_size=512),
    # Never released: reconstructed from the paper (see sret_ext below); no weights.
    "sret_ext": _cfg(reconstructed=True, paper_source="Papers with Code: SReT-ExT, 0.7 GFLOPs"),
})


# -- variants: hyper-parameters only -----------------------------------------------------------
_TINY = dict(base_dims=(32, 32, 32), heads=(2, 4, 8), depth=(4, 10, 6), recursive_num=(2, 5, 3),
             groups_first=(8, 4, 1), groups_recursive=(2, 1, 1), mlp_ratio=3.6, np_mlp_ratio=1.0,
             drop_path_rate=0.1)
_SMALL = dict(base_dims=(42, 42, 42), heads=(3, 6, 12), depth=(4, 10, 6), recursive_num=(2, 5, 3),
              groups_first=(8, 4, 1), groups_recursive=(2, 1, 1), mlp_ratio=3.0, np_mlp_ratio=2.0,
              drop_path_rate=0.2)
_NO_SLICE = dict(groups_first=(1, 1, 1), groups_recursive=(1, 1, 1))


def _variant(variant: str, pretrained: bool, base: dict, kwargs: dict, **changes) -> SReT:
    return _create_sret(variant, pretrained, **{**base, **changes, **kwargs})  # caller wins


@register_model
def sret_t(pretrained: bool = False, **kwargs) -> SReT:
    """SReT-T (4.8M params, 1.1 GFLOPs): sliced recursive, groups [8-4-1, 2-1-1]."""
    return _variant("sret_t", pretrained, _TINY, kwargs)


@register_model
def sret_t_wo_slice(pretrained: bool = False, **kwargs) -> SReT:
    """SReT-T without slicing (full attention everywhere)."""
    return _variant("sret_t_wo_slice", pretrained, _TINY, kwargs, **_NO_SLICE)


@register_model
def sret_lt(pretrained: bool = False, **kwargs) -> SReT:
    """SReT-LT: SReT-T with a wider MLP (ratio 4.0)."""
    return _variant("sret_lt", pretrained, _TINY, kwargs, mlp_ratio=4.0)


@register_model
def sret_lt_wo_slice(pretrained: bool = False, **kwargs) -> SReT:
    """SReT-LT without slicing."""
    return _variant("sret_lt_wo_slice", pretrained, _TINY, kwargs, mlp_ratio=4.0, **_NO_SLICE)


@register_model
def sret_lt_g16_14_1(pretrained: bool = False, **kwargs) -> SReT:
    """SReT-LT with groups [16-14-1, 1-1-1]: finer first slices, no recursive slicing."""
    return _variant("sret_lt_g16_14_1", pretrained, _TINY, kwargs, mlp_ratio=4.0,
                    groups_first=(16, 14, 1), groups_recursive=(1, 1, 1))


@register_model
def sret_s(pretrained: bool = False, **kwargs) -> SReT:
    """SReT-S (20.9M params, 4.2 GFLOPs)."""
    return _variant("sret_s", pretrained, _SMALL, kwargs)


@register_model
def sret_s_wo_slice(pretrained: bool = False, **kwargs) -> SReT:
    """SReT-S without slicing."""
    return _variant("sret_s_wo_slice", pretrained, _SMALL, kwargs, **_NO_SLICE)


@register_model
def sret_t_wo_slice_384(pretrained: bool = False, **kwargs) -> SReT:
    """SReT-T without slicing at 384 (the released Distill_Finetune384 model)."""
    return _variant("sret_t_wo_slice_384", pretrained, _TINY, kwargs, img_size=384, **_NO_SLICE)


@register_model
def sret_s_wo_slice_384(pretrained: bool = False, **kwargs) -> SReT:
    """SReT-S without slicing at 384 (Papers with Code "SReT-S 384", 18.5 GFLOPs)."""
    return _variant("sret_s_wo_slice_384", pretrained, _SMALL, kwargs, img_size=384, **_NO_SLICE)


@register_model
def sret_s_wo_slice_512(pretrained: bool = False, **kwargs) -> SReT:
    """SReT-S without slicing at 512 (Papers with Code "SReT-S 512", 42.8 GFLOPs)."""
    return _variant("sret_s_wo_slice_512", pretrained, _SMALL, kwargs, img_size=512, **_NO_SLICE)


@register_model
def sret_ext(pretrained: bool = False, **kwargs) -> SReT:
    """SReT-ExT, RECONSTRUCTED: never released; the paper gives only 0.7 GFLOPs.

    Chosen as SReT-T with fewer shared blocks, depth 2-6-4 over recursive_num 1-3-2: the
    same widths, heads, slices and MLP ratios, and every shared block still applied twice
    as in every released model, so only the amount of recursion-by-depth shrinks. It
    measures 0.703 GFLOPs (fvcore, one 224 image) and 3.19M parameters. Narrowing the
    stages instead (base_dims 24 -> 0.666, 26 -> 0.769 GFLOPs) would change the block design.
    """
    return _variant("sret_ext", pretrained, _TINY, kwargs, depth=(2, 6, 4), recursive_num=(1, 3, 2))
