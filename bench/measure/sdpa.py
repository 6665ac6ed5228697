"""Which attention kernel a forward ran, read off the profiler rather than inferred.

``F.scaled_dot_product_attention`` picks flash, memory-efficient, cuDNN or the plain math
kernel per call from the dtype, the head width and what is enabled; on CUDA a figure means
little without knowing which. SReT-S heads are 42 wide, not a multiple of 8, which the fused
kernels want, so which one ran them is recorded per row, with the head width it saw.
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Callable

import torch

# The aten ops SDPA dispatches to, by the kernel each names.
KERNEL_OPS = {
    "aten::_scaled_dot_product_flash_attention": "flash",
    "aten::_scaled_dot_product_efficient_attention": "mem_efficient",
    "aten::_scaled_dot_product_cudnn_attention": "cudnn",
    "aten::_scaled_dot_product_attention_math": "math",
    "aten::_scaled_dot_product_flash_attention_for_cpu": "flash (CPU)",
}
METHOD = ("attention_kernels: the SDPA kernels one forward at the row's batch called (torch.profiler, CPU "
          "activity, aten op names), with the head width each saw; [] means the model ran no SDPA "
          "(explicit matmul-softmax-matmul, or no attention)")


def kernels_run(forward: Callable[[], Any]) -> list[dict[str, Any]]:
    """The SDPA kernels one call of ``forward`` ran: [{"kernel", "head_dim", "calls"}], in order met."""
    from torch.profiler import ProfilerActivity, profile

    os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # no "no GPU" line from kineto on the CPU
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Profiler clears events.*")
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as profiler:
            forward()
    calls: dict[tuple[str, Any], int] = {}
    for event in profiler.events():
        kernel = KERNEL_OPS.get(event.name)
        if kernel is not None:
            shapes = event.input_shapes or [[]]
            key = (kernel, shapes[0][-1] if shapes[0] else None)
            calls[key] = calls.get(key, 0) + 1
    return [{"kernel": kernel, "head_dim": head_dim, "calls": n} for (kernel, head_dim), n in calls.items()]


def enabled_backends() -> dict[str, bool]:
    """The CUDA SDPA backends torch may choose from (``torch.backends.cuda``), as set for this run."""
    backends = torch.backends.cuda
    flags = {"flash": backends.flash_sdp_enabled, "mem_efficient": backends.mem_efficient_sdp_enabled,
             "math": backends.math_sdp_enabled, "cudnn": getattr(backends, "cudnn_sdp_enabled", None)}
    return {name: bool(flag()) for name, flag in flags.items() if flag is not None}
