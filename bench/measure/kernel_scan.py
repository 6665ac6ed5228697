"""Which kernel is faster on each layer shape the models run, decided on this machine (``python -m bench.kernels``).

For every distinct linear, linear+GELU and attention shape of the chosen models (SReT and timm
baselines alike) at the chosen batch size, each candidate's speed relative to PyTorch's default
(median of the per-round ratios of interleaved rounds); from these, the tuned policy's crossovers
(``sret.kernel_choice``), cached for this CPU model and torch version, and whether the decision
picks the faster kernel on every shape measured.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from tabulate import tabulate

from bench.core.ratios import paired_ratio
from bench.core.cli import ArgumentParser, positive_int, split_list
from bench.measure import models as models_
from bench.measure import timing
from sret import kernel_choice
from sret.kernel_choice import KernelChoice
from sret.kernels import ATTENTION_TOKENS, GELU_MLPS, onednn_linear


def relative_speed(candidates: dict[str, Callable[[], object]], rounds: int, iters: int) -> dict[str, float]:
    """Each candidate's speed over the first one's: the median of the per-round ratios of interleaved rounds."""
    with torch.inference_mode():
        for fn in candidates.values():
            fn()
        timed = timing.interleave(candidates, rounds, iters, torch.device("cpu"))
    rates = {name: timed.rates(name, 1) for name in candidates}
    base = rates[next(iter(candidates))]
    return {name: paired_ratio(values, base).median for name, values in rates.items()}


def run_with_hooks(model: torch.nn.Module, size: int, batch_size: int, hooks: list) -> None:
    """One forward at the model's size so the ``hooks`` record what runs, then remove them."""
    try:
        with torch.no_grad():
            model(torch.randn(batch_size, 3, size, size))
    finally:
        for hook in hooks:
            hook.remove()


def linear_shapes(model: torch.nn.Module, size: int, batch_size: int) -> list[tuple[int, int, int, bool]]:
    """(tokens, in, out, followed by a fusable GELU) of every distinct linear application."""
    shapes: set[tuple[int, int, int, bool]] = set()
    gelu_fc1 = {id(m.fc1) for m in model.modules()
                if isinstance(m, GELU_MLPS) and type(m.act) is torch.nn.GELU and m.act.approximate == "none"}

    def record(module, args, _out) -> None:
        shapes.add((args[0].shape[:-1].numel(), module.in_features, module.out_features, id(module) in gelu_fc1))

    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    run_with_hooks(model, size, batch_size, hooks)
    return sorted(shapes)


def attention_shapes(model: torch.nn.Module, size: int, batch_size: int) -> list[tuple[int, int, int, int]]:
    """(batch * groups, heads, tokens attended over, head dim) of every attention call."""
    shapes: set[tuple[int, int, int, int]] = set()

    def record(module, args, kwargs, _out) -> None:
        x = args[0] if args else kwargs["x"]
        tokens = ATTENTION_TOKENS[type(module)](module, args, kwargs)
        shapes.add((x.shape[0] * x.shape[1] // tokens, module.num_heads, tokens, module.head_dim))

    hooks = [m.register_forward_hook(record, with_kwargs=True) for m in model.modules()
             if type(m) in ATTENTION_TOKENS]
    run_with_hooks(model, size, batch_size, hooks)
    return sorted(shapes)


def _linear_row(name: str, shape: tuple[int, int, int, bool], rounds: int, iters: int) -> dict[str, Any]:
    tokens, fan_in, fan_out, gelu = shape
    x, w, b = torch.randn(tokens, fan_in), torch.randn(fan_out, fan_in), torch.randn(fan_out)
    activation = "gelu" if gelu else "none"
    speeds = relative_speed({"stock": lambda: F.gelu(F.linear(x, w, b)) if gelu else F.linear(x, w, b),
                             "oneDNN": lambda: onednn_linear(x, w, b, activation)}, rounds, iters)
    return {"model": name, "tokens": tokens, "in": fan_in, "out": fan_out, "GELU": "fused" if gelu else "",
            "macs": tokens * fan_in * fan_out, "oneDNN / F.linear": speeds["oneDNN"]}


def _attention_row(name: str, shape: tuple[int, int, int, int], rounds: int, iters: int) -> dict[str, Any]:
    batch, heads, tokens, dim = shape
    # q, k and v as the attention modules hold them: strided views of one qkv projection, which
    # SDPA reads as they are and the explicit matmuls copy once (sret.model.SlicedAttention).
    qkv = torch.randn(batch, tokens, 3, heads, dim).permute(2, 0, 3, 1, 4)
    scale = dim ** -0.5

    def explicit() -> torch.Tensor:
        q, k, v = qkv.contiguous().unbind(0)
        return ((q * scale) @ k.transpose(-2, -1)).softmax(-1) @ v

    speeds = relative_speed({"SDPA (stock)": lambda: F.scaled_dot_product_attention(*qkv.unbind(0)),
                             "explicit": explicit}, rounds, iters)
    return {"model": name, "batch*groups": batch, "heads": heads, "tokens": tokens, "head_dim": dim,
            "explicit / SDPA": speeds["explicit"]}


def best_switch(shapes: Sequence[tuple[int, float, float]], never: int) -> int:
    """Where the tuned policy switches to a candidate kernel: the size (a measured one, or ``never``)
    from which running it saves the most time over the measured shapes.

    Each shape is (size, weight, the candidate's speed over the other kernel); its time is taken as
    proportional to its weight (its multiply-adds), so switching at ``s`` saves
    ``sum(weight * (1 - 1 / speed))`` over the shapes of size ``s`` or above. A single threshold cannot
    pick the faster kernel on every shape when their wins interleave (oneDNN won SReT-T's 92M-MAC
    layers but lost one PiT layer of 96M on an AVX-512 EPYC): it is placed where it wins most, not
    above the largest loss. Ties go to the larger size, switching fewer shapes.
    """
    best, best_saving = never, 0.0
    for switch in sorted({size for size, _, _ in shapes}, reverse=True):
        saving = sum(weight * (1 - 1 / speed) for size, weight, speed in shapes if size >= switch)
        if saving > best_saving:
            best, best_saving = switch, saving
    return best


def attention_macs(row: dict[str, Any]) -> int:
    """Multiply-adds of one attention call (q @ k^T and its product with v)."""
    return 2 * row["batch*groups"] * row["heads"] * row["tokens"] ** 2 * row["head_dim"]


def decide(rows: dict[str, list[dict[str, Any]]], cpu: str, torch_version: str, when: str) -> KernelChoice:
    """The tuned policy's crossovers from one scan's measurements (:func:`best_switch`): oneDNN's linear
    from the call size, SDPA from the token count, that saves the most time over the measured shapes."""
    onednn = best_switch([(r["macs"], r["macs"], r["oneDNN / F.linear"]) for r in rows["linear"]], never=2**62)
    sdpa = best_switch([(r["tokens"], attention_macs(r), 1 / r["explicit / SDPA"]) for r in rows["attention"]],
                       never=2**31)
    return KernelChoice(sdpa_min_tokens=sdpa, onednn_min_macs=onednn, cpu=cpu, torch=torch_version,
                        source=f"measured on {cpu} with torch {torch_version}, {when} (python -m bench.kernels, "
                               f"{torch.get_num_threads()} threads)",
                        measurements=rows["linear"] + rows["attention"])


def picks(rows: dict[str, list[dict[str, Any]]], choice: KernelChoice) -> dict[str, list[dict[str, Any]]]:
    """Each measured shape with what ``choice`` runs there and whether that is the faster kernel."""
    linear = [{**r, "tuned picks": "oneDNN" if r["macs"] >= choice.onednn_min_macs else "F.linear",
               "tuned picks the faster": (r["oneDNN / F.linear"] > 1) == (r["macs"] >= choice.onednn_min_macs)}
              for r in rows["linear"]]
    attention = [{**r, "tuned picks": "SDPA (stock)" if r["tokens"] >= choice.sdpa_min_tokens else "explicit",
                  "tuned picks the faster": (r["explicit / SDPA"] > 1) == (r["tokens"] < choice.sdpa_min_tokens)}
                 for r in rows["attention"]]
    return {"linear": linear, "attention": attention}


def measure(models: Sequence[str], batch_size: int, rounds: int, iters: int) -> dict[str, list[dict]]:
    linear_rows, attention_rows = [], []
    for name in models:
        model, size = models_.create(name)
        linear_rows += [_linear_row(name, s, rounds, iters) for s in linear_shapes(model, size, batch_size)]
        attention_rows += [_attention_row(name, s, rounds, iters) for s in attention_shapes(model, size, batch_size)]
    return {"linear": linear_rows, "attention": attention_rows}


DEFAULT_MODELS = "sret_t,sret_s,deit_tiny_patch16_224,pit_ti_224"


def ensure_decided(threads: int | None = None) -> KernelChoice:
    """The decision for this machine: the cached one, else a quick scan made now and cached (what a
    benchmark of the tuned policy calls first, so it never runs a table measured elsewhere)."""
    cached = kernel_choice.load()
    if cached is None:
        print("bench: no kernel decision for this CPU and torch yet: measuring one (python -m bench.kernels)",
              file=sys.stderr, flush=True)
        rows = measure(DEFAULT_MODELS.split(","), batch_size=8, rounds=3, iters=5)
        cached = decide(rows, kernel_choice.cpu_name(), torch.__version__,
                        datetime.now(timezone.utc).date().isoformat())
        print(f"bench: kernel decision cached in {kernel_choice.save(cached)} (${kernel_choice.CACHE_ENV} moves it)",
              flush=True)
    kernel_choice.use(cached)
    return cached


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench.kernels", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--batch-size", type=positive_int("--batch-size"), default=8)
    parser.add_argument("--threads", type=positive_int("--threads"), default=2)
    parser.add_argument("--rounds", type=positive_int("--rounds"), default=5)
    parser.add_argument("--iters", type=positive_int("--iters"), default=10)
    parser.add_argument("--no-save", action="store_true", help="print the decision, do not cache it for this machine")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = measure(split_list(args.models), args.batch_size, args.rounds, args.iters)
    choice = decide(rows, kernel_choice.cpu_name(), torch.__version__,
                    datetime.now(timezone.utc).date().isoformat())
    print(f"CPU fp32, batch {args.batch_size}, {args.threads} threads; speed relative to PyTorch's default "
          f"(median of {args.rounds} interleaved rounds of {args.iters} calls)\n")
    shown = picks(rows, choice)
    print(tabulate(shown["linear"], headers="keys", floatfmt=".2f"), end="\n\n")
    print(tabulate(shown["attention"], headers="keys", floatfmt=".2f"), end="\n\n")
    print(f"decision: oneDNN linear from {choice.onednn_min_macs:,} multiply-adds a call, SDPA from "
          f"{choice.sdpa_min_tokens} tokens ({choice.source})")
    if not args.no_save:
        print(f"wrote {kernel_choice.save(choice)}")
    return 0
