"""Images/s, latency, memory and MFU of SReT and timm baselines, side by side in one process.

    python -m bench.throughput --models sret_t,deit_tiny_patch16_224 --batch-sizes 1,8
    python -m bench.throughput --models sret          # every SReT at its resolution, with baselines

Every model runs under each kernel policy asked for (``--kernels stock,tuned``, both by
default; ``sret.kernels``), each policy's copy holding the same weights. Machines are noisy,
so at each resolution and batch size every (model, policy) is timed in interleaved rounds
(round-robin, the order rotated every round), and the figures that mean something across
machines are the per-round ratios of two rows timed side by side. They answer two questions
apart: the architecture (an SReT model over a baseline, both under the same policy) and the
implementation (tuned over stock kernels, the same model).

``--runtime torch,onnxruntime,openvino`` also runs each model in the deployment runtimes
(``bench.measure.runtimes``), on its ONNX export with SReT's slices frozen, each checked against
torch eager on the same weights before it is timed beside the torch rows. A runtime that is not
installed here is reported as such, not as a failure.
"""
from __future__ import annotations

import contextlib
import copy
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import torch

from bench.measure import compiled
from bench.measure import kernel_scan
from bench.measure import models
from bench.measure import runtimes
from sret import kernel_choice
from bench.measure import timing
from bench.measure import timm_csv
from bench.measure import zoo
from bench.core.names import is_subject
from bench.core.ratios import paired_ratio
from bench.core.cli import (ArgumentParser, EXIT_FAILED, EXIT_OK, UsageError, choice_list, int_list,
                            positive_int, split_list, unknown_name)
from bench.measure.counting import headline_macs
from bench.measure.environment import command, device_name, document
from bench.core.io import write_json_atomic
from sret.kernels import KERNEL_POLICIES, apply_kernel_policy

DEFAULT_BATCH_SIZES = (1, 8)
DEFAULT_KERNELS = ("stock", "tuned")
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
FLOPS_METHOD = ("fvcore multiply-adds of one fp32 image on the CPU (the verify gate's headline "
                "count), fused attention (aten::scaled_dot_product_attention) counted as its two "
                "matmuls; 2 FLOPs per multiply-add; elementwise ops not counted")
# The two questions a ratio answers, each asked only of rows timed side by side (same
# resolution and requested batch size, interleaved in the same rounds).
COMPARISONS = {
    "architecture": "each sret* model over each other model, both under the same kernel policy "
                    "(without an sret* model: the first model over the rest)",
    "implementation": "tuned over stock kernels, the same model",
    "runtime": "each deployment runtime over torch eager (stock kernels), the same model",
    "deployment": "each sret* model at its fastest runtime over each other model at its fastest (asked "
                  "only of models that ran under more than one runtime)",
}


@dataclass(frozen=True)
class Config:
    """One run's conditions, validated: everything a result row is measured under."""

    models: tuple[str, ...]
    device: str = "cpu"
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES
    kernels: tuple[str, ...] = DEFAULT_KERNELS
    runtimes: tuple[str, ...] = ("torch",)
    amp: str | None = None
    tf32: bool = False
    compile: bool = False
    channels_last: bool = False
    img_size: int | None = None
    threads: int | None = None
    warmup: int = 3
    iters: int = 3
    rounds: int = 5
    profile: Path | None = None
    json: Path | None = None
    csv: Path | None = None

    @property
    def dtype(self) -> str:
        return self.amp or "fp32"

    @property
    def precision(self) -> str:
        """What the matmuls run in, which picks the peak MFU is measured against."""
        return "tf32" if self.tf32 and self.dtype == "fp32" else self.dtype


# --- argument checking (all of it before any model is built) ----------------------------


def parse_kernels(text: str) -> tuple[str, ...]:
    """``"stock,tuned"`` -> ``("stock", "tuned")``; each a policy of ``sret.kernels``."""
    return choice_list("--kernels", "kernel policy", text, tuple(KERNEL_POLICIES))


def parse_runtimes(text: str, device: str) -> tuple[str, ...]:
    """``"torch,onnxruntime"`` -> names of ``bench.measure.runtimes``; the deployment ones on the CPU only."""
    names = choice_list("--runtime", "runtime", text, tuple(runtimes.RUNTIMES))
    if device != "cpu" and set(names) - {"torch"}:
        raise UsageError(f"--runtime: onnxruntime and openvino run on the CPU here, not on {device}")
    return names


def check_device(device: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:N``, and a GPU only if torch can see one."""
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise UsageError(f"--device: unknown device {device!r} (use cpu or cuda)") from None
    if parsed.type not in ("cpu", "cuda"):
        raise UsageError(f"--device: unsupported device {device!r} (use cpu or cuda)")
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"--device {device}: no CUDA GPU is available to torch")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise UsageError(f"--device {device}: only {torch.cuda.device_count()} GPU(s) visible")
    return device


def check_models(names: Sequence[str]) -> tuple[str, ...]:
    """Every name a registered timm model (``sret``/``all``: the whole zoo), else name the closest."""
    import timm
    if not names:
        raise UsageError("--models names no model")
    expanded = zoo.expand(names)
    for name in expanded:
        if not timm.is_model(name):
            raise unknown_name("model", name, [*timm.list_models(), *zoo.ZOO_KEYWORDS])
    return tuple(expanded)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="python -m bench.throughput",
        description="Images/s, latency, memory and MFU of SReT and timm baselines, interleaved.",
    )
    parser.add_argument("--models", default=",".join(zoo.DEFAULT_MODELS),
                        help="comma list of timm model names, or sret (= all): every SReT architecture at "
                             "its native size beside the baselines of its size (default: %(default)s)")
    parser.add_argument("--kernels", default=",".join(DEFAULT_KERNELS),
                        help="kernel policies of sret.kernels, each model run under each, interleaved "
                             "(default: %(default)s)")
    parser.add_argument("--runtime", default="torch",
                        help="comma list of runtimes: torch, onnxruntime, openvino (CPU; the model's ONNX "
                             "export, checked against torch eager first), interleaved (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu)")
    parser.add_argument("--batch-sizes", default=",".join(map(str, DEFAULT_BATCH_SIZES)),
                        help="comma list; a batch that does not fit is halved (default: %(default)s)")
    parser.add_argument("--amp", choices=sorted(AMP_DTYPES), default=None,
                        help="run under torch.autocast in this dtype (default: fp32, no autocast)")
    parser.add_argument("--tf32", action="store_true",
                        help="CUDA fp32 only: TF32 tensor cores for matmuls and convolutions (MFU against "
                             "the TF32 peak); without it fp32 runs allow no TF32")
    parser.add_argument("--compile", action="store_true", help="torch.compile each model "
                        "(compile time is reported, not timed)")
    parser.add_argument("--channels-last", action="store_true",
                        help="channels-last memory format for models and inputs")
    parser.add_argument("--img-size", type=positive_int("--img-size"), default=None,
                        help="input resolution (default: each model's own)")
    parser.add_argument("--threads", type=positive_int("--threads"), default=None,
                        help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--warmup", type=positive_int("--warmup"), default=3,
                        help="untimed calls per model and batch size, the first fitting the batch "
                             "(default: %(default)s)")
    parser.add_argument("--iters", type=positive_int("--iters"), default=3,
                        help="timed calls per model in each round (default: %(default)s)")
    parser.add_argument("--rounds", type=positive_int("--rounds"), default=5,
                        help="interleaved rounds over all models (default: %(default)s)")
    parser.add_argument("--profile", type=Path, metavar="DIR", default=None,
                        help="write torch.profiler traces to DIR/<model>/ (tensorboard --logdir DIR)")
    parser.add_argument("--json", type=Path, metavar="PATH", default=None,
                        help="write the results document here (atomically)")
    parser.add_argument("--csv", type=Path, metavar="PATH", default=None,
                        help="also write timm benchmark.py's columns here, with kernel policy and device")
    return parser


def parse_args(argv: Sequence[str] | None) -> Config:
    """Parse and validate every option, so bad input fails before anything is built."""
    args = build_parser().parse_args(argv)
    batch_sizes = int_list("--batch-sizes")(args.batch_sizes)
    kernels = parse_kernels(args.kernels)
    device = check_device(args.device)
    if args.tf32 and (not device.startswith("cuda") or args.amp):
        raise UsageError("--tf32 applies to fp32 runs on CUDA only (no --amp, --device cuda)")
    if args.profile is not None and args.profile.exists() and not args.profile.is_dir():
        raise UsageError(f"--profile: {str(args.profile)!r} exists and is not a directory")
    if args.json is not None and args.json.is_dir():
        raise UsageError(f"--json: {str(args.json)!r} is a directory")
    runtime_names = parse_runtimes(args.runtime, device)
    models = check_models(split_list(args.models))
    return Config(models=models, device=device, batch_sizes=batch_sizes, kernels=kernels,
                  runtimes=runtime_names, amp=args.amp,
                  tf32=args.tf32, compile=args.compile, channels_last=args.channels_last,
                  img_size=args.img_size, threads=args.threads, warmup=args.warmup, iters=args.iters,
                  rounds=args.rounds, profile=args.profile, json=args.json, csv=timm_csv.checked_path(args.csv))


# --- models and their cost ---------------------------------------------------------------


def model_macs(model: torch.nn.Module, img_size: int) -> int:
    """Multiply-adds of one forward on one image: the gate's headline count (fvcore, with
    fused attention counted like the explicit one), so MFU and the verify table agree."""
    return headline_macs(model, img_size)


@dataclass
class Subject:
    """One model under one kernel policy, ready to time: the callable, its cost, how it was built."""

    name: str
    module: Callable[[torch.Tensor], Any]
    img_size: int
    macs_per_image: int
    param_count: int
    weight_bytes: int
    kernels: str | None = "stock"  # None outside torch: the runtime chooses its kernels
    runtime: str = "torch"
    agreement: dict[str, Any] | None = None  # the runtime's logits against torch eager (runtimes.check)


def build(name: str, config: Config, known_macs: Mapping[str, int] | None = None) -> tuple[torch.nn.Module, int, int]:
    """The model on the CPU, its resolution and multiply-adds (counting also checks it runs there),
    unless ``known_macs`` holds the count of ``name@size`` (the gate's, recorded on the CPU)."""
    try:
        model, img_size = models.create(name, config.img_size)
        known = (known_macs or {}).get(f"{name}@{img_size}")
        macs = model_macs(model, img_size) if known is None else known
    except Exception as error:  # noqa: BLE001 - a model that cannot run here is bad input
        raise UsageError(f"model {name!r} does not run at img size {config.img_size or 'default'}: "
                         f"{type(error).__name__}: {error}".splitlines()[0]) from None
    return model, img_size, macs


def subjects_of(name: str, model: torch.nn.Module, img_size: int, macs: int, config: Config) -> list[Subject]:
    """One torch subject per kernel policy of ``config``, each a copy of ``model`` (the same weights),
    moved, converted and compiled as ``config`` says; then one per deployment runtime available here."""
    subjects = []
    agreement = torch_agreement(model, img_size, config)
    for policy in config.kernels if "torch" in config.runtimes else ():
        copy_ = apply_kernel_policy(copy.deepcopy(model), policy)
        tensors = list(copy_.parameters()) + list(copy_.buffers())
        copy_ = copy_.to(config.device)
        if config.channels_last:
            copy_ = copy_.to(memory_format=torch.channels_last)
        subjects.append(Subject(
            name=name, kernels=policy, module=compiled.compile_model(copy_) if config.compile else copy_,
            img_size=img_size, macs_per_image=macs, param_count=sum(p.numel() for p in copy_.parameters()),
            weight_bytes=sum(t.numel() * t.element_size() for t in tensors), agreement=agreement))
    for runtime in config.runtimes:
        if runtime != "torch" and runtimes.status(runtime, config.dtype)["available"]:
            subjects.append(runtime_subject(name, model, img_size, macs, runtime, config))
    return subjects


def torch_agreement_runs(config: Config) -> bool:
    """Whether torch's own rows are checked against its fp32: under autocast on the CPU, eager (fp32 is
    the reference itself; a GPU or a compiled run would check another path than the one timed)."""
    return config.dtype != "fp32" and "torch" in config.runtimes and config.device == "cpu" and not config.compile


def torch_agreement(model: torch.nn.Module, img_size: int, config: Config) -> dict[str, Any] | None:
    """Torch's bf16 autocast against its fp32 on the same weights, to every runtime's bf16 tolerance; one
    check for all kernel policies, which take the plain path under autocast."""
    if not torch_agreement_runs(config):
        return None
    return runtimes.agreement("torch", model, torch.randn(2, 3, img_size, img_size), config.dtype)


def runtime_subject(name: str, model: torch.nn.Module, img_size: int, macs: int, runtime: str,
                    config: Config) -> Subject:
    """``model`` in a deployment runtime, its slices frozen, checked against torch eager on its weights."""
    model = runtimes.frozen(model)
    example = torch.randn(2, 3, img_size, img_size)
    forward = runtimes.RUNTIMES[runtime].prepare(model, example, config.dtype)
    weights = list(model.parameters()) + list(model.buffers())
    return Subject(name=name, kernels=None, runtime=runtime, module=forward, img_size=img_size,
                   macs_per_image=macs, param_count=sum(p.numel() for p in model.parameters()),
                   weight_bytes=sum(t.numel() * t.element_size() for t in weights),
                   agreement=runtimes.check(forward, model, example, runtime, config.dtype))


def prepare(name: str, config: Config, known_macs: Mapping[str, int] | None = None) -> list[Subject]:
    """Build and count one model once, then one subject per kernel policy on its weights."""
    model, img_size, macs = build(name, config, known_macs)
    return subjects_of(name, model, img_size, macs, config)


# --- measurement ---------------------------------------------------------------------------


@dataclass
class Entry:
    """One model under one policy at one requested batch size, through warm-up and the timed rounds."""

    subject: Subject
    batch_size_requested: int
    batch_size: int | None = None
    forward: Callable[[], Any] | None = None
    first_call_s: float | None = None
    memory_bytes: int | None = None
    memory_method: str | None = None
    cuda_max_memory_allocated: int | None = None
    rounds: list[list[float]] = field(default_factory=list)
    error: str | None = None


def make_forward(subject: Subject, batch: int, config: Config) -> Callable[[], Any]:
    """A no-argument forward on a fixed random batch (inference mode and autocast are outside)."""
    images = torch.randn(batch, 3, subject.img_size, subject.img_size, device=config.device)
    if config.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    module = subject.module
    return lambda: module(images)


def warm_up(entry: Entry, config: Config, progress: Callable[[int], None], start_batch: int | None = None) -> None:
    """Fit the batch (halving on OOM from ``start_batch``, default the requested one), run the
    warm-up calls and probe memory once."""
    device = torch.device(config.device)

    def attempt(batch: int) -> tuple[Callable[[], Any], float, tuple[int, str]]:
        forward = make_forward(entry.subject, batch, config)
        first_call_s, _ = timing.time_once(forward, device)
        for _ in range(config.warmup - 1):
            forward()
        return forward, first_call_s, timing.forward_memory_growth(forward, device)

    try:
        batch, (forward, first_call_s, (growth, method)) = timing.fit_batch_size(
            attempt, start_batch or entry.batch_size_requested, on_oom=lambda _: timing.release_memory(device))
    except Exception as error:  # noqa: BLE001 - one model failing never kills the run
        timing.release_memory(device)
        entry.error = f"{type(error).__name__}: {error}".splitlines()[0]
        return
    finally:
        progress(config.warmup + 1)
    input_bytes = batch * 3 * entry.subject.img_size**2 * 4
    entry.batch_size, entry.forward, entry.first_call_s = batch, forward, first_call_s
    entry.memory_bytes = entry.subject.weight_bytes + input_bytes + growth
    entry.memory_method = method
    entry.cuda_max_memory_allocated = timing.cuda_max_memory_allocated(device)


def timed_rounds(entries: Sequence[Entry], config: Config, progress: Callable[[int], None],
                 between_rounds: Callable[[], None] = lambda: None) -> None:
    """Time every entry that warmed up, ``config.iters`` calls per interleaved round (``timing.interleave``)."""
    ready = {index: entry for index, entry in enumerate(entries) if entry.error is None}
    timed = timing.interleave({index: entry.forward for index, entry in ready.items()}, config.rounds, config.iters,
                              torch.device(config.device), progress, between_rounds)
    progress(config.rounds * config.iters * (len(entries) - len(ready)))  # the entries that failed to warm up
    for index, entry in ready.items():
        entry.rounds, entry.error = timed.seconds[index], timed.errors.get(index)


@contextlib.contextmanager
def run_context(config: Config) -> Iterator[None]:
    """Inference mode, autocast when asked, and the TF32 switches the config names."""
    autocast = (torch.autocast(torch.device(config.device).type, dtype=AMP_DTYPES[config.amp])
                if config.amp else contextlib.nullcontext())
    with torch.inference_mode(), autocast, timing.tf32_allowed(config.tf32):
        yield


def groups(subjects: Sequence[Subject], batch_sizes: Sequence[int]) -> list[tuple[int, int, list[Subject]]]:
    """(resolution, batch size, subjects): what is interleaved together, resolution by resolution."""
    resolutions = list(dict.fromkeys(s.img_size for s in subjects))
    return [(size, batch, [s for s in subjects if s.img_size == size])
            for size in resolutions for batch in batch_sizes]


def measure_group(subjects: Sequence[Subject], batch: int, config: Config, peak: timing.PeakTracker,
                  progress: Callable[[int], None] = lambda _: None,
                  start_batches: Mapping[str, int] | None = None) -> list[Entry]:
    """Warm up and time ``subjects`` at ``batch``, interleaved. A model's OOM halving starts at
    ``start_batches[model]`` if given, and its second policy at the batch its first one fitted."""
    entries = [Entry(subject, batch) for subject in subjects]
    fitted: dict[str, int] = {name: min(start, batch) for name, start in (start_batches or {}).items()}
    with run_context(config):
        for entry in entries:
            warm_up(entry, config, progress, start_batch=fitted.get(entry.subject.name))
            if entry.batch_size is not None:
                fitted.setdefault(entry.subject.name, entry.batch_size)
        timed_rounds(entries, config, progress, between_rounds=peak.sample)
    return entries


def result_rows(entries: Sequence[Entry], config: Config, peak: timing.PeakTracker) -> list[dict[str, Any]]:
    """The records of a measured group, each against the peak the tracker holds now."""
    return [result_row(entry, config, peak.tflops) for entry in entries]


def result_row(entry: Entry, config: Config, peak_tflops: float | None) -> dict[str, Any]:
    """The flat record of one entry, every key naming its unit."""
    subject = entry.subject
    flops = 2 * subject.macs_per_image
    status = runtimes.status(subject.runtime, config.dtype)
    agreement = subject.agreement or {}
    row: dict[str, Any] = {
        "model": subject.name, "kernels": subject.kernels, "runtime": subject.runtime,
        "runtime_version": status["version"], "precision": config.precision,
        "agreement_max_abs_logit_difference": agreement.get("max_abs_logit_difference"),
        "agreement_tolerance": agreement.get("tolerance"),
        "device": config.device, "img_size": subject.img_size,
        "batch_size": entry.batch_size, "batch_size_requested": entry.batch_size_requested,
        "dtype": config.dtype, "tf32": config.precision == "tf32", "compile": config.compile,
        "channels_last": config.channels_last,
        "warmup_iters": config.warmup, "timed_iters": sum(len(r) for r in entry.rounds),
        "rounds": len(entry.rounds),
        "images_per_s_median": None, "images_per_s_iqr": None,
        "images_per_s_min": None, "images_per_s_max": None, "images_per_s_by_round": [],
        "latency_ms_p50": None, "latency_ms_p90": None,
        "peak_memory_mib": None if entry.memory_bytes is None else entry.memory_bytes / 2**20,
        "memory_method": entry.memory_method,
        "cuda_max_memory_allocated_mib": (None if entry.cuda_max_memory_allocated is None
                                         else entry.cuda_max_memory_allocated / 2**20),
        "param_count": subject.param_count, "flops_per_image": flops,
        "achieved_tflops": None, "mfu": None,
        "compile_s": entry.first_call_s if config.compile else None,
        "error": entry.error or agreement_error(agreement),
    }
    seconds = [s for r in entry.rounds for s in r]
    if entry.error is not None or not seconds:
        return row
    rates = summarize_rates(entry.batch_size, entry.rounds)
    row.update(rates)
    if entry.batch_size == 1:
        row["latency_ms_p50"] = timing.percentile(seconds, 50) * 1e3
        row["latency_ms_p90"] = timing.percentile(seconds, 90) * 1e3
    row["achieved_tflops"] = flops * rates["images_per_s_median"] / 1e12
    row["mfu"] = timing.mfu(rates["images_per_s_median"], subject.macs_per_image, peak_tflops)
    return row


def agreement_error(agreement: dict[str, Any]) -> str | None:
    """A runtime that computes another function than torch eager is a failed row, however fast."""
    if agreement.get("status") != "fail":
        return None
    return (f"{agreement['runtime']} differs from torch eager by {agreement['max_abs_logit_difference']:.3g} "
            f"(tolerance {agreement['tolerance']})")


def summarize_rates(batch: int, rounds: Sequence[Sequence[float]]) -> dict[str, Any]:
    """Images/s statistics over every timed call, and the median of each round (for pairing)."""
    rates = [batch / s for r in rounds for s in r]
    stats = timing.summarize(rates)
    return {
        "images_per_s_median": stats["median"], "images_per_s_iqr": stats["iqr"],
        "images_per_s_min": stats["min"], "images_per_s_max": stats["max"],
        "images_per_s_by_round": [timing.percentile([batch / s for s in r], 50) for r in rounds],
    }


def measure(config: Config, progress: Callable[[int], None] = lambda _: None) -> dict[str, Any]:
    """Every model under every policy at every batch size, interleaved per resolution and batch:
    the ``config``, ``results``, ``ratios`` and profiler ``traces``."""
    decide_kernels(config)
    load_start = timing.load_average()
    peak = timing.PeakTracker(config.device, config.precision)
    subjects = [subject for name in config.models for subject in prepare(name, config)]
    entries: list[Entry] = []
    for _, batch, group in groups(subjects, config.batch_sizes):
        entries += measure_group(group, batch, config, peak, progress)
    traces = []
    if config.profile:
        with run_context(config):
            traces = profile_entries(entries, config.profile)
    results = result_rows(entries, config, peak)
    block = {**config_block(config), **timing.conditions(load_start, peak)}
    return {"config": block, "results": results, "ratios": compute_ratios(results), "traces": traces}


def work_units(config: Config) -> int:
    """How many progress steps :func:`measure` reports, for the progress bar's total."""
    per_entry = config.warmup + 1 + config.rounds * config.iters
    per_model = len(config.kernels) * ("torch" in config.runtimes) + len(set(config.runtimes) - {"torch"})
    return len(config.models) * per_model * len(config.batch_sizes) * per_entry


def decide_kernels(config: Config) -> None:
    """The tuned policy runs under a decision measured on this CPU (made now if none is cached)."""
    if "tuned" in config.kernels and not config.device.startswith("cuda"):
        kernel_scan.ensure_decided()


def config_block(config: Config) -> dict[str, Any]:
    cuda = config.device.startswith("cuda")
    return {
        "models": list(config.models), "kernels": list(config.kernels), "device": config.device,
        "runtimes": [runtimes.status(name, config.dtype) for name in config.runtimes],
        "agreement_method": (runtimes.AGREEMENT_METHOD
                             if set(config.runtimes) - {"torch"} or torch_agreement_runs(config) else None),
        "batch_sizes": list(config.batch_sizes), "dtype": config.dtype, "amp": config.amp,
        "tf32": config.precision == "tf32", "compile": config.compile, "channels_last": config.channels_last,
        "compile_settings": dict(compiled.DEFAULT) if config.compile else None,
        "img_size": config.img_size,
        "warmup_iters": config.warmup, "iters_per_round": config.iters, "rounds": config.rounds,
        "timing": ("CUDA events around each call, one synchronize per round" if cuda
                   else "time.perf_counter around each call"),
        "interleaving": "round-robin over every model and kernel policy at one resolution and batch size, "
                        "order rotated per round",
        "precision": precision_text(config),
        "flops_method": FLOPS_METHOD,
        "comparisons": COMPARISONS,
        "ratio_rule": "two rows are compared only when timed side by side: same resolution and requested "
                      "batch size; the quoted ratio is the median of the per-round ratios",
        "baseline_choices": zoo.baseline_choices(config.models),
        "kernel_choice": kernel_choice.current().record() if "tuned" in config.kernels else None,
    }


def precision_text(config: Config) -> str:
    if config.amp:
        return f"torch.autocast({config.amp}) over fp32 weights"
    if not config.device.startswith("cuda"):
        return "fp32"
    if config.tf32:
        return "fp32 storage, TF32 tensor cores for matmuls and convolutions (float32_matmul_precision high)"
    return "fp32, TF32 off for matmuls and convolutions (float32_matmul_precision highest)"


# --- ratios ----------------------------------------------------------------------------------


def ratio_record(row: dict[str, Any], base: dict[str, Any], comparison: str) -> dict[str, Any]:
    """``row``'s images/s over ``base``'s, two rows timed side by side in the same rounds.

    ``throughput_ratio_round_median`` (the figure to quote) is the median of the per-round
    ratios, each round's medians paired since interleaving exposed both to the same noise;
    round min/max are their spread; ``throughput_ratio`` is the ratio of the overall medians;
    ``throughput_ratio_best`` compares the fastest calls (timeit's rule: interference only
    slows a call down).
    """
    ratio = paired_ratio(row["images_per_s_by_round"], base["images_per_s_by_round"],
                         best=(row["images_per_s_max"], base["images_per_s_max"]))
    return {
        "comparison": comparison, "model": row["model"], "over": base["model"],
        "kernels": row.get("kernels"), "over_kernels": base.get("kernels"),
        "runtime": row.get("runtime", "torch"), "over_runtime": base.get("runtime", "torch"),
        "img_size": row.get("img_size"), "batch_size_requested": row["batch_size_requested"],
        "batch_size": row["batch_size"], "over_batch_size": base["batch_size"],
        "throughput_ratio_round_median": ratio.median,
        "throughput_ratio_round_min": ratio.min,
        "throughput_ratio_round_max": ratio.max,
        "throughput_ratio": row["images_per_s_median"] / base["images_per_s_median"],
        "throughput_ratio_best": ratio.best,
        "flops_ratio": row["flops_per_image"] / base["flops_per_image"],
    }


def side_by_side(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["batch_size_requested"] == b["batch_size_requested"] and a.get("img_size") == b.get("img_size")


def fastest_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model, batch and resolution, the row with the most images/s, where the model ran under
    more than one runtime: what a deployer would run."""
    best: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        best.setdefault((row["model"], row["batch_size_requested"], row.get("img_size")), []).append(row)
    return [max(group, key=lambda row: row["images_per_s_median"]) for group in best.values()
            if len({row.get("runtime", "torch") for row in group}) > 1]


def compute_ratios(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every comparison (``COMPARISONS``) over the pairs of rows timed side by side."""
    ok = [row for row in rows if row.get("error") is None and row.get("images_per_s_median")]
    names = list(dict.fromkeys(row["model"] for row in rows))
    subjects = [n for n in names if is_subject(n)] or names[:1]
    ratios = []
    for row in ok:
        if row["model"] not in subjects:
            continue
        for base in ok:
            if (base["model"] not in subjects and side_by_side(row, base)
                    and row.get("kernels") == base.get("kernels") and row.get("runtime") == base.get("runtime")):
                ratios.append(ratio_record(row, base, "architecture"))
    for row in ok:
        for base in ok:
            if (row["model"] == base["model"] and side_by_side(row, base)
                    and (row.get("kernels"), base.get("kernels")) == ("tuned", "stock")):
                ratios.append(ratio_record(row, base, "implementation"))
    for row in ok:
        for base in ok:
            if (row["model"] == base["model"] and side_by_side(row, base) and row.get("runtime", "torch") != "torch"
                    and (base.get("runtime", "torch"), base.get("kernels")) == ("torch", "stock")):
                ratios.append(ratio_record(row, base, "runtime"))
    fastest = fastest_rows(ok)
    for row in fastest:
        for base in fastest:
            if row["model"] in subjects and base["model"] not in subjects and side_by_side(row, base):
                ratios.append(ratio_record(row, base, "deployment"))
    return ratios


# --- profiling -----------------------------------------------------------------------------


def profile_entries(entries: Sequence[Entry], directory: Path, steps: int = 2) -> list[str]:
    """Trace ``steps`` calls of every entry into ``directory/<model>/`` (TensorBoard's layout),
    one trace per policy and batch size (``<policy>-bs<batch>``)."""
    from torch.profiler import ProfilerActivity, profile, schedule, tensorboard_trace_handler
    os.environ.setdefault("KINETO_LOG_LEVEL", "5")  # silence kineto's "no GPU" ERROR line on CPU
    activities = [ProfilerActivity.CPU]
    if any(e.forward is not None for e in entries) and torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    written = []
    for entry in entries:
        if entry.forward is None:
            continue
        run_dir = directory / entry.subject.name
        before = set(run_dir.glob("*.pt.trace.json")) if run_dir.exists() else set()
        handler = tensorboard_trace_handler(str(run_dir), worker_name=f"{entry.subject.kernels}-bs{entry.batch_size}")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Profiler clears events.*")
            with profile(activities=activities, schedule=schedule(wait=0, warmup=1, active=steps),
                         on_trace_ready=handler, record_shapes=True) as profiler:
                for _ in range(steps + 1):
                    entry.forward()
                    profiler.step()
        written += sorted(str(p) for p in set(run_dir.glob("*.pt.trace.json")) - before)
    return written


# --- output ----------------------------------------------------------------------------------

_TABLE_COLUMNS = {
    "model": "model", "runtime": "runtime", "kernels": "kernels", "batch_size": "batch", "img_size": "img",
    "images_per_s_median": "img/s median", "images_per_s_iqr": "IQR",
    "images_per_s_min": "min", "images_per_s_max": "max",
    "latency_ms_p50": "p50 ms", "latency_ms_p90": "p90 ms",
    "peak_memory_mib": "peak MiB", "gmacs_per_image": "GMACs/img",
    "achieved_tflops": "TFLOP/s", "mfu_percent": "MFU %",
}


def results_table(rows: Sequence[dict[str, Any]]) -> str:
    """The measurements as a GitHub-style table (pandas + tabulate)."""
    import pandas as pd
    frame = pd.DataFrame(rows)
    frame["gmacs_per_image"] = frame["flops_per_image"] / 2e9
    frame["mfu_percent"] = frame["mfu"].astype(float) * 100
    return _markdown(frame[list(_TABLE_COLUMNS)].rename(columns=_TABLE_COLUMNS), ".4g")


def ratios_table(ratios: Sequence[dict[str, Any]]) -> str:
    import pandas as pd
    frame = pd.DataFrame(ratios)
    ran = [(ran_under(r["kernels"], r.get("runtime")), ran_under(r["over_kernels"], r.get("over_runtime")))
           for r in ratios]
    frame["kernels"] = [row if row == base else f"{row} / {base}" for row, base in ran]
    frame = frame[["model", "over", "kernels", "img_size", "batch_size_requested",
                   "throughput_ratio_round_median", "throughput_ratio_round_min", "throughput_ratio_round_max",
                   "throughput_ratio_best", "flops_ratio"]]
    frame.columns = ["model", "over", "kernels", "img", "batch", "img/s ratio (median of rounds)", "round min",
                     "round max", "ratio of best calls", "MACs ratio"]
    return _markdown(frame, ".3f")


def ran_under(kernels: str | None, runtime: str | None) -> str:
    """What a row ran under: its kernel policy in torch, else its runtime."""
    return kernels if kernels is not None else str(runtime)


def _markdown(frame: Any, floatfmt: str) -> str:
    """A GitHub table where a missing figure (None or NaN) shows as "-"."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return cleaned.to_markdown(index=False, floatfmt=floatfmt, missingval="-")


def describe(config: Config, results: Sequence[dict[str, Any]],
             block: dict[str, Any] | None = None) -> list[str]:
    """The header lines: where and how the numbers were taken."""
    block = block or {}
    peak, source = block.get("peak_tflops"), block.get("peak_source", "")
    peak_text = f"{peak:.4g} TFLOP/s ({source})" if peak else source
    return [
        f"device: {config.device} ({device_name(config.device)}), "
        f"{torch.get_num_threads()} threads, {precision_text(config)}, "
        f"compile {config.compile}, channels_last {config.channels_last}",
        f"kernel policies: {', '.join(config.kernels)} (sret.kernels), each on the same weights",
        f"warm-up {config.warmup} calls and 1 memory-probe call, then {config.rounds} "
        f"interleaved rounds x "
        f"{config.iters} timed calls per model, policy and batch size",
        f"peak for MFU: {peak_text}",
        f"memory: {results[0]['memory_method'] if results else '-'}",
        *_load_lines(block),
    ]


def _load_lines(block: dict[str, Any]) -> list[str]:
    start, end = block.get("load_average_1min_start"), block.get("load_average_1min_end")
    if start is None or end is None:
        return []
    line = f"load average (1 min): {start:.2f} at start, {end:.2f} at end, {os.cpu_count()} CPUs"
    if max(start, end) > (os.cpu_count() or 1):
        line += " - the machine was shared: trust the ratios, not the absolute figures"
    return [line]


_RATIO_HEADINGS = {
    "architecture": "architecture: model img/s over baseline img/s, both under the same kernel policy (>1 = model faster)",
    "implementation": "implementation: tuned img/s over stock img/s, the same model (>1 = tuned faster)",
    "runtime": "runtime: deployment runtime img/s over torch eager (stock) img/s, the same model (>1 = runtime faster)",
    "deployment": "deployment: model img/s at its fastest runtime over baseline img/s at its fastest (>1 = model faster)",
}


def print_summary(config: Config, measured: dict[str, Any]) -> None:
    results, ratios = measured["results"], measured["ratios"]
    print("\n".join(describe(config, results, measured["config"])))
    for state in measured["config"].get("runtimes", []):
        version = f" {state['version']}" if state["version"] else ""
        print(f"runtime {state['runtime']}{version}: " + ("available" if state["available"] else state["why"]))
    print()
    print(results_table(results))
    for comparison, heading in _RATIO_HEADINGS.items():
        chosen = [r for r in ratios if r["comparison"] == comparison]
        if chosen:
            print()
            print(heading)
            print(ratios_table(chosen))
    for row in results:
        if row["batch_size"] not in (None, row["batch_size_requested"]):
            print(f"note: {row['model']} ({ran_under(row['kernels'], row.get('runtime'))}) batch {row['batch_size_requested']} did not fit; "
                  f"ran at {row['batch_size']}")
        if row["error"]:
            print(f"error: {row['model']} ({ran_under(row['kernels'], row.get('runtime'))}) at batch {row['batch_size_requested']}: "
                  f"{row['error']}", file=sys.stderr)
    for trace in measured["traces"]:
        print(f"trace: {trace}")


def results_document(config: Config, measured: dict[str, Any], argv: Sequence[str]) -> dict[str, Any]:
    return document("throughput", config.device, command("bench.throughput", argv), config=measured["config"], results=measured["results"],
                    ratios=measured["ratios"])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    config = parse_args(argv)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    from tqdm import tqdm
    with tqdm(total=work_units(config), desc="throughput", unit="call", file=sys.stderr,
              disable=None, leave=False) as bar:
        measured = measure(config, progress=bar.update)
    print_summary(config, measured)
    if config.json is not None:
        write_json_atomic(config.json, results_document(config, measured, argv))
        print(f"wrote {config.json}")
    if config.csv is not None:
        timm_csv.write_benchmark_csv(config.csv, measured["results"], measured["config"], device_name(config.device))
        print(f"wrote {config.csv}")
    return EXIT_FAILED if any(row["error"] for row in measured["results"]) else EXIT_OK

