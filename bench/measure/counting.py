"""GFLOPs and parameters of one model under three counters, with attention always counted.

The paper's "FLOPs" are multiply-adds (MACs), as fvcore counts them; fvcore is the headline.
thop and ``torch.utils.flop_counter`` are measured beside it, converted to MACs, and broken
down by kind of operation so a report can say *where* they differ. Out of the box none of
the three sees ``F.scaled_dot_product_attention`` (shared/COUNTING.md). SReT runs the
explicit matmuls when traced, and importing ``sret`` registers the torch counter's missing
formula for the CPU's SDPA op (``sret.kernels``), so plain fvcore and the plain torch
counter count SReT right; fvcore is given a handler here for the fused attention of timm
baselines, so a model that runs fused attention is counted the same as one that runs
matmul-softmax-matmul. thop is left as published: it only counts ``nn.Module`` leaves,
which the report states. Counts do not depend on the kernel policy (``sret.kernels``).
"""
from __future__ import annotations

import contextlib
import copy
import logging
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

import sret.kernels  # noqa: F401  (registers the torch counter's formula for the CPU's SDPA)

# The operation kinds every counter's breakdown is reduced to.
CATEGORIES = ("conv", "linear", "attention", "norm", "pool", "other")


@dataclass
class FlopCount:
    """One model's counts, all in multiply-adds (MACs) on one image."""

    model: str
    img_size: int
    params: int
    fvcore_macs: int
    thop_macs: int
    torch_counter_flops: int  # as the torch counter reports it: 2 per multiply-add
    fvcore_by_category: dict[str, int] = field(default_factory=dict)
    thop_by_category: dict[str, int] = field(default_factory=dict)
    torch_by_category: dict[str, int] = field(default_factory=dict)  # MACs (flops / 2)
    fvcore_unsupported_ops: dict[str, int] = field(default_factory=dict)

    @property
    def gmacs(self) -> float:
        """The headline: fvcore multiply-adds in G, the paper's convention."""
        return self.fvcore_macs / 1e9

    @property
    def torch_counter_macs(self) -> int:
        return self.torch_counter_flops // 2

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gmacs": self.gmacs, "params_m": self.params / 1e6,
                "torch_counter_macs": self.torch_counter_macs}


def count_params(model: nn.Module) -> int:
    """Unique parameters (a shared block counts once), as ``model.parameters()`` yields them."""
    return sum(p.numel() for p in model.parameters())


def example_input(img_size: int, in_chans: int = 3) -> torch.Tensor:
    """One image; the values do not change any count."""
    return torch.zeros(1, in_chans, img_size, img_size)


def count_flops(model: nn.Module, img_size: int, name: str = "") -> FlopCount:
    """Count ``model`` on one ``img_size`` image with fvcore, thop and the torch counter."""
    model = model.eval()
    x = example_input(img_size, _in_chans(model))
    with torch.no_grad():
        fv_total, fv_by_cat, unsupported = _fvcore(model, x)
        th_total, th_by_cat = _thop(model, x)
        tc_total, tc_by_cat = _torch_counter(model, x)
    return FlopCount(
        model=name or type(model).__name__, img_size=img_size, params=count_params(model),
        fvcore_macs=fv_total, thop_macs=th_total, torch_counter_flops=tc_total,
        fvcore_by_category=fv_by_cat, thop_by_category=th_by_cat, torch_by_category=tc_by_cat,
        fvcore_unsupported_ops=unsupported,
    )


def headline_macs(model: nn.Module, img_size: int) -> int:
    """fvcore's multiply-adds alone (the paper's convention), for callers that need only that."""
    model = model.eval()
    with torch.no_grad():
        return _fvcore(model, example_input(img_size, _in_chans(model)))[0]


def headline_activations(model: nn.Module, img_size: int) -> int:
    """fvcore's activation count of one image (timm's ``infer_macts``, in units): the outputs of
    convolutions, linears and matmuls, fused attention counted as its two matmuls' outputs
    (timm's published figures were made on the explicit form: DeiT-Ti 5.97 M)."""
    from fvcore.nn import ActivationCountAnalysis

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    model = model.eval()
    with torch.no_grad():
        analysis = ActivationCountAnalysis(model, example_input(img_size, _in_chans(model)))
        analysis.set_op_handle("aten::scaled_dot_product_attention", _fvcore_sdpa_activations)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        return int(analysis.total())


def _in_chans(model: nn.Module) -> int:
    cfg = getattr(model, "pretrained_cfg", None) or {}
    return int(cfg.get("input_size", (3,))[0])


# -- fvcore -----------------------------------------------------------------------------------
def _sdpa_macs(q_shape, k_shape, v_shape) -> int:
    """q @ k^T and attn @ v of a (..., N, D) attention: the two matmuls SDPA fuses."""
    batch = math.prod(q_shape[:-2])
    n_q, d = q_shape[-2], q_shape[-1]
    n_k, d_v = k_shape[-2], v_shape[-1]
    return batch * n_q * n_k * (d + d_v)


def _fvcore_sdpa_handle(inputs, outputs) -> int:
    from fvcore.nn.jit_handles import get_shape

    return _sdpa_macs(get_shape(inputs[0]), get_shape(inputs[1]), get_shape(inputs[2]))


def _fvcore_sdpa_activations(inputs, outputs) -> int:
    """The outputs of q @ k^T (..., N, N) and attn @ v (..., N, D_v), as the explicit form has them."""
    from fvcore.nn.jit_handles import get_shape

    q_shape, k_shape, v_shape = (get_shape(inputs[index]) for index in range(3))
    rows = math.prod(q_shape[:-1])
    return rows * (k_shape[-2] + v_shape[-1])


_FVCORE_CATEGORY = {
    "conv": "conv", "linear": "linear", "addmm": "linear", "mm": "linear",
    "matmul": "attention", "bmm": "attention", "einsum": "attention",
    "scaled_dot_product_attention": "attention",
    "layer_norm": "norm", "batch_norm": "norm", "group_norm": "norm", "instance_norm": "norm",
    "adaptive_avg_pool2d": "pool",
}


def _fvcore(model: nn.Module, x: torch.Tensor) -> tuple[int, dict[str, int], dict[str, int]]:
    from fvcore.nn import FlopCountAnalysis

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    analysis = FlopCountAnalysis(model, x)
    analysis.set_op_handle("aten::scaled_dot_product_attention", _fvcore_sdpa_handle)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    by_category: dict[str, int] = defaultdict(int)
    for op, macs in analysis.by_operator().items():
        by_category[_FVCORE_CATEGORY.get(op, "other")] += int(macs)
    return int(analysis.total()), dict(by_category), dict(analysis.unsupported_ops())


# -- thop -------------------------------------------------------------------------------------
def _module_category(module: nn.Module) -> str:
    if isinstance(module, nn.modules.conv._ConvNd):
        return "conv"
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)):
        return "norm"
    if "Pool" in type(module).__name__:
        return "pool"
    return "other"


def _thop(model: nn.Module, x: torch.Tensor) -> tuple[int, dict[str, int]]:
    from thop import profile

    from thop.vision.basic_hooks import count_linear

    # thop writes buffers into the modules it profiles: give it a copy. It matches module
    # types exactly, so subclasses of nn.Linear (the tuned policy's TunedLinear) are named for it.
    clone = copy.deepcopy(model)
    linears = {type(m): count_linear for m in clone.modules()
               if isinstance(m, nn.Linear) and type(m) is not nn.Linear}
    total, _params, layers = profile(clone, inputs=(x,), custom_ops=linears, verbose=False,
                                     report_missing=False, ret_layer_info=True)
    by_category: dict[str, int] = defaultdict(int)

    def walk(module: nn.Module, info: dict) -> None:
        for name, (ops, _p, children) in info.items():
            child = module.get_submodule(name)
            if children:
                walk(child, children)
            else:
                by_category[_module_category(child)] += int(ops)

    walk(clone, layers)
    return int(total), dict(by_category)


# -- torch.utils.flop_counter ----------------------------------------------------------------
_TORCH_CATEGORY = {
    "convolution": "conv", "addmm": "linear", "mm": "linear", "bmm": "attention", "baddbmm": "attention",
}


@contextlib.contextmanager
def _parameters_frozen(model: nn.Module):
    """Parameters that do not require grad while counting, restored after.

    Under ``no_grad`` a view of a parameter (PiT's class token, expanded to the batch) still
    requires grad but has no ``grad_fn``, and the torch counter's module tracker fails on a
    module that receives one ("Expected gradient function to be set", torch 2.14)."""
    flags = [(parameter, parameter.requires_grad) for parameter in model.parameters()]
    for parameter, _ in flags:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in flags:
            parameter.requires_grad_(flag)


def _torch_counter(model: nn.Module, x: torch.Tensor) -> tuple[int, dict[str, int]]:
    """The counter as a user runs it: importing ``sret`` taught it the CPU's SDPA op, and
    tuned kernels step aside under it (``sret.kernels``), so it needs no mapping of ours."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with _parameters_frozen(model), counter:
        model(x)
    by_category: dict[str, int] = defaultdict(int)
    for op, flops in counter.get_flop_counts().get("Global", {}).items():
        name = str(op).split(".")[1] if "." in str(op) else str(op)  # "aten.addmm.default"
        category = "attention" if "attention" in name else _TORCH_CATEGORY.get(name, "other")
        by_category[category] += int(flops) // 2
    return int(counter.get_total_flops()), dict(by_category)


def explain_differences(count: FlopCount, threshold: float = 0.001) -> list[str]:
    """Where thop and the torch counter part from fvcore, by kind of operation, in GMACs."""
    lines = []
    total = max(count.fvcore_macs, 1)
    for category in CATEGORIES:
        fv = count.fvcore_by_category.get(category, 0)
        th = count.thop_by_category.get(category, 0)
        tc = count.torch_by_category.get(category, 0)
        if max(abs(fv - th), abs(fv - tc)) / total > threshold:
            lines.append(f"{category}: fvcore {fv / 1e9:.3f}, thop {th / 1e9:.3f}, "
                         f"torch counter {tc / 1e9:.3f} GMACs")
    return lines
