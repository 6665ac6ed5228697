"""The page's top-1 section: what the gate measured, SReT among its peers, and every accuracy file."""
from __future__ import annotations

from pathlib import Path

from bench.core.schema import is_full_val
from bench.page import peers_report
from bench.page.markdown import device_label
from bench.page.results import Results
from bench.page.section import Section, Table
from bench.spec.verdicts import SUBSET

ACCURACY, PEERS = "accuracy", "peers"


def accuracy_section(results: Results, plot_link: str | None) -> list[Section]:
    name, verify = results.verify
    top1_rows = [row for row in verify["results"] if row["metric"] == "top1"]
    measured = [row for row in top1_rows if row["measured"] is not None and row["status"] != SUBSET]
    subset = [row for row in top1_rows if row["status"] == SUBSET]
    section = Section("Top-1 and GMACs", key=ACCURACY)
    section.add(f"`bench.verify` measured {len(measured)} of the {len(top1_rows)} published top-1 figures on "
                f"ImageNet-1k val" + (f", and {len(subset)} on a subset, not comparable" if subset else "")
                + " (see the README table above for each, and why the others were not measured).")
    section.add(peers_report.section(verify, [d for _, d in results.accuracy], plot_link, name, key=PEERS))
    files = Section("Top-1 measured by `bench.accuracy`", level=3)
    section.add(files)
    if not results.accuracy:
        files.add("Not measured: no accuracy results file (`python -m bench.accuracy --json ...`).")
        return [section]
    table = []
    for file_name, document in results.accuracy:
        scope = ("ImageNet-1K val" if is_full_val(document) else
                 f"{document['images']} images of {document['classes']} classes: not the ImageNet-1K val "
                 f"top-1, not comparable to a published figure")
        spread = (f"{document['top1_min']:.3f} / {document['top1_max']:.3f} / {document['top1_std']:.3f}"
                  if len(document["seeds"]) > 1 else "- (one seed)")
        table.append([document["model"], Path(document["checkpoint"]).name, scope,
                      ", ".join(map(str, document["seeds"])), f"{document['top1']:.3f}",
                      ", ".join(f"{value:.3f}" for value in document["top1_per_seed"]), spread,
                      f"{document['top5']:.3f}", device_label(document["environment"]), file_name])
    files.add(Table(table, ["model", "checkpoint", "images", "seeds", "top-1 (%) mean", "top-1 per seed",
                            "top-1 min / max / std", "top-5 (%)", "device", "file"],
                    [file_name for file_name, _ in results.accuracy]))
    return [section]
