"""The speed regression gate: two results files of timed rounds, paired by configuration, each
pair judged against the noise its own rounds show.

    python -m bench.compare BASE.json NEW.json [--floor 0.05] [--markdown] [--json PATH]
    python -m bench.compare --calibrate runs/aa/ [--slowed runs/slow/] [--json PATH]

A pair is ``slower`` or ``faster`` only when both hold: the Mann-Whitney U test of the per-round
images/s says the rounds differ (two-sided p < 0.05), and the ratio of medians moves beyond the
floor (|ratio - 1| > floor). The p-value alone would flag a 1% change that nobody can reproduce;
the floor alone would flag noise. The floor is what A/A runs (the same command twice) showed as
noise: ``--calibrate`` measures it and writes ``speed_calibration.json``.

No torch here: results are plain JSON, and a CI job comparing two files should not load the
models (``tests/test_layers.py`` holds it). Only ``--json`` imports the measuring layer, to write
its document with the same environment block as every results file.
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

from bench.core.cli import EXIT_FAILED, EXIT_OK, ArgumentParser, UsageError
from bench.core.io import ResultsError, read_results, write_json_atomic

ROOT = Path(__file__).resolve().parents[2]
# The committed calibration: measured on this project's machine, so beside the other results.
CALIBRATION_OUT = ROOT / "reports" / "speed_calibration.json"
CALIBRATION_FILES = (CALIBRATION_OUT,)
PROVISIONAL_FLOOR = 0.05  # used until a calibration is committed: a guess, and the output says so

ALPHA = 0.05  # two-sided significance level of the Mann-Whitney U test
CONFIDENCE = 0.95  # of the interval around the ratio
SAMPLES = "images_per_s_by_round"  # the per-round images/s of a row: the samples the test compares
# Kinds whose rows carry per-round samples. model_speed rows keep only medians per variant, so
# they cannot be judged against their noise; they are refused with a line saying so.
SPEED_KINDS = ("throughput", "slicing_speed")
VERDICTS = ("faster", "slower", "no significant change")

# What identifies a configuration, with the value a file that predates a field means by its absence.
KEY_DEFAULTS: dict[str, Any] = {
    "model": None, "img_size": None, "batch_size_requested": None, "kernels": "stock", "runtime": "torch",
    "dtype": "fp32", "tf32": False, "compile": False, "channels_last": False, "device": "cpu",
}
# What makes two files' figures comparable at all: the same chip, torch build and thread count.
MACHINE_FIELDS = ("device_name", "torch", "threads")

CANDIDATE_FLOORS = tuple(round(0.01 * step, 2) for step in range(0, 21))  # 0.00 .. 0.20
MIN_FLOOR = 0.02  # a calibration never chooses a floor tighter than this

METHOD = ("per-round images/s of each side (images_per_s_by_round); ratio = median NEW over median BASE; "
          f"{CONFIDENCE:.0%} interval: Hodges-Lehmann on log rates, the order statistics of the pairwise "
          "log-ratios that the exact Mann-Whitney U distribution gives (normal approximation for large "
          "samples), exponentiated; p: scipy.stats.mannwhitneyu, two-sided, method auto; verdict "
          f"slower/faster when p < {ALPHA} and |ratio - 1| > floor, else no significant change")


# --- the floor ---------------------------------------------------------------------------------


def committed_floor(paths: Sequence[Path] = CALIBRATION_FILES) -> tuple[float, str]:
    """The floor the committed calibration chose, and where it came from; else the provisional one.

    A calibration file that exists but cannot be read falls back too, saying why, so a broken
    file never stops a gate at import time and never passes unnoticed either.
    """
    for path in paths:
        if not path.is_file():
            continue
        try:
            floor = float(json.loads(path.read_text(encoding="utf-8"))["chosen_floor"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            return PROVISIONAL_FLOOR, (f"{PROVISIONAL_FLOOR} provisional, not calibrated "
                                       f"({_shown(path)} unreadable: {type(error).__name__})")
        return floor, f"{floor} from the calibration in {_shown(path)}"
    return PROVISIONAL_FLOOR, f"{PROVISIONAL_FLOOR} provisional, not calibrated (no speed_calibration.json committed)"


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


DEFAULT_FLOOR, DEFAULT_FLOOR_SOURCE = committed_floor()


# --- reading and pairing -----------------------------------------------------------------------


def load(path: str | Path) -> dict[str, Any]:
    """A results document whose rows time rounds, else one line saying what it is instead."""
    document = read_results(path)
    kind = document["kind"]
    if kind not in SPEED_KINDS:
        why = " (its rows keep no per-round samples)" if kind == "model_speed" else ""
        raise ResultsError(f"results file {path} is of kind {kind!r}{why}: bench.compare reads "
                           f"{' or '.join(SPEED_KINDS)} results")
    if not isinstance(document.get("results"), list) or not isinstance(document.get("environment"), dict):
        raise ResultsError(f"results file {path} ({kind}) is malformed: no results list or environment block")
    return document


def config_key(row: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The fields that identify a row's configuration, absent ones at their default."""
    values = {name: row.get(name, default) for name, default in KEY_DEFAULTS.items()}
    if values["batch_size_requested"] is None:
        values["batch_size_requested"] = row.get("batch_size")
    return tuple(values.items())


def describe_key(key: tuple[tuple[str, Any], ...]) -> str:
    """``sret_t stock 224px batch 8 fp32`` plus whatever differs from the defaults."""
    values = dict(key)
    text = (f"{values['model']} {values['kernels']} {values['img_size']}px "
            f"batch {values['batch_size_requested']} {values['dtype']}")
    extras = [name if value is True else f"{name}={value}" for name, value in values.items()
              if name in ("runtime", "tf32", "compile", "channels_last", "device")
              and value != KEY_DEFAULTS[name]]
    return " ".join([text, *extras])


def rows_by_config(document: Mapping[str, Any], name: str) -> dict[tuple, dict[str, Any]]:
    """Each row under its configuration; two rows of one configuration in one file cannot be paired."""
    rows: dict[tuple, dict[str, Any]] = {}
    for row in document["results"]:
        if not isinstance(row, dict) or "model" not in row:
            raise ResultsError(f"results file {name} has a results row without a model")
        key = config_key(row)
        if key in rows:
            raise ResultsError(f"results file {name} has two rows for {describe_key(key)}: cannot pair them")
        rows[key] = row
    return rows


def machine_differences(base: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``["threads 2 vs 1"]``: what differs between the machines two files were measured on."""
    base_env, new_env = base["environment"], new["environment"]
    return [f"{name} {base_env.get(name)!r} vs {new_env.get(name)!r}" for name in MACHINE_FIELDS
            if base_env.get(name) != new_env.get(name)]


def samples(row: Mapping[str, Any]) -> list[float]:
    """The per-round images/s of a row that ran (an errored or untimed row has none)."""
    if row.get("error"):
        return []
    values = row.get(SAMPLES) or []
    return [float(v) for v in values if isinstance(v, (int, float)) and v > 0]


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


def compare_rows(base_row: Mapping[str, Any], new_row: Mapping[str, Any], floor: float) -> dict[str, Any]:
    """One pair's figures and verdict; a side without samples gets a reason instead of a verdict."""
    key = config_key(base_row)
    record: dict[str, Any] = {**dict(key), "configuration": describe_key(key),
                              "batch_size_base": base_row.get("batch_size"), "batch_size_new": new_row.get("batch_size")}
    base, new = samples(base_row), samples(new_row)
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
    base_rows, new_rows = rows_by_config(base, names[0]), rows_by_config(new, names[1])
    common = [key for key in base_rows if key in new_rows]
    if not common:
        raise ResultsError(f"no configuration of {names[0]} is in {names[1]}: nothing to compare")
    pairs = [compare_rows(base_rows[key], new_rows[key], floor) for key in common]
    if all(pair["verdict"] is None for pair in pairs):
        raise ResultsError(f"no configuration in both {names[0]} and {names[1]} has per-round samples on both "
                           "sides (every paired row failed or was not timed): nothing to judge")
    for pair in pairs:
        pair["crossed_machines"] = "; ".join(crossed) or None
    unpaired = ([{"only_in": "base", "configuration": describe_key(key)} for key in base_rows if key not in new_rows]
                + [{"only_in": "new", "configuration": describe_key(key)} for key in new_rows if key not in base_rows])
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


def render(compared: Mapping[str, Any], markdown: bool = False) -> str:
    """A plain fixed-width table, or a Markdown one."""
    header = list(COLUMNS) + (["machines"] if compared["machine_differences"] else [])
    rows = table_rows(compared)
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in [header, *rows])


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


# --- calibration -----------------------------------------------------------------------------------


def alarms_at(compared_pairs: Sequence[Mapping[str, Any]], floor: float) -> list[dict[str, Any]]:
    """The pairs a gate at ``floor`` would call slower or faster."""
    return [pair for pair in compared_pairs
            if pair["verdict"] is not None and verdict(pair["ratio"], pair["p_value"], floor) != VERDICTS[2]]


def chosen_floor(aa_pairs: Sequence[Mapping[str, Any]]) -> float:
    """The smallest floor at which no A/A pair raises an alarm, rounded up to 0.01, at least MIN_FLOOR.

    An alarm needs |ratio - 1| > floor, so the floor that silences every significant A/A pair is
    the largest such effect itself.
    """
    effects = [abs(pair["ratio"] - 1) for pair in aa_pairs
               if pair["verdict"] is not None and pair["p_value"] < ALPHA]
    worst = max(effects, default=0.0)
    return max(MIN_FLOOR, math.ceil(round(worst * 100, 9)) / 100)


def compare_file_pairs(file_pairs: Sequence[tuple[str, str]], floor: float,
                       allow_different_machines: bool = False) -> list[dict[str, Any]]:
    """Every configuration of every (BASE, NEW) pair of files, each record naming its files."""
    compared = []
    for base_path, new_path in file_pairs:
        result = compare_documents(load(base_path), load(new_path), floor, allow_different_machines,
                                   names=(base_path, new_path))
        compared += [{**pair, "base_file": base_path, "new_file": new_path} for pair in result["pairs"]]
    return compared


def calibrate(aa_files: Sequence[tuple[str, str]], slowed_files: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """False alarms of A/A pairs at each candidate floor, the floor chosen from them, and how many
    deliberately slowed pairs that floor still flags."""
    if not aa_files:
        raise UsageError("--calibrate needs at least one pair of A/A results files")
    aa = compare_file_pairs(aa_files, 0.0)
    floor = chosen_floor(aa)
    by_floor = [{"floor": candidate, "alarms": len(alarms_at(aa, candidate)),
                 "file_pairs_with_alarms": len({(p["base_file"], p["new_file"]) for p in alarms_at(aa, candidate)})}
                for candidate in sorted({*CANDIDATE_FLOORS, floor})]
    record: dict[str, Any] = {
        "file_pairs": [list(pair) for pair in aa_files], "compared": len(aa), "alpha": ALPHA,
        "alarms_per_floor": by_floor, "chosen_floor": floor,
        "rule": f"chosen floor = the smallest floor with 0 false alarms over the A/A pairs, rounded up to 0.01, "
                f"at least {MIN_FLOOR}",
        "pairs": [_calibration_row(pair) for pair in aa],
    }
    if slowed_files:
        # Slowed on purpose, often by a thread count, which the machine check would refuse.
        slowed = compare_file_pairs(slowed_files, floor, allow_different_machines=True)
        record["detection"] = {
            "floor": floor,
            "file_pairs": [list(pair) for pair in slowed_files], "compared": len(slowed),
            "flagged_slower": sum(pair["verdict"] == "slower" for pair in slowed),
            "file_pairs_flagged": len({(p["base_file"], p["new_file"]) for p in slowed if p["verdict"] == "slower"}),
            "pairs": [_calibration_row(pair) for pair in slowed],
        }
    return record


def _calibration_row(pair: Mapping[str, Any]) -> dict[str, Any]:
    return {name: pair.get(name) for name in ("base_file", "new_file", "configuration", "ratio", "ratio_low",
                                              "ratio_high", "p_value", "verdict")}


def file_pairs(items: Sequence[str], option: str) -> list[tuple[str, str]]:
    """Files (or folders of ``*.json``, by name) taken two by two: (1st, 2nd), (3rd, 4th), ..."""
    files: list[str] = []
    for item in items:
        path = Path(item)
        files += sorted(str(p) for p in path.glob("*.json")) if path.is_dir() else [item]
    if len(files) % 2:
        raise UsageError(f"{option}: {len(files)} results files given; pairs need an even number")
    return list(zip(files[::2], files[1::2]))


def calibration_lines(record: Mapping[str, Any]) -> list[str]:
    lines = [f"A/A: {len(record['file_pairs'])} file pairs, {record['compared']} configurations compared"]
    lines += [f"  floor {row['floor']:.2f}: {row['alarms']} false alarms "
              f"({row['file_pairs_with_alarms']} file pairs)" for row in record["alarms_per_floor"]]
    lines.append(f"chosen floor: {record['chosen_floor']:.2f} ({record['rule']})")
    detection = record.get("detection")
    if detection:
        lines.append(f"slowed: {detection['flagged_slower']} of {detection['compared']} configurations flagged slower, "
                     f"{detection['file_pairs_flagged']} of {len(detection['file_pairs'])} file pairs")
    return lines


# --- the command ------------------------------------------------------------------------------------


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="python -m bench.compare",
                            description="Speed regression gate: NEW against BASE, round by round, beyond the noise.")
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="BASE.json NEW.json; with --calibrate, A/A results files or folders, two by two")
    parser.add_argument("--floor", type=float, default=None,
                        help=f"the smallest |ratio - 1| that counts (default: {DEFAULT_FLOOR_SOURCE})")
    parser.add_argument("--allow-different-machines", action="store_true",
                        help="compare files measured on different CPUs/GPUs, torch builds or thread counts "
                             "(every row says so)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", type=Path, metavar="PATH", default=None,
                        help="write the comparison (or, with --calibrate, the calibration) document here")
    parser.add_argument("--calibrate", action="store_true",
                        help=f"A/A pairs -> false alarms per floor and the chosen floor, written to --json "
                             f"(default {_shown(CALIBRATION_OUT)})")
    parser.add_argument("--slowed", nargs="+", metavar="FILE", default=[],
                        help="with --calibrate: (BASE, deliberately slowed NEW) files, two by two, to count "
                             "how many the chosen floor flags")
    return parser


def parse_args(argv: Sequence[str] | None) -> Any:
    args = build_parser().parse_args(argv)
    if args.floor is not None and not 0 <= args.floor < 1:
        raise UsageError(f"--floor: {args.floor} is not in [0, 1)")
    if args.json is not None and args.json.is_dir():
        raise UsageError(f"--json: {str(args.json)!r} is a directory")
    if args.slowed and not args.calibrate:
        raise UsageError("--slowed applies only with --calibrate")
    if not args.calibrate and len(args.files) != 2:
        raise UsageError(f"give two results files, BASE and NEW (got {len(args.files)})")
    return args


def write_document(path: Path, kind: str, device: str, argv: Sequence[str], **body: Any) -> None:
    """Through the one document builder, so the file carries argv, commit and environment (imports torch)."""
    from bench.measure.environment import command, document
    write_json_atomic(path, document(kind, device, command("bench.compare", argv), **body))


def run_calibration(args: Any, argv: Sequence[str]) -> int:
    record = calibrate(file_pairs(args.files, "--calibrate"), file_pairs(args.slowed, "--slowed"))
    print("\n".join(calibration_lines(record)))
    out = args.json or CALIBRATION_OUT
    device = load(record["file_pairs"][0][0])["environment"].get("device", "cpu")
    write_document(out, "speed_calibration", device, argv, **record)
    print(f"wrote {out}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.calibrate:
        return run_calibration(args, argv)
    floor, source = (args.floor, f"{args.floor} (--floor)") if args.floor is not None else (DEFAULT_FLOOR,
                                                                                           DEFAULT_FLOOR_SOURCE)
    base_path, new_path = args.files
    base, new = load(base_path), load(new_path)
    compared = compare_documents(base, new, floor, args.allow_different_machines, names=(base_path, new_path))
    print(render(compared, markdown=args.markdown))
    print("\n".join(summary_lines(compared, source)))
    for line in slower_lines(compared):
        print(line, file=sys.stderr)
    if args.json is not None:
        write_document(args.json, "compare", base["environment"].get("device", "cpu"), argv,
                       config={"base": base_path, "new": new_path, "floor": floor, "floor_source": source,
                               "alpha": ALPHA, "confidence": CONFIDENCE, "method": METHOD,
                               "allow_different_machines": args.allow_different_machines,
                               "base_argv": base.get("argv"), "new_argv": new.get("argv"),
                               "base_environment": base["environment"], "new_environment": new["environment"]},
                       **compared)
        print(f"wrote {args.json}")
    return EXIT_FAILED if slower(compared) else EXIT_OK
