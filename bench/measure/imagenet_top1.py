"""Top-1/top-5 of a checkpoint on an ImageNet validation folder (``python -m bench.accuracy``).

The eval transform is the one the weights were published with, read from the model's
pretrained cfg through timm's data helpers (DeiT's for SReT: bicubic resize to
size/0.875, centre crop, ImageNet mean/std). Sliced SReT models draw a random
permutation in their forward pass, so ``--seeds`` evaluates under several seeds and
reports the spread. Under ``torchrun`` the folder is sharded across processes and the
per-image results are gathered, so the figure is the one a single process gives.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import statistics
import sys
from pathlib import Path
from typing import Any, Iterator, Sequence

import timm
import torch
import torch.distributed as dist
from tabulate import tabulate
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

import sret  # noqa: F401 - importing the package registers the SReT models with timm
from bench.core.cli import EXIT_OK, EXIT_USAGE, ArgumentParser, UsageError, positive_int, split_list, unknown_name
from bench.measure.imagenet import Folder, ImageDataset, collate, scan, spread
from bench.measure.environment import command, document
from bench.core.io import write_json_atomic, write_text_atomic
from bench.measure.timm_csv import checked_path, write_validate_csv
from sret import hub
from sret.checkpoint import CheckpointError, load_checkpoint

__all__ = ["evaluate", "evaluate_checkpoint", "build_model", "resolve_pretrained", "predictions_csv", "main"]

DEFAULT_BATCH_SIZE = 64
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)
TOP_K = 5
_USER_ERRORS = (UsageError, CheckpointError)


# --- model and checkpoint -------------------------------------------------------------

def build_model(model_name: str, checkpoint: str | os.PathLike) -> torch.nn.Module:
    """``timm.create_model(model_name)`` with ``checkpoint`` loaded strictly and safely.

    ``model_name`` may carry a pretrained tag (``sret_t.distill_in1k``) to pick that tag's
    eval transform. The model module's ``checkpoint_filter_fn``, if it has one, adapts the
    checkpoint first (SReT's resamples position embeddings).
    """
    architecture, _ = timm.models.split_model_name_tag(model_name)
    if not timm.is_model(architecture):
        raise unknown_name("model", model_name, timm.list_models())
    try:
        model = timm.create_model(model_name, pretrained=False, num_classes=1000)
    except RuntimeError as error:  # an unknown tag of a known architecture
        raise UsageError(f"model {model_name!r}: {' '.join(str(error).split())}") from None
    filter_fn = getattr(sys.modules.get(type(model).__module__), "checkpoint_filter_fn", None)
    load_checkpoint(model, checkpoint, filter_fn)
    return model.eval()


def resolve_pretrained(tag: str) -> tuple[str, Path]:
    """The full name and local checkpoint file of a pretrained tag, downloading it once."""
    cfg = timm.models.get_pretrained_cfg(tag)
    if cfg is None:
        raise unknown_name("pretrained tag", tag, timm.list_pretrained("sret*") or timm.list_pretrained())
    cfg = cfg.to_dict()
    return hub.checkpoint_name(cfg), hub.checkpoint_path(cfg)


# --- measurement ----------------------------------------------------------------------

def evaluate(
    model: torch.nn.Module,
    folder: Folder,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str = "cpu",
    seeds: Sequence[int] = (0,),
    workers: int = 0,
    amp: str | None = None,
    skip_bad: bool = False,
    progress: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Score ``model`` on ``folder`` once per seed: (summary, per-image predictions of the first seed).

    In a process group every rank scores its shard; every rank gets the gathered result.
    """
    data_cfg = timm.data.resolve_data_config(model=model)
    dataset = ImageDataset(folder.samples, timm.data.create_transform(**data_cfg, is_training=False))
    model = model.to(device).eval()
    per_seed: list[tuple[float, float]] = []
    first_predictions: list[dict[str, Any]] = []
    unreadable: dict[int, str] = {}
    for seed in seeds:
        rows, bad = _score(model, dataset, seed=seed, batch_size=batch_size, device=device,
                           workers=workers, amp=amp, stop_at_bad=not skip_bad, progress=progress)
        if bad and not skip_bad:
            index = min(bad)
            raise UsageError(f"{folder.samples[index].path}: unreadable image ({bad[index]}); --skip-bad skips it")
        unreadable.update(bad)
        if not rows:
            raise UsageError(f"data folder {folder.root}: none of its images could be read")
        correct1 = sum(row["label"] == row["top5"][0] for row in rows)
        correct5 = sum(row["label"] in row["top5"] for row in rows)
        per_seed.append((100.0 * correct1 / len(rows), 100.0 * correct5 / len(rows)))
        if not first_predictions:
            first_predictions = rows
    top1 = [t1 for t1, _ in per_seed]
    top5 = [t5 for _, t5 in per_seed]
    summary = {
        "top1": statistics.fmean(top1),
        "top5": statistics.fmean(top5),
        "top1_per_seed": top1,
        "top5_per_seed": top5,
        "top1_min": min(top1),
        "top1_max": max(top1),
        "top1_std": statistics.stdev(top1) if len(top1) > 1 else 0.0,
        "seeds": list(seeds),
        "images": len(first_predictions),
        "classes": len({row["label"] for row in first_predictions}),
        "skipped": len(folder.skipped) + len(unreadable),
        "skipped_files": folder.skipped + sorted(folder.samples[i].name for i in unreadable),
        "batch_size": batch_size,
        "amp": amp,
        "device": device,
        "world_size": dist.get_world_size() if _in_group() else 1,
        "transform": {key: list(value) if isinstance(value, tuple) else value for key, value in data_cfg.items()},
    }
    return summary, first_predictions


def _score(model, dataset, *, seed, batch_size, device, workers, amp, stop_at_bad, progress):
    """One pass: per-image top-5 rows in dataset order, and ``{index: error}`` of unreadable images."""
    in_group = _in_group()
    sampler = DistributedSampler(dataset, shuffle=False, drop_last=False) if in_group else None
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                        collate_fn=collate, pin_memory=device.startswith("cuda"))
    rank = dist.get_rank() if in_group else 0
    device_type = torch.device(device).type
    autocast = (torch.autocast(device_type, dtype=torch.bfloat16) if amp == "bf16"
                else contextlib.nullcontext())
    rows: dict[int, tuple[list[int], list[float]]] = {}
    bad: dict[int, str] = {}
    torch.manual_seed(seed)  # sliced models draw their permutations from the global generator
    batches = tqdm(loader, desc=f"seed {seed}", unit="batch", file=sys.stderr,
                   disable=None if progress and rank == 0 else True,  # None: only on a terminal
                   leave=False)
    with torch.inference_mode():
        for images, indices, errors in batches:
            bad.update(errors)
            if errors and stop_at_bad:
                break
            if images is None:
                continue
            with autocast:
                logits = model(images.to(device, non_blocking=True))
            probs, classes = logits.float().softmax(dim=-1).topk(TOP_K, dim=-1)
            for index, top, prob in zip(indices.tolist(), classes.cpu().tolist(), probs.cpu().tolist()):
                rows[index] = (top, prob)
    if in_group:
        # DistributedSampler pads the last shard with repeats: keying by index drops them.
        gathered: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, (rows, bad))
        rows, bad = {}, {}
        for shard_rows, shard_bad in gathered:
            rows.update(shard_rows)
            bad.update(shard_bad)
    samples = dataset.samples
    return [
        {"file": samples[index].name, "label": samples[index].label, "top5": top, "prob5": prob}
        for index, (top, prob) in sorted(rows.items())
    ], bad


def evaluate_checkpoint(model_name_or_tag: str, checkpoint: str | os.PathLike | None, data_dir: str | os.PathLike, *,
                        limit: int | None = None, skip_bad: bool = False,
                        **options: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Accuracy of a checkpoint on an ImageNet folder, as one flat record, and the per-image predictions
    of the first seed; ``options`` are :func:`evaluate`'s. With ``checkpoint=None`` the model name must
    be a pretrained tag, fetched through :mod:`sret.hub`."""
    folder = scan(data_dir, skip_bad=skip_bad)
    folder.samples = spread(folder.samples, limit)
    pretrained_tag = None
    if checkpoint is None:
        pretrained_tag = model_name_or_tag
        model_name_or_tag, checkpoint = _rank0_first(lambda: resolve_pretrained(pretrained_tag))
    model = build_model(model_name_or_tag, checkpoint)
    summary, predictions = evaluate(model, folder, skip_bad=skip_bad, **options)
    record = {
        "model": model_name_or_tag,
        "pretrained_tag": pretrained_tag,
        "checkpoint": str(checkpoint),
        "checkpoint_sha256": hub.sha256_file(checkpoint),
        "param_count": sum(parameter.numel() for parameter in model.parameters()),
        "data_dir": str(data_dir),
        "limit": limit,
        **summary,
    }
    return record, predictions


def _rank0_first(fetch):
    """Run ``fetch`` on rank 0 first (one download), then on the others (the cached file)."""
    if not _in_group():
        return fetch()
    outcome: list[Any] = [None]
    if dist.get_rank() == 0:
        try:
            fetch()
        except _USER_ERRORS as error:
            outcome[0] = str(error)
    dist.broadcast_object_list(outcome, src=0)
    if outcome[0] is not None:
        raise CheckpointError(outcome[0])
    return fetch()


def _in_group() -> bool:
    return dist.is_available() and dist.is_initialized()


def predictions_csv(predictions: list[dict[str, Any]]) -> str:
    """One row per image: file, label, the top-5 class indices and their probabilities."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["file", "label", *(f"top{k}" for k in range(1, TOP_K + 1)),
                     *(f"prob{k}" for k in range(1, TOP_K + 1))])
    for row in predictions:
        writer.writerow([row["file"], row["label"], *row["top5"], *(f"{p:.6f}" for p in row["prob5"])])
    return out.getvalue()


# --- command line ---------------------------------------------------------------------

@contextlib.contextmanager
def _process_group(device: str) -> Iterator[tuple[int, str]]:
    """Join the torchrun process group if launched by torchrun: yield (rank, this rank's device)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        yield 0, device
        return
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    try:
        yield dist.get_rank(), device
    finally:
        dist.destroy_process_group()


def parse_args(argv: Sequence[str] | None):
    parser = ArgumentParser(
        prog="python -m bench.accuracy",
        description="Top-1/top-5 of a checkpoint on an ImageNet validation folder (<data>/<wnid>/*.JPEG).",
    )
    parser.add_argument("--model", help="timm model name, optionally with a pretrained tag (sret_t.in1k)")
    parser.add_argument("--checkpoint", type=Path, help="local checkpoint: torch.save dict, state dict, .safetensors")
    parser.add_argument("--pretrained", metavar="TAG", help="a pretrained tag, downloaded once into $SRET_CACHE")
    parser.add_argument("--data", type=Path, required=True, help="ImageNet validation folder, one folder per wnid")
    parser.add_argument("--batch-size", type=positive_int("--batch-size"), default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="data loader processes")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--amp", choices=("bf16",), help="autocast the forward pass")
    parser.add_argument("--seeds", default="0", help="comma list; sliced models are random at inference")
    parser.add_argument("--predictions", type=Path, metavar="OUT.csv", help="per-image top-5 of the first seed")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results document here")
    parser.add_argument("--csv", type=Path, metavar="PATH", help="also write timm validate.py's columns here")
    parser.add_argument("--skip-bad", action="store_true", help="skip and count unreadable images, unknown folders")
    parser.add_argument("--limit", type=positive_int("--limit"), help="evaluate N images spread evenly over the folder")
    args = parser.parse_args(argv)
    if args.pretrained and (args.model or args.checkpoint):
        parser.error("--pretrained TAG downloads its own checkpoint: give it without --model/--checkpoint "
                     "(a local file of a tag: --model TAG --checkpoint PATH)")
    if not args.pretrained and not (args.model and args.checkpoint):
        parser.error("give --model NAME --checkpoint PATH, or --pretrained TAG")
    if args.workers < 0:
        parser.error(f"--workers must be 0 or more, got {args.workers}")
    try:
        args.seeds = [int(seed) for seed in split_list(args.seeds)]
    except ValueError:
        parser.error(f"--seeds must be a comma list of integers, got {args.seeds!r}")
    if not args.seeds:
        parser.error("--seeds is empty")
    checked_path(args.csv)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except _USER_ERRORS:
        if int(os.environ.get("RANK", "0")) != 0:
            return EXIT_USAGE  # under torchrun every rank meets the same error; rank 0 reports it
        raise


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    with _process_group(args.device) as (rank, device):
        record, predictions = evaluate_checkpoint(
            args.pretrained or args.model, None if args.pretrained else args.checkpoint, args.data,
            batch_size=args.batch_size, device=device, seeds=args.seeds, workers=args.workers,
            amp=args.amp, skip_bad=args.skip_bad, limit=args.limit, progress=True,
        )
    if rank != 0:
        return EXIT_OK
    if args.predictions:
        write_text_atomic(args.predictions, predictions_csv(predictions))
    if args.json:
        body = {key: value for key, value in record.items() if key != "device"}  # the environment has it
        write_json_atomic(args.json, document("accuracy", device, command("bench.accuracy", argv), **body))
    if args.csv:
        write_validate_csv(args.csv, [record])
    print(_table(record))
    return EXIT_OK


def _table(record: dict[str, Any]) -> str:
    rows = [
        ("model", record["model"]),
        ("checkpoint", f"{record['checkpoint']} (sha256 {record['checkpoint_sha256'][:12]}...)"),
        ("images", record["images"]),
        ("classes seen", f"{record['classes']} of 1000"),
        ("skipped", record["skipped"]),
        ("seeds", ",".join(map(str, record["seeds"]))),
        ("top-1 (%)", f"{record['top1']:.3f}"),
        ("top-5 (%)", f"{record['top5']:.3f}"),
    ]
    if len(record["seeds"]) > 1:
        rows.append(("top-1 min / max / std", f"{record['top1_min']:.3f} / {record['top1_max']:.3f} / "
                                              f"{record['top1_std']:.3f}"))
    return tabulate(rows, tablefmt="simple")

