"""The paper's cost claim in time: sliced SReT against the same weights without slicing.

    python -m bench.slicing_speed [--models sret_t,sret_lt,sret_s] [--device cpu] [--batch-sizes 8]

The paper says slicing "reduces the cost consumption by 10~30%"; the gate checks the FLOPs
(claim ``slicing_cuts_flops_10_30``). Here each sliced model and its ``_wo_slice`` partner
run on one set of weights (the pairs share every state-dict shape), under each kernel policy,
interleaved in the same rounds on the device in use, and the time saved is measured per
round: ``100 * (1 - sliced seconds / unsliced seconds)``. A measurement, never a gate row:
timing does not fail CI.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch

from bench.measure import throughput_run
from bench.measure import models
from bench.measure import timing
from bench.measure import zoo
from bench.measure.claims import SLICING_CLAIM_ID
from bench.core.ratios import paired_ratio
from bench.core.stats import percentile
from bench.core.cli import ArgumentParser, UsageError, int_list, positive_int, split_list, unknown_name
from bench.measure.environment import command, document
from bench.core.io import write_json_atomic

DEFAULT_MODELS = ("sret_t", "sret_lt", "sret_s")
DEFAULT_BATCH_SIZES = (8,)


def pair_subjects(sliced: str, config: throughput_run.Config,
                  known_macs: Mapping[str, int] | None = None) -> list[throughput_run.Subject]:
    """The sliced model and its partner on the sliced model's weights, one subject per policy each
    (``known_macs``: counts of ``name@size`` already made, as ``throughput_run.build`` takes them)."""
    model, img_size, macs = throughput_run.build(sliced, config, known_macs)
    partner_name = f"{sliced}_wo_slice"
    partner, _ = models.create(partner_name, img_size)
    partner.load_state_dict(model.state_dict(), strict=True)
    partner_macs = (known_macs or {}).get(f"{partner_name}@{img_size}")
    if partner_macs is None:
        partner_macs = throughput_run.model_macs(partner, img_size)
    return (throughput_run.subjects_of(sliced, model, img_size, macs, config)
            + throughput_run.subjects_of(partner_name, partner, img_size, partner_macs, config))


def pair_records(rows: Sequence[dict[str, Any]], pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """For each pair, policy and batch size timed side by side: the time saved by slicing per round,
    the throughput ratio, and the multiply-adds saved (the same count as the gate's)."""
    ok = [row for row in rows if row.get("error") is None and row.get("images_per_s_median")]
    records = []
    for sliced_name, full_name in pairs:
        for sliced in (r for r in ok if r["model"] == sliced_name):
            for full in (r for r in ok if r["model"] == full_name):
                if full["kernels"] != sliced["kernels"] or not throughput_run.side_by_side(sliced, full):
                    continue
                record = throughput_run.ratio_record(sliced, full, "slicing")
                # the sliced rate over the unsliced one, per round: 1 - 1/ratio of the time is saved
                saved = [100 * (1 - 1 / ratio) for ratio in
                         paired_ratio(sliced["images_per_s_by_round"], full["images_per_s_by_round"]).per_round]
                record.update({
                    "images_per_s_sliced": sliced["images_per_s_median"],
                    "images_per_s_wo_slice": full["images_per_s_median"],
                    "time_saved_pct_round_median": percentile(saved, 50) if saved else None,
                    "time_saved_pct_round_min": min(saved) if saved else None,
                    "time_saved_pct_round_max": max(saved) if saved else None,
                    "macs_saved_pct": 100 * (1 - sliced["flops_per_image"] / full["flops_per_image"]),
                })
                records.append(record)
    return records


def measure(config: throughput_run.Config, sliced_models: Sequence[str],
            progress: Callable[[int], None] = lambda _: None) -> dict[str, Any]:
    """Every pair, interleaved per batch size: the document's ``config``, ``results`` and ``pairs``."""
    throughput_run.decide_kernels(config)
    load_start = timing.load_average()
    pairs = [(name, f"{name}_wo_slice") for name in sliced_models]
    peak = timing.PeakTracker(config.device, config.precision)
    subjects = [subject for name in sliced_models for subject in pair_subjects(name, config)]
    rows = []
    for _, batch, group in throughput_run.groups(subjects, config.batch_sizes):
        rows += throughput_run.result_rows(throughput_run.measure_group(group, batch, config, peak, progress), config, peak)
    return {"config": config_block(config, pairs, timing.conditions(load_start, peak)), "results": rows,
            "pairs": pair_records(rows, pairs)}


def config_block(config: throughput_run.Config, pairs: Sequence[tuple[str, str]], conditions: dict[str, Any]) -> dict:
    """The ``config`` of a slicing document: the run's settings and conditions, the pairs and their weights."""
    return dict(throughput_run.config_block(config), **conditions, claim_id=SLICING_CLAIM_ID,
                models=[name for pair in pairs for name in pair],
                weights="each pair on the sliced model's weights (seeded init), loaded strictly into its partner")


def check_sliced_models(names: Sequence[str]) -> tuple[str, ...]:
    """Sliced SReT models that have a ``_wo_slice`` partner, else one line naming the culprit."""
    valid = [sliced for sliced, _ in zoo.slicing_pairs(zoo.sret_models())]
    if not names:
        raise UsageError("--models names no model")
    for name in names:
        if name not in valid:
            raise unknown_name("sliced model with a _wo_slice partner", name, valid)
    return tuple(dict.fromkeys(names))


def parse_args(argv: Sequence[str] | None) -> tuple[throughput_run.Config, tuple[str, ...]]:
    parser = ArgumentParser(prog="python -m bench.slicing_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help="sliced SReT models, each timed beside its _wo_slice partner (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu)")
    parser.add_argument("--batch-sizes", default=",".join(map(str, DEFAULT_BATCH_SIZES)),
                        help="comma list (default: %(default)s)")
    parser.add_argument("--kernels", default=",".join(throughput_run.DEFAULT_KERNELS),
                        help="kernel policies, each pair run under each (default: %(default)s)")
    parser.add_argument("--amp", choices=sorted(throughput_run.AMP_DTYPES), default=None)
    parser.add_argument("--tf32", action="store_true", help="CUDA fp32 only: TF32 tensor cores")
    parser.add_argument("--threads", type=positive_int("--threads"), default=None)
    parser.add_argument("--warmup", type=positive_int("--warmup"), default=2)
    parser.add_argument("--iters", type=positive_int("--iters"), default=3)
    parser.add_argument("--rounds", type=positive_int("--rounds"), default=5)
    parser.add_argument("--json", help="write the results document here (atomically)")
    args = parser.parse_args(argv)
    device = throughput_run.check_device(args.device)
    if args.tf32 and (not device.startswith("cuda") or args.amp):
        raise UsageError("--tf32 applies to fp32 runs on CUDA only (no --amp, --device cuda)")
    models = check_sliced_models(split_list(args.models))
    config = throughput_run.Config(
        models=models, device=device, batch_sizes=int_list("--batch-sizes")(args.batch_sizes),
        kernels=throughput_run.parse_kernels(args.kernels), amp=args.amp, tf32=args.tf32, threads=args.threads,
        warmup=args.warmup, iters=args.iters, rounds=args.rounds,
        json=None if args.json is None else Path(args.json))
    return config, models


def render(pairs: Sequence[dict[str, Any]]) -> str:
    from tabulate import tabulate
    table = [[p["model"], p["over"], p["kernels"], p["batch_size_requested"],
              f"{p['images_per_s_sliced']:.4g}", f"{p['images_per_s_wo_slice']:.4g}",
              f"{p['time_saved_pct_round_median']:.1f} ({p['time_saved_pct_round_min']:.1f} to "
              f"{p['time_saved_pct_round_max']:.1f})", f"{p['macs_saved_pct']:.1f}"] for p in pairs]
    return tabulate(table, headers=["sliced", "without slicing", "kernels", "batch", "img/s sliced",
                                    "img/s without", "time saved % (round min to max)", "MACs saved %"],
                    disable_numparse=True)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    config, models = parse_args(argv)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    from tqdm import tqdm
    units = 2 * len(models) * len(config.kernels) * len(config.batch_sizes) * (
        config.warmup + 1 + config.rounds * config.iters)
    with tqdm(total=units, desc="slicing", unit="call", file=sys.stderr, disable=None, leave=False) as bar:
        measured = measure(config, models, progress=bar.update)
    print(f"device: {config.device} ({throughput_run.device_name(config.device)}), "
          f"{throughput_run.precision_text(config)}, {config.rounds} interleaved rounds of {config.iters} calls; "
          f"time saved = 100 * (1 - sliced s / unsliced s), median of the per-round figures")
    print(render(measured["pairs"]))
    if config.json is not None:
        write_json_atomic(config.json, document("slicing_speed", config.device, command("bench.slicing_speed", argv), **measured))
        print(f"wrote {config.json}")
    return 1 if any(row["error"] for row in measured["results"]) else 0

