"""The speed regression gate, three ways:

    python -m bench.compare --revisions BASE [NEW]     # two revisions timed side by side (the gate)
    python -m bench.compare BASE.json NEW.json         # two results files, timed apart
    python -m bench.compare --calibrate REV            # A/A and slowed comparisons -> floor and plan

Revisions: each side's ``sret/`` runs in fresh worker processes, rounds alternating between
them, over several process pairs (``bench.measure.revisions``); the process pair is the unit of
noise and the verdict rests on the pair medians (``bench.gate.pairs``). A machine busy with other
work makes the verdict unreliable (exit 2), not slower.

Two files: pairs of rows by configuration, judged by the Mann-Whitney U test of their per-round
images/s and a floor. Each file's rounds came from one process, so they are not independent
samples of a new run: the interval is narrower than the truth, and the output says by how much
the process-level noise the calibration measured can move a run.

Two files are judged without torch (``tests/test_layers.py`` holds it): results are plain JSON.
``--revisions``, ``--calibrate`` and ``--json`` import the measuring layer, which brings torch.
"""
from __future__ import annotations

import json
import math
import statistics
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

from scipy.stats import mannwhitneyu
from tqdm import tqdm

from bench.core.cli import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, ArgumentParser, UsageError, choice_list, int_list,
                            positive_int, positive_number, split_list)
from bench.core.io import ResultsError, display_path, read_results, write_json_atomic
from bench.core import rows
from bench.core.names import is_subject
from bench.gate import pairs as stats
from bench.gate import revision_gate

ROOT = Path(__file__).resolve().parents[2]
# The committed calibration: measured on this project's machine, so beside the other results.
CALIBRATION_OUT = ROOT / "reports" / "speed_calibration.json"
# The gate's default BASE: the commit the committed throughput results were measured at, so
# re-measuring reports/ (nox -s report) re-baselines it.
SPEED_BASELINE = "reports/throughput-cpu-run1.json"
SLOWDOWN_PATCH = ROOT / "tests" / "fixtures" / "slowdown.patch"
PROVISIONAL_FLOOR = 0.05  # two files, or no calibration committed: a guess, and the output says so
DEFAULT_MODELS = ("sret_t", "sret_s")
KERNELS = ("stock", "tuned")
FALLBACK_PLAN = {"pairs": 6, "rounds": 8}  # without a calibration's plan
TARGET_HALF_WIDTH = 0.012  # on logs: a 3% slowdown's interval then stays clear of 1
MAX_GATE_PAIRS = 8  # what the CI's few minutes allow

ALPHA = 0.05  # two-sided significance level of the Mann-Whitney U test
CONFIDENCE = 0.95  # of the interval around the ratio
VERDICTS = ("faster", "slower", "no significant change")

# What makes two files' figures comparable at all: the same chip, torch build and thread count.
MACHINE_FIELDS = ("device_name", "torch", "threads")

METHOD = ("per-round images/s of each side (images_per_s_by_round); ratio = median NEW over median BASE; "
          f"{CONFIDENCE:.0%} interval: Hodges-Lehmann on log rates, the order statistics of the pairwise "
          "log-ratios that the exact Mann-Whitney U distribution gives (normal approximation for large "
          "samples), exponentiated; p: scipy.stats.mannwhitneyu, two-sided, method auto; verdict "
          f"slower/faster when p < {ALPHA} and |ratio - 1| > floor, else no significant change")


# --- the calibration ---------------------------------------------------------------------------


def read_calibration(path: Path = CALIBRATION_OUT) -> dict[str, Any] | None:
    """The committed calibration of revision comparisons, or None (absent, unreadable, or of the old form)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return document if "plan" in document and "chosen_floor" in document else None
    except (OSError, ValueError):
        return None


def calibrated_floor(calibration: Mapping[str, Any] | None, path: Path = CALIBRATION_OUT) -> tuple[float, str]:
    """The floor the calibration chose, and where it came from; else the provisional one, saying so."""
    if calibration is None:
        return PROVISIONAL_FLOOR, (f"{PROVISIONAL_FLOOR} provisional, not calibrated "
                                   f"({display_path(path)} absent or unreadable)")
    floor = float(calibration["chosen_floor"])
    return floor, f"{floor} from the calibration in {display_path(path)} ({calibration['environment']['date'][:10]})"


def planned(args: Any, calibration: Mapping[str, Any] | None) -> tuple[dict[str, int], str]:
    """Pairs and rounds: given on the command line, else the calibration's plan, else a fallback."""
    plan = dict(calibration["plan"]) if calibration else dict(FALLBACK_PLAN)
    source = "the calibration's plan" if calibration else "fallback: no calibration committed"
    if args.pairs or args.rounds:
        source = "given"
    return {"pairs": args.pairs or plan["pairs"], "rounds": args.rounds or plan["rounds"]}, source


def process_noise_line(calibration: Mapping[str, Any] | None) -> str:
    """What two files taken apart cannot show: the noise between processes, which their rounds do not sample."""
    if calibration is None:
        return ("note: each file's rounds came from one process; the noise between processes is not calibrated "
                "here, and the interval above does not include it")
    sd = calibration["variance"]["between_pair_sd_percent"]
    return (f"note: each file's rounds came from one process, so two runs taken apart are only as precise as the "
            f"noise between processes: {sd:.2f}% (sd) on this project's machine ({display_path(CALIBRATION_OUT)}), "
            "on top of the interval above; for a verdict, time both sides together: --revisions BASE NEW")


# --- reading and pairing -----------------------------------------------------------------------


def load(path: str | Path) -> dict[str, Any]:
    """A results document whose rows time rounds, else one line saying what it is instead."""
    document = read_results(path)
    kind = document["kind"]
    if kind not in rows.TIMED_KINDS:
        raise ResultsError(f"results file {path} is of kind {kind!r}: bench.compare reads "
                           f"{', '.join(rows.TIMED_KINDS)} results")
    if not isinstance(document.get("results"), list) or not isinstance(document.get("environment"), dict):
        raise ResultsError(f"results file {path} ({kind}) is malformed: no results list or environment block")
    return document


def timed_rows_of(document: Mapping[str, Any], name: str) -> dict[rows.Key, rows.TimedRow]:
    """Each timed row of a file under its key (bench.core.rows: the page reads the same keys)."""
    try:
        return rows.by_key(rows.timed_rows(document), name)
    except ResultsError as error:
        raise ResultsError(f"results file {name}: {error}") from None


def machine_differences(base: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``["threads 2 vs 1"]``: what differs between the machines two files were measured on."""
    base_env, new_env = base["environment"], new["environment"]
    return [f"{name} {base_env.get(name)!r} vs {new_env.get(name)!r}" for name in MACHINE_FIELDS
            if base_env.get(name) != new_env.get(name)]


# --- statistics ----------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def u_counts(n: int, m: int) -> tuple[int, ...]:
    """How many of the C(n+m, n) orderings of two untied samples give U = 0, 1, ..., n*m.

    U counts the pairs (x, y) with x < y. Look at the largest value of all: if it is one of the m,
    it beats all n and adds n to U; if it is one of the n, it adds nothing.
    """
    if n == 0 or m == 0:
        return (1,)
    top_is_m = u_counts(n, m - 1)
    top_is_n = u_counts(n - 1, m)
    counts = [0] * (n * m + 1)
    for u, count in enumerate(top_is_n):
        counts[u] += count
    for u, count in enumerate(top_is_m):
        counts[u + n] += count
    return tuple(counts)


def interval_rank(n: int, m: int, confidence: float = CONFIDENCE) -> tuple[int, float]:
    """k and the coverage of the interval [d_(k), d_(nm+1-k)] of the sorted pairwise differences.

    k is the largest rank with P(U <= k-1) <= (1-confidence)/2 under no difference; k = 0 means
    too few samples for any interval at this confidence.
    """
    tail = (1 - confidence) / 2
    if n * m <= 2500:
        counts = u_counts(n, m)
        total = math.comb(n + m, n)
        below, k = 0, 0
        while k < len(counts) and below + counts[k] <= tail * total:
            below += counts[k]
            k += 1
        return k, 1 - 2 * below / total
    z = statistics.NormalDist().inv_cdf(1 - tail)
    k = math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12))
    return max(k, 0), confidence


def hodges_lehmann(base: Sequence[float], new: Sequence[float],
                   confidence: float = CONFIDENCE) -> dict[str, float | None]:
    """NEW over BASE as a ratio: the median of the pairwise log-ratios and its interval, exponentiated.

    Log rates, so that a ratio and its inverse are equally far from 1, and the interval does not
    assume the spread is normal: it is the rank interval Mann-Whitney's test would not reject.
    """
    diffs = sorted(math.log(y) - math.log(x) for x in base for y in new)
    k, coverage = interval_rank(len(base), len(new), confidence)
    low = math.exp(diffs[k - 1]) if k >= 1 else None
    high = math.exp(diffs[len(diffs) - k]) if k >= 1 else None
    return {"estimate": math.exp(statistics.median(diffs)), "low": low, "high": high, "coverage": coverage}


def mann_whitney_p(base: Sequence[float], new: Sequence[float]) -> float:
    """Two-sided p of Mann-Whitney U (scipy: exact for small untied samples, else asymptotic)."""
    if list(base) == list(new) or len(set(base) | set(new)) == 1:
        return 1.0  # nothing to tell apart; scipy's asymptotic branch divides by a zero spread here
    return float(mannwhitneyu(new, base, alternative="two-sided", method="auto").pvalue)


def verdict(ratio: float, p: float, floor: float) -> str:
    """``slower``/``faster`` only when the rounds differ (p) and by more than the noise floor."""
    if p < ALPHA and abs(ratio - 1) > floor:
        return "slower" if ratio < 1 else "faster"
    return "no significant change"


# --- comparing -------------------------------------------------------------------------------------


def compare_rows(base_row: rows.TimedRow, new_row: rows.TimedRow, floor: float) -> dict[str, Any]:
    """One pair's figures and verdict; a side without samples gets a reason instead of a verdict."""
    record: dict[str, Any] = {**dict(base_row.key), "configuration": base_row.label,
                              "batch_size_base": base_row.row.get("batch_size"),
                              "batch_size_new": new_row.row.get("batch_size")}
    base, new = base_row.samples, new_row.samples
    if not base or not new:
        side = "BASE" if not base else "NEW"
        return {**record, "verdict": None, "reason": f"{side} has no per-round samples (error or not timed)"}
    ratio = statistics.median(new) / statistics.median(base)
    p = mann_whitney_p(base, new)
    hl = hodges_lehmann(base, new)
    return {**record, "rounds_base": len(base), "rounds_new": len(new),
            "images_per_s_base": statistics.median(base), "images_per_s_new": statistics.median(new),
            "ratio": ratio, "ratio_hodges_lehmann": hl["estimate"], "ratio_low": hl["low"], "ratio_high": hl["high"],
            "interval_coverage": hl["coverage"], "p_value": p, "verdict": verdict(ratio, p, floor), "reason": None}


def compare_documents(base: Mapping[str, Any], new: Mapping[str, Any], floor: float,
                      allow_different_machines: bool = False, names: tuple[str, str] = ("BASE", "NEW")) -> dict[str, Any]:
    """Every configuration in both files compared, the rest listed as unpaired.

    Files of different kinds, machines (unless allowed) or with nothing in common are refused:
    a verdict across them would measure the machine, not the change.
    """
    if base["kind"] != new["kind"]:
        raise ResultsError(f"{names[0]} is {base['kind']} results and {names[1]} is {new['kind']}: compare like with like")
    crossed = machine_differences(base, new)
    if crossed and not allow_different_machines:
        raise UsageError(f"{names[0]} and {names[1]} were measured on different machines ({'; '.join(crossed)}): "
                         "pass --allow-different-machines to compare anyway")
    base_rows, new_rows = timed_rows_of(base, names[0]), timed_rows_of(new, names[1])
    common = [key for key in base_rows if key in new_rows]
    if not common:
        raise ResultsError(f"no configuration of {names[0]} is in {names[1]}: nothing to compare")
    pairs = [compare_rows(base_rows[key], new_rows[key], floor) for key in common]
    if all(pair["verdict"] is None for pair in pairs):
        raise ResultsError(f"no configuration in both {names[0]} and {names[1]} has per-round samples on both "
                           "sides (every paired row failed or was not timed): nothing to judge")
    for pair in pairs:
        pair["crossed_machines"] = "; ".join(crossed) or None
    unpaired = ([{"only_in": "base", "configuration": row.label} for key, row in base_rows.items() if key not in new_rows]
                + [{"only_in": "new", "configuration": row.label} for key, row in new_rows.items() if key not in base_rows])
    return {"pairs": pairs, "unpaired": unpaired, "machine_differences": crossed}


def slower(compared: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [pair for pair in compared["pairs"] if pair["verdict"] == "slower"]


# --- output ----------------------------------------------------------------------------------------

COLUMNS = ("configuration", "BASE img/s", "NEW img/s", "ratio", "95% interval", "p", "verdict")


def table_rows(compared: Mapping[str, Any]) -> list[list[str]]:
    """The cells of each pair, as text."""
    rows = []
    for pair in compared["pairs"]:
        if pair["verdict"] is None:
            cells = [pair["configuration"], "-", "-", "-", "-", "-", pair["reason"]]
        else:
            interval = ("-" if pair["ratio_low"] is None
                        else f"{pair['ratio_low']:.3f}-{pair['ratio_high']:.3f}")
            cells = [pair["configuration"], f"{pair['images_per_s_base']:.4g}", f"{pair['images_per_s_new']:.4g}",
                     f"{pair['ratio']:.3f}", interval, f"{pair['p_value']:.4f}", pair["verdict"]]
        if pair["crossed_machines"]:
            cells.append(f"crossed machines: {pair['crossed_machines']}")
        rows.append(cells)
    return rows


def table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    """A plain fixed-width table, or a Markdown one."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows] if i < len(r)) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in [header, *rows])


def render(compared: Mapping[str, Any], markdown: bool = False) -> str:
    header = list(COLUMNS) + (["machines"] if compared["machine_differences"] else [])
    return table(header, table_rows(compared), markdown)


def summary_lines(compared: Mapping[str, Any], floor_source: str) -> list[str]:
    """What the table does not say: the floor and where it came from, the unpaired rows, the verdict."""
    lines = [f"floor: {floor_source}; significance: two-sided p < {ALPHA}",
             "interval: Hodges-Lehmann on log rates (exact Mann-Whitney order statistics); "
             "p: Mann-Whitney U, two-sided (scipy)"]
    lines += [f"unpaired: {row['configuration']} only in {row['only_in'].upper()}, not compared"
              for row in compared["unpaired"]]
    return lines


def slower_lines(compared: Mapping[str, Any]) -> list[str]:
    return [f"SLOWER: {pair['configuration']}: {pair['ratio']:.3f}x the BASE images/s, p = {pair['p_value']:.4f}"
            for pair in slower(compared)]


# --- the command ------------------------------------------------------------------------------------


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="python -m bench.compare",
                            description="Speed regression gate: NEW against BASE, beyond the noise of the machine.")
    parser.add_argument("files", nargs="*", metavar="FILE", help="BASE.json NEW.json: two results files")
    parser.add_argument("--revisions", nargs="*", metavar="REV",
                        help="[BASE [NEW]]: git revisions timed side by side in worker processes; BASE defaults "
                             f"to the commit {SPEED_BASELINE} was measured at (a results file stands for its "
                             "commit), NEW to '.', the working tree")
    parser.add_argument("--calibrate", metavar="REV",
                        help="A/A and slowed comparisons of REV -> the floor, the noise and the plan "
                             f"(written to --json, default {display_path(CALIBRATION_OUT)})")
    parser.add_argument("--models", type=lambda text: choice_models(text), default=DEFAULT_MODELS,
                        help=f"with --revisions/--calibrate: SReT models (default {','.join(DEFAULT_MODELS)})")
    parser.add_argument("--kernels", type=lambda text: choice_list("--kernels", "kernel policy", text, KERNELS),
                        default=None, help="stock,tuned (default: both; --calibrate: stock)")
    parser.add_argument("--batch-sizes", type=int_list("--batch-sizes"), default=(8,), help="default 8")
    parser.add_argument("--pairs", type=positive_int("--pairs", 2), default=None,
                        help="process pairs per comparison (default: the calibration's plan)")
    parser.add_argument("--rounds", type=positive_int("--rounds", 2), default=None,
                        help="rounds per pair (default: the calibration's plan)")
    parser.add_argument("--threads", type=positive_int("--threads"), default=2, help="threads per worker (default 2)")
    parser.add_argument("--aa", type=positive_int("--aa", 2), default=20, help="--calibrate: A/A comparisons (20)")
    parser.add_argument("--slowed", type=positive_int("--slowed"), default=10,
                        help="--calibrate: comparisons against REV with --patch applied (10)")
    parser.add_argument("--patch", type=Path, default=SLOWDOWN_PATCH,
                        help=f"--calibrate: the slowdown applied to NEW (default {display_path(SLOWDOWN_PATCH)})")
    parser.add_argument("--load-limit", type=positive_number("--load-limit"), default=revision_gate.LOAD_LIMIT_CORES,
                        help="cores of other processes' work above which a revision verdict is unreliable "
                             f"(default {revision_gate.LOAD_LIMIT_CORES})")
    parser.add_argument("--floor", type=float, default=None,
                        help="the smallest |ratio - 1| that counts (default: the calibration's for --revisions, "
                             f"{PROVISIONAL_FLOOR} for two files)")
    parser.add_argument("--allow-different-machines", action="store_true",
                        help="compare files measured on different CPUs/GPUs, torch builds or thread counts "
                             "(every row says so)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", type=Path, metavar="PATH", default=None, help="write the result document here")
    return parser


def choice_models(text: str) -> tuple[str, ...]:
    """Only SReT models: a revision changes sret/, not the timm baselines."""
    names = tuple(dict.fromkeys(split_list(text)))
    for name in names:
        if not is_subject(name):
            raise UsageError(f"--models: {name!r} is not an SReT model (sret_*): revisions change only sret/")
    if not names:
        raise UsageError(f"--models: {text!r} names no model")
    return names


def parse_args(argv: Sequence[str] | None) -> Any:
    args = build_parser().parse_args(argv)
    if args.floor is not None and not 0 <= args.floor < 1:
        raise UsageError(f"--floor: {args.floor} is not in [0, 1)")
    if args.json is not None and args.json.is_dir():
        raise UsageError(f"--json: {str(args.json)!r} is a directory")
    modes = [name for name, given in (("FILE", bool(args.files)), ("--revisions", args.revisions is not None),
                                      ("--calibrate", args.calibrate is not None)) if given]
    if len(modes) > 1:
        raise UsageError(f"give one of two results files, --revisions or --calibrate (got {' and '.join(modes)})")
    if args.revisions is not None and len(args.revisions) > 2:
        raise UsageError(f"--revisions takes BASE and at most NEW (got {len(args.revisions)} revisions)")
    if not modes and len(args.files) != 2:
        raise UsageError("give two results files (BASE.json NEW.json), --revisions BASE [NEW] or --calibrate REV")
    if args.files and len(args.files) != 2:
        raise UsageError(f"give two results files, BASE and NEW (got {len(args.files)})")
    if args.calibrate is not None and not args.patch.is_file():
        raise UsageError(f"--patch: {args.patch} is not a file")
    return args


def write_document(path: Path, kind: str, device: str, argv: Sequence[str], **body: Any) -> None:
    """Through the one document builder, so the file carries argv, commit and environment (imports torch)."""
    from bench.measure.environment import command, document
    write_json_atomic(path, document(kind, device, command("bench.compare", argv), **body))


def configurations(args: Any, kernels: Sequence[str]) -> tuple[dict[str, Any], ...]:
    return tuple({"model": model, "kernels": kernel, "batch": batch}
                 for model in args.models for kernel in kernels for batch in args.batch_sizes)


def progress_bar(total: int, what: str) -> Any:
    """Pairs done, on stderr, only where stderr is a terminal."""
    return tqdm(total=total, desc=what, unit="pair", file=sys.stderr, disable=None)


def run_files(args: Any, argv: Sequence[str]) -> int:
    floor, source = ((args.floor, f"{args.floor} (--floor)") if args.floor is not None
                     else (PROVISIONAL_FLOOR, f"{PROVISIONAL_FLOOR}, not calibrated for runs taken apart"))
    base_path, new_path = args.files
    base, new = load(base_path), load(new_path)
    compared = compare_documents(base, new, floor, args.allow_different_machines, names=(base_path, new_path))
    print(render(compared, markdown=args.markdown))
    print("\n".join(summary_lines(compared, source)))
    print(process_noise_line(read_calibration()))
    for line in slower_lines(compared):
        print(line, file=sys.stderr)
    if args.json is not None:
        write_document(args.json, "compare", base["environment"].get("device", "cpu"), argv,
                       config={"mode": "files", "base": base_path, "new": new_path, "floor": floor,
                               "floor_source": source, "alpha": ALPHA, "confidence": CONFIDENCE, "method": METHOD,
                               "allow_different_machines": args.allow_different_machines,
                               "base_argv": base.get("argv"), "new_argv": new.get("argv"),
                               "base_environment": base["environment"], "new_environment": new["environment"]},
                       **compared)
        print(f"wrote {args.json}")
    return EXIT_FAILED if slower(compared) else EXIT_OK


def run_revisions(args: Any, argv: Sequence[str]) -> int:
    from bench.measure import revisions  # the measuring layer: two results files are judged without it

    calibration = read_calibration()
    floor, source = ((args.floor, f"{args.floor} (--floor)") if args.floor is not None
                     else calibrated_floor(calibration))
    plan, plan_source = planned(args, calibration)
    given = list(args.revisions)
    base_name = given[0] if given else str(ROOT / SPEED_BASELINE)
    new_name = given[1] if len(given) > 1 else revisions.WORKING_TREE
    base, new = revisions.resolve(base_name), revisions.resolve(new_name)
    settings = revisions.Settings(configurations(args, args.kernels or KERNELS), pairs=plan["pairs"],
                                  rounds=plan["rounds"], threads=args.threads)
    with progress_bar(settings.pairs, "pairs") as bar:
        record = revisions.compare(base, new, settings, progress=bar.update)
    judged = revision_gate.judge(record, floor, args.load_limit)
    print(f"BASE {base.label()} against NEW {new.label()}: {settings.pairs} process pairs x {settings.rounds} "
          f"rounds ({plan_source}); ASLR {'off' if record['aslr_off'] else 'ON (setarch unavailable)'}, "
          "OpenMP passive waiting")
    print(render_revisions(judged, markdown=args.markdown))
    print(f"floor: {source}; {stats.METHOD}")
    for line in judged["unequal_footing"]:
        print(f"note: {line}")
    if args.json is not None:
        write_document(args.json, "compare", "cpu", argv, config={"mode": "revisions", "floor_source": source,
                                                                   "plan_source": plan_source},
                       revisions=record, judged=judged)
        print(f"wrote {args.json}")
    return revision_exit(judged)


def revision_exit(judged: Mapping[str, Any]) -> int:
    """2 when the machine was shared (naming the load), 1 when a configuration is slower, else 0."""
    if judged["load_problems"]:
        print(f"error: unreliable: the machine was busy with other work ({'; '.join(judged['load_problems'])}); "
              f"limit {judged['load_limit_cores']} cores: run again on a quiet machine", file=sys.stderr)
        return EXIT_USAGE
    for row in judged["configurations"]:
        if row["verdict"] == stats.SLOWER:
            print(f"SLOWER: {row['configuration']}: {row['ratio']:.3f}x the BASE images/s "
                  f"(95% interval {row['ratio_low']:.3f}-{row['ratio_high']:.3f}, {row['pairs']} process pairs)",
                  file=sys.stderr)
    return EXIT_FAILED if any(row["verdict"] == stats.SLOWER for row in judged["configurations"]) else EXIT_OK


REVISION_COLUMNS = ("configuration", "BASE img/s", "NEW img/s", "ratio", "95% interval", "pair medians",
                    "within sd %", "between sd %", "verdict")


def render_revisions(judged: Mapping[str, Any], markdown: bool = False) -> str:
    rows = []
    for row in judged["configurations"]:
        variance = row.get("variance") or {}
        interval = "-" if row["ratio_low"] is None else f"{row['ratio_low']:.3f}-{row['ratio_high']:.3f}"
        rows.append([row["configuration"], f"{row['images_per_s_base']:.4g}", f"{row['images_per_s_new']:.4g}",
                     f"{row['ratio']:.3f}", interval, " ".join(f"{m:.3f}" for m in row["pair_medians"]),
                     _sd(variance, "within_pair_sd_percent"), _sd(variance, "between_pair_sd_percent"),
                     row["verdict"]])
    return table(list(REVISION_COLUMNS), rows, markdown)


def _sd(variance: Mapping[str, Any], field: str) -> str:
    return f"{variance[field]:.2f}" if field in variance else "-"


def run_calibration(args: Any, argv: Sequence[str]) -> int:
    from bench.measure import revisions

    revision = revisions.resolve(args.calibrate)
    slowed = revisions.resolve(args.calibrate, patch=args.patch)
    settings = revisions.Settings(configurations(args, args.kernels or ("stock",)), pairs=args.pairs or 6,
                                  rounds=args.rounds or 8, threads=args.threads)
    aa_records, slowed_records = [], []
    with progress_bar((args.aa + args.slowed) * settings.pairs, "calibration pairs") as bar:
        # Interleaved (one A/A, one slowed, ...), so a quiet or busy spell of the machine meets both.
        for index in range(max(args.aa, args.slowed)):
            if index < args.aa:
                aa_records.append(revisions.compare(revision, revision, settings, progress=bar.update))
            if index < args.slowed:
                slowed_records.append(revisions.compare(revision, slowed, settings, progress=bar.update))
    problems = [line for record in [*aa_records, *slowed_records]
                for line in revision_gate.load_problems(record, args.load_limit)]
    record = revision_gate.calibrate(aa_records, slowed_records, TARGET_HALF_WIDTH, MAX_GATE_PAIRS)
    for line in calibration_lines(record):
        print(line)
    out = args.json or CALIBRATION_OUT
    write_document(out, "speed_calibration", "cpu", argv, config={"revision": revision.record(),
                                                                   "patch": args.patch.name,
                                                                   "settings": settings.record(),
                                                                   "load_limit_cores": args.load_limit},
                   load_problems=problems, **record, comparisons={"aa": aa_records, "slowed": slowed_records})
    print(f"wrote {out}")
    if problems:
        print(f"error: unreliable: the machine was busy during the calibration ({'; '.join(problems[:3])})",
              file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def calibration_lines(record: Mapping[str, Any]) -> list[str]:
    variance = record["variance"]
    lines = [f"A/A: {record['aa']['false_alarms']} of {record['aa']['comparisons']} flagged at the chosen floor "
             f"{record['chosen_floor']:.3f}; slowed: {record['slowed']['flagged_slower']} of "
             f"{record['slowed']['comparisons']} flagged slower (the patch measured "
             f"{_ratio(record['slowed']['measured_cost_ratio'])} of BASE's images/s over all its pairs)",
             f"noise: within a pair {variance['within_pair_sd_percent']:.2f}% per round, between pairs "
             f"{variance['between_pair_sd_percent']:.2f}% (sd of log ratios)",
             f"plan: {record['plan']['rounds']} rounds x {record['plan']['pairs']} pairs ({record['plan']['why']})"]
    lines += [f"  floor {row['floor']:.3f}: {row['aa_alarms']} A/A alarms, {row['slowed_flagged']} slowed flagged"
              for row in record["alarms_per_floor"]]
    return lines


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}x"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.calibrate is not None:
        return run_calibration(args, argv)
    if args.revisions is not None:
        return run_revisions(args, argv)
    return run_files(args, argv)
