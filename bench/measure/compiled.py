"""The one ``torch.compile`` recipe of the suite, its settings recorded as data.

Two settings exist for a reason. :data:`DEFAULT` is ``torch.compile``'s own defaults: what a user
who writes ``torch.compile(model)`` gets, and what throughput, the GPU run and the function gate
time or check (under autocast and on GPUs too). :data:`FROZEN` is what model speed and the op
profile measure on the CPU in fp32: inductor's freezing folds the weights in and packs the
linears, and a dynamic batch makes inductor pack them for oneDNN (measured ~2x addmm here) rather
than MKL (0.45-1.7x addmm). Every results file records the settings it ran under.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import torch

DEFAULT: Mapping[str, Any] = {"backend": "inductor", "mode": "default", "inductor_config": {}, "dynamic_batch": False}
FROZEN: Mapping[str, Any] = {"backend": "inductor", "mode": "default", "inductor_config": {"freezing": True},
                             "dynamic_batch": True}


def compile_model(model: torch.nn.Module, settings: Mapping[str, Any] = DEFAULT) -> Callable[[torch.Tensor], Any]:
    """``model`` under ``torch.compile`` with ``settings`` (compiling happens at its first call).

    Without inductor options or a dynamic batch this is ``torch.compile(model, backend, mode)``
    itself; with them, each call marks the batch dimension dynamic and patches inductor's config.
    """
    compiled = torch.compile(model, backend=settings["backend"], mode=settings["mode"])
    if not settings["inductor_config"] and not settings["dynamic_batch"]:
        return compiled
    import torch._inductor.config as inductor_config

    def call(x: torch.Tensor) -> Any:
        if settings["dynamic_batch"]:
            torch._dynamo.mark_dynamic(x, 0)
        with inductor_config.patch(dict(settings["inductor_config"])):
            return compiled(x)
    return call
