"""Which CPU kernel runs SReT's linear layers, and how torch.compile is told about it.

oneDNN's fused matmul+bias(+GELU), ``torch.ops.mkldnn._linear_pointwise``, measured 1.7-2.4x
MKL's ``addmm`` (what ``F.linear`` runs) for every SReT layer shape on this project's CPU
(``python -m bench.kernels``). It is used for fp32 CPU inference only; training, autocast
and tracing (fvcore) keep ``F.linear``. Inductor cannot lower that op without frozen
weights, so compiled code calls it through the opaque custom op ``sret::onednn_linear``;
eager code calls it directly, which measured about 6% faster than the custom op.
"""
from __future__ import annotations

from typing import Optional

import torch

_MKLDNN_LINEAR = getattr(torch.ops.mkldnn, "_linear_pointwise", None) if torch.backends.mkldnn.is_available() else None


def use_onednn(x: torch.Tensor) -> bool:
    """Whether ``x`` may go through oneDNN: fp32 CPU inference, no autocast, not traced."""
    return (_MKLDNN_LINEAR is not None and x.device.type == "cpu" and x.dtype == torch.float32
            and not torch.is_grad_enabled() and not torch.is_autocast_enabled("cpu")
            and not torch.jit.is_tracing())


def _onednn(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor], activation: str) -> torch.Tensor:
    # activation "gelu" with algorithm "none" is the exact (erf) GELU of nn.GELU().
    return _MKLDNN_LINEAR(x, weight, bias, activation, [], "none" if activation == "gelu" else "")


@torch.library.custom_op("sret::onednn_linear", mutates_args=())
def _onednn_linear_op(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                      activation: str) -> torch.Tensor:
    return _onednn(x, weight, bias, activation)


@_onednn_linear_op.register_fake
def _(x, weight, bias, activation):
    return x.new_empty((*x.shape[:-1], weight.shape[0]))


def onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                  activation: str = "none") -> torch.Tensor:
    """``activation(x @ weight.T + bias)`` on oneDNN; call only where :func:`use_onednn` allows."""
    if torch.compiler.is_compiling():
        return _onednn_linear_op(x, weight, bias, activation)
    return _onednn(x, weight, bias, activation)
