"""Kernel choices measured on SReT's own shapes (``python -m bench.kernels``).

The model picks a kernel per device by measurement, not by habit: this prints, for every
distinct linear and attention shape of the chosen models at the chosen batch size, the
speed of each candidate relative to PyTorch's default, interleaved in one run.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable, Sequence

import timm
import torch
import torch.nn.functional as F
from tabulate import tabulate

import sret  # noqa: F401  (registers the models)
from bench.cli import ArgumentParser, run, split_list
from sret.kernels import onednn_linear, use_onednn
from sret.model import SlicedAttention


def _relative_speed(candidates: dict[str, Callable[[], object]], rounds: int, iters: int) -> dict[str, float]:
    """Each candidate's speed over the first one's, median of interleaved rounds."""
    seconds: dict[str, list[float]] = {name: [] for name in candidates}
    with torch.inference_mode():
        for fn in candidates.values():
            fn()
        for _ in range(rounds):
            for name, fn in candidates.items():
                start = time.perf_counter()
                for _ in range(iters):
                    fn()
                seconds[name].append(time.perf_counter() - start)
    base = statistics.median(next(iter(seconds.values())))
    return {name: base / statistics.median(values) for name, values in seconds.items()}


def linear_shapes(model: torch.nn.Module, batch_size: int) -> list[tuple[int, int, int]]:
    """(tokens, in, out) of every distinct linear layer application, recorded by hooks."""
    shapes: set[tuple[int, int, int]] = set()
    hooks = [m.register_forward_hook(lambda m, args, out: shapes.add(
        (args[0].shape[:-1].numel(), m.in_features, m.out_features)))
        for m in model.modules() if isinstance(m, torch.nn.Linear) and m is not model.get_classifier()]
    _run_once(model, batch_size, hooks)
    return sorted(shapes)


def attention_shapes(model: torch.nn.Module, batch_size: int) -> list[tuple[int, int, int, int]]:
    """(batch * groups, heads, tokens per group, head dim) of every attention call."""
    shapes: set[tuple[int, int, int, int]] = set()

    def record(module: SlicedAttention, args, kwargs, _out) -> None:
        x, groups = args[0], (args[1] if len(args) > 1 else kwargs.get("groups", 1))
        shapes.add((x.shape[0] * groups, module.num_heads, x.shape[1] // groups, module.head_dim))

    hooks = [m.register_forward_hook(record, with_kwargs=True) for m in model.modules() if isinstance(m, SlicedAttention)]
    _run_once(model, batch_size, hooks)
    return sorted(shapes)


def _run_once(model: torch.nn.Module, batch_size: int, hooks: list) -> None:
    """One forward at the model's size so the ``hooks`` record what runs, then remove them."""
    size = model.pretrained_cfg["input_size"][-1]
    try:
        with torch.no_grad():
            model(torch.randn(batch_size, 3, size, size))
    finally:
        for hook in hooks:
            hook.remove()


def measure(models: Sequence[str], batch_size: int, rounds: int, iters: int) -> dict[str, list[dict]]:
    linear_rows, attention_rows = [], []
    for name in models:
        model = timm.create_model(name).eval()
        for tokens, fan_in, fan_out in linear_shapes(model, batch_size):
            x, w, b = torch.randn(tokens, fan_in), torch.randn(fan_out, fan_in), torch.randn(fan_out)
            speeds = {"F.linear (addmm)": lambda: F.linear(x, w, b)}
            with torch.inference_mode():
                if use_onednn(x):
                    speeds["oneDNN"] = lambda: onednn_linear(x, w, b)
            linear_rows.append({"model": name, "tokens": tokens, "in": fan_in, "out": fan_out,
                                **_relative_speed(speeds, rounds, iters)})
        for batch, heads, tokens, dim in attention_shapes(model, batch_size):
            q, k, v = (torch.randn(batch, heads, tokens, dim) for _ in range(3))
            scale = dim ** -0.5
            speeds = {"explicit": lambda: ((q * scale) @ k.transpose(-2, -1)).softmax(-1) @ v,
                      "SDPA": lambda: F.scaled_dot_product_attention(q, k, v)}
            attention_rows.append({"model": name, "batch*groups": batch, "heads": heads, "tokens": tokens,
                                   "head_dim": dim, **_relative_speed(speeds, rounds, iters)})
    return {"linear": linear_rows, "attention": attention_rows}


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench.kernels", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="sret_t,sret_s")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iters", type=int, default=10)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = measure(split_list(args.models), args.batch_size, args.rounds, args.iters)
    print(f"CPU fp32, batch {args.batch_size}, {args.threads} threads; speed relative to the first column "
          f"(median of {args.rounds} interleaved rounds)\n")
    print(tabulate(rows["linear"], headers="keys", floatfmt=".2f"), end="\n\n")
    print(tabulate(rows["attention"], headers="keys", floatfmt=".2f"))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
