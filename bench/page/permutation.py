"""The report's note on sliced models: their outputs depend on a random permutation.

Sliced group self-attention shuffles the tokens before slicing them in the recursive
applications (``groups_recursive`` > 1), drawing ``torch.randperm`` in every forward pass, at
inference too. So the logits, and the top-1, of such a model depend on the permutation seed.
Which models draw one is read from the models themselves (built on the meta device, no
weights), and the spread over seeds from the accuracy results that ran several seeds.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

from bench.page.evidence import architecture
from bench.page.markdown import table


@lru_cache(maxsize=None)
def draws_permutation(model: str) -> bool:
    """Whether ``model`` (an architecture or tag) shuffles tokens in any forward pass; False if not SReT."""
    import timm
    import torch

    import sret  # noqa: F401  (registers the sret_* models)

    name = architecture(model)
    if not timm.is_model(name) or not name.startswith("sret"):
        return False
    with torch.device("meta"):
        built = timm.create_model(name)
    return any(any(getattr(module, "slot_shuffled", ())) for module in built.modules())


def permutation_section(models: Sequence[str], accuracy: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """Which of ``models`` draw a permutation, and the top-1 spread over seeds where measured."""
    sliced = sorted({architecture(model) for model in models if draws_permutation(model)})
    lines = ["## Sliced models depend on the permutation seed", ""]
    if not sliced:
        return lines + ["No model on this page draws a random permutation.", ""]
    lines += [f"{', '.join(f'`{name}`' for name in sliced)} (and their pretrained tags) slice the tokens of "
              "their recursive attention after a random permutation (`torch.randperm`), drawn in every forward "
              "pass, at inference too. Their logits and top-1 therefore depend on the permutation seed "
              "(`bench.accuracy --seeds`, `model.set_permutation_seed`); models without slicing (⋇) do not.", ""]
    rows = []
    for name, document in accuracy:
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
    lines += [table(rows, ["model", "evaluated on", "top-1 (%) spread over seeds", "file"]), "",
              "The spread of the logits over seeds is not measured by any results file.", ""]
    return lines
