"""The paper-claims gate: does every published SReT figure hold? (``python -m bench.verify``)

Two kinds of rows. Against the paper: each model's GMACs (fvcore, the paper's multiply-add
convention, with thop and the torch counter beside it) and parameters, its ImageNet top-1 when
a checkpoint and data are given, and the paper's text claims, each compared with ``expected/``
(or ``--expected DIR``) by the rounding rule; the timm baselines' published parameter counts
the same way. Against the release: for each of the 14 released rows, under each kernel policy
(and compiled with ``--compile``), the largest logit difference from the official code on the
recorded weights and input. Exit 0 (nothing fails), 1 (a row fails) or 2 (bad input). A top-1
measured on anything but the full ImageNet-1k val is ``subset``: neither pass nor fail.
"""
from __future__ import annotations

import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import timm
import torch
from tabulate import tabulate
from tqdm import tqdm

from bench.core.cli import ArgumentParser, UsageError, device_text, unknown_name, split_list
from bench.core.io import write_json_atomic
from bench.core.names import is_subject
from bench.core.schema import IMAGENET_VAL_CLASSES, IMAGENET_VAL_IMAGES, is_full_val
from bench.measure import models
from bench.measure.claims import MEASUREMENTS, torch_threads
from bench.measure.counting import FlopCount, count_flops, count_params, explain_differences, headline_macs
from bench.measure.environment import command, document
from bench.measure.function import COMPILED, EAGER_POLICIES, function_rows
from bench.measure.function import METHOD as FUNCTION_METHOD
from bench.spec.baselines import DEFAULT_BASELINES, Baseline, load_baselines, param_figures
from bench.spec.data_files import EXPECTED_DIR
from bench.spec.deviations import DEFAULT_DEVIATIONS, Deviation, DeviationKey, load_deviations
from bench.spec.paper_values import DEFAULT, ExpectedFigure, load_expected
from bench.spec.text_claims import DEFAULT_CLAIMS, Claim, load_claims
from bench.spec.verdicts import STATUSES, SUBSET, Verdict, status
from bench.spec.official import FUNCTION_DIR_NAME, OfficialFunction, load_official_function
from sret import kernel_choice

Builder = Callable[..., torch.nn.Module]
FAILING = ("fail",)
# Counting runs one image through small kernels, which stall at their thread barriers when the
# CPU is shared; counts do not depend on threads, so they run on one.
COUNT_THREADS = 1
METHODS = {"gmacs": "fvcore, one image, multiply-adds", "params_m": "unique parameters"}


@dataclass
class Measurer:
    """Measures each (architecture, image size) once, however many rows ask for it, and records
    what each built model says about itself (``models.describe``) for the page."""

    build: Builder = timm.create_model
    counts: dict[tuple[str, int], FlopCount] = field(default_factory=dict)
    headlines: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    described: dict[str, dict[str, bool]] = field(default_factory=dict)

    def _built(self, architecture: str, img_size: int) -> torch.nn.Module:
        model, _ = models.create(architecture, img_size, self.build)
        self.described.setdefault(architecture, models.describe(architecture, model))
        return model

    def count(self, architecture: str, img_size: int) -> FlopCount:
        """All three counters (SReT's models and the claims)."""
        key = (architecture, img_size)
        if key not in self.counts:
            with torch_threads(COUNT_THREADS):
                self.counts[key] = count_flops(self._built(architecture, img_size), img_size, architecture)
        return self.counts[key]

    def headline(self, architecture: str, img_size: int) -> tuple[int, int]:
        """Parameters and fvcore multiply-adds alone, the counts a baseline is checked and compared
        by (each counter runs the model once: all three would triple the time)."""
        key = (architecture, img_size)
        if key in self.counts:
            return self.counts[key].params, self.counts[key].fvcore_macs
        if key not in self.headlines:
            with torch_threads(COUNT_THREADS):
                model = self._built(architecture, img_size)
                self.headlines[key] = count_params(model), headline_macs(model, img_size)
        return self.headlines[key]

    def params_and_gmacs(self, architecture: str, img_size: int) -> tuple[float, float]:
        """(parameters in millions, GMACs): all three counters for SReT, the headline for a baseline."""
        if is_subject(architecture):
            count = self.count(architecture, img_size)
            return count.params / 1e6, count.gmacs
        params, macs = self.headline(architecture, img_size)
        return params / 1e6, macs / 1e9


def _checkpoint_for(tag: str, checkpoints: Path) -> Path | None:
    for suffix in (".pth", ".pt", ".safetensors"):
        if (checkpoints / f"{tag}{suffix}").is_file():
            return checkpoints / f"{tag}{suffix}"
    return None


def measure_top1(figure: ExpectedFigure, device: str, checkpoints: Path | None,
                 data: Path | None, cache: dict[str, dict]) -> tuple[dict | None, str]:
    """The accuracy record of a released checkpoint on the data folder and how it was measured,
    or None and why it was not measured."""
    if checkpoints is None or data is None:
        return None, "needs the released checkpoint and ImageNet val (--checkpoints DIR --data DIR)"
    path = _checkpoint_for(figure.model, checkpoints)
    if path is None:
        return None, f"no checkpoint {figure.model}.pth in {checkpoints}"
    if figure.model not in cache:
        from bench.measure.imagenet_top1 import evaluate_checkpoint

        cache[figure.model], _ = evaluate_checkpoint(figure.model, path, data, device=device)
    record = cache[figure.model]
    return record, f"{record['images']:,} images of {record['classes']:,} classes, checkpoint {path.name}"


def _verdict_fields(verdict: Verdict) -> dict[str, Any]:
    return {"status": verdict.status, "comparison": verdict.comparison, "deviation": verdict.deviation,
            "deviation_stale": verdict.stale_deviation}


def measure_figure(figure: ExpectedFigure, measurer: Measurer, device: str, checkpoints: Path | None,
                   data: Path | None, top1_cache: dict[str, dict]) -> dict[str, Any]:
    """One row of the gate: the published figure, what was measured and how, and the verdict."""
    record = None
    if figure.metric == "top1":
        record, method = measure_top1(figure, device, checkpoints, data, top1_cache)
        measured = None if record is None else record["top1"]
    else:
        params_m, gmacs = measurer.params_and_gmacs(figure.architecture, figure.img_size)
        measured, method = (gmacs if figure.metric == "gmacs" else params_m), METHODS[figure.metric]
    if record is not None and not is_full_val(record):
        verdict = Verdict(SUBSET, f"a subset, not the ImageNet-1k validation set ({IMAGENET_VAL_IMAGES:,} images "
                                  f"of {IMAGENET_VAL_CLASSES:,} classes): not compared with published "
                                  f"{figure.published_text}")
    else:
        verdict = status(figure, measured, None if measured is not None else method)
    return {
        "model": figure.model, "architecture": figure.architecture, "img_size": figure.img_size,
        "metric": figure.metric, "published": figure.published, "published_text": figure.published_text,
        "measured": measured, "method": method, "published_note": figure.note, **_verdict_fields(verdict),
        "source": figure.source, "source_kind": figure.source_kind, "source_row": figure.source_row,
        "reconstructed": models.reconstructed(figure.model),
    }


def measure_claims(claims: list[Claim], architectures: set[str], measurer: Measurer,
                   deviations: dict[DeviationKey, Deviation]) -> list[dict[str, Any]]:
    """The paper's text claims, each measured on the selected models it concerns (a claim
    that builds its own models is always measured)."""
    out = []
    for claim in claims:
        chosen = tuple(m for m in claim.models if m in architectures) if claim.models else ()
        if claim.models and not chosen:
            continue
        with torch_threads(COUNT_THREADS):
            result = MEASUREMENTS[claim.claim_id](chosen, measurer.count, measurer.build)
        verdict, shown = claim.judge(result.values, result.unmet, deviations.get(("claim", claim.claim_id)))
        out.append({
            "claim_id": claim.claim_id, "claim": claim.claim, "source": claim.source,
            "published_low": claim.low, "published_high": claim.high, "unit": claim.unit,
            "published_text": claim.published_text, "measured": shown, "values": result.values,
            "unmet": result.unmet, "details": result.details, "method": result.note, **_verdict_fields(verdict),
        })
    return out


@dataclass
class DataFolder:
    """Everything the gate checks against, from one folder, all validated up front."""

    figures: list[ExpectedFigure]  # SReT's published figures, then the baselines' parameter counts
    claims: list[Claim]
    deviations: dict[DeviationKey, Deviation]
    baselines: list[Baseline]
    function: OfficialFunction  # what the official code computes for each released row


def load_data_folder(folder: Path) -> DataFolder:
    """The published figures, claims, deviations, baselines and official function recordings of one folder."""
    folder = Path(folder)
    deviations = load_deviations(folder / DEFAULT_DEVIATIONS.name)
    figures = load_expected(folder / DEFAULT.name, deviations)
    baselines = load_baselines(folder / DEFAULT_BASELINES.name, deviations)
    return DataFolder(figures + param_figures(baselines), load_claims(folder / DEFAULT_CLAIMS.name, MEASUREMENTS),
                      deviations, baselines, load_official_function(folder / FUNCTION_DIR_NAME))


def measure_baselines(baselines: list[Baseline], selected: set[str], measurer: Measurer) -> list[dict[str, Any]]:
    """The selected baselines' published figures with their measured costs (the headline counts)."""
    out = []
    for baseline in baselines:
        if baseline.model in selected:
            params, macs = measurer.headline(baseline.architecture, baseline.img_size)
            out.append({**baseline.to_dict(), "params": params, "fvcore_macs": macs, "gmacs": macs / 1e9})
    return out


def verify(names: Sequence[str] | None = None, device: str = "cpu", checkpoints: Path | None = None,
           data: Path | None = None, build: Builder = timm.create_model,
           expected: Path = EXPECTED_DIR, progress: bool | None = None,
           policies: Sequence[str] = EAGER_POLICIES) -> dict[str, Any]:
    """Measure every selected figure and claim against the data folder ``expected``, and every
    selected released row's function under ``policies``; returns the body of the results document."""
    started = time.perf_counter()
    folder = load_data_folder(expected)
    figures = select(folder.figures, names)
    measurer = Measurer(build)
    top1_cache: dict[str, dict] = {}
    # progress None: a bar only when stderr is a terminal (tqdm's disable=None); False: never.
    disable = None if progress is None else not progress
    bar = tqdm(figures, desc="verify", unit="figure", file=sys.stderr, disable=disable)
    results = [measure_figure(f, measurer, device, checkpoints, data, top1_cache) for f in bar]
    architectures = {f.architecture for f in figures}
    claim_rows = measure_claims(folder.claims, architectures, measurer, folder.deviations)
    baselines = measure_baselines(folder.baselines, {f.model for f in figures}, measurer)
    counters = {f"{arch}@{size}": {**count.to_dict(), "differences": explain_differences(count)}
                for (arch, size), count in measurer.counts.items()}
    selected = None if names is None else {f.model for f in figures} | architectures
    with tqdm(desc="function", unit="row", file=sys.stderr, disable=disable) as function_bar:
        function = function_rows(folder.function, selected, policies, build, progress=lambda _: function_bar.update())
    return {"results": results, "claims": claim_rows, "counters": counters,
            "counters_method": COUNTERS_METHOD, "baselines": baselines,
            "baselines_method": BASELINES_METHOD, "function": function,
            "function_method": FUNCTION_METHOD + f" Tolerance: {folder.function.atol:g}.",
            "models": measurer.described, "kernel_choice": kernel_choice.current().record(), "elapsed_s": round(time.perf_counter() - started, 2)}


COUNTERS_METHOD = (
    "One image at the model's size, eval mode, on the CPU. fvcore FlopCountAnalysis (1 per "
    "multiply-add; the headline) with a handler for aten::scaled_dot_product_attention; thop.profile "
    "(multiply-adds of nn.Module leaves only: functional matmuls such as attention are not seen); "
    "torch.utils.flop_counter.FlopCounterMode (2 per multiply-add, halved here; norms and pooling "
    "not counted) with a formula for the CPU flash-attention kernel it leaves uncounted.")


BASELINES_METHOD = (
    "timm's published top-1 and param_count (results/results-imagenet.csv, commit in each row) beside our "
    "counts of the architecture at its size: unique parameters and fvcore multiply-adds of one image, fused "
    "attention counted as its two matmuls (the same headline count as SReT's).")


def select(figures: list[ExpectedFigure], names: Sequence[str] | None) -> list[ExpectedFigure]:
    """The figures of the named architectures or tags (all when ``names`` is None)."""
    if not names:
        return figures
    known = {f.architecture for f in figures} | {f.model for f in figures}
    for name in names:
        if name not in known:
            raise unknown_name("model", name, sorted(known))
    wanted = set(names)
    return [f for f in figures if f.architecture in wanted or f.model in wanted]


def failed(body: dict[str, Any]) -> bool:
    return any(r["status"] in FAILING for r in body["results"] + body["claims"] + body["function"])


def _format(value: Any, metric: str) -> str:
    """A measurement as the table prints it, and as deviations.md records it."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}" if metric == "top1" else f"{value:.3f}"


def _format_difference(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}"


def function_verdict(body: dict[str, Any]) -> str:
    """The function rows' count, apart from the paper's figures: they check the release, not the paper."""
    rows = body["function"]
    if not rows:
        return "function against the official code: no released model selected"
    passed = sum(r["status"] == "pass" for r in rows)
    policies = ", ".join(dict.fromkeys(r["policy"] for r in rows))
    return (f"function against the official code ({len({r['model'] for r in rows})} released models x {policies}): "
            f"{passed} pass, {len(rows) - passed} fail")


def render_table(body: dict[str, Any]) -> str:
    """The gate's verdict as plain-text tables (figures, claims, counters, baselines, function)."""
    rows = [[r["model"] + (" (reconstructed)" if r["reconstructed"] else ""), r["img_size"], r["metric"],
             r["published_text"], _format(r["measured"], r["metric"]), r["status"]] for r in body["results"]]
    figures = tabulate(rows, headers=["model", "size", "metric", "published", "measured", "status"],
                       disable_numparse=True)  # "76.0" stays as printed
    claims = tabulate([[c["claim_id"], f"{c['published_text']} {c['unit']}", _format(c["measured"], "claim"),
                        c["status"]] for c in body["claims"]],
                      headers=["claim", "published", "measured", "status"], disable_numparse=True)
    claims += "".join("\n\n" + textwrap.fill(
        f"{c['claim_id']} ({c['status']}): {'; '.join(p for p in (c['method'], c['comparison'], c['deviation']) if p)}",
        100, subsequent_indent="  ") for c in body["claims"])
    counters = tabulate([[name, c["fvcore_macs"] / 1e9, c["thop_macs"] / 1e9, c["torch_counter_macs"] / 1e9,
                          c["params"] / 1e6] for name, c in body["counters"].items()],
                        headers=["model@size", "fvcore GMACs", "thop GMACs", "torch counter GMACs", "params M"],
                        floatfmt=".3f")
    baselines = tabulate([[b["model"], b["img_size"], b["top1_text"], b["param_count_text"],
                           f"{b['params'] / 1e6:.3f}", f"{b['gmacs']:.3f}"] for b in body["baselines"]],
                         headers=["baseline (timm)", "size", "top-1 (timm)", "params M (timm)", "params M",
                                  "fvcore GMACs"], disable_numparse=True)  # timm's figures as printed
    function = tabulate([[r["model"], r["row"], r["img_size"], r["policy"], _format_difference(r["measured"]),
                          f"{r['tolerance']:g}", r["status"]] for r in body["function"]],
                        headers=["released model", "official row", "size", "policy", "max |logit diff|", "tolerance",
                                 "status"], disable_numparse=True)
    function += "".join("\n\n" + textwrap.fill(f"{r['model']} {r['policy']} (fail): {r['diagnosis']}", 100,
                                               subsequent_indent="  ")
                        for r in body["function"] if r["status"] != "pass")
    counts = {s: sum(r["status"] == s for r in body["results"] + body["claims"]) for s in STATUSES}
    verdict = ", ".join(f"{n} {s}" for s, n in counts.items())
    tables = [figures, claims, counters] + ([baselines] if body["baselines"] else []) + (
        [function] if body["function"] else [])
    return "\n\n".join(tables) + f"\n\nverdict: {verdict} ({body['elapsed_s']:.1f} s)\n{function_verdict(body)}"


def _existing_dir(text: str | None, flag: str) -> Path | None:
    if text is None:
        return None
    path = Path(text)
    if not path.is_dir():
        raise UsageError(f"{flag} {text}: no such directory")
    return path


def parse_args(argv: Sequence[str] | None):
    """Every option checked before anything is measured."""
    parser = ArgumentParser(prog="python -m bench.verify", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="all", help="comma-separated architectures or tags, or 'all'")
    parser.add_argument("--device", default="cpu", type=device_text, help="cpu or cuda (top-1 evaluation only)")
    parser.add_argument("--json", help="write the results document here (atomically)")
    parser.add_argument("--checkpoints", help="directory of released checkpoints, one per tag: <tag>.pth")
    parser.add_argument("--data", help="ImageNet validation folder (one folder per WordNet id)")
    parser.add_argument("--expected", default=str(EXPECTED_DIR), metavar="DIR",
                        help="data folder with paper_values.csv, claims.csv, deviations.md, baselines.csv and "
                             f"{FUNCTION_DIR_NAME}/ (default: the repository's expected/)")
    parser.add_argument("--compile", action="store_true",
                        help="also check the torch.compile'd model against the official logits (one compile "
                             "per released architecture: minutes on a CPU)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {args.device}: no CUDA GPU is available on this machine")
    args.checkpoints = _existing_dir(args.checkpoints, "--checkpoints")
    args.data = _existing_dir(args.data, "--data")
    args.expected = _existing_dir(args.expected, "--expected")
    args.models = None if args.models == "all" else split_list(args.models)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    policies = (*EAGER_POLICIES, COMPILED) if args.compile else EAGER_POLICIES
    body = verify(args.models, args.device, args.checkpoints, args.data, expected=args.expected, policies=policies)
    if args.json:
        write_json_atomic(args.json, document("verify", args.device, command("bench.verify", argv), **body))
    print(render_table(body))
    return 1 if failed(body) else 0
