"""What the official SReT code computes, as recorded data: loading ``expected/official_function/``.

The gate's function rows compare each released model with the official code's eval logits on
weights and an input that every CPU regenerates bit for bit (small integers times powers of
two, exact in float32), so that they check what a model computes, not only what it costs.
Torch-free: the recipes are plain numbers here; ``bench.measure.function`` turns them into
tensors and runs the models.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench.spec.data_files import EXPECTED_DIR, ExpectedError

FUNCTION_DIR_NAME = "official_function"
# The function method of a run on a folder without recordings (optional: only SReT's has them).
NO_RECORDINGS = "No official-function recordings in this paper's folder: no function rows."
DEFAULT_FUNCTION_DIR = EXPECTED_DIR / FUNCTION_DIR_NAME
RECORDING = "function.json"
LOGITS = "logits.safetensors"

# Largest absolute logit difference from the official code that still counts as the same
# function. Float rounding across CPUs and kernel policies stays near 1e-6 (logits up to 2.9);
# the smallest function change we tried (tanh-approximate GELU) moves them by 5e-4.
FUNCTION_ATOL = 1e-5

# The forward pass of a sliced model draws its token permutations from the global generator,
# seeded with this right before the call (in the official order).
FORWARD_SEED = 1234
RECIPE_FIELDS = ("seed", "exponent", "offset")


@dataclass(frozen=True)
class FunctionRow:
    """One released row of the official README, with the recipe of the weights it was recorded on."""

    row: str  # the official name, e.g. SReT_T_distill
    tag: str  # our pretrained tag, e.g. sret_t.distill_in1k
    image_size: int
    recipe_name: str

    @property
    def architecture(self) -> str:
        return self.tag.split(".", 1)[0]


@dataclass(frozen=True)
class OfficialFunction:
    """The recorded official logits of every released row, and how to regenerate their inputs."""

    rows: list[FunctionRow]
    recipes: dict[str, dict[str, tuple[int, int, float]]]  # name -> state-dict key -> (seed, exponent, offset)
    source: str  # the official code the logits came from (repository and commit)
    logits_path: Path
    atol: float = FUNCTION_ATOL

    def recipe(self, row: FunctionRow) -> dict[str, tuple[int, int, float]]:
        return self.recipes[row.recipe_name]


def _recipe(path: Path, name: str, entries: object) -> dict[str, tuple[int, int, float]]:
    if not isinstance(entries, dict) or not entries:
        raise ExpectedError(f"{path}: recipe {name!r} is not a non-empty object of state-dict keys")
    recipe = {}
    for key, value in entries.items():
        if (not isinstance(value, list) or len(value) != 3 or not all(isinstance(v, int) for v in value[:2])
                or not isinstance(value[2], (int, float))):
            raise ExpectedError(f"{path}: recipe {name!r}, key {key!r}: expected [seed, exponent, offset], "
                                f"got {value!r}")
        recipe[key] = (value[0], value[1], float(value[2]))
    return recipe


def load_official_function(folder: str | Path = DEFAULT_FUNCTION_DIR) -> OfficialFunction:
    """The recordings of ``folder`` (``function.json`` and ``logits.safetensors``), validated;
    a bad file is one line naming it."""
    folder = Path(folder)
    path, logits = folder / RECORDING, folder / LOGITS
    for needed in (path, logits):
        if not needed.is_file():
            raise ExpectedError(f"official function recording {needed} does not exist "
                                "(tests/fixtures/record_official.py writes it)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExpectedError(f"{path} is not readable JSON ({error})") from None
    for field in ("source", "rows", "recipes"):
        if field not in data:
            raise ExpectedError(f"{path} has no {field!r} field")
    recipes = {name: _recipe(path, name, entries) for name, entries in data["recipes"].items()}
    rows = []
    for name, row in data["rows"].items():
        if not isinstance(row, dict) or set(row) != {"tag", "image_size", "recipe"}:
            raise ExpectedError(f"{path}: row {name!r} needs exactly tag, image_size and recipe")
        if row["recipe"] not in recipes:
            raise ExpectedError(f"{path}: row {name!r} names recipe {row['recipe']!r}, which is not in 'recipes'")
        if not isinstance(row["image_size"], int) or row["image_size"] <= 0:
            raise ExpectedError(f"{path}: row {name!r} has image_size {row['image_size']!r}")
        rows.append(FunctionRow(name, row["tag"], row["image_size"], row["recipe"]))
    if not rows:
        raise ExpectedError(f"{path}: no rows")
    return OfficialFunction(rows, recipes, data["source"], logits)
