"""Our SReT against the release's formulation of it, on the same weights (``python -m bench.model_speed``).

For each model these forms run interleaved round by round in one process, on one set of
weights: the release's sequence of operations (``bench.measure.reference``, the reference),
our model with stock kernels, with tuned kernels (``sret.kernels``), and under
``torch.compile`` (settings in ``COMPILE``). The figures that count are the per-round
ratios of each form's images/s to the reference's, since a shared machine's absolute speed
drifts; logits are checked equal first (same seed, so the same random slices). With
``--release-code DIR`` the released code itself (``SReT.py`` / ``SReT_wo_slice.py`` from
github.com/szq0214/SReT, never part of this project) runs beside them, to show the reference
runs at the release's speed. MFU is against the best CPU matmul rate measured in the run, or on
a GPU (``--device cuda``: fp32 with TF32 off, the goals not applied) against its fp32 spec sheet.
"""
from __future__ import annotations

import copy
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import timm
import torch
from tabulate import tabulate
from tqdm import tqdm

import sret  # noqa: F401  (registers the models)
from bench.core.ratios import paired_ratio
from bench.core.cli import ArgumentParser, UsageError, positive_int, split_list, unknown_name
from bench.measure.counting import headline_macs
from bench.measure.reference import PaperFormulation
from bench.measure.environment import command, device_name, document
from bench.core.io import write_json_atomic
from bench.measure.throughput_run import check_device
from bench.measure import compiled
from bench.measure import timing
from bench.measure import kernel_scan
from bench.measure import models
from sret import kernel_choice
from bench.measure.timing import summarize, tf32_allowed
from sret.kernels import apply_kernel_policy

REFERENCE = "release_formulation"  # the release's sequence of operations on our weights: what ratios are over
GOALS = {"tuned": 1.3, "compiled": 1.6}  # images/s over the reference's, median of per-round ratios (CPU goals)
# How the compiled form is made: the tuned policy (under compile its linears are plain F.linear,
# so inductor sees every op; attention still chosen by length) under the frozen, dynamic-batch
# recipe (``bench.measure.compiled.FROZEN``). One graph: nothing breaks it.
COMPILE = {"policy": "tuned", **compiled.FROZEN}
# The released code: file and builder of each architecture it defines.
RELEASE_BUILDERS = {"sret_t": ("SReT.py", "SReT_T"), "sret_lt": ("SReT.py", "SReT_LT"),
                    "sret_s": ("SReT.py", "SReT_S"), "sret_t_wo_slice": ("SReT_wo_slice.py", "SReT_T_wo_slice"),
                    "sret_lt_wo_slice": ("SReT_wo_slice.py", "SReT_LT_wo_slice"),
                    "sret_s_wo_slice": ("SReT_wo_slice.py", "SReT_S_wo_slice")}
CPU = torch.device("cpu")


def _forward(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], torch.Tensor]:
    def call() -> torch.Tensor:
        with torch.inference_mode():
            return model(x)
    return call


def _logits(fn: Callable[[], torch.Tensor], seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    return fn()


def load_release_model(directory: Path, name: str, state_dict: dict[str, torch.Tensor]) -> torch.nn.Module:
    """The released code's model for ``name``, imported from ``directory``, with our weights."""
    filename, builder = RELEASE_BUILDERS[name]
    path = directory / filename
    module_name = f"sret_release_{path.stem}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # timm's register_model looks the module up
        spec.loader.exec_module(module)
    model = getattr(sys.modules[module_name], builder)(pretrained=False)
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


def build_forms(stock: torch.nn.Module, name: str, x: torch.Tensor, compile_forms: bool,
                release_code: Optional[Path]) -> dict[str, Callable[[], torch.Tensor]]:
    """Every form of ``stock`` (the model ``name``), each a call on ``x``, all on its weights."""
    stock = stock.to(x.device)
    tuned = apply_kernel_policy(copy.deepcopy(stock), "tuned")
    forms = {REFERENCE: _forward(PaperFormulation(stock).eval(), x),
             "stock": _forward(stock, x), "tuned": _forward(tuned, x)}
    if compile_forms:
        compiled_from = apply_kernel_policy(copy.deepcopy(stock), COMPILE["policy"])
        forms["compiled"] = _forward(compiled.compile_model(compiled_from, compiled.FROZEN), x)
    if release_code is not None:
        forms["release_code"] = _forward(load_release_model(release_code, name, stock.state_dict()).to(x.device), x)
    return forms


def ratio_stats(rates: Sequence[float], reference_rates: Sequence[float], goal: Optional[float],
                best: Optional[tuple[float, float]] = None) -> dict[str, Any]:
    """Per-round ratios of ``rates`` over ``reference_rates``: median, min, max, the goal's verdict, and
    with ``best`` (the form's and the reference's best-call images/s) the ratio of the best calls."""
    ratio = paired_ratio(rates, reference_rates, best)
    stats = {"ratio_median": ratio.median, "ratio_min": ratio.min, "ratio_max": ratio.max,
             "goal": goal, "met": None if goal is None else ratio.median >= goal}
    return stats if best is None else {**stats, "ratio_of_best_calls": ratio.best}


def measure_model(name: str, batch_size: int, rounds: int, iters: int, compile_forms: bool,
                  release_code: Optional[Path] = None, progress: Callable[[], None] = lambda: None,
                  device: torch.device = CPU) -> dict[str, Any]:
    """Images/s of each form of ``name`` over interleaved rounds, their ratios and logit agreement.
    The goals are the CPU's: on another device no verdict is given."""
    torch.manual_seed(0)  # built on the CPU: the same weights on any device
    stock, size = models.create(name)
    macs = headline_macs(stock, size)
    x = torch.randn(batch_size, 3, size, size).to(device)
    forms = build_forms(stock, name, x, compile_forms, release_code)
    compile_s = None
    if "compiled" in forms:
        start = time.perf_counter()
        forms["compiled"]()
        compile_s = time.perf_counter() - start
    reference = _logits(forms[REFERENCE])
    max_diff = {form: float((_logits(fn) - reference).abs().max()) for form, fn in forms.items()}
    for fn in forms.values():  # warm-up: one untimed call each
        fn()
    timed = timing.interleave(forms, rounds, iters, device, between_rounds=progress)
    if timed.errors:
        form, error = next(iter(timed.errors.items()))
        raise RuntimeError(f"{name} ({form}) failed while timed: {error}")
    rates = {form: timed.rates(form, batch_size) for form in forms}  # per round: the median call's images/s
    best = {form: batch_size / timed.fastest(form) for form in forms}
    return {"model": name, "batch_size": batch_size, "img_size": size, "rounds": rounds,
            "iters_per_round": iters, "warmup_iters": 1, "compile_s": compile_s, "reference": REFERENCE,
            "macs_per_image": macs,
            "images_per_s": {form: summarize(values)["median"] for form, values in rates.items()},
            "images_per_s_iqr": {form: summarize(values)["iqr"] for form, values in rates.items()},
            "images_per_s_best": best,
            "images_per_s_by_round": rates,  # the samples a speed gate judges each form's noise by
            "ratios": {form: {**ratio_stats(rates[form], rates[REFERENCE], GOALS.get(form) if device == CPU else None,
                                            best=(best[form], best[REFERENCE])),
                              "max_abs_logit_diff": max_diff[form]}
                       for form in forms if form != REFERENCE}}


def add_mfu(rows: list[dict[str, Any]], peak_tflops: Optional[float]) -> None:
    for row in rows:
        row["mfu"] = {form: timing.mfu(rate, row["macs_per_image"], peak_tflops)
                      for form, rate in row["images_per_s"].items()}
        row["mfu_best_calls"] = {form: timing.mfu(rate, row["macs_per_image"], peak_tflops)
                                 for form, rate in row["images_per_s_best"].items()}


def goals_verdict(rows: Sequence[dict[str, Any]]) -> dict[str, Optional[bool]]:
    """Each goal met for every model (None: not measured in this run)."""
    verdict = {}
    for form in GOALS:
        checks = [row["ratios"][form]["met"] for row in rows if form in row["ratios"]]
        verdict[form] = all(checks) if checks else None
    return verdict


def _percent(value: Optional[float]) -> str:
    return "" if value is None else f"{value:.1%}"


def render(rows: Sequence[dict[str, Any]]) -> str:
    table = []
    for row in rows:
        base = row["images_per_s"][REFERENCE]
        table.append([row["model"], "release formulation (reference)", f"{base:.1f}", "1.00x", "", "",
                      _percent(row.get("mfu", {}).get(REFERENCE)), "", ""])
        for form, ratio in row["ratios"].items():
            goal = "" if ratio["goal"] is None else f">= {ratio['goal']:.2f}x"
            met = "" if ratio["met"] is None else "met" if ratio["met"] else "NOT met"
            table.append([row["model"], form, f"{row['images_per_s'][form]:.1f}",
                          f"{ratio['ratio_median']:.2f}x ({ratio['ratio_min']:.2f}-{ratio['ratio_max']:.2f})",
                          goal, met, _percent(row.get("mfu", {}).get(form)),
                          f"{ratio['ratio_of_best_calls']:.2f}x", f"{ratio['max_abs_logit_diff']:.1e}"])
    return tabulate(table, headers=["model", "form", "img/s", "ratio (min-max)", "goal", "", "MFU",
                                    "best calls", "max |logit diff|"], disable_numparse=True)


def parse_args(argv: Sequence[str] | None):
    parser = ArgumentParser(prog="python -m bench.model_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="sret_t,sret_s")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu); the goals are the CPU's")
    parser.add_argument("--batch-size", type=positive_int("--batch-size"), default=8)
    parser.add_argument("--threads", type=positive_int("--threads"), default=2)
    parser.add_argument("--rounds", type=positive_int("--rounds"), default=7)
    parser.add_argument("--iters", type=positive_int("--iters"), default=3, help="timed calls per form per round")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile form")
    parser.add_argument("--release-code", type=Path, metavar="DIR",
                        help="a checkout of github.com/szq0214/SReT: run its code beside (needs einops)")
    parser.add_argument("--json", help="write the results document here (atomically)")
    args = parser.parse_args(argv)
    args.models = split_list(args.models)
    check_device(args.device)
    known = timm.list_models("sret_*")
    for name in args.models:
        if name not in known:
            raise unknown_name("model", name, known)
    if args.release_code is not None:
        for name in args.models:
            if name not in RELEASE_BUILDERS:
                raise UsageError(f"--release-code: the released code defines no {name}; "
                                 f"it has {', '.join(RELEASE_BUILDERS)}")
            path = args.release_code / RELEASE_BUILDERS[name][0]
            if not path.is_file():
                raise UsageError(f"--release-code: {path} not found (a checkout of github.com/szq0214/SReT)")
    return args


def results_body(rows: list[dict[str, Any]], peak: timing.PeakTracker, device: torch.device, compile_forms: bool,
                 load_start: Optional[float]) -> dict[str, Any]:
    """The ``model_speed`` document's body: MFU against the best peak sample, and the goals' verdict."""
    add_mfu(rows, peak.tflops)
    config = dict(timing.conditions(load_start, peak), dtype="fp32", tf32=False if device.type == "cuda" else None,
                  reference=REFERENCE, goals=GOALS, compile_settings=COMPILE if compile_forms else None,
                  kernel_choice=kernel_choice.current().record())
    return dict(config=config, goals_met=goals_verdict(rows), results=rows)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cpu":  # tuned and compiled run the tuned policy: decided on this CPU
        kernel_scan.ensure_decided()
    load_start = timing.load_average()
    peak = timing.PeakTracker(args.device, "fp32")
    rows = []
    with tf32_allowed(False), tqdm(total=args.rounds * len(args.models), desc="rounds", file=sys.stderr,
                                   disable=None) as bar:
        for name in args.models:
            rows.append(measure_model(name, args.batch_size, args.rounds, args.iters, not args.no_compile,
                                      args.release_code, bar.update, device=device))
            peak.sample()
    body = results_body(rows, peak, device, not args.no_compile, load_start)
    if args.json:
        write_json_atomic(args.json, document("model_speed", args.device, command("bench.model_speed", argv), **body))
    config = body["config"]
    where = "CPU" if device.type == "cpu" else f"{device_name(args.device)}, TF32 off"
    print(f"fp32, {where}, batch {args.batch_size}, {args.threads} threads, {args.rounds} interleaved rounds of "
          f"{args.iters} calls; ratio = images/s over the release formulation's, median over rounds (min-max), and of "
          f"the fastest calls (what survives other work on a shared machine); "
          + (f"MFU against {config['peak_tflops']:.3f} TFLOP/s ({config['peak_source']})" if config["peak_tflops"]
             else "no peak known: no MFU")
          + (f"; load {config['load_average_1min_start']:.2f} -> {config['load_average_1min_end']:.2f}"
             if config["load_average_1min_start"] is not None else ""))
    if not args.no_compile:
        print(f"compiled: {COMPILE}")
    print(render(rows))
    for form, met in body["goals_met"].items():
        state = "not measured" if met is None else "met" if met else "NOT met"
        print(f"goal {form} >= {GOALS[form]:.2f}x for every model: {state}")
    return 0

