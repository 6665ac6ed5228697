"""The page of a paper other than SReT (``reports/<paper>.md``), from its gate run ``reports/verify-<paper>.json``.

The verdict page is SReT's; every other paper checked the same way (``python -m bench.verify --paper
NAME``) gets a page of its own, linked by one line from the verdict page, so that a second paper
adds a page, not lines to a page that must stay short. Every value comes from a field of the
results file: the figures with their setting, the device a throughput needs, timm's published
top-1 beside a figure (labelled as timm's, never judged), the known deviations with their
explanations, and why each figure not measured was not. No torch.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from bench.page.markdown import date, number, table, wrap_prose
from bench.spec.verdicts import STATUSES

__all__ = ["link_line", "paper_name", "page_name", "render_paper", "verdict_words"]

DIGITS = {"gmacs": 3, "params_m": 3, "top1": 2, "images_per_s": 0}
LABEL = {"gmacs": "GMACs", "params_m": "params (M)", "top1": "top-1 (%)", "images_per_s": "images/s"}
WORDS = {"pass": "hold", "fail": "fail", "known-deviation": "known deviation", "subset": "on a subset",
         "not-measured": "not measured"}


def paper_name(document: dict[str, Any]) -> str:
    return str(document.get("paper") or "")


def page_name(paper: str) -> str:
    """``pit`` -> ``pit.md``: where a paper's page is written, beside latest.md."""
    return f"{paper}.md"


def verdict_words(document: dict[str, Any]) -> str:
    """"of the 65 published figures, 17 hold, 0 fail, 5 known deviation, 43 not measured"."""
    counts = Counter(row["status"] for row in document["results"])
    parts = ", ".join(f"{counts.get(status, 0)} {WORDS[status]}" for status in STATUSES
                      if counts.get(status) or status in ("pass", "fail"))
    return f"of the {len(document['results'])} published figures, {parts}"


def link_line(papers: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """The verdict page's one line to the other papers' pages (nothing when there are none)."""
    if not papers:
        return []
    links = "; ".join(f"[{document.get('paper_title') or paper_name(document)}]({page_name(paper_name(document))}) "
                      f"({verdict_words(document)})" for _, document in papers)
    return [f"Other papers checked the same way, from their folders alone: {links}.", ""]


def _measured(row: dict[str, Any]) -> str:
    return number(row["measured"], DIGITS.get(row["metric"], 3))


def _status(value: str) -> str:
    return "**fail**" if value == "fail" else value


def render_paper(name: str, document: dict[str, Any]) -> str:
    """The page of one paper's results file ``name`` (as the page shows it)."""
    paper = paper_name(document)
    rows = document["results"]
    title = document.get("paper_title") or paper
    lines = [f"# {title}: do the published figures hold?", "",
             f"**Verdict: {verdict_words(document)}.** Checked by `bench.verify --paper {paper}` on "
             f"{date(document)} from the paper's folder alone (`{document.get('paper_folder') or 'papers/' + paper}`, "
             "no code of its own); "
             f"results file `{name}`, written by `{' '.join(document['argv'])}` at commit "
             f"`{str(document['environment'].get('git_commit') or 'unknown')[:12]}`. Regenerate this page with "
             f"`python -m bench.report --page {paper} > reports/{page_name(paper)}`. SReT's verdict is on "
             "[the verdict page](latest.md).", "",
             "Each figure holds when the measurement rounds to it as printed (`0.71` accepts [0.705, 0.715)); no "
             "tolerance is added. GMACs are multiply-adds of one image counted by fvcore, attention as its two "
             "matmuls; params are all parameters, in millions.", "", "## Figures", ""]
    timm_top1 = any(row.get("timm_top1_text") for row in rows)
    headers = ["model", "setting", "size", "metric", "published", "measured", "status",
               *(["timm's top-1 (timm's, beside)"] if timm_top1 else []), "source"]
    lines += [table([[row["model"], row.get("setting") or "-", row["img_size"], LABEL.get(row["metric"], row["metric"]),
                      row["published_text"], _measured(row), _status(row["status"]),
                      *([row.get("timm_top1_text") or "-"] if timm_top1 else []), row["source"]] for row in rows],
                    headers), ""]
    if timm_top1:
        lines += ["timm's top-1 is timm's own validation of the weights the paper's setting names (`weights.csv`: "
                  "which setting is which timm tag, and why), copied as timm published it; it is not the paper's "
                  "figure and not measured here, so no status rests on it.", ""]
    deviations = [row for row in rows if row["status"] == "known-deviation"]
    folder = document.get("paper_folder") or f"papers/{paper}"
    lines += ["## Known deviations", "",
              f"The explanations are kept in [{folder}/deviations.md](../{folder}/deviations.md), each for the one "
              "measurement it records; a measurement that moves away from it fails.", ""]
    if not deviations:
        lines += ["None.", ""]
    for row in deviations:
        key = " ".join(str(part) for part in (row["model"], row["img_size"], row["metric"], row.get("setting")) if part)
        lines += [f"### {key}: published {row['published_text']}, measured {_measured(row)}", "",
                  f"{row['comparison']}.", "", f"> {row['deviation']}", ""]
    for row in rows:
        if row["deviation_stale"]:
            lines += [f"Stale: {row['model']} {row['metric']} is marked a known deviation but now holds.", ""]
    reasons: dict[str, list[str]] = {}
    for row in rows:
        if row["status"] == "not-measured":
            reasons.setdefault(row["method"], []).append(
                " ".join(part for part in (row["model"], row.get("setting") or "", LABEL.get(row["metric"], ""))
                         if part))
    if reasons:
        lines += ["## Not measured", ""]
        lines += [f"- {reason} ({len(figures)}: {', '.join(figures)})" for reason, figures in reasons.items()]
        lines += [""]
    environment = document["environment"]
    versions = ", ".join(f"{package} {environment[package]}" for package in ("timm", "torch", "fvcore")
                         if environment.get(package))
    lines += ["## How it was measured", "",
              f"One image at the figure's size, eval mode, on {environment.get('device_name') or 'the CPU'} ({versions}): "
              "fvcore multiply-adds (fused attention counted as its two matmuls, as the explicit form computes "
              "them) and unique parameters, each model counted once however many figures name it. A throughput "
              "is published for a named device and batch size and is measured only on that device; a top-1 needs "
              "the released weights and ImageNet-1k val.", ""]
    return "\n".join(wrap_prose(lines)).rstrip("\n") + "\n"
