"""Which kernel is faster on each layer shape the models run (``python -m bench.kernels``).

The tuned kernel policy (``sret.kernels``) substitutes a kernel only where it measured
faster: this prints, for every distinct linear, linear+GELU and attention shape of the
chosen models (SReT and timm baselines alike) at the chosen batch size, each candidate's
speed relative to PyTorch's default, median of interleaved rounds, and whether the tuned
policy picks the faster one.
"""
from __future__ import annotations

import statistics
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from tabulate import tabulate

from bench.core.cli import ArgumentParser, positive_int, split_list
from bench.measure import timing
from sret.kernels import ATTENTION_TOKENS, CPU_SDPA_MIN_TOKENS, GELU_MLPS, ONEDNN_MIN_MACS, onednn_linear


def relative_speed(candidates: dict[str, Callable[[], object]], rounds: int, iters: int) -> dict[str, float]:
    """Each candidate's speed over the first one's: the median of the per-round ratios of interleaved rounds."""
    with torch.inference_mode():
        for fn in candidates.values():
            fn()
        timed = timing.interleave(candidates, rounds, iters, torch.device("cpu"))
    rates = {name: timed.rates(name, 1) for name in candidates}
    base = rates[next(iter(candidates))]
    return {name: statistics.median(r / b for r, b in zip(values, base)) for name, values in rates.items()}


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
    picks_onednn = tokens * fan_in * fan_out >= ONEDNN_MIN_MACS
    return {"model": name, "tokens": tokens, "in": fan_in, "out": fan_out, "GELU": "fused" if gelu else "",
            "oneDNN / F.linear": speeds["oneDNN"], "tuned picks": "oneDNN" if picks_onednn else "F.linear",
            "tuned picks the faster": (speeds["oneDNN"] > 1) == picks_onednn}


def _attention_row(name: str, shape: tuple[int, int, int, int], rounds: int, iters: int) -> dict[str, Any]:
    batch, heads, tokens, dim = shape
    q, k, v = (torch.randn(batch, heads, tokens, dim) for _ in range(3))
    scale = dim ** -0.5
    speeds = relative_speed({"SDPA (stock)": lambda: F.scaled_dot_product_attention(q, k, v),
                             "explicit": lambda: ((q * scale) @ k.transpose(-2, -1)).softmax(-1) @ v},
                            rounds, iters)
    tuned = "SDPA (stock)" if tokens >= CPU_SDPA_MIN_TOKENS else "explicit"
    return {"model": name, "batch*groups": batch, "heads": heads, "tokens": tokens, "head_dim": dim,
            "explicit / SDPA": speeds["explicit"], "tuned picks": tuned,
            "tuned picks the faster": (speeds["explicit"] > 1) == (tuned == "explicit")}


def measure(models: Sequence[str], batch_size: int, rounds: int, iters: int) -> dict[str, list[dict]]:
    linear_rows, attention_rows = [], []
    for name in models:
        model, size = models.create(name)
        linear_rows += [_linear_row(name, s, rounds, iters) for s in linear_shapes(model, size, batch_size)]
        attention_rows += [_attention_row(name, s, rounds, iters) for s in attention_shapes(model, size, batch_size)]
    return {"linear": linear_rows, "attention": attention_rows}


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench.kernels", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="sret_t,sret_s,deit_tiny_patch16_224,pit_ti_224")
    parser.add_argument("--batch-size", type=positive_int("--batch-size"), default=8)
    parser.add_argument("--threads", type=positive_int("--threads"), default=2)
    parser.add_argument("--rounds", type=positive_int("--rounds"), default=5)
    parser.add_argument("--iters", type=positive_int("--iters"), default=10)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = measure(split_list(args.models), args.batch_size, args.rounds, args.iters)
    print(f"CPU fp32, batch {args.batch_size}, {args.threads} threads; speed relative to PyTorch's default "
          f"(median of {args.rounds} interleaved rounds of {args.iters} calls)\n")
    print(tabulate(rows["linear"], headers="keys", floatfmt=".2f"), end="\n\n")
    print(tabulate(rows["attention"], headers="keys", floatfmt=".2f"))
    return 0

