"""The paper-claims gate: does every published figure of a paper hold? (``python -m bench.verify``)

Two kinds of rows. Against the paper: each model's GMACs (fvcore, the paper's multiply-add
convention, with thop and the torch counter beside it) and parameters, its ImageNet top-1 when
a checkpoint and data are given, and the paper's text claims, each compared with ``expected/``
(or ``--expected DIR``) by the rounding rule; the timm baselines' published parameter counts
the same way. Against the release: for each of the 14 released rows, under each kernel policy
(and compiled with ``--compile``), the largest logit difference from the official code on the
recorded weights and input. Exit 0 (nothing fails), 1 (a row fails) or 2 (bad input). A top-1
measured on anything but the full ImageNet-1k val is ``subset``: neither pass nor fail.

Measuring (``bench.measure.paper_measurements``, torch) and judging (here, no torch) are two
steps: the results file records the raw measurements, and ``--judge FILE`` judges them again
against the data folder, without measuring, e.g. after ``expected/`` changed.

A paper is a folder (``bench.spec.data_folder``): ``--paper sret`` (the default) reads
``expected/``, ``--paper NAME`` reads ``papers/NAME/``, and ``--expected DIR`` any folder; only
the figures file is required. Another paper's results go to ``verify-NAME.json`` beside the
``--json`` path, so SReT's ``verify.json`` is never overwritten by another paper's run. A
published throughput is kept as printed with its device and batch size, and is "not measured"
here; a top-1 without ImageNet is "not measured", with timm's published top-1 for those weights
beside it. ``--model-index DIR`` exports the measured values as model-index files.
"""
from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from tabulate import tabulate

from bench.core.cli import ArgumentParser, UsageError, device_text, split_list, unknown_name
from bench.core.io import ResultsError, display_path, read_results, write_json_atomic
from bench.core.schema import IMAGENET_VAL_CLASSES, IMAGENET_VAL_IMAGES, is_full_val
from bench.spec.data_files import THROUGHPUT
from bench.spec.data_folder import DEFAULT_PAPER, DataFolder, known_papers, load_data_folder, paper_folder
from bench.spec.function_rule import COMPILED, judge_function_rows
from bench.spec.official import FUNCTION_ATOL, NO_RECORDINGS
from bench.spec.paper_values import ExpectedFigure
from bench.spec.verdicts import STATUSES, SUBSET, Verdict, status

FAILING = ("fail",)
METHODS = {"gmacs": "fvcore, one image, multiply-adds", "params_m": "unique parameters"}
# What a results file carries from its measuring run into a judged document unchanged.
MEASURED_FIELDS = ("measurements", "counters", "counters_method", "baselines_method", "function_method", "models",
                   "kernel_choice", "elapsed_s")
MEASUREMENT_FIELDS = {"counts": dict, "top1": dict, "claims": dict, "function": list, "reconstructed": dict}


# --- judging: recorded measurements + a data folder -> statuses ------------------------

def _verdict_fields(verdict: Verdict) -> dict[str, Any]:
    return {"status": verdict.status, "comparison": verdict.comparison, "deviation": verdict.deviation,
            "deviation_stale": verdict.stale_deviation}


def _not_recorded(what: str) -> str:
    return f"no recorded measurement of {what}: measure again (python -m bench.verify) to check it"


def _needs_device(figure: ExpectedFigure) -> str:
    return (f"not measured: needs a {figure.device} (published as images/s on one {figure.device} at batch "
            f"{figure.batch_size}); a device of another kind is never judged against it")


def _no_weights(figure: ExpectedFigure) -> str:
    """Why a top-1 without weights is not measured: the evidence of weights.csv (one text for many rows)."""
    if figure.weights is not None:
        return f"not measured: {figure.weights.evidence}"
    return "not measured: no released weights named for its setting (weights.csv)"


def judge_figure(figure: ExpectedFigure, measurements: Mapping[str, Any]) -> dict[str, Any]:
    """One row of the gate: the published figure, what was measured and how, and the verdict."""
    top1 = None
    if figure.metric == THROUGHPUT:
        measured, method = None, _needs_device(figure)
    elif figure.metric == "top1":
        tag = figure.weights_tag
        top1 = measurements["top1"].get(tag) if tag else None
        if not tag:
            measured, method = None, _no_weights(figure)
        elif top1 is None:
            measured, method = None, _not_recorded(f"{tag}'s top-1")
        else:
            measured, method = top1["top1"], top1["method"]
    else:
        counts = measurements["counts"].get(f"{figure.architecture}@{figure.img_size}")
        if counts is None:
            measured, method = None, _not_recorded(f"{figure.architecture} at {figure.img_size} px")
        else:
            measured = counts["fvcore_macs"] / 1e9 if figure.metric == "gmacs" else counts["params"] / 1e6
            method = METHODS[figure.metric]
    if measured is not None and top1 is not None and not is_full_val(top1):
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
        "reconstructed": measurements["reconstructed"].get(figure.model, False),
        "setting": figure.setting, "device": figure.device, "batch_size": figure.batch_size,
        "weights": figure.weights_tag if figure.metric == "top1" else "",
        "beside": figure.weights.timm_words if figure.weights is not None else "",
        "timm_top1_text": figure.weights.timm_top1_text if figure.weights is not None else "",
    }


def judge_claims(folder: DataFolder, architectures: set[str], measurements: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The paper's text claims on the selected models they concern (a claim that builds its own models
    always), each judged on its recorded values."""
    out = []
    for claim in folder.claims:
        if claim.models and not any(m in architectures for m in claim.models):
            continue
        recorded = measurements["claims"].get(claim.claim_id)
        row = {"claim_id": claim.claim_id, "kind": claim.kind, "claim": claim.claim, "source": claim.source,
               "published_low": claim.low, "published_high": claim.high, "unit": claim.unit,
               "published_text": claim.published_text}
        if recorded is None:
            reason = _not_recorded(f"claim {claim.claim_id}")
            out.append({**row, "measured": None, "values": [], "unmet": [], "details": [], "method": reason,
                        **_verdict_fields(Verdict("not-measured", reason))})
            continue
        verdict, shown = claim.judge(recorded["values"], recorded["unmet"],
                                     folder.deviations.get(("claim", claim.claim_id)))
        out.append({**row, "measured": shown, "values": recorded["values"], "unmet": recorded["unmet"],
                    "details": recorded["details"], "method": recorded["note"], **_verdict_fields(verdict)})
    return out


def judge_baselines(folder: DataFolder, models: set[str], measurements: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The selected baselines' published figures with their recorded costs (the headline counts)."""
    out = []
    for baseline in folder.baselines:
        counts = measurements["counts"].get(f"{baseline.architecture}@{baseline.img_size}")
        if baseline.model in models and counts is not None:
            out.append({**baseline.to_dict(), "params": counts["params"], "fvcore_macs": counts["fvcore_macs"],
                        "gmacs": counts["fvcore_macs"] / 1e9})
    return out


def judge(folder: DataFolder, measured: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a results document: the measuring part ``measured`` (as :func:`bench.measure.
    paper_measurements.measure` returns it, or as a results file recorded it) judged against ``folder``."""
    measurements = measured["measurements"]
    figures = select(folder.figures, measurements["selection"])
    architectures = {f.architecture for f in figures}
    return {"results": [judge_figure(f, measurements) for f in figures],
            "claims": judge_claims(folder, architectures, measurements),
            "baselines": judge_baselines(folder, {f.model for f in figures}, measurements),
            "paper_title": folder.title, "paper_folder": display_path(folder.path),
            "function": judge_function_rows(measurements["function"],
                                            folder.function.atol if folder.function else FUNCTION_ATOL),
            **{name: measured[name] for name in MEASURED_FIELDS}}


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


def verify(names: Sequence[str] | None = None, device: str = "cpu", checkpoints: Path | None = None,
           data: Path | None = None, build: Callable[..., Any] | None = None,
           expected: Path | None = None, progress: bool | None = None,
           policies: Sequence[str] | None = None) -> dict[str, Any]:
    """Measure every selected figure and claim of the data folder ``expected``, and every selected released
    row's function under ``policies`` (the eager kernel policies by default), then judge them; returns the
    body of the results document."""
    from bench.measure import paper_measurements  # torch: only a measuring run imports it
    from bench.measure.known_models import check_known

    folder = load_data_folder(paper_folder(DEFAULT_PAPER) if expected is None else expected,
                              paper_measurements.CLAIM_KINDS)
    check_known(folder)  # every name a model timm knows, before anything is measured
    figures = select(folder.figures, names)
    options = {} if build is None else {"build": build}
    if policies is not None:
        options["policies"] = policies
    measured = paper_measurements.measure(folder, figures, device, checkpoints, data, progress=progress,
                                          selection=names, **options)
    return judge(folder, measured)


def recorded_measurements(path: Path) -> dict[str, Any]:
    """The results document at ``path``, checked to be a verify run that recorded its raw measurements."""
    document = read_results(path)
    if document["kind"] != "verify":
        raise ResultsError(f"results file {path} is of kind {document['kind']!r}: --judge reads a verify run's file")
    measurements = document.get("measurements")
    if not isinstance(measurements, dict):
        raise ResultsError(f"results file {path} records no 'measurements' (written before the gate recorded "
                           "them): measure again")
    for name, kind in MEASUREMENT_FIELDS.items():
        if not isinstance(measurements.get(name), kind):
            raise ResultsError(f"results file {path}: 'measurements' has no {kind.__name__} {name!r}")
    selection = measurements.get("selection")
    if selection is not None and not (isinstance(selection, list) and all(isinstance(n, str) for n in selection)):
        raise ResultsError(f"results file {path}: 'measurements.selection' is not null or a list of model names")
    missing = [name for name in MEASURED_FIELDS if name not in document]
    if missing:
        raise ResultsError(f"results file {path} has no {missing[0]!r} field")
    return document


# --- the verdict, printed ----------------------------------------------------------------

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
        none = "no recordings in this paper's folder" if body.get("function_method") == NO_RECORDINGS else \
            "no released model selected"
        return f"function against the official code: {none}"
    passed = sum(r["status"] == "pass" for r in rows)
    policies = ", ".join(dict.fromkeys(r["policy"] for r in rows))
    return (f"function against the official code ({len({r['model'] for r in rows})} released models x {policies}): "
            f"{passed} pass, {len(rows) - passed} fail")


def render_table(body: dict[str, Any]) -> str:
    """The gate's verdict as plain-text tables (figures, claims, counters, baselines, function)."""
    results = body["results"]
    settings = any(r.get("setting") for r in results)  # columns a paper without settings or timm's top-1 lacks
    timm_top1 = any(r.get("timm_top1_text") for r in results)
    rows = [[r["model"] + (" (reconstructed)" if r["reconstructed"] else ""),
             *([r.get("setting") or "-"] if settings else []), r["img_size"], r["metric"], r["published_text"],
             _format(r["measured"], r["metric"]), r["status"],
             *([r.get("timm_top1_text") or "-"] if timm_top1 else [])] for r in results]
    figures = tabulate(rows, headers=["model", *(["setting"] if settings else []), "size", "metric", "published",
                                      "measured", "status", *(["timm's top-1 (beside)"] if timm_top1 else [])],
                       disable_numparse=True)  # "76.0" stays as printed
    reasons: dict[str, int] = {}
    for r in results:
        if r["status"] == "not-measured":
            reasons[r["method"]] = reasons.get(r["method"], 0) + 1
    figures += "".join("\n\n" + textwrap.fill(f"not measured ({n}): {reason}", 100, subsequent_indent="  ")
                       for reason, n in reasons.items())
    if timm_top1:
        figures += ("\n\ntimm's top-1: timm's own published validation of those weights (results-imagenet.csv), "
                    "shown beside the paper's figure, never judged against it")
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
    tables = [figures] + ([claims] if body["claims"] else []) + ([counters] if body["counters"] else []) + (
        [baselines] if body["baselines"] else []) + (
        [function] if body["function"] else [])
    return "\n\n".join(tables) + f"\n\nverdict: {verdict} ({body['elapsed_s']:.1f} s)\n{function_verdict(body)}"


# --- the command ----------------------------------------------------------------------

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
    parser.add_argument("--json", help="write the results document here (atomically); for a --paper other than "
                                       "sret, to verify-<paper>.json beside it")
    parser.add_argument("--checkpoints", help="directory of released checkpoints, one per tag: <tag>.pth")
    parser.add_argument("--data", help="ImageNet validation folder (one folder per WordNet id)")
    parser.add_argument("--paper", metavar="NAME",
                        help=f"the paper to check: {DEFAULT_PAPER} (the default: expected/) or a folder of papers/ "
                             f"({', '.join(known_papers())})")
    parser.add_argument("--expected", metavar="DIR",
                        help="any paper folder: paper_values.csv, and optionally deviations.md, weights.csv, "
                             "claims.csv, unchecked_claims.csv, baselines.csv, official_function/ "
                             "(expected/README.md describes them)")
    parser.add_argument("--compile", action="store_true",
                        help="also check the torch.compile'd model against the official logits (one compile "
                             "per released architecture: minutes on a CPU)")
    parser.add_argument("--judge", metavar="FILE",
                        help="judge the measurements a verify run recorded in FILE against the data folder again, "
                             "measuring nothing (no torch; with --json, write the re-judged document)")
    parser.add_argument("--model-index", metavar="DIR",
                        help="also write each model's measured figures as model-index files (<model>.yml: the "
                             "Hugging Face model-card block and mmpretrain's metafile fields) into DIR")
    args = parser.parse_args(argv)
    if args.judge is not None:
        measuring = [flag for flag, given in (("--checkpoints", args.checkpoints), ("--data", args.data),
                                              ("--compile", args.compile), ("--models", args.models != "all"),
                                              ("--device", args.device != "cpu")) if given]
        if measuring:
            raise UsageError(f"--judge {args.judge}: {measuring[0]} is for measuring; --judge judges what the file "
                             "recorded (its models, device and checkpoints)")
        args.judge = Path(args.judge)
    if args.paper is not None and args.expected is not None:
        raise UsageError(f"--paper {args.paper} and --expected {args.expected}: give one folder, not two")
    if args.device.startswith("cuda"):
        import torch  # only a run that measures on a GPU needs it here

        if not torch.cuda.is_available():
            raise UsageError(f"--device {args.device}: no CUDA GPU is available on this machine")
    args.checkpoints = _existing_dir(args.checkpoints, "--checkpoints")
    args.data = _existing_dir(args.data, "--data")
    if args.expected is not None:
        args.expected = _existing_dir(args.expected, "--expected")
    else:
        args.paper = args.paper or DEFAULT_PAPER
        args.expected = paper_folder(args.paper)  # an unknown name: one line listing the known ones
    args.json = None if args.json is None else results_path(Path(args.json), args.paper)
    if args.model_index is not None:
        args.model_index = Path(args.model_index)
        if args.model_index.exists() and not args.model_index.is_dir():
            raise UsageError(f"--model-index {args.model_index}: exists and is not a directory")
    args.models = None if args.models == "all" else split_list(args.models)
    return args


def results_path(given: Path, paper: str | None) -> Path:
    """Where a run writes its document: ``given`` for SReT (or an --expected folder), else
    ``verify-<paper>.json`` beside it, so another paper's run never overwrites SReT's file."""
    if paper in (None, DEFAULT_PAPER):
        return given
    return given.with_name(f"{given.stem}-{paper}{given.suffix or '.json'}")


def _judge_file(args, argv: list[str]) -> dict[str, Any]:
    """Judge a results file again; the document it would write (the file's, with the new verdicts)."""
    started = time.perf_counter()
    document = recorded_measurements(args.judge)
    recorded = document.get("paper")
    if args.paper is not None and recorded is not None and recorded != args.paper:
        raise ResultsError(f"results file {args.judge} was measured for paper {recorded!r}: judge it with "
                           f"--paper {recorded}, not --paper {args.paper}")
    body = {"paper": args.paper if args.paper is not None else recorded, **judge(load_data_folder(args.expected),
                                                                                  document)}
    judged = {"argv": ["python", "-m", "bench.verify", *argv], "expected": str(args.expected),
              "elapsed_s": round(time.perf_counter() - started, 3)}
    return {**document, **body, "judged": judged}


def _write(args, document: dict[str, Any]) -> None:
    """The results document, named when it goes beside the given path (another paper's run)."""
    if args.json:
        write_json_atomic(args.json, document)
        if args.paper not in (None, DEFAULT_PAPER):
            print(f"wrote {args.json} (--paper {args.paper}: beside, not over, {DEFAULT_PAPER}'s results file)")


def _export(args, document: dict[str, Any]) -> None:
    """With --model-index, the measured figures as model-index files, each named."""
    if args.model_index is None:
        return
    from bench.page.model_index import write_model_index

    written = write_model_index(document, args.model_index)
    print(f"model-index: wrote {len(written)} file(s) into {args.model_index}: "
          f"{', '.join(path.name for path in written) or 'none (nothing measured)'}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.judge is not None:
        document = _judge_file(args, argv)
        _write(args, document)
        print(render_table(document))
        print(f"judged {args.judge} against {args.expected} in {document['judged']['elapsed_s']:.2f} s, measuring "
              f"nothing (measured by {' '.join(document['argv'])})")
        _export(args, document)
        return 1 if failed(document) else 0

    from bench.measure.environment import command, document as results_document
    from bench.measure.function import EAGER_POLICIES

    policies = (*EAGER_POLICIES, COMPILED) if args.compile else EAGER_POLICIES
    body = verify(args.models, args.device, args.checkpoints, args.data, expected=args.expected, policies=policies)
    body = {"paper": args.paper, **body}
    document = results_document("verify", args.device, command("bench.verify", argv), **body)
    _write(args, document)
    print(render_table(body))
    _export(args, document)
    return 1 if failed(body) else 0
