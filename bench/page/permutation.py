"""The page's note on sliced models: their outputs depend on a random permutation.

Sliced group self-attention shuffles the tokens before slicing them in the recursive
applications, drawing ``torch.randperm`` in every forward pass, at inference too. So the logits,
and the top-1, of such a model depend on the permutation seed. Which models draw one the gate
recorded from the models it built (``verify.json``'s ``models``); the spread over seeds comes from
the accuracy results that ran several seeds.
"""
from __future__ import annotations

from bench.core.names import architecture
from bench.page.results import Results
from bench.page.section import Section, Table

PERMUTATION = "permutation"


def permutation_section(results: Results) -> list[Section]:
    """Which models of the page draw a permutation, and the top-1 spread over seeds where measured."""
    described = results.verify_document["models"]
    sliced = sorted(name for name, info in described.items() if info["draws_permutation"])
    section = Section("Sliced models depend on the permutation seed", key=PERMUTATION)
    if not sliced:
        return [section.add("No model on this page draws a random permutation.")]
    section.add(f"{', '.join(f'`{name}`' for name in sliced)} (and their pretrained tags) slice the tokens of "
                "their recursive attention after a random permutation (`torch.randperm`), drawn in every forward "
                "pass, at inference too. Their logits and top-1 therefore depend on the permutation seed "
                "(`bench.accuracy --seeds`, `model.set_permutation_seed`); models without slicing (⋇) do not.")
    rows = []
    for name, document in results.accuracy:
        if architecture(document["model"]) not in sliced:
            continue
        if len(document["seeds"]) > 1:
            spread = (f"{document['top1_min']:.3f}-{document['top1_max']:.3f} (std {document['top1_std']:.3f}) "
                      f"over seeds {', '.join(map(str, document['seeds']))}")
        else:
            spread = f"not measured (one seed: {document['seeds'][0]})"
        rows.append([document["model"], f"{document['images']} images of {document['classes']} classes",
                     spread, f"`{name}`"])
    measured = {architecture(row[0]) for row in rows}
    rows += [[name, "-", "not measured (no accuracy results file)", "-"] for name in sliced if name not in measured]
    return [section.add(Table(rows, ["model", "evaluated on", "top-1 (%) spread over seeds", "file"],
                              [name for name, _ in results.accuracy]),
                        "The spread of the logits over seeds is not measured by any results file.")]
