"""Images/s, latency, memory and MFU of SReT and timm baselines, side by side in one process.

    python -m bench.throughput --models sret_t,deit_tiny_patch16_224 --batch-sizes 1,8

Machines are noisy, so the models are timed in interleaved rounds (round-robin, the order
rotated every round) and each SReT model is reported as a ratio to every baseline measured
beside it: only those side-by-side figures mean anything across machines.
"""
from __future__ import annotations

import contextlib
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from bench import timing, timm_csv
from bench.cli import ArgumentParser, EXIT_FAILED, EXIT_OK, UsageError, run, split_list, unknown_name
from bench.flops import headline_macs
from bench.results import device_name, document, write_json_atomic

DEFAULT_MODELS = ("sret_t", "sret_s", "deit_tiny_patch16_224", "pit_ti_224",
                  "deit_small_patch16_224", "pit_s_224")
DEFAULT_BATCH_SIZES = (1, 8)
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
SUBJECT_PREFIX = "sret"
FLOPS_METHOD = ("fvcore multiply-adds of one fp32 image on the CPU (the verify gate's headline "
                "count), fused attention (aten::scaled_dot_product_attention) counted as its two "
                "matmuls; 2 FLOPs per multiply-add; elementwise ops not counted")


@dataclass(frozen=True)
class Config:
    """One run's conditions, validated: everything a result row is measured under."""

    models: tuple[str, ...]
    device: str = "cpu"
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES
    amp: str | None = None
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


# --- argument checking (all of it before any model is built) ----------------------------


def _positive_int(text: str, option: str, minimum: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise UsageError(f"{option}: {text!r} is not {kind}")
    return value


def _int_option(option: str, minimum: int = 1) -> Callable[[str], int]:
    def parse(text: str) -> int:
        return _positive_int(text, option, minimum)
    return parse


def parse_batch_sizes(text: str) -> tuple[int, ...]:
    """``"1,8,64"`` -> ``(1, 8, 64)``, naming the first entry that is not a positive integer."""
    sizes = tuple(_positive_int(item, "--batch-sizes") for item in split_list(text))
    if not sizes:
        raise UsageError(f"--batch-sizes: {text!r} names no batch size")
    return tuple(dict.fromkeys(sizes))


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
    """Every name must be a registered timm model (SReT's included), else name the closest."""
    import timm
    try:
        import sret  # noqa: F401  registers the SReT models with timm
    except ImportError:
        pass
    if not names:
        raise UsageError("--models names no model")
    for name in names:
        if not timm.is_model(name):
            raise unknown_name("model", name, timm.list_models())
    return tuple(dict.fromkeys(names))


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="python -m bench.throughput",
        description="Images/s, latency, memory and MFU of SReT and timm baselines, interleaved.",
    )
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help="comma list of timm model names (default: %(default)s); each sret* "
                             "model is compared with every other model (without one, the first "
                             "model is compared with the rest)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu)")
    parser.add_argument("--batch-sizes", default=",".join(map(str, DEFAULT_BATCH_SIZES)),
                        help="comma list; a batch that does not fit is halved (default: %(default)s)")
    parser.add_argument("--amp", choices=sorted(AMP_DTYPES), default=None,
                        help="run under torch.autocast in this dtype (default: fp32, no autocast)")
    parser.add_argument("--compile", action="store_true", help="torch.compile each model "
                        "(compile time is reported, not timed)")
    parser.add_argument("--channels-last", action="store_true",
                        help="channels-last memory format for models and inputs")
    parser.add_argument("--img-size", type=_int_option("--img-size"), default=None,
                        help="input resolution (default: each model's own)")
    parser.add_argument("--threads", type=_int_option("--threads"), default=None,
                        help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--warmup", type=_int_option("--warmup"), default=3,
                        help="untimed calls per model and batch size, the first fitting the batch "
                             "(default: %(default)s)")
    parser.add_argument("--iters", type=_int_option("--iters"), default=3,
                        help="timed calls per model in each round (default: %(default)s)")
    parser.add_argument("--rounds", type=_int_option("--rounds"), default=5,
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
    batch_sizes = parse_batch_sizes(args.batch_sizes)
    device = check_device(args.device)
    if args.profile is not None and args.profile.exists() and not args.profile.is_dir():
        raise UsageError(f"--profile: {str(args.profile)!r} exists and is not a directory")
    if args.json is not None and args.json.is_dir():
        raise UsageError(f"--json: {str(args.json)!r} is a directory")
    models = check_models(split_list(args.models))
    return Config(models=models, device=device, batch_sizes=batch_sizes, amp=args.amp,
                  compile=args.compile, channels_last=args.channels_last, img_size=args.img_size,
                  threads=args.threads, warmup=args.warmup, iters=args.iters, rounds=args.rounds,
                  profile=args.profile, json=args.json, csv=timm_csv.checked_path(args.csv))


# --- models and their cost ---------------------------------------------------------------


def model_macs(model: torch.nn.Module, img_size: int) -> int:
    """Multiply-adds of one forward on one image: the gate's headline count (fvcore, with
    fused attention counted like the explicit one), so MFU and the verify table agree."""
    return headline_macs(model, img_size)


def create_model(name: str, img_size: int | None) -> tuple[torch.nn.Module, int]:
    """A randomly initialised model in eval mode and the resolution it runs at."""
    import timm

    import sret  # noqa: F401  registers the SReT models with timm
    if img_size is None:
        model = timm.create_model(name, pretrained=False)
        img_size = int(model.pretrained_cfg["input_size"][-1])
    else:
        try:
            model = timm.create_model(name, pretrained=False, img_size=img_size)
        except TypeError:  # convolutional models take any size and no img_size argument
            model = timm.create_model(name, pretrained=False)
    return model.eval(), img_size


@dataclass
class Subject:
    """One model ready to time: the callable module, its cost and how it was built."""

    name: str
    module: Callable[[torch.Tensor], Any]
    img_size: int
    macs_per_image: int
    param_count: int
    weight_bytes: int


def prepare(name: str, config: Config) -> Subject:
    """Build, count (which also checks it runs at this size), move, convert and compile one model."""
    try:
        model, img_size = create_model(name, config.img_size)
        macs = model_macs(model, img_size)
    except Exception as error:  # noqa: BLE001 - a model that cannot run here is bad input
        raise UsageError(f"model {name!r} does not run at img size {config.img_size or 'default'}: "
                         f"{type(error).__name__}: {error}".splitlines()[0]) from None
    tensors = list(model.parameters()) + list(model.buffers())
    model = model.to(config.device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    module = torch.compile(model) if config.compile else model
    return Subject(name=name, module=module, img_size=img_size, macs_per_image=macs,
                   param_count=sum(p.numel() for p in model.parameters()),
                   weight_bytes=sum(t.numel() * t.element_size() for t in tensors))


# --- measurement ---------------------------------------------------------------------------


@dataclass
class Entry:
    """One model at one requested batch size, through warm-up and the timed rounds."""

    subject: Subject
    batch_size_requested: int
    batch_size: int | None = None
    forward: Callable[[], Any] | None = None
    first_call_s: float | None = None
    memory_bytes: int | None = None
    memory_method: str | None = None
    rounds: list[list[float]] = field(default_factory=list)
    error: str | None = None


def make_forward(subject: Subject, batch: int, config: Config) -> Callable[[], Any]:
    """A no-argument forward on a fixed random batch (inference mode and autocast are outside)."""
    images = torch.randn(batch, 3, subject.img_size, subject.img_size, device=config.device)
    if config.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    module = subject.module
    return lambda: module(images)


def warm_up(entry: Entry, config: Config, progress: Callable[[int], None]) -> None:
    """Fit the batch (halving on OOM), run the warm-up calls and probe memory once."""
    device = torch.device(config.device)

    def attempt(batch: int) -> tuple[Callable[[], Any], float, tuple[int, str]]:
        forward = make_forward(entry.subject, batch, config)
        first_call_s, _ = timing.time_once(forward, device)
        for _ in range(config.warmup - 1):
            forward()
        return forward, first_call_s, timing.forward_memory_growth(forward, device)

    try:
        batch, (forward, first_call_s, (growth, method)) = timing.fit_batch_size(
            attempt, entry.batch_size_requested, on_oom=lambda _: timing.release_memory(device))
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


def timed_rounds(entries: Sequence[Entry], config: Config, progress: Callable[[int], None],
                 between_rounds: Callable[[], None] = lambda: None) -> None:
    """Time every entry ``config.iters`` times per round, round-robin, order rotated per round."""
    device = torch.device(config.device)
    for index in range(config.rounds):
        shift = index % max(len(entries), 1)
        for entry in list(entries[shift:]) + list(entries[:shift]):
            if entry.error is None:
                try:
                    entry.rounds.append(timing.time_calls(entry.forward, config.iters, device))
                except Exception as error:  # noqa: BLE001 - an OOM mid-run drops this entry only
                    entry.error = f"{type(error).__name__}: {error}".splitlines()[0]
                    timing.release_memory(device)
            progress(config.iters)
        between_rounds()


def result_row(entry: Entry, config: Config, peak_tflops: float | None, peak_source: str) -> dict[str, Any]:
    """The flat record of one entry, every key naming its unit."""
    subject = entry.subject
    flops = 2 * subject.macs_per_image
    row: dict[str, Any] = {
        "model": subject.name, "device": config.device, "img_size": subject.img_size,
        "batch_size": entry.batch_size, "batch_size_requested": entry.batch_size_requested,
        "dtype": config.dtype, "compile": config.compile, "channels_last": config.channels_last,
        "warmup_iters": config.warmup, "timed_iters": sum(len(r) for r in entry.rounds),
        "rounds": len(entry.rounds),
        "images_per_s_median": None, "images_per_s_iqr": None,
        "images_per_s_min": None, "images_per_s_max": None, "images_per_s_by_round": [],
        "latency_ms_p50": None, "latency_ms_p90": None,
        "peak_memory_mb": None if entry.memory_bytes is None else entry.memory_bytes / 2**20,
        "memory_method": entry.memory_method,
        "param_count": subject.param_count, "flops_per_image": flops,
        "achieved_tflops": None, "mfu": None,
        "peak_tflops": peak_tflops, "peak_source": peak_source,
        "compile_s": entry.first_call_s if config.compile else None,
        "error": entry.error,
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
    if peak_tflops:
        row["mfu"] = row["achieved_tflops"] / peak_tflops
    return row


def summarize_rates(batch: int, rounds: Sequence[Sequence[float]]) -> dict[str, Any]:
    """Images/s statistics over every timed call, and the median of each round (for pairing)."""
    rates = [batch / s for r in rounds for s in r]
    stats = timing.summarize(rates)
    return {
        "images_per_s_median": stats["median"], "images_per_s_iqr": stats["iqr"],
        "images_per_s_min": stats["min"], "images_per_s_max": stats["max"],
        "images_per_s_by_round": [timing.percentile([batch / s for s in r], 50) for r in rounds],
    }


def device_peak(config: Config) -> tuple[float | None, str]:
    """The ceiling MFU is measured against: a spec sheet for known GPUs, a matmul on the CPU."""
    if config.device.startswith("cuda"):
        return timing.gpu_peak_tflops(device_name(config.device), config.dtype)
    return timing.cpu_peak_tflops(config.dtype)


class PeakTracker:
    """The best of repeated peak measurements taken between the rounds.

    On a shared CPU a single matmul timing can land in a busy moment and make MFU exceed
    100%; sampling it between the rounds exposes the ceiling to the same noise as the models.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.samples = 0
        self.tflops, self.source = device_peak(config)
        self.measured = not config.device.startswith("cuda")

    def sample(self) -> None:
        if not self.measured:
            return  # a spec sheet does not change between rounds
        tflops, _ = device_peak(self.config)
        self.samples += 1
        self.tflops = max(self.tflops, tflops)

    @property
    def description(self) -> str:
        if not self.measured:
            return self.source
        return f"{self.source}; the best of {self.samples + 1} such measurements, one per round"


def measure(config: Config, progress: Callable[[int], None] = lambda _: None) -> dict[str, Any]:
    """Every model at every batch size, interleaved: the ``config``, ``results`` and ``ratios``."""
    load_start = _load_average()
    peak = PeakTracker(config)
    subjects = [prepare(name, config) for name in config.models]
    entries: list[Entry] = []
    autocast = (torch.autocast(torch.device(config.device).type, dtype=AMP_DTYPES[config.amp])
                if config.amp else contextlib.nullcontext())
    with torch.inference_mode(), autocast:
        for batch in config.batch_sizes:
            batch_entries = [Entry(subject, batch) for subject in subjects]
            for entry in batch_entries:
                warm_up(entry, config, progress)
            timed_rounds(batch_entries, config, progress, between_rounds=peak.sample)
            entries.extend(batch_entries)
        traces = profile_entries(entries, config.profile) if config.profile else []
    results = [result_row(entry, config, peak.tflops, peak.description) for entry in entries]
    block = dict(config_block(config), load_average_1min_start=load_start,
                 load_average_1min_end=_load_average())
    return {"config": block, "results": results, "ratios": compute_ratios(results), "traces": traces}


def _load_average() -> float | None:
    """The 1-minute load average: above the core count, other work shared the machine."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def work_units(config: Config) -> int:
    """How many progress steps :func:`measure` reports, for the progress bar's total."""
    per_entry = config.warmup + 1 + config.rounds * config.iters
    return len(config.models) * len(config.batch_sizes) * per_entry


def config_block(config: Config) -> dict[str, Any]:
    return {
        "models": list(config.models), "device": config.device,
        "batch_sizes": list(config.batch_sizes), "dtype": config.dtype,
        "amp": config.amp, "compile": config.compile, "channels_last": config.channels_last,
        "img_size": config.img_size, "threads": torch.get_num_threads(),
        "warmup_iters": config.warmup, "iters_per_round": config.iters, "rounds": config.rounds,
        "timing": ("CUDA events around each call, one synchronize per round" if
                   config.device.startswith("cuda") else "time.perf_counter around each call"),
        "interleaving": "round-robin over models within each batch size, order rotated per round",
        "flops_method": FLOPS_METHOD,
        "ratio_rule": "each sret* model over every other model at the same requested batch size; "
                      "without an sret* model, the first model over the rest",
    }


# --- ratios ----------------------------------------------------------------------------------


def compute_ratios(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Throughput of each subject over each baseline at the same requested batch size.

    ``throughput_ratio`` is the ratio of the medians; the round min/max are the ratios of
    per-round medians, paired round by round since interleaving exposed both to the same noise;
    ``throughput_ratio_best`` compares the fastest calls (timeit's rule: interference only slows
    a call down), the figure to trust when other work came and went during the run.
    """
    ok = [row for row in rows if row.get("error") is None and row.get("images_per_s_median")]
    names = list(dict.fromkeys(row["model"] for row in rows))
    subjects = [n for n in names if n.startswith(SUBJECT_PREFIX)] or names[:1]
    ratios = []
    for row in ok:
        if row["model"] not in subjects:
            continue
        for base in ok:
            if base["model"] in subjects or base["batch_size_requested"] != row["batch_size_requested"]:
                continue
            paired = [a / b for a, b in zip(row["images_per_s_by_round"], base["images_per_s_by_round"])]
            ratios.append({
                "model": row["model"], "baseline": base["model"],
                "batch_size_requested": row["batch_size_requested"],
                "batch_size": row["batch_size"], "baseline_batch_size": base["batch_size"],
                "throughput_ratio": row["images_per_s_median"] / base["images_per_s_median"],
                "throughput_ratio_best": row["images_per_s_max"] / base["images_per_s_max"],
                "throughput_ratio_round_min": min(paired) if paired else None,
                "throughput_ratio_round_max": max(paired) if paired else None,
                "flops_ratio": row["flops_per_image"] / base["flops_per_image"],
            })
    return ratios


# --- profiling -----------------------------------------------------------------------------


def profile_entries(entries: Sequence[Entry], directory: Path, steps: int = 2) -> list[str]:
    """Trace ``steps`` calls of every entry into ``directory/<model>/`` (TensorBoard's layout)."""
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
        handler = tensorboard_trace_handler(str(run_dir), worker_name=f"bs{entry.batch_size}")
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
    "model": "model", "batch_size": "batch", "img_size": "img",
    "images_per_s_median": "img/s median", "images_per_s_iqr": "IQR",
    "images_per_s_min": "min", "images_per_s_max": "max",
    "latency_ms_p50": "p50 ms", "latency_ms_p90": "p90 ms",
    "peak_memory_mb": "peak MB", "gflops_per_image": "GFLOP/img (2 per MAC)",
    "achieved_tflops": "TFLOP/s", "mfu_percent": "MFU %",
}


def results_table(rows: Sequence[dict[str, Any]]) -> str:
    """The measurements as a GitHub-style table (pandas + tabulate)."""
    import pandas as pd
    frame = pd.DataFrame(rows)
    frame["gflops_per_image"] = frame["flops_per_image"] / 1e9
    frame["mfu_percent"] = frame["mfu"].astype(float) * 100
    return _markdown(frame[list(_TABLE_COLUMNS)].rename(columns=_TABLE_COLUMNS), ".4g")


def ratios_table(ratios: Sequence[dict[str, Any]]) -> str:
    import pandas as pd
    frame = pd.DataFrame(ratios)[["model", "baseline", "batch_size_requested", "throughput_ratio",
                                  "throughput_ratio_round_min", "throughput_ratio_round_max",
                                  "throughput_ratio_best", "flops_ratio"]]
    frame.columns = ["model", "baseline", "batch", "img/s ratio (medians)", "round min",
                     "round max", "ratio of best calls", "FLOPs ratio"]
    return _markdown(frame, ".3f")


def _markdown(frame: Any, floatfmt: str) -> str:
    """A GitHub table where a missing figure (None or NaN) shows as "-"."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return cleaned.to_markdown(index=False, floatfmt=floatfmt, missingval="-")


def describe(config: Config, results: Sequence[dict[str, Any]],
             block: dict[str, Any] | None = None) -> list[str]:
    """The header lines: where and how the numbers were taken."""
    peak = results[0]["peak_tflops"] if results else None
    source = results[0]["peak_source"] if results else ""
    peak_text = f"{peak:.4g} TFLOP/s ({source})" if peak else source
    return [
        f"device: {config.device} ({device_name(config.device)}), "
        f"{torch.get_num_threads()} threads, dtype {config.dtype}, "
        f"compile {config.compile}, channels_last {config.channels_last}",
        f"warm-up {config.warmup} calls and 1 memory-probe call, then {config.rounds} "
        f"interleaved rounds x "
        f"{config.iters} timed calls per model and batch size",
        f"peak for MFU: {peak_text}",
        f"memory: {results[0]['memory_method'] if results else '-'}",
        *_load_lines(block or {}),
    ]


def _load_lines(block: dict[str, Any]) -> list[str]:
    start, end = block.get("load_average_1min_start"), block.get("load_average_1min_end")
    if start is None or end is None:
        return []
    line = f"load average (1 min): {start:.2f} at start, {end:.2f} at end, {os.cpu_count()} CPUs"
    if max(start, end) > (os.cpu_count() or 1):
        line += " - the machine was shared: trust the ratios, not the absolute figures"
    return [line]


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    from tqdm import tqdm
    with tqdm(total=work_units(config), desc="throughput", unit="call", file=sys.stderr,
              disable=None, leave=False) as bar:
        measured = measure(config, progress=bar.update)
    results, ratios = measured["results"], measured["ratios"]
    print("\n".join(describe(config, results, measured["config"])))
    print()
    print(results_table(results))
    if ratios:
        print()
        print("throughput ratios (model img/s over baseline img/s; >1 = model faster):")
        print(ratios_table(ratios))
    for row in results:
        if row["batch_size"] not in (None, row["batch_size_requested"]):
            print(f"note: {row['model']} batch {row['batch_size_requested']} did not fit; "
                  f"ran at {row['batch_size']}")
        if row["error"]:
            print(f"error: {row['model']} at batch {row['batch_size_requested']}: {row['error']}",
                  file=sys.stderr)
    for trace in measured["traces"]:
        print(f"trace: {trace}")
    if config.json is not None:
        write_json_atomic(config.json, document(
            "throughput", config.device, config=measured["config"], results=results, ratios=ratios))
        print(f"wrote {config.json}")
    if config.csv is not None:
        timm_csv.write_benchmark_csv(config.csv, results, measured["config"], device_name(config.device))
        print(f"wrote {config.csv}")
    return EXIT_FAILED if any(row["error"] for row in results) else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(run(main))
