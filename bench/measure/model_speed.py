"""Our SReT against the release's formulation of it, on the same weights (``python -m bench.model_speed``).

For each model these forms run interleaved round by round in one process, on one set of
weights: the release's sequence of operations (``bench.paper_reference``, the baseline),
our model with stock kernels, with tuned kernels (``sret.kernels``), and under
``torch.compile`` (settings in ``COMPILE``). The figures that count are the per-round
ratios of each form's images/s to the baseline's, since a shared machine's absolute speed
drifts; logits are checked equal first (same seed, so the same random slices). With
``--release-code DIR`` the released code itself (``SReT.py`` / ``SReT_wo_slice.py`` from
github.com/szq0214/SReT, never part of this project) runs beside them, to show the baseline
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
from bench.core.cli import ArgumentParser, UsageError, run, split_list, unknown_name
from bench.measure.counting import headline_macs
from bench.measure.reference import PaperFormulation
from bench.measure.environment import command, device_name, document
from bench.core.io import write_json_atomic
from bench.measure.throughput import check_device, load_average
from bench.measure import timing
from bench.measure.timing import gpu_peak_tflops, summarize, tf32_allowed, time_calls
from sret.kernels import apply_kernel_policy

BASELINE = "paper"  # the release's sequence of operations on our weights
GOALS = {"tuned": 1.3, "compiled": 1.6}  # images/s over the baseline's, median of per-round ratios (CPU goals)
# How the compiled form is made: the tuned policy (under compile its linears are plain F.linear,
# so inductor sees every op; attention still chosen by length), with freezing, which folds the
# weights in and packs the linears, and a dynamic batch, for which inductor packs them for oneDNN
# (measured ~2x addmm here) rather than MKL (0.45-1.7x addmm). One graph: nothing breaks it.
COMPILE = {"policy": "tuned", "backend": "inductor", "mode": "default", "inductor_config": {"freezing": True},
           "dynamic_batch": True}
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


def compile_model(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` under ``torch.compile`` with the ``COMPILE`` settings (applied at its first call)."""
    import torch._inductor.config as inductor_config

    compiled = torch.compile(model, backend=COMPILE["backend"], mode=COMPILE["mode"])

    def call(x: torch.Tensor) -> torch.Tensor:
        if COMPILE["dynamic_batch"]:
            torch._dynamo.mark_dynamic(x, 0)
        with inductor_config.patch(COMPILE["inductor_config"]):
            return compiled(x)
    return call


def build_forms(name: str, x: torch.Tensor, compile_forms: bool,
                release_code: Optional[Path]) -> dict[str, Callable[[], torch.Tensor]]:
    """Every form of ``name``, each a call on ``x`` (on ``x``'s device), all on one set of weights."""
    torch.manual_seed(0)
    stock = timm.create_model(name).eval().to(x.device)  # initialised on the CPU: the same weights anywhere
    tuned = apply_kernel_policy(copy.deepcopy(stock), "tuned")
    forms = {BASELINE: _forward(PaperFormulation(stock).eval(), x),
             "stock": _forward(stock, x), "tuned": _forward(tuned, x)}
    if compile_forms:
        compiled_from = apply_kernel_policy(copy.deepcopy(stock), COMPILE["policy"])
        forms["compiled"] = _forward(compile_model(compiled_from), x)
    if release_code is not None:
        forms["release_code"] = _forward(load_release_model(release_code, name, stock.state_dict()).to(x.device), x)
    return forms


def ratio_stats(rates: Sequence[float], baseline_rates: Sequence[float], goal: Optional[float]) -> dict[str, Any]:
    """Per-round ratios of ``rates`` over ``baseline_rates``: median, min, max, and the goal's verdict."""
    per_round = [rate / base for rate, base in zip(rates, baseline_rates, strict=True)]
    median = summarize(per_round)["median"]
    return {"ratio_median": median, "ratio_min": min(per_round), "ratio_max": max(per_round),
            "goal": goal, "met": None if goal is None else median >= goal}


def mfu(images_per_s: float, macs_per_image: int, peak_tflops: float) -> float:
    """Model FLOPs (2 per multiply-add) per second over the measured matmul peak."""
    return images_per_s * 2 * macs_per_image / (peak_tflops * 1e12)


def measure_model(name: str, batch_size: int, rounds: int, iters: int, compile_forms: bool,
                  release_code: Optional[Path] = None, progress: Callable[[], None] = lambda: None,
                  device: torch.device = CPU) -> dict[str, Any]:
    """Images/s of each form of ``name`` over interleaved rounds, their ratios and logit agreement.
    The goals are the CPU's: on another device no verdict is given."""
    size = timm.models.get_pretrained_cfg(name).input_size[-1]
    x = torch.randn(batch_size, 3, size, size).to(device)
    forms = build_forms(name, x, compile_forms, release_code)
    compile_s = None
    if "compiled" in forms:
        start = time.perf_counter()
        forms["compiled"]()
        compile_s = time.perf_counter() - start
    reference = _logits(forms[BASELINE])
    max_diff = {form: float((_logits(fn) - reference).abs().max()) for form, fn in forms.items()}
    for fn in forms.values():  # warm-up: one untimed call each
        fn()
    rates: dict[str, list[float]] = {form: [] for form in forms}
    fastest: dict[str, float] = {form: float("inf") for form in forms}  # seconds of the fastest call
    order = list(forms)
    for r in range(rounds):
        for form in order[r % len(order):] + order[:r % len(order)]:  # rotate who goes first
            seconds = time_calls(forms[form], iters, device)
            rates[form].append(batch_size * iters / sum(seconds))
            fastest[form] = min(fastest[form], *seconds)
        progress()
    return {"model": name, "batch_size": batch_size, "img_size": size, "rounds": rounds,
            "iters_per_round": iters, "warmup_iters": 1, "compile_s": compile_s, "baseline": BASELINE,
            "macs_per_image": headline_macs(timm.create_model(name).eval(), size),
            "images_per_s": {form: summarize(values)["median"] for form, values in rates.items()},
            "images_per_s_iqr": {form: summarize(values)["iqr"] for form, values in rates.items()},
            "images_per_s_best": {form: batch_size / seconds for form, seconds in fastest.items()},
            "ratios": {form: {**ratio_stats(rates[form], rates[BASELINE], GOALS.get(form) if device == CPU else None),
                              "ratio_of_best_calls": fastest[BASELINE] / fastest[form],
                              "max_abs_logit_diff": max_diff[form]}
                       for form in forms if form != BASELINE}}


def add_mfu(rows: list[dict[str, Any]], peak_tflops: float) -> None:
    for row in rows:
        row["mfu"] = {form: mfu(rate, row["macs_per_image"], peak_tflops) for form, rate in row["images_per_s"].items()}
        row["mfu_best_calls"] = {form: mfu(rate, row["macs_per_image"], peak_tflops)
                                 for form, rate in row["images_per_s_best"].items()}


def goals_verdict(rows: Sequence[dict[str, Any]]) -> dict[str, Optional[bool]]:
    """Each goal met for every model (None: not measured in this run)."""
    verdict = {}
    for form in GOALS:
        checks = [row["ratios"][form]["met"] for row in rows if form in row["ratios"]]
        verdict[form] = all(checks) if checks else None
    return verdict


def render(rows: Sequence[dict[str, Any]]) -> str:
    table = []
    for row in rows:
        base = row["images_per_s"][BASELINE]
        table.append([row["model"], "release formulation (baseline)", f"{base:.1f}", "1.00x", "", "",
                      f"{row['mfu'][BASELINE]:.1%}" if "mfu" in row else "", "", ""])
        for form, ratio in row["ratios"].items():
            goal = "" if ratio["goal"] is None else f">= {ratio['goal']:.2f}x"
            met = "" if ratio["met"] is None else "met" if ratio["met"] else "NOT met"
            table.append([row["model"], form, f"{row['images_per_s'][form]:.1f}",
                          f"{ratio['ratio_median']:.2f}x ({ratio['ratio_min']:.2f}-{ratio['ratio_max']:.2f})",
                          goal, met, f"{row['mfu'][form]:.1%}" if "mfu" in row else "",
                          f"{ratio['ratio_of_best_calls']:.2f}x", f"{ratio['max_abs_logit_diff']:.1e}"])
    return tabulate(table, headers=["model", "form", "img/s", "ratio (min-max)", "goal", "", "MFU",
                                    "best calls", "max |logit diff|"], disable_numparse=True)


def parse_args(argv: Sequence[str] | None):
    parser = ArgumentParser(prog="python -m bench.model_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="sret_t,sret_s")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu); the goals are the CPU's")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iters", type=int, default=3, help="timed calls per form per round")
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
    for option in ("batch_size", "threads", "rounds", "iters"):
        if getattr(args, option) < 1:
            raise UsageError(f"--{option.replace('_', '-')} must be at least 1, got {getattr(args, option)}")
    return args


def device_peak(device: torch.device) -> tuple[Optional[float], str]:
    """The fp32 ceiling for MFU: the best CPU matmul measured now, or the GPU's spec sheet."""
    if device.type == "cuda":
        return gpu_peak_tflops(device_name(str(device)), "fp32")
    return timing.cpu_peak_tflops("fp32")


def results_body(rows: list[dict[str, Any]], peaks: Sequence[tuple[Optional[float], str]], device: torch.device,
                 threads: int, compile_forms: bool, load_average: tuple[Optional[float], Optional[float]]) -> dict[str, Any]:
    """The ``model_speed`` document's body: MFU against the best peak sample, and the goals' verdict."""
    peak, peak_source = max(peaks, key=lambda sample: sample[0] or 0.0)
    if peak:
        add_mfu(rows, peak)
    sampled = f"best of {len(peaks)} samples; " if device.type == "cpu" else ""
    return dict(dtype="fp32", tf32=False if device.type == "cuda" else None, threads=threads, baseline=BASELINE,
                goals=GOALS, goals_met=goals_verdict(rows), compile_settings=COMPILE if compile_forms else None,
                peak_tflops=peak, peak_source=sampled + peak_source,
                load_average_1min={"start": load_average[0], "end": load_average[1]}, results=rows)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    load_start = load_average()
    peaks = [device_peak(device)]
    rows = []
    with tf32_allowed(False), tqdm(total=args.rounds * len(args.models), desc="rounds", file=sys.stderr,
                                   disable=None) as bar:
        for name in args.models:
            rows.append(measure_model(name, args.batch_size, args.rounds, args.iters, not args.no_compile,
                                      args.release_code, bar.update, device=device))
            peaks.append(device_peak(device))
    body = results_body(rows, peaks, device, args.threads, not args.no_compile, (load_start, load_average()))
    if args.json:
        write_json_atomic(args.json, document("model_speed", args.device, command("bench.model_speed", argv), **body))
    peak = body["peak_tflops"]
    where = "CPU" if device.type == "cpu" else f"{device_name(args.device)}, TF32 off"
    load = body["load_average_1min"]
    print(f"fp32, {where}, batch {args.batch_size}, {args.threads} threads, {args.rounds} interleaved rounds of "
          f"{args.iters} calls; ratio = images/s over the release formulation's, median over rounds (min-max), and of "
          f"the fastest calls (what survives other work on a shared machine); "
          + (f"MFU against {peak:.3f} TFLOP/s ({body['peak_source']})" if peak else "no peak known: no MFU")
          + (f"; load {load['start']:.2f} -> {load['end']:.2f}" if load["start"] is not None else ""))
    if not args.no_compile:
        print(f"compiled: {COMPILE}")
    print(render(rows))
    for form, met in body["goals_met"].items():
        state = "not measured" if met is None else "met" if met else "NOT met"
        print(f"goal {form} >= {GOALS[form]:.2f}x for every model: {state}")
    return 0

