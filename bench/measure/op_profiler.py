"""Where a model's CPU time goes, per family of operators, in fp32 and under bf16 autocast.

    python -m bench.op_profile --models sret_t,deit_tiny_patch16_224 --precisions fp32,bf16
    python -m bench.op_profile --models sret_s,deit_small_patch16_224 --precisions fp32 \
        --forms release_formulation,eager,compiled

A throughput table says *that* SReT-T gains less from bf16 than DeiT-Tiny; this says *where*: the
self time of every aten operator of a few profiled forward passes (``torch.profiler``), summed
into families (matmuls, attention, convolution, norms, casts and copies, layout and gathers, ...).
Self times add up to the profiled total, so each family's share is a share of the forward pass.
The models run side by side under the same kernels (stock), threads, batch and input; the
profiler's own overhead inflates small operators, so the shares, not the milliseconds, are the
figure to read, and the milliseconds are never quoted as throughput.

``--forms`` says what a speed goal of ``bench.model_speed`` cannot: where the time that compiling
did not remove goes. ``eager`` is the model with stock kernels; ``compiled`` is the form
``bench.model_speed`` times (its ``COMPILE`` settings), profiled with inductor's kernel names, so
its generated kernels count as "fused by inductor" and the libraries it calls (oneDNN's linear
and convolution, SDPA, bmm) under their own families; ``release_formulation`` (SReT models only)
is the release's sequence of operations that the goals are ratios over.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Any, Sequence

import timm
import torch
from tabulate import tabulate
from torch.profiler import ProfilerActivity, profile

from bench.core.cli import ArgumentParser, choice_list, positive_int, split_list
from bench.core.io import write_json_atomic
from bench.measure import kernel_scan
from bench.measure import models as model_factory
from bench.measure import timing
from bench.measure.counting import headline_macs
from bench.measure.environment import command, document
from bench.measure import compiled
from bench.measure.formulation_speed import COMPILE
from bench.measure.reference import PaperFormulation
from bench.measure.throughput_run import check_models
from sret import kernel_choice
from sret.kernel_choice import cpuinfo_field
from sret.kernels import apply_kernel_policy

PRECISIONS = ("fp32", "bf16")
FORMS = ("eager", "release_formulation", "compiled")
DEFAULT_MODELS = ("sret_t", "deit_tiny_patch16_224")

# Families of operators, by the name after the namespace (aten::addmm -> addmm); any other is "other".
FAMILIES: dict[str, frozenset[str]] = {name: frozenset(ops.split()) for name, ops in {
    "matmul": "addmm mm bmm baddbmm matmul linear _linear_pointwise mkldnn_linear _mkl_linear",
    "attention": "scaled_dot_product_attention _scaled_dot_product_flash_attention_for_cpu softmax _softmax",
    "convolution": "conv2d convolution _convolution mkldnn_convolution _slow_conv2d_forward thnn_conv2d "
                   "_convolution_pointwise",
    "norm": "layer_norm native_layer_norm batch_norm native_batch_norm _batch_norm_impl_index group_norm",
    "activation": "gelu relu silu hardswish",
    "casts and copies": "to _to_copy copy_ clone contiguous empty_like empty empty_strided",
    "layout and gathers": "permute transpose reshape view _unsafe_view flatten unflatten expand index index_select "
                          "gather cat stack split chunk unbind narrow slice select randperm argsort sort squeeze "
                          "unsqueeze t as_strided alias",
    "elementwise": "add add_ mul mul_ div div_ sub mean pow sqrt rsqrt neg exp addcmul",
}.items()}
# A compiled graph's own events: inductor's generated kernels (named with enable_kernel_profile), and
# the graph's calls themselves (its Python wrapper, guards and allocations).
FUSED = "fused by inductor"
GRAPH_CALLS = "graph calls"
GRAPH_CALL_EVENTS = ("## Call CompiledFxGraph", "Torch-Compiled Region", "TorchDynamo Cache Lookup")

METHOD = ("torch.profiler CPU self time of every operator over the profiled forward passes (after warm-up), "
          "summed into operator families by name (bench.measure.op_profiler.FAMILIES); inference mode; eager = "
          "stock kernels; compiled = bench.model_speed's torch.compile form, its generated kernels named by "
          "inductor (cpp.enable_kernel_profile); release_formulation = the release's sequence of operations; "
          "bf16 = torch.autocast('cpu', dtype=torch.bfloat16) on fp32 weights. Shares of the profiled total; the "
          "profiler's overhead inflates small operators, so the milliseconds are not a throughput figure.")


def family(op_name: str) -> str:
    """The family an operator's time is counted under (by its name)."""
    if "cpp_fused_" in op_name:
        return FUSED
    if op_name.startswith(GRAPH_CALL_EVENTS):
        return GRAPH_CALLS
    base = op_name.rsplit("::", 1)[-1]
    return next((name for name, ops in FAMILIES.items() if base in ops), "other")


def bf16_support() -> dict[str, Any]:
    """Whether this CPU has native bf16 arithmetic (without it, oneDNN emulates bf16 in fp32 units)."""
    flags = set((cpuinfo_field("flags") or "").split())
    return {"avx512_bf16": "avx512_bf16" in flags, "amx_bf16": "amx_bf16" in flags,
            "onednn_bf16_supported": timing.native_bf16()}


def _autocast(precision: str) -> contextlib.AbstractContextManager:
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def forms_of(name: str, forms: Sequence[str]) -> list[str]:
    """The ``forms`` that the model ``name`` has: the release's formulation is SReT's alone."""
    return [form for form in forms if form != "release_formulation" or name in timm.list_models("sret_*")]


def _form(model: torch.nn.Module, form: str) -> torch.nn.Module:
    if form == "release_formulation":
        return PaperFormulation(model).eval()
    if form == "compiled":
        return compiled.compile_model(apply_kernel_policy(model, COMPILE["policy"]), compiled.FROZEN)
    return model


def _kernel_names(form: str) -> contextlib.AbstractContextManager:
    """While compiling, name inductor's generated kernels in the profile (else they are one graph call)."""
    if form != "compiled":
        return contextlib.nullcontext()
    import torch._inductor.config as inductor_config
    return inductor_config.patch({"cpp.enable_kernel_profile": True})


def profile_model(name: str, precision: str, batch: int, steps: int, warmup: int,
                  img_size: int | None = None, form: str = "eager") -> dict[str, Any]:
    """One model at one precision and in one form (at its own size unless given): its operators' self
    times per family, and the heaviest operators."""
    model, size = model_factory.create(name, img_size)
    macs = headline_macs(model, size)
    forward = _form(model, form)
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode(), _autocast(precision):
        with _kernel_names(form):
            for _ in range(warmup):
                forward(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                forward(x)
    self_us = {event.key: event.self_cpu_time_total for event in prof.key_averages()}
    total = sum(self_us.values())
    families: dict[str, float] = {}
    for op_name, micros in self_us.items():
        families[family(op_name)] = families.get(family(op_name), 0.0) + micros
    top = sorted(self_us.items(), key=lambda item: -item[1])[:8]
    return {"model": name, "img_size": size, "precision": precision, "form": form, "batch_size": batch,
            "steps": steps, "macs_per_image": macs, "profiled_ms_per_image": total / 1e3 / (steps * batch),
            "share": {key: round(micros / total, 4) for key, micros in sorted(families.items())},
            "top_ops": [{"op": op, "share": round(micros / total, 4), "family": family(op)} for op, micros in top]}


def measure(models: Sequence[str], precisions: Sequence[str], batch: int, steps: int,
            warmup: int, forms: Sequence[str] = ("eager",)) -> dict[str, Any]:
    """Every model at every precision in each of its ``forms``, and what the CPU offers bf16."""
    rows = [profile_model(name, precision, batch, steps, warmup, form=form)
            for name in models for form in forms_of(name, forms)
            for precision in precisions]
    return {"config": {"batch_size": batch, "steps": steps, "warmup": warmup, "kernels": "stock",
                       "threads": torch.get_num_threads(), "bf16_support": bf16_support(),
                       "compile_settings": COMPILE if "compiled" in forms else None,
                       "kernel_choice": kernel_choice.current().record() if "compiled" in forms else None},
            "method": METHOD, "results": rows}


def render(rows: Sequence[dict[str, Any]]) -> str:
    """One line per model and precision: each family's share of the profiled time, in percent."""
    names = sorted({key for row in rows for key in row["share"]})
    table = [[row["model"], row["form"], row["precision"], f"{row['profiled_ms_per_image']:.1f}",
              *(f"{100 * row['share'].get(key, 0.0):.1f}" for key in names)] for row in rows]
    return tabulate(table, headers=["model", "form", "precision", "profiled ms/image", *names])


def parse_args(argv: Sequence[str] | None):
    parser = ArgumentParser(prog="python -m bench.op_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma list (default: %(default)s)")
    parser.add_argument("--precisions", default=",".join(PRECISIONS), help="fp32, bf16 (default: %(default)s)")
    parser.add_argument("--forms", default="eager",
                        help=f"{', '.join(FORMS)} (default: %(default)s; release_formulation: SReT models only)")
    parser.add_argument("--batch-size", type=positive_int("--batch-size"), default=8)
    parser.add_argument("--steps", type=positive_int("--steps"), default=3, help="profiled forward passes")
    parser.add_argument("--warmup", type=positive_int("--warmup"), default=2)
    parser.add_argument("--threads", type=positive_int("--threads"), default=2)
    parser.add_argument("--json", help="write the results document here (atomically)")
    args = parser.parse_args(argv)
    args.models = check_models(split_list(args.models))
    args.precisions = choice_list("--precisions", "precision", args.precisions, PRECISIONS)
    args.forms = choice_list("--forms", "form", args.forms, FORMS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if "compiled" in args.forms:  # compiled runs the tuned policy: decided on this CPU
        kernel_scan.ensure_decided()
    measured = measure(list(args.models), args.precisions, args.batch_size, args.steps, args.warmup, args.forms)
    print(f"share of profiled CPU self time per operator family (%), batch {args.batch_size}, "
          f"{args.threads} threads, eager = stock kernels; bf16 support: {measured['config']['bf16_support']}")
    if "compiled" in args.forms:
        print(f"compiled: {COMPILE}")
    print(render(measured["results"]))
    if args.json:
        write_json_atomic(args.json, document("op_profile", "cpu", command("bench.op_profile", argv), **measured))
        print(f"wrote {args.json}")
    return 0
