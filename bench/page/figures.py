"""The page's sections read from the gate's results: the published figures, the deviations, the
paper's claims, the released models' function against the official code, and the three counters.

Every value comes from a field of ``verify.json`` (the gate writes comparisons, methods and
explanations as fields), so nothing here parses a note or a source string.
"""
from __future__ import annotations

from typing import Any

from bench.page.markdown import anchor, number, significant
from bench.page.results import Results
from bench.page.section import Section, Table
from bench.spec.paper_values import PAPERS_WITH_CODE, TIMM_RESULTS
from bench.spec.verdicts import SUBSET

CLAIMS_TITLE = "Claims of the paper's text"
METRIC_DIGITS = {"gmacs": 3, "params_m": 3, "top1": 2}
METRIC_LABEL = {"gmacs": "GMACs", "params_m": "params (M)", "top1": "top-1 (%)"}
HEADLINE, README, DEVIATIONS, CLAIMS, FUNCTION, COUNTERS = (
    "headline", "readme", "deviations", "claims", "function", "counters")


def measured(row: dict[str, Any]) -> str:
    return number(row["measured"], METRIC_DIGITS.get(row["metric"], 3))


def status(value: str) -> str:
    """Statuses as words, a failure in bold so it cannot be missed in a long table."""
    return "**fail**" if value == "fail" else value


def figure_key(row: dict[str, Any]) -> str:
    return f"{row['model']} {row['img_size']} {row['metric']}"


def by_model(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Rows grouped by model, then by the second key of each row (a metric, a policy), in order."""
    grouped: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["model"], {})[row.get("metric") or row.get("policy")] = row
    return grouped


def failing_lines(verify: dict[str, Any]) -> list[str]:
    lines = [f"- **fail**: {figure_key(row)}: published {row['published_text']}, measured {measured(row)} "
             f"({row['comparison']})" for row in verify["results"] if row["status"] == "fail"]
    lines += [f"- **fail**: claim {claim['claim_id']}: published {claim['published_low']}-"
              f"{claim['published_high']} {claim['unit']}, measured {significant(claim['measured'])}"
              for claim in verify["claims"] if claim["status"] == "fail"]
    lines += [f"- **fail**: {row['model']} under {row['policy']} kernels computes another function than the official "
              f"code ({row['diagnosis']})" for row in verify["function"] if row["status"] == "fail"]
    return lines


def headline_section(results: Results) -> list[Section]:
    name, verify = results.verify
    rows = [row for row in verify["results"] if row["source_kind"] == PAPERS_WITH_CODE]
    section = Section("The four Papers-with-Code figures", key=HEADLINE)
    if not rows:
        return [section.add("Not in this verify run (it was restricted with `--models`).")]
    section.add(Table([[row["source_row"] + (" (reconstructed: never released)" if row["reconstructed"] else ""),
                        row["img_size"], METRIC_LABEL[row["metric"]], row["published_text"], measured(row),
                        status(row["status"]), row["source"]] for row in rows],
                      ["figure", "size", "metric", "published", "measured", "status", "source"], [name]))
    if any(row["reconstructed"] for row in rows):
        section.add("SReT-ExT was never released (no code, no checkpoint): its architecture is "
                    "reconstructed, so its row checks our reconstruction, not the authors' model.")
    return [section.add("GMACs are multiply-adds of one image, counted with fvcore; the paper and Papers with Code "
                        "print them as \"GFLOPs\".")]


def readme_section(results: Results) -> list[Section]:
    name, verify = results.verify
    rows = [row for row in verify["results"] if row["source_kind"] not in (PAPERS_WITH_CODE, TIMM_RESULTS)]
    section = Section("Official README figures (released checkpoints)", key=README)
    if not rows:
        return [section.add("Not in this verify run.")]
    grouped = by_model(rows)
    metrics = [m for m in METRIC_LABEL if any(m in t for t in grouped.values())]
    headers = ["README row", "model", "size"]
    for metric in metrics:
        headers += [f"{METRIC_LABEL[metric]} published / measured", "status"]
    table = []
    for tag, metric_rows in grouped.items():
        first = next(iter(metric_rows.values()))
        line = [first["source_row"], tag, first["img_size"]]
        for metric in metrics:
            row = metric_rows.get(metric)
            line += [f"{row['published_text']} / {measured(row)}", status(row["status"])] if row else ["-", "-"]
        table.append(line)
    section.add(Table(table, headers, [name]),
                "Each figure holds when the measurement rounds to it as printed (`1.1` accepts [1.05, 1.15)); "
                "no tolerance is added. ⋇ marks a model without slicing.")
    reasons: dict[str, list[str]] = {}
    for row in rows:
        if row["status"] == "not-measured":
            reasons.setdefault(row["method"], []).append(f"{row['model']} {row['metric']}")
    for reason, figures in reasons.items():
        section.add(f"Not measured ({len(figures)} figures: {', '.join(figures)}): {reason}.")
    for row in rows:
        if row["status"] == SUBSET:
            section.add(f"On a subset: {row['model']} {row['metric']} {measured(row)}, {row['comparison']}; "
                        f"{row['method']}; neither a pass nor a failure.")
    return [section]


def _deviation_blocks(comparison: str, deviation: str, how: str = "") -> list[str]:
    blocks = [f"{comparison}.", f"> {deviation}"]
    return blocks + ([f"How it was measured, and the figure's note: {how}."] if how else [])


def deviations_section(results: Results) -> list[Section]:
    verify = results.verify_document
    section = Section("Known deviations", key=DEVIATIONS)
    rows = [row for row in verify["results"] if row["status"] == "known-deviation"]
    claims = [claim for claim in verify["claims"] if claim["status"] == "known-deviation"]
    if not rows and not claims:
        section.add("None.")
    for row in rows:
        how = "; ".join(part for part in (row["method"], row["published_note"]) if part)
        section.add(Section(f"{figure_key(row)}: published {row['published_text']}, measured {measured(row)}",
                            _deviation_blocks(row["comparison"], row["deviation"], how), level=3))
    if claims:
        section.add("Claims: " + ", ".join(f"`{claim['claim_id']}`" for claim in claims)
                    + ", explained under [the claims](#" + anchor(CLAIMS_TITLE) + ").")
    for row in verify["results"]:
        if row["deviation_stale"]:
            section.add(f"Stale: {figure_key(row)} is marked a known deviation but now holds ({row['comparison']}).")
    return [section.add("The explanations are kept in [expected/deviations.md](../expected/deviations.md).")]


def claims_section(results: Results) -> list[Section]:
    name, verify = results.verify
    section = Section(CLAIMS_TITLE, key=CLAIMS)
    if not verify["claims"]:
        return [section.add("None checked in this verify run.")]
    section.add(Table([[claim["claim_id"], claim["claim"], f"{claim['published_low']:g}-{claim['published_high']:g} "
                        f"{claim['unit']}", significant(claim["measured"]), status(claim["status"]), claim["source"]]
                       for claim in verify["claims"]],
                      ["claim", "as stated", "published", "measured", "status", "source"], [name]))
    for claim in verify["claims"]:  # the method names the figures behind it; the details stay in the results file
        blocks = [f"{claim['method']}; {claim['comparison']}."]
        if claim["status"] == "known-deviation" and claim.get("deviation"):
            blocks.append(f"> {claim['deviation']}")
        section.add(Section(claim["claim_id"], blocks, level=3))
    return [section]


def _difference(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}"


def function_section(results: Results) -> list[Section]:
    """The released models against the official code: one row per model, a column per policy."""
    name, verify = results.verify
    section = Section("What each released model computes, against the official code", key=FUNCTION)
    rows = verify["function"]
    if not rows:
        return [section.add("Not in this verify run (no released model selected).")]
    policies = list(dict.fromkeys(row["policy"] for row in rows))
    table = []
    for model, cells in by_model(rows).items():
        first = next(iter(cells.values()))
        table.append([model, first["row"], first["img_size"],
                      *(f"{_difference(cells[p]['measured'])} {status(cells[p]['status'])}" if p in cells else "-"
                        for p in policies)])
    section.add(f"These rows check our rebuild against the release, not the paper's figures: source "
                f"{rows[0]['source']}. {verify['function_method']}",
                Table(table, ["released model", "official row", "size",
                              *(f"max abs logit difference, {p} kernels" for p in policies)], [name]))
    failed = [f"- {row['model']}, {row['policy']}: {row['diagnosis']}." for row in rows if row["status"] == "fail"]
    return [section.add("\n".join(failed))] if failed else [section]


def counters_section(results: Results) -> list[Section]:
    name, verify = results.verify
    table = [[key, number(count["fvcore_macs"] / 1e9), number(count["thop_macs"] / 1e9),
              number(count["torch_counter_macs"] / 1e9), number(count["params"] / 1e6),
              "; ".join(count.get("differences") or []) or "they agree"] for key, count in verify["counters"].items()]
    return [Section("Three FLOP counters side by side", [verify["counters_method"], Table(
        table, ["model@size", "fvcore GMACs", "thop GMACs", "torch counter GMACs", "params (M)",
                "where they differ (GMACs per category)"], [name])], key=COUNTERS)]
