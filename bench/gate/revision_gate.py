"""Judging revision comparisons: per configuration a verdict from its process pairs, and the
calibration that chooses the floor and the number of pairs and rounds.

Input is what ``bench.measure.revisions.compare`` records (every round of every pair); output is
plain records for ``bench.compare`` to print and write. No torch here.
"""
from __future__ import annotations

import math
import statistics
from typing import Any, Mapping, Sequence

from bench.gate import pairs as stats

# Other processes' CPU time while rounds ran, in cores, above which a verdict is unreliable. An
# idle machine shows a few hundredths (kernel threads, the shell); the test suite running beside
# a comparison shows about one and a half cores and shifted an A/A by 3% in the experiment.
LOAD_LIMIT_CORES = 0.15
# CPU time the hypervisor gave other guests, in cores, above which a verdict is unreliable. Steal
# falls on both sides of alternating rounds alike; in the committed calibration A/A comparisons
# with up to 0.38 cores of steal were no more often flagged than quiet ones, so only heavier steal
# counts (reports/speed_calibration.json records each pair's).
STEAL_LIMIT_CORES = 0.5
MIN_FLOOR = 0.01
FLOOR_STEP = 0.005


def configuration_label(config: Mapping[str, Any]) -> str:
    return f"{config['model']} {config['kernels']} batch {config['batch']}"


def load_problems(record: Mapping[str, Any], limit: float = LOAD_LIMIT_CORES,
                  steal_limit: float = STEAL_LIMIT_CORES) -> list[str]:
    """``["pair 2: other processes used 1.4 cores"]``: the pairs whose rounds shared the machine."""
    problems = []
    for index, pair in enumerate(record["pairs"], 1):
        load = pair["load"]
        for field, what, ceiling in (("other_processes_cores", "other processes used", limit),
                                     ("steal_cores", "the hypervisor stole", steal_limit)):
            value = load.get(field)
            if value is not None and value > ceiling:
                problems.append(f"pair {index}: {what} {value:.2f} cores while its rounds ran")
    return problems


def unequal_footing(record: Mapping[str, Any]) -> list[str]:
    """What differed between the two sides' workers besides the code (torch, threads, kernel decision)."""
    found = []
    for index, pair in enumerate(record["pairs"], 1):
        base, new = pair["base_worker"], pair["new_worker"]
        for field in ("torch", "timm", "threads", "kernel_decision"):
            if base.get(field) != new.get(field):
                found.append(f"pair {index}: {field} differs between BASE and NEW")
    return found


def judge_configuration(record: Mapping[str, Any], index: int, floor: float) -> dict[str, Any]:
    """One configuration's pair medians, interval, variance components and verdict."""
    config = record["settings"]["configurations"][index]
    per_pair = [pair["seconds"][index] for pair in record["pairs"]]
    round_ratios = [[b / n for b, n in zip(side["base_s"], side["new_s"])] for side in per_pair]
    medians = [stats.pair_median(side["base_s"], side["new_s"]) for side in per_pair]
    found = stats.interval(medians)
    calls = [pair["calls_per_round"][index] for pair in record["pairs"]]
    judged: dict[str, Any] = {
        **config, "configuration": configuration_label(config), "pairs": len(medians),
        "rounds": len(round_ratios[0]) if round_ratios else 0, "pair_medians": medians,
        "ratio": found.estimate, "ratio_low": found.low, "ratio_high": found.high,
        "images_per_s_base": statistics.median(config["batch"] * c / s for side, c in zip(per_pair, calls)
                                               for s in side["base_s"]),
        "images_per_s_new": statistics.median(config["batch"] * c / s for side, c in zip(per_pair, calls)
                                              for s in side["new_s"]),
        "verdict": stats.verdict(found, floor),
    }
    if len(round_ratios) >= 2 and min(map(len, round_ratios)) >= 2:
        judged["variance"] = stats.components(round_ratios).record()
    return judged


def judge(record: Mapping[str, Any], floor: float, load_limit: float = LOAD_LIMIT_CORES) -> dict[str, Any]:
    """Every configuration judged; the whole comparison unreliable if the machine was shared."""
    configurations = [judge_configuration(record, index, floor)
                      for index in range(len(record["settings"]["configurations"]))]
    problems = load_problems(record, load_limit)
    if problems:
        for judged in configurations:
            judged["verdict_if_reliable"], judged["verdict"] = judged["verdict"], stats.UNRELIABLE
    return {"floor": floor, "load_limit_cores": load_limit, "steal_limit_cores": STEAL_LIMIT_CORES, "method": stats.METHOD, "configurations": configurations,
            "load_problems": problems, "unequal_footing": unequal_footing(record)}


# --- calibration ---------------------------------------------------------------------------------------


def verdict_of(judged: Mapping[str, Any], floor: float) -> str:
    """A judged configuration's verdict at another floor."""
    return stats.verdict(stats.Interval(judged["ratio"], judged["ratio_low"], judged["ratio_high"]), floor)


def chosen_floor(aa: Sequence[Mapping[str, Any]]) -> float:
    """The smallest floor that silences every A/A configuration whose interval excludes 1, rounded up
    to FLOOR_STEP, at least MIN_FLOOR (an alarm needs |ratio - 1| > floor)."""
    worst = max((abs(c["ratio"] - 1) for c in aa if verdict_of(c, 0.0) != stats.NO_CHANGE), default=0.0)
    steps = math.ceil(round(worst / FLOOR_STEP, 9))
    return max(MIN_FLOOR, round(steps * FLOOR_STEP, 4))


def alarms(judged: Sequence[Mapping[str, Any]], floor: float) -> list[Mapping[str, Any]]:
    """The configurations a gate at ``floor`` calls slower or faster."""
    return [c for c in judged if verdict_of(c, floor) != stats.NO_CHANGE]


def costs(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Seconds a pair takes to start (both workers built and warmed up) and one round of one configuration."""
    starts = [pair["start_s"] for record in records for pair in record["pairs"]]
    rounds = [pair["load"]["wall_s"] / (record["settings"]["rounds"] * len(record["settings"]["configurations"]))
              for record in records for pair in record["pairs"]]
    return {"pair_start_s": statistics.median(starts), "round_s_per_configuration": statistics.median(rounds)}


def calibrate(aa_records: Sequence[Mapping[str, Any]], slowed_records: Sequence[Mapping[str, Any]],
              target_half_width: float, max_pairs: int) -> dict[str, Any]:
    """False alarms per floor over the A/A comparisons, the floor chosen, detection of the slowed ones,
    the variance components and the plan (rounds, pairs) they give."""
    aa = [c for record in aa_records for c in judge(record, 0.0)["configurations"]]
    slowed = [c for record in slowed_records for c in judge(record, 0.0)["configurations"]]
    floor = chosen_floor(aa)
    candidates = sorted({round(FLOOR_STEP * step, 4) for step in range(0, 11)} | {floor})
    found = stats.pooled([stats.Components(c["variance"]["within_pair_variance"],
                                           c["variance"]["between_pair_variance"],
                                           c["variance"]["rounds_per_pair"], c["variance"]["pairs"])
                          for c in aa if "variance" in c])
    cost = costs([*aa_records, *slowed_records])
    planned = stats.plan(found, cost["pair_start_s"], cost["round_s_per_configuration"], target_half_width, max_pairs)
    flagged = [c for c in slowed if verdict_of(c, floor) == stats.SLOWER]
    slowed_ratios = [math.log(m) for c in slowed for m in c["pair_medians"]]
    return {
        "chosen_floor": floor,
        "rule": f"the smallest floor (in steps of {FLOOR_STEP}) at which no A/A comparison is flagged, "
                f"at least {MIN_FLOOR}",
        "alarms_per_floor": [{"floor": f, "aa_alarms": len(alarms(aa, f)),
                              "slowed_flagged": sum(verdict_of(c, f) == stats.SLOWER for c in slowed)} for f in candidates],
        "aa": {"comparisons": len(aa), "false_alarms": len(alarms(aa, floor)), "configurations": aa},
        "slowed": {"comparisons": len(slowed), "flagged_slower": len(flagged),
                   "measured_cost_ratio": math.exp(statistics.fmean(slowed_ratios)) if slowed_ratios else None,
                   "configurations": slowed},
        "variance": found.record(),
        "costs": cost,
        "plan": {"rounds": planned.rounds, "pairs": planned.pairs, "expected_half_width": planned.half_width,
                 "target_half_width": target_half_width, "max_pairs": max_pairs, "why": planned.why},
    }
