"""The page's operator profile: where each model's CPU time goes, per operator family, precision and form.

It answers what a throughput ratio cannot: which operators hold a model back, for instance why
bf16 helps SReT less than DeiT, or what compiling leaves of the release's formulation. Shares only: the profiler's overhead makes its milliseconds no
throughput figure (``bench.measure.op_profiler``).
"""
from __future__ import annotations

from typing import Any

from bench.page.markdown import date, device_label
from bench.page.results import Results
from bench.page.section import Section, Table

OP_PROFILE = "op-profile"
FORM_LABELS = {"eager": "eager", "compiled": "torch.compile", "release_formulation": "release formulation"}


def _support(config: dict[str, Any]) -> str:
    support = config["bf16_support"]
    native = [flag for flag in ("avx512_bf16", "amx_bf16") if support.get(flag)]
    return (f"native bf16 ({', '.join(native)})" if native
            else "no native bf16 (no avx512_bf16, no amx_bf16: oneDNN runs bf16 without bf16 units)")


def _compiled(config: dict[str, Any]) -> str:
    settings = config.get("compile_settings")
    if not settings:
        return ""
    choice = config.get("kernel_choice") or {}
    decided = (f" (oneDNN linear from {choice['onednn_min_macs']:,} MACs eager, SDPA from "
               f"{choice['sdpa_min_tokens']} tokens)") if choice else ""
    return (f" Compiled: torch.compile, {settings['backend']} {settings['mode']}, the {settings['policy']} policy"
            f"{decided}, inductor {settings['inductor_config']}, dynamic batch {settings['dynamic_batch']}: "
            "the form bench.model_speed times.")


def op_profile_section(results: Results) -> list[Section]:
    """One section per profile file: each family's share of the profiled time, per model, form and precision."""
    sections = []
    for name, document in results.op_profile:
        rows = document["results"]
        families = sorted({family for row in rows for family in row["share"]})
        table = [[row["model"], row["img_size"], FORM_LABELS.get(row["form"], row["form"]), row["precision"],
                  *(f"{100 * row['share'].get(family, 0.0):.1f}" for family in families),
                  ", ".join(f"{op['op']} {100 * op['share']:.0f}%" for op in row["top_ops"][:3])] for row in rows]
        config = document["config"]
        by_form = ", by form" if {row["form"] for row in rows} != {"eager"} else ""
        section = Section(f"Where the CPU time goes{by_form} ({device_label(document['environment'])})",
                          key=f"{OP_PROFILE}:{name}")
        section.add(f"Measured {date(document)}, batch {config['batch_size']}, {config['threads']} threads, "
                    f"eager with {config['kernels']} kernels, {config['steps']} profiled forward passes after "
                    f"{config['warmup']} warm-up; this CPU has {_support(config)}. Share of the profiled CPU self "
                    "time per operator family, in percent. " + document["method"]
                    + _compiled(config),
                    Table(table, ["model", "size", "form", "precision", *(f"{f} (%)" for f in families),
                                  "heaviest operators"], [name]))
        sections.append(section)
    return sections
