"""Our SReT against the paper's formulation of it, on the same weights (``python -m bench.model_speed``).

For each model, three forms run interleaved round by round in one process: the paper's
formulation (``bench.paper_reference``) eager, our model eager, and our model under
``torch.compile``. The figures that count are the ratios of our images/s to the paper
formulation's, measured side by side because a shared machine's absolute speed drifts.
Logits are checked equal first (same seed, so the same random slices).
"""
from __future__ import annotations

import sys
import time
from typing import Any, Callable, Sequence

import timm
import torch
from tabulate import tabulate
from tqdm import tqdm

import sret  # noqa: F401  (registers the models)
from bench.cli import ArgumentParser, UsageError, run, split_list, unknown_name
from bench.paper_reference import PaperFormulation
from bench.results import document, write_json_atomic
from bench.timing import summarize, time_calls

GOALS = {"eager": 1.15, "compiled": 1.30}  # our images/s over the paper formulation's, eager
CPU = torch.device("cpu")


def _forward(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], Any]:
    def call():
        with torch.inference_mode():
            return model(x)
    return call


def _logits(fn: Callable[[], torch.Tensor], seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    return fn()


def measure_model(name: str, batch_size: int, rounds: int, iters: int, compile_model: bool,
                  progress: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Images/s of each form of ``name`` over interleaved rounds, and their logit agreement."""
    torch.manual_seed(0)
    ours = timm.create_model(name).eval()
    x = torch.randn(batch_size, 3, *ours.pretrained_cfg["input_size"][1:])
    forms = {"paper": _forward(PaperFormulation(ours).eval(), x), "eager": _forward(ours, x)}
    compile_s = None
    if compile_model:
        forms["compiled"] = _forward(torch.compile(ours), x)
        start = time.perf_counter()
        forms["compiled"]()
        compile_s = time.perf_counter() - start
    reference = _logits(forms["paper"])
    max_diff = {form: float((_logits(fn) - reference).abs().max()) for form, fn in forms.items() if form != "paper"}
    for fn in forms.values():  # warm-up: one untimed call each
        fn()
    rates: dict[str, list[float]] = {form: [] for form in forms}
    order = list(forms)
    for r in range(rounds):
        for form in order[r % len(order):] + order[:r % len(order)]:  # rotate who goes first
            seconds = time_calls(forms[form], iters, CPU)
            rates[form].append(batch_size * iters / sum(seconds))
        progress()
    stats = {form: summarize(values) for form, values in rates.items()}
    ratios = {}
    for form in forms:
        if form == "paper":
            continue
        per_round = [ours_rate / paper_rate for ours_rate, paper_rate in zip(rates[form], rates["paper"])]
        ratios[form] = {"ratio_median": summarize(per_round)["median"], "ratio_min": min(per_round),
                        "ratio_max": max(per_round), "goal": GOALS[form],
                        "met": summarize(per_round)["median"] >= GOALS[form],
                        "max_abs_logit_diff": max_diff[form]}
    return {"model": name, "batch_size": batch_size, "rounds": rounds, "iters_per_round": iters,
            "warmup_iters": 1, "compile_s": compile_s,
            "images_per_s": {form: s["median"] for form, s in stats.items()},
            "images_per_s_iqr": {form: s["iqr"] for form, s in stats.items()},
            "ratios": ratios}


def render(rows: Sequence[dict[str, Any]]) -> str:
    table = []
    for row in rows:
        for form, ratio in row["ratios"].items():
            table.append([row["model"], form, f"{row['images_per_s']['paper']:.1f}",
                          f"{row['images_per_s'][form]:.1f}",
                          f"{ratio['ratio_median']:.2f}x ({ratio['ratio_min']:.2f}-{ratio['ratio_max']:.2f})",
                          f">= {ratio['goal']:.2f}x", "met" if ratio["met"] else "NOT met",
                          f"{ratio['max_abs_logit_diff']:.1e}"])
    return tabulate(table, headers=["model", "ours", "paper img/s", "ours img/s", "ratio (min-max)", "goal",
                                    "", "max |logit diff|"], disable_numparse=True)


def parse_args(argv: Sequence[str] | None):
    parser = ArgumentParser(prog="python -m bench.model_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="sret_t,sret_s")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iters", type=int, default=3, help="timed calls per form per round")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile form")
    parser.add_argument("--json", help="write the results document here (atomically)")
    args = parser.parse_args(argv)
    args.models = split_list(args.models)
    known = timm.list_models("sret_*")
    for name in args.models:
        if name not in known:
            raise unknown_name("model", name, known)
    for option in ("batch_size", "threads", "rounds", "iters"):
        if getattr(args, option) < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be at least 1, got {getattr(args, option)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    with tqdm(total=args.rounds * len(args.models), desc="rounds", file=sys.stderr, disable=None) as bar:
        rows = [measure_model(name, args.batch_size, args.rounds, args.iters, not args.no_compile, bar.update)
                for name in args.models]
    if args.json:
        write_json_atomic(args.json, document("model_speed", "cpu", dtype="fp32", threads=args.threads,
                                              goals=GOALS, results=rows))
    print(f"fp32, CPU, batch {args.batch_size}, {args.threads} threads, {args.rounds} interleaved rounds "
          f"of {args.iters} calls; ratio = our images/s / the paper formulation's, median over rounds")
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
