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
  (``set_permutation_seed`` / ``set_permutation_generator``) instead of the global RNG.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import DropPath, resample_abs_pos_embed_nhwc, trunc_normal_, use_fused_attn
from timm.models import PretrainedCfg, build_model_with_cfg, generate_default_cfgs, register_model

from .checkpoint import CheckpointError, load_checkpoint

__all__ = ["SReT", "SlicedAttention", "SharedBlock", "NonLinearProjection", "RecursiveStage"]


class LearnableCoefficient(nn.Module):
    """A learnable scalar (``bias``, initialised to 1) that scales a residual branch.

    Kept as a module so the state-dict keys stay ``coefficientK.bias`` as in the release.
    """

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.bias


def scaled_residual(x: torch.Tensor, x_scale: LearnableCoefficient,
                    branch: torch.Tensor, branch_scale: LearnableCoefficient) -> torch.Tensor:
    """``x_scale * x + branch_scale * branch`` in two kernels instead of three."""
    return torch.addcmul(x * x_scale.bias, branch, branch_scale.bias)


def draw_permutation(num_tokens: int, generator: Optional[torch.Generator]) -> torch.Tensor:
    """A random token order, drawn on the CPU as the official code draws it.

    With ``generator=None`` this is ``torch.randperm(N)`` on PyTorch's default CPU generator,
    exactly the official call, so the official logits are reproduced after the same seed.
    """
    return torch.randperm(num_tokens, generator=generator)



class Mlp(nn.Module):
    """Linear, GELU, Linear (keys ``fc1``, ``fc2`` as released). Plain modules: the tuned
    kernel policy (``sret.kernels``) fuses the GELU into ``fc1`` where that is faster."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class SlicedAttention(nn.Module):
    """Multi-head self-attention run independently within ``groups`` slices of the tokens.

    Slices are contiguous; with ``shuffle=True`` the tokens are first put in a random order
    (and back afterwards), so each slice sees a random subset. All slices share the
    projections and run as one batched call of shape ``(B * groups, heads, N / groups, dim)``.

    ``fused_attn`` selects ``F.scaled_dot_product_attention`` as in timm's ``Attention``:
    ``None`` (default) follows timm's global switch (``TIMM_FUSED_ATTN``, on by default).
    Traced (fvcore, ``torch.jit.trace``) it always runs the explicit matmul-softmax-matmul,
    so any counter sees the attention matmuls. The tuned kernel policy (``sret.kernels``)
    sets ``fused_attn`` per call by slice length on the CPU, where that measured faster.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, fused_attn: Optional[bool] = None) -> None:
        super().__init__()
        assert dim % num_heads == 0, f"dim {dim} is not divisible by num_heads {num_heads}"
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.fused_attn = use_fused_attn() if fused_attn is None else fused_attn
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, groups: int = 1, shuffle: bool = False,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        batch, num_tokens, dim = x.shape
        if num_tokens % groups:
            raise ValueError(f"{num_tokens} tokens cannot be cut into {groups} equal groups")
        permutation: Optional[torch.Tensor] = None
        if shuffle and groups > 1:
            permutation = draw_permutation(num_tokens, generator).to(x.device)
            x = x[:, permutation]

        slice_len = num_tokens // groups
        qkv = self.qkv(x).reshape(batch * groups, slice_len, 3, self.num_heads, self.head_dim)
        # One copy makes q, k and v contiguous, so the matmuls below copy nothing more.
        q, k, v = qkv.permute(2, 0, 3, 1, 4).contiguous().unbind(0)  # (B * groups, heads, slice, dim)

        if self.fused_attn and not torch.jit.is_tracing():
            x = F.scaled_dot_product_attention(
                q, k, v, dropout_p=self.attn_drop.p if self.training else 0.0)
        else:
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
                 attn_drop: float = 0.0, drop_path: float = 0.0, fused_attn: Optional[bool] = None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = SlicedAttention(dim, num_heads, qkv_bias=True, attn_drop=attn_drop,
                                    proj_drop=drop, fused_attn=fused_attn)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)
        self.coefficient1 = LearnableCoefficient()
        self.coefficient2 = LearnableCoefficient()
        self.coefficient3 = LearnableCoefficient()
        self.coefficient4 = LearnableCoefficient()

    def forward(self, x: torch.Tensor, groups: int = 1, shuffle: bool = False,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        attn = self.attn(self.norm1(x), groups, shuffle, generator)
        x = scaled_residual(x, self.coefficient1, self.drop_path(attn), self.coefficient2)
        mlp = self.mlp(self.norm2(x))
        return scaled_residual(x, self.coefficient3, self.drop_path(mlp), self.coefficient4)


class NonLinearProjection(nn.Module):
    """The non-shared layer after every block application ("NLL"): ``c1 * x + c2 * mlp(norm1(x))``."""

    def __init__(self, dim: int, mlp_ratio: float, drop: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)
        self.coefficient1 = LearnableCoefficient()
        self.coefficient2 = LearnableCoefficient()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return scaled_residual(x, self.coefficient1, self.mlp(self.norm1(x)), self.coefficient2)


class RecursiveStage(nn.Module):
    """``depth`` block applications made of ``recursive_num`` shared blocks, each applied
    ``depth // recursive_num`` times in a row, every application followed by its own NLL.

    ``blocks`` alternates block, NLL, block, NLL, ... as in the release, so a shared block sits
    under several indices (one module, so one set of tensors). The first application of a
    block attends within ``groups_first`` contiguous slices; every further (recursive)
    application within ``groups_recursive`` shuffled slices.
    """

    def __init__(self, dim: int, num_heads: int, depth: int, recursive_num: int,
                 groups_first: int, groups_recursive: int, mlp_ratio: float, np_mlp_ratio: float,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0,
                 drop_path_rates: Optional[Sequence[float]] = None, fused_attn: Optional[bool] = None) -> None:
        super().__init__()
        if depth % recursive_num:
            raise ValueError(f"depth {depth} is not a multiple of recursive_num {recursive_num}")
        self.loops = depth // recursive_num
        self.groups_first = groups_first
        self.groups_recursive = groups_recursive
        drop_path_rates = drop_path_rates or [0.0] * depth
        # Creation order (all shared blocks, then all NLLs) follows the release, so that the
        # same seed gives the same initial weights.
        shared = [
            SharedBlock(dim, num_heads, mlp_ratio, drop=drop_rate, attn_drop=attn_drop_rate,
                        drop_path=drop_path_rates[i], fused_attn=fused_attn)
            for i in range(recursive_num)
        ]
        nlls = [NonLinearProjection(dim, np_mlp_ratio, drop=drop_rate) for _ in range(depth)]
        sequence = []
        for b in range(recursive_num):
            for loop in range(self.loops):
                sequence += [shared[b], nlls[b * self.loops + loop]]
        self.blocks = nn.ModuleList(sequence)

    def forward(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        batch, channels, height, width = x.shape
        # (B, C, H, W) -> (B, H*W, C), row-major tokens. Contiguous once here (free for a
        # channels-last map): otherwise the residual stream keeps the transposed layout and
        # every LayerNorm copies it.
        x = x.flatten(2).transpose(1, 2).contiguous()
        for application in range(len(self.blocks) // 2):
            recursive = application % self.loops > 0
            groups = self.groups_recursive if recursive else self.groups_first
            x = self.blocks[2 * application](x, groups, shuffle=recursive, generator=generator)
            x = self.blocks[2 * application + 1](x)
        return x.transpose(1, 2).reshape(batch, channels, height, width)


class ConvEmbedding(nn.Module):
    """Three 3x3 stride-2 convolutions with BatchNorm and ReLU: the image at 1/8 resolution."""

    def __init__(self, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, embed_dim // 2, kernel_size=3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(embed_dim // 2)
        self.conv2 = nn.Conv2d(embed_dim // 2, embed_dim, kernel_size=3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(embed_dim)
        self.conv3 = nn.Conv2d(embed_dim, embed_dim, kernel_size=3, stride=2, padding=1)
        self.bn3 = nn.BatchNorm2d(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Channels-last: oneDNN's convolutions run about 1.5x faster on the CPU that way, and
        # the output is already laid out as the (B, H*W, C) tokens the first stage needs.
        x = x.contiguous(memory_format=torch.channels_last)
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        x = F.relu(self.bn2(self.conv2(x)), inplace=True)
        return F.relu(self.bn3(self.conv3(x)), inplace=True)


class ConvPooling(nn.Module):
    """Halves the resolution and widens the channels with a grouped 3x3 stride-2 convolution."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_dim, out_dim, kernel_size=3, stride=2, padding=1, groups=in_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SReT(nn.Module):
    """Sliced Recursive Transformer: conv stem, three recursive stages with pooling between,
    global average pooling, LayerNorm and a linear head (no class token)."""

    def __init__(
            self,
            img_size: int = 224,
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
            fused_attn: Optional[bool] = None,
            permutation_seed: Optional[int] = None,
    ) -> None:
        super().__init__()
        img_size = img_size[-1] if isinstance(img_size, (tuple, list)) else img_size
        if img_size % 32:
            raise ValueError(f"img_size {img_size} must be a multiple of 32 (stem /8, two pools /2)")
        assert global_pool in ("avg", ""), f"unsupported global_pool {global_pool!r}"
        widths = [d * h for d, h in zip(base_dims, heads)]
        self.num_classes = num_classes
        self.global_pool = global_pool
        self.num_features = self.head_hidden_size = self.embed_dim = widths[-1]
        self.grid_size = img_size // 8
        self.permutation_seed = permutation_seed
        self.permutation_generator: Optional[torch.Generator] = None

        # Same creation order as the release: pos_embed, stem, stages with pools, norm, head.
        self.pos_embed = nn.Parameter(torch.randn(1, widths[0], self.grid_size, self.grid_size))
        self.patch_embed = ConvEmbedding(in_chans, widths[0])
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
                drop_rate, attn_drop_rate, rates, fused_attn))
            if stage < len(depth) - 1:
                self.pools.append(ConvPooling(widths[stage], widths[stage + 1]))
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # a module, so that thop counts it as released
        self.norm = nn.LayerNorm(self.embed_dim, eps=1e-6)
        self.head = nn.Linear(self.embed_dim, num_classes) if num_classes > 0 else nn.Identity()
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
    def set_permutation_seed(self, seed: Optional[int]) -> None:
        """Repeatable slices: every forward draws from a fresh generator seeded with ``seed``
        (the global RNG is never touched). ``None`` returns to the official behaviour."""
        self.permutation_seed = seed
        self.permutation_generator = None

    def set_permutation_generator(self, generator: Optional[torch.Generator]) -> None:
        """Draw slices from ``generator`` (a CPU ``torch.Generator``), advancing it each pass."""
        self.permutation_generator = generator
        self.permutation_seed = None

    def _generator_for_pass(self) -> Optional[torch.Generator]:
        if self.permutation_seed is not None:
            return torch.Generator().manual_seed(self.permutation_seed)
        return self.permutation_generator  # None: the global default generator, as released

    # -- timm model API ----------------------------------------------------------------------
    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        return {"pos_embed"}

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        self.num_classes = num_classes
        if global_pool is not None:
            self.global_pool = global_pool
        self.head = nn.Linear(self.embed_dim, num_classes) if num_classes > 0 else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature map, (B, C, H/32, W/32)."""
        generator = self._generator_for_pass()
        x = self.pos_drop(self.patch_embed(x) + self.pos_embed)
        for stage, pool in zip(self.transformers[:-1], self.pools):
            x = pool(stage(x, generator))
        return self.transformers[-1](x, generator)

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
    if pos_embed is not None and pos_embed.ndim == 4 and pos_embed.shape[-2:] != model.pos_embed.shape[-2:]:
        resampled = resample_abs_pos_embed_nhwc(pos_embed.permute(0, 2, 3, 1), list(model.pos_embed.shape[-2:]))
        out["pos_embed"] = resampled.permute(0, 3, 1, 2).contiguous()
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


def _load_pretrained(model: SReT, pretrained_cfg: dict) -> None:
    """Load a released checkpoint safely (tensors only, strict), keeping shared blocks shared."""
    from .hub import checkpoint_path

    def adapt(state_dict: dict[str, torch.Tensor], model: SReT) -> dict[str, torch.Tensor]:
        state_dict = checkpoint_filter_fn(state_dict, model)
        if model.num_classes != pretrained_cfg.get("num_classes", 1000):
            # A new head for another label set, as timm does when num_classes differs.
            state_dict = {k: v for k, v in state_dict.items() if not k.startswith("head.")}
            state_dict.update({f"head.{k}": v for k, v in model.head.state_dict().items()})
        return state_dict

    load_checkpoint(model, checkpoint_path(pretrained_cfg), adapt)


def _create_sret(variant: str, pretrained: bool = False, **kwargs) -> SReT:
    # timm builds the model and resolves the pretrained cfg (tags, pretrained_cfg_overlay);
    # the weights are loaded by _load_pretrained, which never unpickles arbitrary objects.
    model = build_model_with_cfg(
        SReT, variant, pretrained=False,
        feature_cfg=dict(flatten_sequential=True, out_indices=(0, 1, 2)),
        **kwargs,
    )
    if pretrained:
        _load_pretrained(model, model.pretrained_cfg)
    return model


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
        "num_classes": 1000, "input_size": (3, img_size, img_size), "pool_size": None,
        "crop_pct": 0.875, "interpolation": "bicubic", "fixed_input_size": False,
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
