"""Does each released model compute what the official code computes? The gate's function rows.

For every released row, the model is built, given the recorded recipe weights, and run on the
recorded input under each kernel policy (and compiled, when asked); the row is the largest
absolute difference from the official logits, which passes within the recording's tolerance.
Weights and input are small integers times powers of two, so they are the same on every CPU,
and the residual coefficients and norms are not the identity, so no block can hide.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

import sret  # noqa: F401  (registers the models)
from bench.measure import compiled
from bench.spec.data_files import ExpectedError
from bench.spec.function_rule import COMPILED, judge_function_rows
from bench.spec.official import FORWARD_SEED, FunctionRow, OfficialFunction
from sret.kernels import KERNEL_POLICIES, apply_kernel_policy

Builder = Callable[..., nn.Module]
EAGER_POLICIES = tuple(KERNEL_POLICIES)
BATCH = 2

METHOD = (
    f"Each released row's model, built as timm.create_model(tag) and loaded with the recorded recipe weights "
    f"(small integers times powers of two, the same on every CPU), in eval mode under torch.no_grad() on the "
    f"CPU in float32, called on the recorded ({BATCH}, 3, S, S) input right after torch.manual_seed({FORWARD_SEED}); "
    "the largest absolute difference from the official code's logits on the same weights and input. Each kernel "
    f"policy runs on the same weights; '{COMPILED}' is torch.compile of the stock model.")


def recipe_tensor(shape: Sequence[int], seed: int, exponent: int, offset: float) -> torch.Tensor:
    """One recorded tensor: integers in [-4096, 4096] from ``seed``, times 2^(exponent-12), plus ``offset``."""
    draws = torch.randint(-4096, 4097, tuple(shape), generator=torch.Generator().manual_seed(seed))
    return draws.to(torch.float32) * 2.0 ** (exponent - 12) + offset


def recipe_input(image_size: int, batch: int = BATCH) -> torch.Tensor:
    """The recorded input: pixels 0..255 from seed 0, centred and scaled by 2^-6."""
    pixels = torch.randint(0, 256, (batch, 3, image_size, image_size), generator=torch.Generator().manual_seed(0))
    return (pixels.to(torch.float32) - 128) * 2.0 ** -6


def recipe_weights(model: nn.Module, recipe: dict[str, tuple[int, int, float]]) -> dict[str, torch.Tensor]:
    """The model's state dict with every recorded key set by its recipe (counters left as built).

    Raises ``KeyError`` naming the first key that the model and the release do not share.
    """
    state = model.state_dict()
    ours = {key for key in state if not key.endswith("num_batches_tracked")}
    missing, extra = sorted(set(recipe) - ours), sorted(ours - set(recipe))
    if missing or extra:
        raise KeyError(f"the model has no key {missing[0]}" if missing else f"the model's key {extra[0]} is not released")
    return {key: recipe_tensor(tensor.shape, *recipe[key]) if key in recipe else tensor for key, tensor in state.items()}


def official_logits(path) -> dict[str, torch.Tensor]:
    """The recorded logits, row name -> (2, 1000) float32."""
    from safetensors.torch import load_file

    return load_file(str(path))


def seeded_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's logits right after the recorded seed; the global RNG is left as it was."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(FORWARD_SEED)
        return model(x)


def _prepared(model: nn.Module, policy: str, x: torch.Tensor) -> nn.Module:
    if policy == COMPILED:
        compiled_model = compiled.compile_model(apply_kernel_policy(model, "stock"), compiled.DEFAULT)
        seeded_logits(compiled_model, x)  # compile outside the measured pass
        return compiled_model
    return apply_kernel_policy(model, policy)


def _run_policies(row: FunctionRow, recording: OfficialFunction, policies: Sequence[str],
                  build: Builder) -> dict[str, torch.Tensor | str]:
    """Each policy's logits for one row's model, or the problem that stopped it from running."""
    try:
        model = build(row.architecture, img_size=row.image_size).eval()
        model.load_state_dict(recipe_weights(model, recording.recipe(row)))
    except (KeyError, RuntimeError, ValueError, TypeError) as error:
        message = error.args[0] if isinstance(error, KeyError) else str(error)  # str() quotes a KeyError
        problem = f"the model does not take the release's weights: {message.splitlines()[0]}"
        return {policy: problem for policy in policies}
    x = recipe_input(row.image_size)
    out: dict[str, torch.Tensor | str] = {}
    for policy in policies:
        try:
            out[policy] = seeded_logits(_prepared(model, policy, x), x)
        except Exception as error:  # a model that cannot run is a failed row, not a crashed gate
            out[policy] = f"the forward pass raised {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return out


def _compare(run: torch.Tensor | str, official: torch.Tensor) -> tuple[float | None, str]:
    """(largest |logit - official|, "") or (None, why nothing comparable ran)."""
    if isinstance(run, str):
        return None, run
    if run.shape != official.shape:
        return None, f"logits of shape {tuple(run.shape)}, the official {tuple(official.shape)}"
    return (run.float() - official).abs().max().item(), ""


def function_rows(recording: OfficialFunction, architectures: Iterable[str] | None = None,
                  policies: Sequence[str] = EAGER_POLICIES, build: Builder | None = None,
                  progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """One gate row per released row and policy: the largest logit difference from the official code, judged
    by :func:`bench.spec.function_rule.judge_function_rows` (tolerance, status, diagnosis).

    ``architectures`` selects the rows (all when None). Rows of one architecture and recipe
    (a checkpoint and its distilled twin) share one forward pass per policy.
    """
    if not policies:
        return []
    if build is None:
        import timm

        build = timm.create_model
    wanted = None if architectures is None else set(architectures)
    logits = official_logits(recording.logits_path)
    unrecorded = [row.row for row in recording.rows if row.row not in logits]
    if unrecorded:
        raise ExpectedError(f"{recording.logits_path} holds no logits for row {unrecorded[0]}")
    rows, runs = [], {}
    for row in recording.rows:
        if wanted is not None and row.architecture not in wanted and row.tag not in wanted:
            continue
        if progress is not None:
            progress(row.tag)
        key = (row.architecture, row.image_size, row.recipe_name)
        if key not in runs:
            runs[key] = _run_policies(row, recording, policies, build)
        for policy, run in runs[key].items():
            difference, problem = _compare(run, logits[row.row])
            rows.append({"row": row.row, "model": row.tag, "architecture": row.architecture,
                         "img_size": row.image_size, "policy": policy, "measured": difference, "problem": problem,
                         "source": recording.source})
    return judge_function_rows(rows, recording.atol)
