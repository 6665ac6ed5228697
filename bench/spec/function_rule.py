"""When a released model computes the official function: the rule of the gate's function rows.

A row holds when its largest absolute logit difference from the official code is within the
recording's tolerance (``bench.spec.official.FUNCTION_ATOL``); a failed row says where the
other function comes from: the model code when every policy fails, else the one policy's kernels.
Pure: the rows are measured by ``bench.measure.function``.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

__all__ = ["COMPILED", "diagnosis", "holds", "judge_function_rows"]

COMPILED = "compiled"  # torch.compile (inductor, default settings) of the stock model
# What runs under one policy alone, to name when only that policy fails.
POLICY_CODE = {"tuned": "sret/kernels.py, or the explicit attention it selects for short slices in sret/model.py",
               COMPILED: "inductor on this torch build"}
# The float rounding seen between CPUs and kernel policies, for the notes of failed rows.
ROUNDING_SEEN = 1.1e-6


def holds(difference: float | None, atol: float) -> bool:
    """Whether a row's largest logit difference is within ``atol`` (None, nothing ran, and NaN fail)."""
    return difference is not None and difference <= atol


def diagnosis(outcomes: Mapping[str, tuple[float | None, str]], policy: str, atol: float) -> str:
    """Why ``policy``'s row failed, given every policy's (difference, problem) on the same released row."""
    difference, problem = outcomes[policy]
    if difference is None:
        return problem + " (sret/ no longer builds the released model)"
    size = (f"{difference:.2g} from the official logits, above the tolerance {atol:g}; float "
            f"rounding across CPUs and kernels stays near {ROUNDING_SEEN:.1g}")
    passing = [name for name, (other, _) in outcomes.items() if holds(other, atol)]
    if passing:
        return (f"{size}, and {', '.join(passing)} holds on the same weights: the code only the {policy} policy "
                f"runs computes another function ({POLICY_CODE.get(policy, 'its kernels')})")
    return f"{size}, under every policy: sret/ computes another function than the official code"


def judge_function_rows(rows: Sequence[Mapping[str, Any]], atol: float) -> list[dict[str, Any]]:
    """Each measured row (``row``, ``policy``, ``measured``, ``problem``, ...) with its tolerance, status and
    diagnosis; the rows of one released row are judged together, so a diagnosis can name the policies that hold."""
    outcomes: dict[str, dict[str, tuple[float | None, str]]] = {}
    for row in rows:
        outcomes.setdefault(row["row"], {})[row["policy"]] = (row["measured"], row.get("problem", ""))
    judged = []
    for row in rows:
        passed = holds(row["measured"], atol)
        judged.append({**row, "tolerance": atol, "status": "pass" if passed else "fail",
                       "diagnosis": "" if passed else diagnosis(outcomes[row["row"]], row["policy"], atol)})
    return judged
