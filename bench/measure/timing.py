"""The one timing engine of every speed measurement: clocks, interleaved rounds (their statistics
in ``bench.core.stats``, their ratios in ``bench.core.ratios``), memory, matmul peaks and MFU, OOM back-off.

Throughput, slicing, model speed and the kernel scan all time through :func:`interleave`, so a
"median of rounds" means the same everywhere. Everything here returns plain numbers and never
prints, so the statistics and the batch-halving logic can be tested on hand-made inputs.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

import torch

from bench.core.stats import percentile, summarize  # noqa: F401 - the engine's statistics, re-exported

T = TypeVar("T")

# --- clocks ----------------------------------------------------------------------------


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a clock never reads an asynchronous launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], Any], iters: int, device: torch.device) -> list[float]:
    """Seconds taken by each of ``iters`` calls of ``fn``.

    On the GPU each call sits between two CUDA events and the host synchronises once at
    the end before reading them; on the CPU ``time.perf_counter`` brackets each call.
    """
    if device.type == "cuda":
        synchronize(device)
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(iters)]
        for start, end in events:
            start.record()
            fn()
            end.record()
        synchronize(device)
        return [start.elapsed_time(end) / 1e3 for start, end in events]
    seconds = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


def time_once(fn: Callable[[], T], device: torch.device) -> tuple[float, T]:
    """Wall seconds of one synchronised call, and its value (for compile and warm-up)."""
    synchronize(device)
    start = time.perf_counter()
    value = fn()
    synchronize(device)
    return time.perf_counter() - start, value


# --- interleaved rounds: the one timing loop ---------------------------------------------


@dataclass
class Rounds:
    """Seconds of every timed call, per round, of each named callable; and why one stopped, if it did."""

    seconds: dict[str, list[list[float]]]
    errors: dict[str, str]

    def rates(self, name: str, batch: int) -> list[float]:
        """Images/s of each round: the median over its calls (a slow outlier call moves it least)."""
        return [percentile([batch / s for s in calls], 50) for calls in self.seconds[name]]

    def fastest(self, name: str) -> float:
        """Seconds of the fastest call (timeit's rule: interference only ever slows a call down)."""
        return min(s for calls in self.seconds[name] for s in calls)


def interleave(calls: Mapping[str, Callable[[], Any]], rounds: int, iters: int, device: torch.device,
               progress: Callable[[int], None] = lambda _: None,
               between_rounds: Callable[[], None] = lambda: None) -> Rounds:
    """Time ``iters`` calls of each callable per round, round-robin, the order rotated every round, so
    every callable meets the same drift of a shared machine. A callable that raises (an OOM mid-run)
    is dropped from the later rounds and its error kept; the others go on."""
    names = list(calls)
    out = Rounds({name: [] for name in names}, {})
    for index in range(rounds):
        shift = index % max(len(names), 1)
        for name in names[shift:] + names[:shift]:
            if name not in out.errors:
                try:
                    out.seconds[name].append(time_calls(calls[name], iters, device))
                except Exception as error:  # noqa: BLE001 - one callable failing never stops the others
                    out.errors[name] = f"{type(error).__name__}: {error}".splitlines()[0]
                    release_memory(device)
            progress(iters)
        between_rounds()
    return out


# --- out of memory ---------------------------------------------------------------------

_OOM_MESSAGES = ("out of memory", "can't allocate memory", "cannot allocate memory")


def is_out_of_memory(error: BaseException) -> bool:
    """True for an allocation failure on the GPU or the CPU (the errors timm's benchmark halves on)."""
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and any(m in str(error).lower() for m in _OOM_MESSAGES)


def release_memory(device: torch.device) -> None:
    """Drop what a failed attempt left behind before trying a smaller batch."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def fit_batch_size(attempt: Callable[[int], T], batch_size: int,
                   on_oom: Callable[[int], None] = lambda _: None) -> tuple[int, T]:
    """Call ``attempt(batch)`` from ``batch_size`` down, halving after each out-of-memory.

    Returns the batch that fitted and ``attempt``'s value; re-raises the last OOM error if
    not even a batch of 1 fits. Other errors propagate unchanged.
    """
    batch = batch_size
    while True:
        try:
            return batch, attempt(batch)
        except Exception as error:  # noqa: BLE001 - filtered just below
            if not is_out_of_memory(error) or batch == 1:
                raise
        # outside the except block, so the traceback no longer pins the failed batch's tensors
        on_oom(batch)
        batch //= 2


# --- memory ----------------------------------------------------------------------------

CPU_MEMORY_METHOD = (
    "cpu_rss_sampled: weights+input bytes plus the peak growth of the process RSS "
    "(/proc/self/statm sampled every 1 ms by a thread) during one forward, over the RSS "
    "just before it (after gc and malloc_trim)"
)
CUDA_MEMORY_METHOD = (
    "cuda_max_memory_allocated: weights+input bytes plus torch.cuda.max_memory_allocated "
    "during one forward (after reset_peak_memory_stats) over memory_allocated just before it"
)


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _malloc_trim() -> None:
    """Give freed heap back to the OS so RSS growth reflects this forward, not old caches."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class RssSampler:
    """Peak RSS growth over a block, sampled by a background thread (ru_maxrss is lifetime-wide)."""

    def __init__(self, interval_s: float = 1e-3) -> None:
        self.interval_s = interval_s
        self.baseline = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> "RssSampler":
        gc.collect()
        _malloc_trim()
        self.baseline = self.peak = _rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def growth(self) -> int:
        return max(0, self.peak - self.baseline)


def forward_memory_growth(fn: Callable[[], Any], device: torch.device) -> tuple[int, str]:
    """Bytes one call of ``fn`` allocates above what was allocated before it, and how measured."""
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        fn()
        synchronize(device)
        return max(0, torch.cuda.max_memory_allocated(device) - before), CUDA_MEMORY_METHOD
    if not os.path.exists("/proc/self/statm"):
        return 0, "unavailable: no /proc/self/statm on this platform"
    with RssSampler() as sampler:
        fn()
    return sampler.growth, CPU_MEMORY_METHOD


def cuda_max_memory_allocated(device: torch.device) -> int | None:
    """``torch.cuda.max_memory_allocated`` since the last reset (None off CUDA): the whole
    process's peak, so it includes the weights of every other model resident beside this one."""
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None


# --- precision -------------------------------------------------------------------------


@contextlib.contextmanager
def tf32_allowed(allowed: bool) -> Iterator[None]:
    """TF32 tensor cores for fp32 matmuls and cuDNN convolutions on or off, restored after.

    Uses ``torch.set_float32_matmul_precision`` ("high" allows TF32, "highest" does not) and
    ``torch.backends.cudnn.allow_tf32``, which every torch from 1.12 on has; both only
    change what CUDA runs (on the CPU "highest" is the default)."""
    matmul, cudnn = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    torch.set_float32_matmul_precision("high" if allowed else "highest")
    torch.backends.cudnn.allow_tf32 = allowed
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(matmul)
        torch.backends.cudnn.allow_tf32 = cudnn


# --- peaks -----------------------------------------------------------------------------

_SPEC_SHEET = ("NVIDIA {} datasheet, dense tensor-core figures (half the 'with sparsity' ones) for "
               "tf32/bf16/fp16; fp32 is the non-tensor-core rate")
# (name fragment, {precision: dense peak TFLOP/s}, source); first match wins, so the more specific
# names go first ("NVIDIA H100 80GB HBM3" is the SXM card, "NVIDIA H200" the SXM one).
GPU_PEAK_TFLOPS: tuple[tuple[str, dict[str, float], str], ...] = (
    ("H100 PCIe", {"bf16": 756.0, "fp16": 756.0, "tf32": 378.0, "fp32": 51.2}, _SPEC_SHEET.format("H100 PCIe")),
    ("H100 NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}, _SPEC_SHEET.format("H100 NVL")),
    ("H200 NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}, _SPEC_SHEET.format("H200 NVL")),
    ("H100", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9}, _SPEC_SHEET.format("H100 SXM")),
    ("H200", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9}, _SPEC_SHEET.format("H200 SXM")),
    ("A100", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5}, _SPEC_SHEET.format("A100")),
)


def gpu_peak_tflops(device_name: str, precision: str) -> tuple[float | None, str]:
    """The spec-sheet dense peak of a known GPU in ``precision`` (fp32, tf32, bf16, fp16), or None and why."""
    for fragment, peaks, source in GPU_PEAK_TFLOPS:
        if fragment.lower() in device_name.lower():
            return peaks[precision], f"{source}; {precision} peak"
    return None, f"no known peak for GPU {device_name!r}: MFU not computed"


_TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def native_bf16() -> bool:
    """Whether oneDNN has native bf16 kernels here (AVX-512 BF16 or AMX); without them torch's
    plain bf16 ``torch.mm`` falls back to a loop thousands of times slower than its matmuls."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def cpu_peak_tflops(dtype: str = "fp32", size: int = 2048, repeats: int = 3) -> tuple[float, str]:
    """Best TFLOP/s of a ``size``-cubed matmul in ``dtype`` with torch's current thread count.

    A measured ceiling, not a spec sheet: the best of ``repeats`` after one warm-up call, over
    every matmul kernel the models may run (``F.linear``, what ``nn.Linear`` and autocast run;
    ``torch.mm``; for fp32 oneDNN's linear, which SReT uses and which beats MKL's on some CPUs),
    so no model can exceed 100% MFU. ``torch.mm`` in a reduced precision without native kernels
    is left out: it runs a fallback no model layer uses, at minutes per call.
    """
    from sret.kernels import onednn_linear, use_onednn

    torch_dtype = _TORCH_DTYPES[dtype]
    a = torch.randn(size, size).to(torch_dtype)
    b = torch.randn(size, size).to(torch_dtype)
    kernels = {"F.linear": lambda: torch.nn.functional.linear(a, b)}
    left_out = ""
    if dtype == "fp32" or native_bf16():
        kernels["torch.mm"] = lambda: torch.mm(a, b)
    else:
        left_out = f"; torch.mm left out: no native {dtype} kernels on this CPU"
    with torch.inference_mode():
        if use_onednn(a):
            kernels["oneDNN linear"] = lambda: onednn_linear(a, b, None)
        best = {}
        for name, kernel in kernels.items():
            kernel()
            best[name] = min(time_calls(kernel, repeats, torch.device("cpu")))
    fastest = min(best, key=best.get)
    tflops = 2 * size**3 / best[fastest] / 1e12
    source = (f"measured: best of {repeats} {dtype} {size}x{size}x{size} matmuls with "
              f"{', '.join(kernels)} ({fastest} fastest), {torch.get_num_threads()} threads{left_out}")
    return tflops, source


def cuda_peak_tflops(device: str, precision: str, size: int = 8192, repeats: int = 5) -> tuple[float, str]:
    """Best TFLOP/s of a ``size``-cubed ``torch.mm`` on the card in ``precision`` (tf32: fp32
    tensors with TF32 allowed; fp32: TF32 off), timed by CUDA events: the rate the models' own
    matmuls can reach there, where a datasheet gives the clocks' best case."""
    target = torch.device(device)
    dtype = _TORCH_DTYPES["fp32" if precision == "tf32" else precision]
    a = torch.randn(size, size, device=target, dtype=dtype)
    b = torch.randn(size, size, device=target, dtype=dtype)
    with torch.inference_mode(), tf32_allowed(precision == "tf32"):
        torch.mm(a, b)
        best = min(time_calls(lambda: torch.mm(a, b), repeats, target))
    return 2 * size**3 / best / 1e12, (f"measured: best of {repeats} {precision} {size}x{size}x{size} torch.mm "
                                       f"on {device}, CUDA events")


def device_peak(device: str, precision: str) -> tuple[float | None, str]:
    """The ceiling MFU is measured against: a matmul measured on the device (GPU or CPU)."""
    if device.startswith("cuda"):
        return cuda_peak_tflops(device, precision)
    return cpu_peak_tflops("fp32" if precision == "tf32" else precision)


class PeakTracker:
    """The best of repeated peak measurements, one per round, and the datasheet's figure beside it.

    On a shared CPU a single matmul timing can land in a busy moment and make MFU exceed 100%;
    sampling it between the rounds exposes the ceiling to the same noise as the models. The first
    sample is taken when first asked for, so a phase that never runs measures nothing.
    """

    def __init__(self, device: str, precision: str) -> None:
        self.device, self.precision = device, precision
        self.samples = 0
        self._tflops: float | None = None
        self._source = ""

    @property
    def reference(self) -> tuple[float | None, str]:
        """A GPU's datasheet peak in this precision, for reference only (MFU is against the measured one)."""
        if not self.device.startswith("cuda"):
            return None, "no datasheet figure for a CPU"
        from bench.measure.environment import device_name

        return gpu_peak_tflops(device_name(self.device), self.precision)

    def sample(self) -> None:
        tflops, source = device_peak(self.device, self.precision)
        self.samples += 1
        self._source = self._source or source
        self._tflops = tflops if self._tflops is None or tflops is None else max(self._tflops, tflops)

    @property
    def tflops(self) -> float | None:
        if not self.samples:
            self.sample()
        return self._tflops

    @property
    def description(self) -> str:
        if not self.samples:
            self.sample()
        return f"{self._source}; the best of {self.samples} such measurements, one per round"


def mfu(images_per_s: float, macs_per_image: int, peak_tflops: float | None) -> float | None:
    """Model FLOPs (2 per multiply-add) per second over the peak; None without a peak."""
    return images_per_s * 2 * macs_per_image / (peak_tflops * 1e12) if peak_tflops else None


def load_average() -> float | None:
    """The 1-minute load average: above the core count, other work shared the machine."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def conditions(load_start: float | None, peak: PeakTracker) -> dict[str, Any]:
    """What every timing document's ``config`` records, in one shape: threads, load at start and
    end, and the peak its MFU is measured against."""
    return {"threads": torch.get_num_threads(), "load_average_1min_start": load_start,
            "load_average_1min_end": load_average(), "peak_tflops": peak.tflops, "peak_precision": peak.precision,
            "peak_source": peak.description, "peak_datasheet_tflops": peak.reference[0],
            "peak_datasheet_source": peak.reference[1]}
