"""One GPU command: the gate, the zoo's throughput, model speed and slicing cost on a CUDA card.

    python -m bench.gpu --out reports --budget-s 420

Work runs in priority order, each phase a list of small units:

1. ``gate``: the gate's counts (device-independent, on the CPU) and every gate model built and
   run on the device, its logits checked against the CPU's for the same weights and seed
   (``device_check-<gpu>.json``; not a second ``verify`` document);
2. ``eager``: throughput of the whole zoo and its baselines, fp32 (TF32 allowed) and bf16, at
   batch 1 and the largest batch that fits (halving from ``--max-batch`` on OOM), each row with
   the attention kernel it ran (``bench.measure.sdpa``) (``throughput-fp32-<gpu>.json``,
   ``throughput-bf16-<gpu>.json``). On CUDA only the stock kernel policy is timed: the tuned
   one changes no kernel there (``sret.kernels``);
3. ``model_speed``: our SReT against the release's formulation, eager, fp32 with TF32 off;
4. ``slicing``: sliced SReT against the same weights without slicing (``slicing_speed-<gpu>.json``);
5. ``compiled``: ``torch.compile`` throughput of ``COMPILE_PLAN``, in order, while time remains.

Each results file's ``config`` describes every unit that wrote to it (``units``), each row names
its unit, and ratios pair only rows of one unit (timed side by side in the same rounds).

Every phase's file is written atomically after each unit, so a run cut off keeps what it did;
a unit starts only when the budget left covers its estimate, and every unit skipped for time
is recorded. ``gpu_run-<gpu>.json`` says what ran, how long, and what was skipped. The runner
needs only ``python -m bench.gpu`` (no nox, no network); ``--device cpu`` runs the same code
on the CPU, for testing it with a small model set.
"""
from __future__ import annotations

import copy
import re
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import torch

from bench.measure import formulation_speed
from bench.measure import sdpa
from bench.measure import slicing as slicing_speed
from bench.measure import throughput_run
from bench.measure import timing
from bench.measure import models
from bench.measure import zoo
from bench.core.names import is_subject
from bench.core.cli import ArgumentParser, UsageError, choice_list, positive_int, positive_number, split_list, unknown_name
from bench.spec.verdicts import STATUSES
from bench.measure.environment import command, device_name, document
from bench.core.io import write_json_atomic

DEFAULT_BUDGET_S = 420.0
MAX_BATCH = 256  # where the OOM halving starts, as timm's benchmark.py
RESERVE_S = 10.0  # kept back from the budget for the last writes and the summary
SPEED_BATCH = 64
DEVICE_CHECK = {"batch_size": 2, "seed": 0, "atol": 1e-4, "rtol": 1e-3}
# Seconds a unit is assumed to take before one of its phase has run; after that, the slowest so far.
PRIOR_S = {"gate": 30.0, "device_check": 10.0, "eager": 20.0, "model_speed": 20.0, "slicing": 20.0,
           "compiled": 150.0}
# The compiled subset, in the order it runs while time remains: (dtype, batch, models, policy).
# "max" is the largest batch the eager phase fitted.
_TINY, _SMALL = ("sret_t", "deit_tiny_patch16_224"), ("sret_s", "deit_small_patch16_224")
COMPILE_PLAN: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("bf16", "max", _TINY, "stock"), ("fp32", "max", _TINY, "stock"),
    ("bf16", "1", _TINY, "stock"), ("fp32", "1", _TINY, "stock"),
    ("bf16", "max", _SMALL, "stock"), ("fp32", "max", _SMALL, "stock"),
    ("bf16", "1", _SMALL, "stock"), ("fp32", "1", _SMALL, "stock"),
)
CUDA_KERNELS = ("stock",)
CUDA_KERNELS_NOTE = ("on CUDA only the stock kernel policy is timed: the tuned policy takes the plain path there "
                     "(sret.kernels), so its rows would time the stock kernels twice")
RATIO_RULE = ("two rows are compared only when timed side by side: the same unit of bench.gpu (one build or "
              "compile, interleaved in the same rounds), resolution and requested batch size; the quoted ratio "
              "is the median of the per-round ratios")
DTYPES = ("fp32", "bf16")


def slug(name: str) -> str:
    """A card's name as a file-name part: "NVIDIA H100 80GB HBM3" -> "nvidia-h100-80gb-hbm3"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "device"


# --- time -------------------------------------------------------------------------------------


class Budget:
    """Wall seconds for the whole run; a unit starts only if its estimate fits in what is left."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic, reserve_s: float = RESERVE_S):
        self.seconds, self.clock, self.reserve_s = seconds, clock, reserve_s
        self.start = clock()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def left(self) -> float:
        return self.seconds - self.elapsed()

    def allows(self, estimate_s: float) -> bool:
        return self.left() - self.reserve_s >= estimate_s


@dataclass
class Unit:
    """One piece of a phase: a name the JSON records and the work."""

    name: str
    work: Callable[[], None]


@dataclass
class Phase:
    """A phase's log: units done (with seconds), skipped for time, failed."""

    name: str
    files: list[str] = field(default_factory=list)
    done: list[dict[str, Any]] = field(default_factory=list)
    skipped_for_time: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""

    @property
    def status(self) -> str:
        if self.errors and not self.done:
            return "failed"
        if not self.done:
            return "skipped for time" if self.skipped_for_time else "not run"
        return "partial" if self.skipped_for_time or self.errors else "done"

    def record(self) -> dict[str, Any]:
        return {"phase": self.name, "status": self.status, "seconds": round(self.seconds, 1), "files": self.files,
                "units_done": self.done, "skipped_for_time": self.skipped_for_time, "errors": self.errors,
                "note": self.note}


def run_units(phase: Phase, units: Sequence[Unit], budget: Budget, after_each: Callable[[], None],
              log: Callable[[str], None] = print) -> None:
    """Run ``units`` in order while the budget covers each one's estimate (the slowest unit of
    the phase so far, or its prior); a failing unit is recorded and the run goes on."""
    for unit in units:
        durations = [d["seconds"] for d in phase.done]
        estimate = max(durations) if durations else PRIOR_S.get(phase.name, 30.0)
        if not budget.allows(estimate):
            phase.skipped_for_time.append({"unit": unit.name, "estimate_s": round(estimate, 1),
                                           "left_s": round(budget.left(), 1)})
            log(f"[{budget.elapsed():6.1f}s] {phase.name}: skipped for time: {unit.name} "
                f"(needs ~{estimate:.0f}s, {budget.left():.0f}s left)")
            continue
        start = budget.clock()
        try:
            unit.work()
        except Exception as error:  # noqa: BLE001 - one unit failing never loses the others
            phase.errors.append({"unit": unit.name, "error": f"{type(error).__name__}: {error}".splitlines()[0]})
            log(f"[{budget.elapsed():6.1f}s] {phase.name}: FAILED {unit.name}: {phase.errors[-1]['error']}")
            traceback.print_exc(file=sys.stderr)
        else:
            seconds = budget.clock() - start
            phase.done.append({"unit": unit.name, "seconds": round(seconds, 1)})
            log(f"[{budget.elapsed():6.1f}s] {phase.name}: {unit.name} ({seconds:.1f}s)")
        phase.seconds += budget.clock() - start
        after_each()


# --- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    out: Path
    device: str = "cuda"
    budget_s: float = DEFAULT_BUDGET_S
    models: tuple[str, ...] = ()
    speed_models: tuple[str, ...] = ("sret_t", "sret_s")
    max_batch: int = MAX_BATCH
    speed_batch: int = SPEED_BATCH
    img_size: Optional[int] = None
    kernels: tuple[str, ...] = throughput_run.DEFAULT_KERNELS
    counts: Optional[Path] = None  # a verify document whose counts the gate phase takes instead of counting
    dtypes: tuple[str, ...] = DTYPES
    warmup: int = 2
    rounds: int = 3
    iters: int = 4
    compile: bool = True

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    def throughput_config(self, dtype: str, models: Sequence[str], compile_: bool = False,
                          kernels: Optional[Sequence[str]] = None, batch_sizes: Optional[Sequence[int]] = None
                          ) -> throughput_run.Config:
        """fp32 runs allow TF32 on CUDA (MFU against the TF32 peak); bf16 runs under autocast."""
        return throughput_run.Config(
            models=tuple(models), device=self.device, batch_sizes=tuple(batch_sizes or (1, self.max_batch)),
            kernels=tuple(kernels or self.kernels), amp=None if dtype == "fp32" else dtype,
            tf32=self.cuda and dtype == "fp32", compile=compile_, img_size=self.img_size,
            warmup=self.warmup, iters=self.iters, rounds=self.rounds)


# --- the phases --------------------------------------------------------------------------------


@dataclass
class Written:
    """One results file the runner keeps up to date: its stem, kind, the units that wrote to it and their rows."""

    stem: str
    kind: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    units: list[tuple[str, throughput_run.Config]] = field(default_factory=list)

    def add(self, unit: str, config: throughput_run.Config, rows: Sequence[dict[str, Any]]) -> None:
        self.units.append((unit, config))
        self.rows += [{**row, "unit": unit} for row in rows]

    def config(self) -> throughput_run.Config:
        """One config for the whole file: every unit's models, batch sizes and policies."""
        configs = [config for _, config in self.units]
        return replace(configs[-1], models=_union(c.models for c in configs),
                       batch_sizes=_union(c.batch_sizes for c in configs), kernels=_union(c.kernels for c in configs))

    def unit_records(self) -> list[dict[str, Any]]:
        return [{"unit": unit, "models": list(c.models), "batch_sizes": list(c.batch_sizes), "kernels": list(c.kernels),
                 "dtype": c.dtype, "compile": c.compile} for unit, c in self.units]

    def ratios(self) -> list[dict[str, Any]]:
        """``throughput_run.compute_ratios`` within each unit, never across two."""
        return [ratio for unit, _ in self.units
                for ratio in throughput_run.compute_ratios([row for row in self.rows if row["unit"] == unit])]


def _union(groups: Any) -> tuple:
    return tuple(dict.fromkeys(item for group in groups for item in group))


class Runner:
    """Runs the phases in order, each a list of units planned when its phase starts, and writes each
    results file after every unit that changes it (so a run cut off keeps what it did)."""

    def __init__(self, settings: Settings, budget: Budget, argv: Sequence[str]) -> None:
        self.settings, self.budget, self.argv = settings, budget, list(argv)
        self.card = device_name(settings.device)
        self.slug = slug(self.card)
        self.phases: list[Phase] = []
        self.documents: dict[str, dict[str, Any]] = {}
        self.fitted: dict[tuple[str, str], int] = {}  # (model, dtype) -> largest batch the eager phase fitted
        self.load_start = timing.load_average()
        self.current: Optional[Phase] = None
        self.gate: dict[str, Any] = {}  # what the gate phase counted, for the device check
        self.peaks = {dtype: timing.PeakTracker(settings.device, self._precision(dtype)) for dtype in DTYPES}
        # multiply-adds per model@size, from --counts: the throughput phases then count none again
        self.known_macs = recorded_macs(settings.counts) if settings.counts else {}

    def _precision(self, dtype: str) -> str:
        return "tf32" if dtype == "fp32" and self.settings.cuda else dtype

    # files
    def path(self, stem: str) -> Path:
        return self.settings.out / f"{stem}-{self.slug}.json"

    def write(self, stem: str, kind: str, **body: Any) -> str:
        path = self.path(stem)
        self.documents[stem] = body
        write_json_atomic(path, document(kind, self.settings.device, command("bench.gpu", self.argv),
                                         written_by="bench.gpu", **body))
        if self.current is not None and path.name not in self.current.files:
            self.current.files.append(path.name)
        return path.name

    def write_manifest(self) -> None:
        s = self.settings
        write_json_atomic(self.path("gpu_run"), document(
            "gpu_run", s.device, command("bench.gpu", self.argv), card=self.card, budget_s=s.budget_s,
            elapsed_s=round(self.budget.elapsed(), 1),
            settings={"models": list(s.models), "speed_models": list(s.speed_models), "max_batch": s.max_batch,
                      "speed_batch": s.speed_batch, "kernels": list(s.kernels), "dtypes_run": list(s.dtypes),
                      "kernels_note": CUDA_KERNELS_NOTE if s.cuda else None, "warmup_iters": s.warmup,
                      "rounds": s.rounds, "iters_per_round": s.iters, "img_size": s.img_size,
                      "dtypes": {"fp32": "fp32 storage, TF32 tensor cores allowed (CUDA); MFU against the "
                                         "dense TF32 peak", "bf16": "torch.autocast(bf16); MFU against the "
                                                                   "dense bf16 peak"},
                      "compile_plan": [{"dtype": d, "batch": b, "models": list(m), "kernels": k}
                                       for d, b, m, k in COMPILE_PLAN]},
            phases=[phase.record() for phase in self.phases]))

    def phase(self, name: str, plan: Callable[[], list[Unit]], note: str = "") -> Phase:
        """Plan the phase's units now (from what the phases before it left), then run them."""
        units = plan()
        phase = self.current = Phase(name, note=note if not units else "")
        self.phases.append(phase)
        run_units(phase, units, self.budget, after_each=self.write_manifest)
        self.current = None
        self.write_manifest()
        return phase

    # 1. the gate's counts, on the CPU
    def gate_units(self) -> list[Unit]:
        return [Unit("gate counts (CPU)", self.count_gate)]

    def count_gate(self) -> None:
        sret_names = [name for name in self.settings.models if is_subject(name)]
        wanted = None if _is_zoo(self.settings.models) else sret_names
        if self.settings.counts is None:
            from bench.gate.paper_gate import verify

            gate = verify(wanted, progress=False)
            source = ("the gate (bench.verify) counted on the CPU, where the counts are made (they do not depend "
                      "on the device)")
        else:
            gate = recorded_gate(self.settings.counts, wanted)
            source = (f"the gate's counts as the CPU recorded them in {self.settings.counts} (commit "
                      f"{gate['git_commit']}), not counted again here: they do not depend on the device")
        statuses = [row["status"] for row in gate["results"] + gate["claims"]]
        self.gate = {
            "method": (f"{source}; then every model it counted, built on the CPU with seed "
                       f"{DEVICE_CHECK['seed']}, copied to {self.settings.device} and run on a batch of "
                       f"{DEVICE_CHECK['batch_size']} fp32 images with TF32 off, the same seed before each forward "
                       f"(so sliced models draw the same slices); its logits must equal the CPU's within atol "
                       f"{DEVICE_CHECK['atol']} + rtol {DEVICE_CHECK['rtol']}"),
            "results": [], "tolerance": {k: DEVICE_CHECK[k] for k in ("atol", "rtol")},
            "verdict": {s: statuses.count(s) for s in STATUSES}, "gate_elapsed_s": gate["elapsed_s"],
            "counts": {key: {"fvcore_macs": c["fvcore_macs"], "params": c["params"]}
                       for key, c in gate["counters"].items()}}
        self.write("device_check", "device_check", **self.gate)

    # 2. the gate's models on the device
    def device_check_units(self) -> list[Unit]:
        keys = list(self.gate.get("counts", {}))
        return [Unit(f"{key} on {self.settings.device}", partial(self.check, key)) for key in keys]

    def check(self, key: str) -> None:
        name, size = key.rsplit("@", 1)
        self.gate["results"].append(check_on_device(name, int(size), self.settings.device))
        self.write("device_check", "device_check", **self.gate)

    # 3. eager throughput
    def eager_units(self) -> list[Unit]:
        s = self.settings
        self.eager_rows = {dtype: Written(f"throughput-{dtype}", "throughput") for dtype in DTYPES}
        self.eager_subjects: dict[int, list[throughput_run.Subject]] = {}
        return [Unit(f"{size} px, {dtype}, batch {batch}", partial(self.eager, size, dtype, batch))
                for size in self.sizes() for dtype in s.dtypes for batch in (s.max_batch, 1)]

    @staticmethod
    def with_attention_kernels(entries: Sequence[throughput_run.Entry], rows: Sequence[dict[str, Any]],
                               config: throughput_run.Config) -> list[dict[str, Any]]:
        """Each row with the SDPA kernels one forward of its entry ran (None where it did not run)."""
        with throughput_run.run_context(config):
            return [{**row, "attention_kernels": None if entry.forward is None else sdpa.kernels_run(entry.forward)}
                    for entry, row in zip(entries, rows)]

    def sizes(self) -> dict[int, list[str]]:
        by_size: dict[int, list[str]] = {}
        for name in self.settings.models:
            by_size.setdefault(self.settings.img_size or models.native_size(name), []).append(name)
        return by_size

    def subjects(self, size: int) -> list[throughput_run.Subject]:
        """The models of one size, built once for every dtype and batch of that size (one size at a time)."""
        if size not in self.eager_subjects:
            self.eager_subjects.clear()
            timing.release_memory(torch.device(self.settings.device))
            config = self.settings.throughput_config("fp32", self.sizes()[size])
            self.eager_subjects[size] = [sub for name in config.models
                                         for sub in throughput_run.prepare(name, config, self.known_macs)]
        return self.eager_subjects[size]

    def eager(self, size: int, dtype: str, batch: int) -> None:
        subjects = self.subjects(size)
        config = self.settings.throughput_config(dtype, list(dict.fromkeys(s.name for s in subjects)),
                                                 batch_sizes=(batch,))
        entries = throughput_run.measure_group(subjects, batch, config, self.peaks[dtype])
        for entry in entries:
            if entry.batch_size is not None:
                self.fitted.setdefault((entry.subject.name, dtype), entry.batch_size)
        rows = self.with_attention_kernels(entries, throughput_run.result_rows(entries, config, self.peaks[dtype]), config)
        written = self.eager_rows[dtype]
        written.add(f"{size} px, {dtype}, batch {batch}", config, rows)
        self.write_throughput(written, self.peaks[dtype], "eager",
                              attention={"method": sdpa.METHOD, "cuda_backends_enabled": sdpa.enabled_backends()
                                         if self.settings.cuda else None})

    def write_throughput(self, written: Written, peak: timing.PeakTracker, phase: str, **extra: Any) -> None:
        block = {**throughput_run.config_block(written.config()), **timing.conditions(self.load_start, peak),
                 "units": written.unit_records(), "ratio_rule": RATIO_RULE, **extra,
                 "macs_source": (f"the gate's counts recorded in {self.settings.counts} where it has the model at "
                                 f"its size, else counted here" if self.settings.counts else "counted here"),
                 "batch_rule": f"batch 1, and the largest batch that fits, halving from {self.settings.max_batch} "
                               f"on out-of-memory (timm's benchmark.py rule)"}
        self.write(written.stem, written.kind, config=block, results=written.rows, ratios=written.ratios(),
                   runner_phase=phase)

    # 4. model speed
    def speed_units(self) -> list[Unit]:
        self.speed_rows: list[dict[str, Any]] = []
        return [Unit(f"{name}, batch {self.settings.speed_batch}", partial(self.speed, name))
                for name in self.settings.speed_models]

    def speed(self, name: str) -> None:
        s = self.settings
        peak = self.peaks["fp32"] if not s.cuda else timing.PeakTracker(s.device, "fp32")
        with timing.tf32_allowed(False):
            self.speed_rows.append(formulation_speed.measure_model(name, s.speed_batch, s.rounds, s.iters,
                                                             compile_forms=False, device=torch.device(s.device)))
        peak.sample()
        body = formulation_speed.results_body(copy.deepcopy(self.speed_rows), peak, torch.device(s.device),
                                        compile_forms=False, load_start=self.load_start)
        self.write("model_speed", "model_speed", **body)

    # 5. slicing
    def slicing_units(self) -> list[Unit]:
        self.pairs = zoo.slicing_pairs(self.settings.models)
        self.slicing_rows: list[dict[str, Any]] = []
        self.slicing_subjects: list[throughput_run.Subject] = []
        if not self.pairs:
            return []
        return [Unit(f"{len(self.pairs)} pairs, fp32, batch {batch}", partial(self.slicing, batch))
                for batch in (self.settings.max_batch, 1)]

    def slicing(self, batch: int) -> None:
        sliced = [name for name, _ in self.pairs]
        config = self.settings.throughput_config("fp32", sliced, batch_sizes=(1, self.settings.max_batch))
        if not self.slicing_subjects:
            self.slicing_subjects = [sub for name in sliced
                                     for sub in slicing_speed.pair_subjects(name, config, self.known_macs)]
        entries = throughput_run.measure_group(self.slicing_subjects, batch, config, self.peaks["fp32"])
        self.slicing_rows += throughput_run.result_rows(entries, config, self.peaks["fp32"])
        self.write("slicing_speed", "slicing_speed",
                   config=slicing_speed.config_block(config, self.pairs,
                                                     timing.conditions(self.load_start, self.peaks["fp32"])),
                   results=self.slicing_rows, pairs=slicing_speed.pair_records(self.slicing_rows, self.pairs))

    # 6. compiled
    def compile_units(self) -> list[Unit]:
        s = self.settings
        self.compiled_rows = {dtype: Written(f"throughput-{dtype}-compiled", "throughput") for dtype in DTYPES}
        units = []
        for dtype, batch_kind, plan_models, policy in COMPILE_PLAN:
            chosen = tuple(m for m in plan_models if m in s.models)
            if chosen and policy in s.kernels and dtype in s.dtypes:
                name = f"{'+'.join(chosen)}, {dtype}, batch {batch_kind}, {policy}"
                units.append(Unit(name, partial(self.compiled, name, dtype, batch_kind, chosen, policy)))
        return units

    def compiled(self, unit: str, dtype: str, batch_kind: str, chosen: tuple[str, ...], policy: str) -> None:
        s = self.settings
        torch._dynamo.reset()  # a fresh compile: its time is what a user pays
        batch = 1 if batch_kind == "1" else s.max_batch
        # each model starts at the batch its eager run fitted: every OOM retry would compile again
        starts = {m: self.fitted[(m, dtype)] for m in chosen if batch > 1 and (m, dtype) in self.fitted}
        config = s.throughput_config(dtype, chosen, compile_=True, kernels=(policy,), batch_sizes=(batch,))
        subjects = [sub for name in chosen for sub in throughput_run.prepare(name, config, self.known_macs)]
        entries = throughput_run.measure_group(subjects, batch, config, self.peaks[dtype], start_batches=starts)
        self.compiled_rows[dtype].add(unit, config, throughput_run.result_rows(entries, config, self.peaks[dtype]))
        self.write_throughput(self.compiled_rows[dtype], self.peaks[dtype], "compiled")

    def run(self) -> list[Phase]:
        self.write_manifest()
        self.phase("gate", self.gate_units)
        self.phase("device_check", self.device_check_units, note="the gate counted no model")
        self.phase("eager", self.eager_units)
        self.phase("model_speed", self.speed_units, note="no --speed-models")
        self.phase("slicing", self.slicing_units, note="no sliced SReT with a _wo_slice partner among --models")
        if self.settings.compile:
            self.phase("compiled", self.compile_units, note="no model of COMPILE_PLAN among --models")
        else:
            self.phase("compiled", list, note="--no-compile")
        return self.phases


def recorded_gate(path: Path, models: Optional[Sequence[str]]) -> dict[str, Any]:
    """A verify document's rows and counts (of ``models`` only, when given), in the shape
    ``bench.gate.paper_gate.verify`` returns them."""
    from bench.core.io import read_results

    document = read_results(path)
    if document["kind"] != "verify":
        raise UsageError(f"--counts: {path} is a {document['kind']!r} document, not a verify one")
    keep = (lambda name: True) if models is None else (lambda name: name in models)
    return {"results": [r for r in document["results"] if keep(r["architecture"])],
            "claims": document["claims"] if models is None else [],
            "counters": {key: c for key, c in document["counters"].items() if keep(c["model"])},
            "elapsed_s": 0.0, "git_commit": document["environment"].get("git_commit")}


def recorded_macs(path: Path) -> dict[str, int]:
    """fvcore multiply-adds by ``model@size`` of the SReT models and the baselines a verify document counted."""
    from bench.core.io import read_results

    document = read_results(path)
    macs = {key: count["fvcore_macs"] for key, count in document["counters"].items()}
    macs.update({f"{b['architecture']}@{b['img_size']}": b["fvcore_macs"] for b in document["baselines"]})
    return macs


def _is_zoo(models: Sequence[str]) -> bool:
    return set(zoo.full_zoo()) <= set(models)


def check_on_device(name: str, img_size: int, device: str) -> dict[str, Any]:
    """Build ``name`` on the CPU, run it there and on ``device`` (same weights, same seed, fp32,
    TF32 off) and compare the logits."""
    torch.manual_seed(DEVICE_CHECK["seed"])
    model, _ = models.create(name, img_size)
    images = torch.randn(DEVICE_CHECK["batch_size"], 3, img_size, img_size,
                         generator=torch.Generator().manual_seed(DEVICE_CHECK["seed"]))
    record: dict[str, Any] = {"model": name, "img_size": img_size, "device": device, "max_abs_logit_diff": None,
                              "max_abs_logit": None, "agrees": False, "forward_ms": None, "error": None}
    try:
        with torch.inference_mode(), timing.tf32_allowed(False):
            torch.manual_seed(DEVICE_CHECK["seed"])
            reference = model(images)
            on_device = copy.deepcopy(model).to(device)
            target = torch.device(device)
            torch.manual_seed(DEVICE_CHECK["seed"])
            seconds, logits = timing.time_once(lambda: on_device(images.to(device)), target)
            logits = logits.float().cpu()
    except Exception as error:  # noqa: BLE001 - recorded as this model's failure
        record["error"] = f"{type(error).__name__}: {error}".splitlines()[0]
        return record
    record.update(max_abs_logit_diff=float((logits - reference).abs().max()),
                  max_abs_logit=float(reference.abs().max()), forward_ms=seconds * 1e3,
                  agrees=bool(torch.allclose(logits, reference, atol=DEVICE_CHECK["atol"], rtol=DEVICE_CHECK["rtol"])))
    return record


# --- summary -----------------------------------------------------------------------------------


def summary(runner: Runner) -> str:
    """The phases, then the largest-batch bf16 stock eager figures: what a reader looks at first."""
    from tabulate import tabulate

    lines = [f"bench.gpu on {runner.card} ({runner.settings.device}), {runner.budget.elapsed():.0f}s of a "
             f"{runner.settings.budget_s:.0f}s budget; files in {runner.settings.out}/"]
    lines.append(tabulate([[p.name, p.status, f"{p.seconds:.0f}", len(p.done), len(p.skipped_for_time),
                            len(p.errors), ", ".join(p.files) or p.note or "-"] for p in runner.phases],
                          headers=["phase", "status", "s", "units done", "skipped for time", "failed", "files"]))
    check = runner.documents.get("device_check", {})
    if check.get("results"):
        agree = sum(r["agrees"] for r in check["results"])
        worst = max((r["max_abs_logit_diff"] or 0.0) for r in check["results"])
        lines.append(f"gate: {check.get('verdict')}; {agree} of {len(check['results'])} models agree with the CPU "
                     f"(largest |logit diff| {worst:.2e})")
    rows = [r for r in runner.documents.get("throughput-bf16", {}).get("results", [])
            if r["kernels"] == "stock" and r["batch_size_requested"] == runner.settings.max_batch and not r["error"]]
    if rows:
        lines.append("bf16, stock kernels, eager, largest batch that fits:")
        lines.append(tabulate([[r["model"], r["img_size"], r["batch_size"], f"{r['images_per_s_median']:.0f}",
                                "-" if r["mfu"] is None else f"{100 * r['mfu']:.1f}"] for r in rows],
                              headers=["model", "img", "batch", "img/s", "MFU %"]))
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = ArgumentParser(prog="python -m bench.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports"), help="folder for the JSON files (default: reports)")
    parser.add_argument("--device", default="cuda", help="cuda[:N], or cpu to exercise the runner (default: cuda)")
    parser.add_argument("--budget-s", type=positive_number("--budget-s"), default=DEFAULT_BUDGET_S,
                        help="wall seconds for the whole run; no unit starts that would not fit (default: %(default)s)")
    parser.add_argument("--models", default="sret", help="throughput models (default: sret, the whole zoo)")
    parser.add_argument("--speed-models", default="sret_t,sret_s", help="models for model_speed (default: %(default)s)")
    parser.add_argument("--max-batch", type=positive_int("--max-batch"), default=MAX_BATCH,
                        help="where OOM halving starts (default: %(default)s)")
    parser.add_argument("--speed-batch", type=positive_int("--speed-batch"), default=SPEED_BATCH,
                        help="model_speed batch (default: %(default)s)")
    parser.add_argument("--img-size", type=positive_int("--img-size"), default=None,
                        help="one input size for every throughput model (default: each model's own; for tests)")
    parser.add_argument("--kernels", default=",".join(throughput_run.DEFAULT_KERNELS),
                        help="kernel policies on the CPU; on CUDA only stock is timed (default: %(default)s)")
    parser.add_argument("--warmup", type=positive_int("--warmup"), default=2,
                        help="untimed calls per entry (default: %(default)s)")
    parser.add_argument("--rounds", type=positive_int("--rounds"), default=3, help="interleaved rounds (default: %(default)s)")
    parser.add_argument("--iters", type=positive_int("--iters"), default=4,
                        help="timed calls per entry per round (default: %(default)s)")
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled phase")
    parser.add_argument("--dtypes", default=",".join(DTYPES),
                        help="precisions of the throughput phases (default: %(default)s; a CPU without bf16 "
                             "matmuls takes minutes over its bf16 peak)")
    parser.add_argument("--counts", type=Path, default=None, metavar="VERIFY_JSON",
                        help="take the gate's counts from this verify document (the CPU's, e.g. reports/verify.json) "
                             "instead of counting them again (default: count)")
    args = parser.parse_args(argv)
    device = throughput_run.check_device(args.device)
    kernels = CUDA_KERNELS if device.startswith("cuda") else throughput_run.parse_kernels(args.kernels)
    dtypes = choice_list("--dtypes", "dtype", args.dtypes, DTYPES)
    if args.counts is not None and not args.counts.is_file():
        raise UsageError(f"--counts: {str(args.counts)!r} is not a file")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out: {str(args.out)!r} exists and is not a directory")
    models_ = throughput_run.check_models(split_list(args.models))
    speed_models = tuple(split_list(args.speed_models))
    known = set(zoo.sret_models())
    for name in speed_models:
        if name not in known:
            raise unknown_name("model", name, sorted(known))
    return Settings(out=args.out, device=device, budget_s=args.budget_s, models=models_, speed_models=speed_models,
                    max_batch=args.max_batch, speed_batch=args.speed_batch, img_size=args.img_size,
                    kernels=kernels, warmup=args.warmup, rounds=args.rounds,
                    iters=args.iters, compile=not args.no_compile, counts=args.counts,
                    dtypes=dtypes)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    settings = parse_args(argv)
    budget = Budget(settings.budget_s)
    settings.out.mkdir(parents=True, exist_ok=True)
    runner = Runner(settings, budget, argv)
    print(f"bench.gpu: {runner.card}, torch {torch.__version__}, budget {settings.budget_s:.0f}s, "
          f"{len(settings.models)} throughput models; writing {settings.out}/*-{runner.slug}.json", flush=True)
    runner.run()
    print()
    print(summary(runner))
    return 1 if any(p.errors for p in runner.phases) else 0

