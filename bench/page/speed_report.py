"""The speed page's sections besides throughput: model speed, slicing's cost in time, device runs.

How each file was timed is in the page's method and runs table (``bench.page.speed_method``);
a section here says only what its comparison is and shows its one table.
"""
from __future__ import annotations

import shlex
from typing import Any

from bench.page.markdown import date, device_label, number, significant
from bench.page.section import Section, Table
from bench.page.series import Series
from bench.page.speed_method import synthetic_blocks
from bench.page.throughput_section import median as _median, spread as _spread


def _run_headers(series: Series, what: str) -> list[str]:
    return [f"{what} run {index}" for index in range(1, len(series.runs) + 1)]


# --- model speed ---------------------------------------------------------------------------------

_MODEL_SPEED_FORMS = {"stock": "stock eager", "tuned": "tuned eager", "compiled": "compiled",
                      "release_code": "the released code itself"}


def model_speed_section(series: Series) -> list[Section]:
    first = series.documents[0]
    section = Section(f"Our SReT vs the release's formulation, same weights, on {device_label(first['environment'])}",
                      key=f"model_speed:{series.name}")
    head = first["results"][0] if first["results"] else {}
    section.add(f"{first['config']['dtype']}, batch {head.get('batch_size')}, {head.get('rounds')} interleaved "
                f"rounds of {head.get('iters_per_round')} calls per run; ratio = our images/s over the release "
                f"formulation's (`bench.measure.reference`), median of the per-round ratios (min-max), logits checked "
                f"equal first.")
    by_run = [{row["model"]: row for row in document["results"]} for document in series.documents]
    models = list(dict.fromkeys(model for run in by_run for model in run))
    body = []
    for model in models:
        rows = [run.get(model) for run in by_run]
        forms = list(dict.fromkeys(form for row in rows if row for form in row["ratios"]))
        for form in forms:
            ratios = [None if row is None else row["ratios"].get(form) for row in rows]
            present = [r for r in ratios if r is not None]
            goal = present[0].get("goal")
            verdicts = [r.get("met") for r in present]
            verdict = ("" if goal is None or None in verdicts else "met" if all(verdicts)
                       else "**not met**" + (f" in {verdicts.count(False)} of {len(verdicts)} runs"
                                             if len(verdicts) > 1 else ""))
            body.append([
                model, _MODEL_SPEED_FORMS.get(form, form),
                significant(_median([row["images_per_s"][row["reference"]] for row in rows if row])),
                significant(_median([row["images_per_s"].get(form) for row in rows if row])),
                *[("-" if r is None else f"{r['ratio_median']:.2f}x ({r['ratio_min']:.2f}-{r['ratio_max']:.2f})")
                  for r in ratios],
                _spread([None if r is None else r["ratio_median"] for r in ratios], ".2f"),
                "" if goal is None else f">= {goal:.2f}x", verdict,
                " / ".join(f"{r['ratio_of_best_calls']:.2f}x" for r in present if "ratio_of_best_calls" in r) or "-",
                significant(_median([100 * row["mfu"][form] for row in rows
                                     if row and row.get("mfu", {}).get(form) is not None])),
                f"{max(r['max_abs_logit_diff'] for r in present):.1e}"])
    section.add(Table(body, ["model", "ours", "release formulation img/s", "ours img/s", *_run_headers(series, "ratio,"),
                             "ratio over runs", "goal", "", "ratio of best calls (per run)", "MFU %",
                             "max abs logit diff"], series.files),
                "Images/s and MFU: median over runs. The goals are the CPU's; on another device none is judged.")
    if first["config"]["compile_settings"]:
        section.add(f"Compiled with `{first['config']['compile_settings']}`.")
    if not any("compiled" in row["ratios"] for row in first["results"]):
        section.add("The compiled form was not run (`--no-compile`): its goal is not measured.")
    if any(ratio.get("met") is False for document in series.documents for row in document["results"]
           for ratio in row["ratios"].values()):
        section.add("Where a goal is not met, `python -m bench.op_profile --forms release_formulation,eager,compiled` "
                    "says where the time goes that the form did not remove (the operator profile by form, where "
                    "this page has one).")
    return [section]


# --- slicing's cost in time --------------------------------------------------------------------


def gate_flop_reduction(verify: dict[str, Any], claim_id: str) -> dict[str, float]:
    """The gate's FLOP reduction by slicing per sliced model (verify.json, the details of claim ``claim_id``)."""
    claim = next((c for c in verify.get("claims", []) if c.get("claim_id") == claim_id), None)
    return {d["model"]: d["reduction_pct"] for d in (claim or {}).get("details") or [] if "reduction_pct" in d}


def slicing_section(series: Series, verify_name: str, verify: dict[str, Any]) -> list[Section]:
    first = series.documents[0]
    device = device_label(first["environment"])
    config = first["config"]
    claim_id = config["claim_id"]
    section = Section(f"Slicing's cost in time as well as FLOPs, on {device}", key=f"slicing:{series.name}")
    section.add("The paper says slicing \"reduces the cost consumption by 10~30%\"; the gate checks it in FLOPs "
                f"(claim `{claim_id}`). Here each sliced model and its `_wo_slice` partner run on the same "
                f"weights and kernels, interleaved, on {device}: a measurement, not a gate row.")
    section.add(f"{config['precision']}; {config['rounds']} interleaved rounds of {config['iters_per_round']} calls; "
                "time saved = 100 × (1 − sliced seconds / unsliced seconds) per round, median (round min to max).")
    gate = gate_flop_reduction(verify, claim_id)
    by_run = [{(p["model"], p["kernels"], p["batch_size_requested"]): p for p in document["pairs"]}
              for document in series.documents]
    keys = list(dict.fromkeys(key for run in by_run for key in run))
    body = []
    for key in keys:
        pairs = [run.get(key) for run in by_run]
        present = [p for p in pairs if p is not None]
        body.append([key[0], present[0]["over"], key[1], key[2],
                     significant(_median([p["images_per_s_sliced"] for p in present])),
                     significant(_median([p["images_per_s_wo_slice"] for p in present])),
                     *[("-" if p is None else f"{p['time_saved_pct_round_median']:.1f} "
                        f"({p['time_saved_pct_round_min']:.1f} to {p['time_saved_pct_round_max']:.1f})") for p in pairs],
                     _spread([None if p is None else p["time_saved_pct_round_median"] for p in pairs], ".1f"),
                     f"{present[0]['macs_saved_pct']:.1f}", number(gate.get(key[0]), 1)])
    return [section.add(Table(body, ["sliced", "without slicing", "kernels", "batch", "img/s sliced", "img/s without",
                                     *_run_headers(series, "time saved %,"), "time saved % over runs",
                                     "MACs saved % (this file)", "FLOPs saved % (the gate, verify.json)"],
                              [*series.files, verify_name]))]


# --- device runs (bench.gpu) ----------------------------------------------------------------------


def device_check_section(name: str, document: dict[str, Any], verify: dict[str, Any]) -> list[Section]:
    device = device_label(document["environment"])
    section = Section(f"The gate's models run on {device}", key=f"device_check:{name}")
    section.add(*synthetic_blocks([(name, document)]), f"From `{name}` ({date(document)}): {document['method']}.")
    verdict = document.get("verdict")
    if verdict:
        section.add("The gate's verdict from the counts made there: "
                    + ", ".join(f"{count} {status}" for status, count in verdict.items()) + ".")
    counts, committed = document.get("counts") or {}, verify["counters"]
    differ = [key for key, count in counts.items() if key in committed and (
        count["fvcore_macs"], count["params"]) != (committed[key]["fvcore_macs"], committed[key]["params"])]
    compared = [key for key in counts if key in committed]
    if compared:
        section.add(f"Multiply-adds and parameters equal the verify results' for all {len(compared)} models both "
                    "counted." if not differ else f"Counts differ from the verify results' for: {', '.join(differ)}.")
    rows = [[r["model"], r["img_size"], significant(r.get("max_abs_logit_diff")), significant(r.get("max_abs_logit")),
             "yes" if r.get("agrees") else "**no**", significant(r.get("forward_ms")), r.get("error") or ""]
            for r in document["results"]]
    if rows:
        section.add(Table(rows, ["model", "px", "max abs logit diff vs CPU", "max abs logit", "agrees",
                                 "first forward ms", "error"], [name]))
    return [section]


def gpu_run_section(name: str, document: dict[str, Any]) -> list[Section]:
    device = device_label(document["environment"])
    section = Section(f"`python -m bench.gpu` on {device}", key=f"gpu_run:{name}")
    section.add(*synthetic_blocks([(name, document)]),
                f"From `{name}` ({date(document)}): `{shlex.join(document['argv'])}`, "
                f"{document.get('elapsed_s')} s of a {document.get('budget_s')} s budget. Phases in priority order; "
                f"a unit started only when the budget left covered its estimate.")
    rows = []
    for phase in document["phases"]:
        skipped = "; ".join(f"{s['unit']} (~{s['estimate_s']} s needed, {s['left_s']} s left)"
                            for s in phase.get("skipped_for_time", []))
        errors = "; ".join(f"{e['unit']}: {e['error']}" for e in phase.get("errors", []))
        rows.append([phase["phase"], phase["status"], phase["seconds"], len(phase.get("units_done", [])),
                     skipped or "-", errors or "-", ", ".join(f"`{f}`" for f in phase.get("files", []))
                     or phase.get("note") or "-"])
    section.add(Table(rows, ["phase", "status", "s", "units done", "skipped for time", "failed", "files"], [name]))
    dtypes = (document.get("settings") or {}).get("dtypes") or {}
    if dtypes:
        section.add("Precisions: " + "; ".join(f"{k}: {v}" for k, v in dtypes.items()) + ".")
    return [section]
