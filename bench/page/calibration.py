"""The page's speed-gate sections: the last revision comparison, and the calibration under it.

A speed verdict is only as good as its floor and its noise: the calibration shows the false
alarms of A/A comparisons (a revision against itself) at each floor, the floor chosen, how many
comparisons against a deliberately slowed revision that floor flags, the noise within and between
process pairs, and the plan (rounds, pairs) the gate runs with.
"""
from __future__ import annotations

from typing import Any, Mapping

from bench.page.markdown import date, device_label
from bench.page.results import Results
from bench.page.section import Section, Table

CALIBRATION = "speed-gate-calibration"
LAST_COMPARISON = "speed-gate-last-comparison"


def _interval(row: Mapping[str, Any]) -> str:
    return "-" if row["ratio_low"] is None else f"{row['ratio_low']:.3f}-{row['ratio_high']:.3f}"


def comparison_section(name: str, document: Mapping[str, Any]) -> Section:
    """The last ``bench.compare --revisions`` run: each configuration's ratio, interval and verdict."""
    compared, judged = document["revisions"], document["judged"]
    base, new = compared["base"], compared["new"]
    settings = compared["settings"]
    section = Section(f"Speed gate: the last revision comparison ({device_label(document['environment'])})",
                      key=LAST_COMPARISON)
    section.add(f"Measured {date(document)}: NEW `{new['commit'][:10]}`{' (dirty)' if new['dirty'] else ''} "
                f"against BASE `{base['commit'][:10]}`, {settings['pairs']} process pairs x {settings['rounds']} "
                f"rounds, {settings['threads']} threads, ASLR {'off' if compared['aslr_off'] else 'on'}, OpenMP "
                f"passive waiting; floor {judged['floor']}. Ratios are NEW over BASE images/s; the interval is a t "
                "interval over the process pairs.")
    rows = [[row["configuration"], f"{row['ratio']:.3f}", _interval(row), len(row["pair_medians"]),
             row["verdict"]] for row in judged["configurations"]]
    section.add(Table(rows, ["configuration", "ratio", "95% interval", "pairs", "verdict"], [name]))
    loads = [pair["load"]["other_processes_cores"] for pair in compared["pairs"]
             if pair["load"]["other_processes_cores"] is not None]
    if loads:
        section.add(f"Other processes used at most {max(loads):.2f} cores while rounds ran (the limit is "
                    f"{judged['load_limit_cores']}).")
    return section


def calibration_section(name: str, document: Mapping[str, Any]) -> Section:
    floor, aa, slowed, variance, plan = (document[key] for key in ("chosen_floor", "aa", "slowed", "variance", "plan"))
    section = Section(f"Speed gate calibration ({device_label(document['environment'])})", key=CALIBRATION)
    cost = slowed["measured_cost_ratio"]
    section.add(f"Measured {date(document)}: {aa['comparisons']} A/A comparisons (a revision against itself) and "
                f"{slowed['comparisons']} against it with `tests/fixtures/{document['config']['patch']}` applied "
                f"(which ran at {cost:.3f}x its images/s over all their pairs). {document['rule'].capitalize()}: "
                f"**{floor:.3f}**, the default floor of `bench.compare --revisions`. At it, **{aa['false_alarms']} "
                f"of {aa['comparisons']}** A/A comparisons raise an alarm and **{slowed['flagged_slower']} of "
                f"{slowed['comparisons']}** slowed ones are flagged `slower`.")
    section.add(Table([[f"{row['floor']:.3f}", row["aa_alarms"], row["slowed_flagged"]]
                       for row in document["alarms_per_floor"]],
                      ["floor (abs(ratio - 1))", "A/A alarms", "slowed flagged"], [name]))
    section.add(f"Noise (sd of log ratios): {variance['within_pair_sd_percent']:.2f}% from round to round within a "
                f"process pair, {variance['between_pair_sd_percent']:.2f}% from pair to pair beyond that. The gate's "
                f"plan from them: {plan['rounds']} rounds x {plan['pairs']} pairs ({plan['why']}).")
    return section


def speed_gate_sections(results: Results) -> list[Section]:
    """The last revision comparison (if committed), then each calibration."""
    sections = [comparison_section(name, document) for name, document in results.compare
                if document["config"].get("mode") == "revisions"][-1:]
    return sections + [calibration_section(name, document) for name, document in results.speed_calibration]
