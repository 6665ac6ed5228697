"""Kernel policies: which kernels a model runs, chosen by name and applied to any model.

``apply_kernel_policy(model, "stock")`` runs a model as plain PyTorch modules run it
(``nn.Linear`` -> ``F.linear``; attention as the model's own default: SDPA for timm models
and SReT). ``"tuned"`` applies the substitutions measured faster here (``python -m
bench.kernels``) by one module transform, to SReT and to timm baselines alike, so a ratio
between two models compares architectures, not implementations:

* every ``nn.Linear`` runs oneDNN's matmul+bias for fp32 CPU inference (calls of at least
  ``onednn_min_macs`` multiply-adds), with the GELU of a known MLP (``fc1 -> act``) fused in;
* attention on the CPU picks SDPA or the explicit matmul-softmax-matmul by the number of
  tokens attended over (``sdpa_min_tokens``).

Both crossovers are a decision measured on the machine that runs them (``sret.kernel_choice``,
``python -m bench.kernels``), loaded when the policy is applied and read at each call, so a fresh
decision applies at once.

A policy keeps the parameters (the same tensors), state-dict keys and logits (float
rounding, < 1e-5). Training, autocast, tracing (fvcore), dispatch modes
(``FlopCounterMode``) and CUDA always take the plain path, so counters see ordinary ops;
under ``torch.compile`` linears are plain ``F.linear`` (inductor picks its own kernels) and
the attention choice, between two plain formulations, stays. Importing this module also registers the FLOP formula that
``FlopCounterMode`` lacks for the CPU's flash-attention op (see ``register_cpu_sdpa_flops``).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import _get_current_dispatch_mode
from timm.layers import Attention as TimmAttention
from timm.layers import Mlp as TimmMlp

from . import kernel_choice
from .model import Mlp, SlicedAttention

__all__ = ["KERNEL_POLICIES", "apply_kernel_policy", "kernel_policy_of", "TunedLinear", "FusedIntoLinear",
           "use_onednn", "onednn_linear", "register_cpu_sdpa_flops"]

_MKLDNN_LINEAR = getattr(torch.ops.mkldnn, "_linear_pointwise", None) if torch.backends.mkldnn.is_available() else None



def use_tuned_path(x: torch.Tensor) -> bool:
    """Whether ``x`` may take a tuned choice: fp32 CPU inference, nothing tracing or counting."""
    if x.device.type != "cpu" or x.dtype != torch.float32 or torch.is_grad_enabled():
        return False
    if torch.is_autocast_enabled("cpu"):
        return False
    # Under torch.compile nothing traces or counts this code; asking would break the graph.
    return torch.compiler.is_compiling() or (not torch.jit.is_tracing() and _get_current_dispatch_mode() is None)


def use_onednn(x: torch.Tensor) -> bool:
    """Whether ``x`` may go through oneDNN's linear: :func:`use_tuned_path`, and eager, since
    the op is opaque to inductor (which packs oneDNN linears itself under freezing)."""
    return not torch.compiler.is_compiling() and _MKLDNN_LINEAR is not None and use_tuned_path(x)


def onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                  activation: str = "none") -> torch.Tensor:
    """``activation(x @ weight.T + bias)`` on oneDNN; call only where :func:`use_onednn` allows."""
    # activation "gelu" with algorithm "none" is the exact (erf) GELU of nn.GELU().
    return _MKLDNN_LINEAR(x, weight, bias, activation, [], "none" if activation == "gelu" else "")


# -- linear layers ------------------------------------------------------------------------------
def _linear_like(cls: type, linear: nn.Linear) -> nn.Linear:
    """A ``cls`` holding ``linear``'s own parameters (no new tensors, no RNG draw)."""
    out = cls.__new__(cls)
    nn.Module.__init__(out)
    out.in_features, out.out_features = linear.in_features, linear.out_features
    out.weight = linear.weight
    out.register_parameter("bias", linear.bias)
    out.train(linear.training)
    return out


class TunedLinear(nn.Linear):
    """``nn.Linear`` (the same parameters and keys) that runs oneDNN for fp32 CPU inference,
    optionally with the GELU that follows it fused in (``activation="gelu"``)."""

    activation: str = "none"

    @classmethod
    def from_linear(cls, linear: nn.Linear, activation: str = "none") -> "TunedLinear":
        tuned = _linear_like(cls, linear)
        tuned.activation = activation
        return tuned

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if use_onednn(x) and x.numel() * self.out_features >= kernel_choice.current().onednn_min_macs:
            return onednn_linear(x, self.weight, self.bias, self.activation)
        x = F.linear(x, self.weight, self.bias)
        return F.gelu(x) if self.activation == "gelu" else x

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", activation={self.activation}" if self.activation != "none" else "")


class FusedIntoLinear(nn.Identity):
    """Stands where an MLP's ``nn.GELU`` was, once the tuned policy fused it into ``fc1``."""


# MLPs whose forward applies ``act`` right after ``fc1``, so the two can run as one kernel.
GELU_MLPS: tuple[type, ...] = (Mlp, TimmMlp)


def _fuse_mlp_gelu(mlp: nn.Module) -> None:
    if (isinstance(mlp, GELU_MLPS) and type(mlp.act) is nn.GELU and mlp.act.approximate == "none"
            and type(mlp.fc1) is TunedLinear):
        mlp.fc1.activation = "gelu"
        mlp.act = FusedIntoLinear()


# -- attention ------------------------------------------------------------------------------
def _sliced_tokens(module: SlicedAttention, args: tuple, kwargs: dict) -> int:
    x = args[0] if args else kwargs["x"]
    groups = args[1] if len(args) > 1 else kwargs.get("groups", 1)
    return x.shape[1] // groups


def _timm_tokens(module: nn.Module, args: tuple, kwargs: dict) -> int:
    return (args[0] if args else kwargs["x"]).shape[1]


# Attention modules with a ``fused_attn`` switch, and how many tokens one call attends over.
ATTENTION_TOKENS: dict[type, Callable[[nn.Module, tuple, dict], int]] = {
    SlicedAttention: _sliced_tokens,
    TimmAttention: _timm_tokens,
}


def _choose_attention(module: nn.Module, args: tuple, kwargs: dict) -> None:
    """Forward pre-hook: SDPA or the explicit matmuls for this call, by tokens, on the CPU."""
    x = args[0] if args else kwargs["x"]
    stock = module._stock_fused_attn
    if stock and use_tuned_path(x):
        tokens = ATTENTION_TOKENS[type(module)](module, args, kwargs)
        module.fused_attn = tokens >= kernel_choice.current().sdpa_min_tokens
    else:
        module.fused_attn = stock


def _tune_attention(module: nn.Module) -> None:
    if type(module) in ATTENTION_TOKENS and "_stock_fused_attn" not in module.__dict__:
        module._stock_fused_attn = module.fused_attn
        module.register_forward_pre_hook(_choose_attention, with_kwargs=True)


def _stock_attention(module: nn.Module) -> None:
    if "_stock_fused_attn" in module.__dict__:
        for key, hook in list(module._forward_pre_hooks.items()):
            if hook is _choose_attention:
                del module._forward_pre_hooks[key]
                module._forward_pre_hooks_with_kwargs.pop(key, None)
        module.fused_attn = module.__dict__.pop("_stock_fused_attn")


# -- the policies -------------------------------------------------------------------------------
def _replace_children(model: nn.Module, swap: Callable[[nn.Module], Optional[nn.Module]]) -> None:
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            replacement = swap(child)
            if replacement is not None:
                setattr(parent, name, replacement)


def _to_stock(model: nn.Module) -> None:
    _replace_children(model, lambda m: _linear_like(nn.Linear, m) if type(m) is TunedLinear
                      else nn.GELU() if type(m) is FusedIntoLinear else None)
    for module in model.modules():
        _stock_attention(module)


def _to_tuned(model: nn.Module) -> None:
    # Read the decision now, not in the first forward pass: under torch.compile reading its file
    # would break the graph at every layer that asks.
    kernel_choice.current()
    _to_stock(model)  # from a known start, so applying twice changes nothing
    _replace_children(model, lambda m: TunedLinear.from_linear(m) if type(m) is nn.Linear else None)
    for module in model.modules():
        _fuse_mlp_gelu(module)
        _tune_attention(module)


KERNEL_POLICIES: dict[str, Callable[[nn.Module], None]] = {"stock": _to_stock, "tuned": _to_tuned}


def apply_kernel_policy(model: nn.Module, policy: str) -> nn.Module:
    """Give ``model`` (any ``nn.Module``) the kernels of ``policy``, in place; returns it.

    Parameters stay the same tensors and state-dict keys the same, so weights loaded
    before or after give the same logits.
    """
    if policy not in KERNEL_POLICIES:
        raise ValueError(f"unknown kernel policy {policy!r}; known: {', '.join(KERNEL_POLICIES)}")
    KERNEL_POLICIES[policy](model)
    return model


def kernel_policy_of(model: nn.Module) -> str:
    """``"tuned"`` if any module of ``model`` runs a tuned kernel, else ``"stock"``."""
    tuned = any(type(m) in (TunedLinear, FusedIntoLinear) or "_stock_fused_attn" in m.__dict__
                for m in model.modules())
    return "tuned" if tuned else "stock"


# -- counting ---------------------------------------------------------------------------------
def register_cpu_sdpa_flops() -> bool:
    """Teach ``FlopCounterMode`` the CPU's SDPA op, which it leaves at 0 (torch 2.13/2.14).

    The same formula torch uses for its GPU flash/efficient kernels (the two attention
    matmuls). Registered only where torch has the op and no formula for it; returns
    whether it registered one.
    """
    from torch.utils import flop_counter

    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if op is None or op in flop_counter.flop_registry:
        return False
    flop_counter.register_flop_formula(op)(
        lambda q, k, v, *args, out_shape=None, **kwargs: flop_counter.sdpa_flop_count(q, k, v))
    return True


register_cpu_sdpa_flops()
