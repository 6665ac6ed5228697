"""SReT out of PyTorch (issue 20): ``torch.export`` and ONNX run by onnxruntime.

Exported, the slices stay random as released (drawn in the graph); with ``fix_permutations`` an
export computes what eager computes, to ONNX_ATOL, and, with the official draws, what the
official code computes. The ONNX tests need the deploy extra, which ``nox -s tests`` installs; a
missing package fails them with the install line instead of skipping.
"""
from __future__ import annotations

import sys

import pytest
import timm
import torch

import sret.export
from bench.measure.function import official_logits, recipe_input, recipe_weights
from bench.spec.official import FORWARD_SEED, load_official_function
from sret.export import MissingDependency, export_onnx, export_program, require
from sret.model import SReT

# float32 through another runtime's kernels: 1.5e-6 measured (onnxruntime 1.32, logits up to 2).
ONNX_ATOL = 1e-4
RANDOM_OPS = {"RandomUniform", "RandomUniformLike"}


def tiny(**overrides) -> SReT:
    """A small sliced SReT at 64 pixels (64 tokens in stage 0, 2 shuffled applications)."""
    args = dict(img_size=64, base_dims=(8, 8, 8), heads=(2, 2, 2), depth=(4, 2, 2), recursive_num=(2, 1, 1),
                groups_first=(4, 2, 1), groups_recursive=(2, 1, 1), mlp_ratio=2.0, num_classes=10)
    return SReT(**dict(args, **overrides)).eval()


def onnx_session(path):
    return require("onnxruntime").InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run_session(session, x: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])


def run_onnx(path, x: torch.Tensor) -> torch.Tensor:
    return run_session(onnx_session(path), x)


def onnx_ops(path) -> set[str]:
    return {node.op_type for node in require("onnx").load(str(path)).graph.node}


@pytest.mark.slow
def test_onnx_of_the_released_sliced_model_computes_the_official_logits(tmp_path):
    """SReT_T at 224 on the recorded recipe weights, its slices frozen to the official draws."""
    recording = load_official_function()
    row = next(row for row in recording.rows if row.row == "SReT_T")
    model = timm.create_model(row.architecture, img_size=row.image_size).eval()
    model.load_state_dict(recipe_weights(model, recording.recipe(row)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(FORWARD_SEED)  # what the official forward pass drew after this seed
        model.fix_permutations()
    path = export_onnx(model, tmp_path / "sret_t.onnx")
    logits = run_onnx(path, recipe_input(row.image_size))
    official = official_logits(recording.logits_path)[row.row]
    assert (logits - official).abs().max().item() <= ONNX_ATOL
    assert not onnx_ops(path) & RANDOM_OPS


@pytest.mark.slow
def test_exported_slices_are_random_in_the_graph_and_fixed_ones_match_eager(tmp_path):
    model = tiny()
    x = torch.randn(3, 3, 64, 64)  # another batch than the export's example: the batch axis is dynamic
    random = export_onnx(model, tmp_path / "random.onnx", 64)
    assert RANDOM_OPS & onnx_ops(random) and "TopK" in onnx_ops(random)
    session = onnx_session(random)  # each run draws anew; a new session starts from the same seed, as torch does
    assert not torch.allclose(run_session(session, x), run_session(session, x))

    model.fix_permutations()
    fixed = export_onnx(model, tmp_path / "fixed.onnx", 64)
    with torch.no_grad():
        eager = model(x)
    assert (run_onnx(fixed, x) - eager).abs().max().item() <= ONNX_ATOL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixed.onnx", "random.onnx"]  # no temporary left


@pytest.mark.slow
def test_timm_onnx_export_of_an_exportable_model(tmp_path):
    """What timm's onnx_export.py does: create_model(..., exportable=True), then the TorchScript exporter."""
    from timm.utils.onnx import onnx_export

    model = timm.create_model("sret_t", exportable=True, img_size=64)
    assert model.exportable and all(stage.exportable for stage in model.transformers)
    onnx_export(model, str(tmp_path / "sret_t.onnx"), torch.randn(2, 3, 64, 64))
    assert RANDOM_OPS & onnx_ops(tmp_path / "sret_t.onnx")


@pytest.mark.slow
def test_torch_export_of_a_seeded_model_computes_what_eager_computes():
    model = tiny(permutation_seed=0)  # a seed's generator cannot be held in a graph: not made while exporting
    model.fix_permutations()
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(export_program(model, 64).module()(x), model(x), rtol=0, atol=1e-5)


def test_eager_draws_randperm_as_released_and_fix_permutations_takes_the_next_draws():
    model, x = tiny(), torch.randn(1, 3, 64, 64)
    assert not model.exportable and not timm.create_model("sret_t").exportable
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(3)
        released = [torch.randperm(64), torch.randperm(64)]
        torch.manual_seed(3)
        random_pass = model(x)
        torch.manual_seed(3)
        fixed = model.fix_permutations()
        assert all(torch.equal(a, b) for a, b in zip(fixed, released)) and len(fixed) == 2
        torch.testing.assert_close(model(x), random_pass, rtol=0, atol=0)

        exportable = tiny(exportable=True)
        torch.manual_seed(3)
        drawn = exportable.fix_permutations()
        torch.manual_seed(3)
        assert torch.equal(drawn[0], torch.argsort(torch.rand(64)))


def test_fixed_permutations_are_checked_and_kept_out_of_the_state_dict():
    model = tiny(dynamic_img_size=True)
    with pytest.raises(ValueError, match="shuffles 2 block applications"):
        model.fix_permutations([torch.arange(64)])
    model.fix_permutations([torch.arange(64)] * 2)
    assert not any("fixed_permutations" in key for key in model.state_dict())
    with pytest.raises(ValueError, match="image size"):
        model(torch.randn(1, 3, 96, 96))
    model.unfix_permutations()
    assert model(torch.randn(1, 3, 96, 96)).shape == (1, 10)


def test_a_missing_deploy_package_is_reported_with_the_extra_that_installs_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(MissingDependency, match=r"onnx is not installed.*pip install 'sret-bench\[deploy\]'"):
        export_onnx(tiny(), tmp_path / "model.onnx", 64)
    assert not any(tmp_path.iterdir())


def test_a_failed_export_leaves_no_file(monkeypatch, tmp_path):
    def partial_then_fail(program, f, **kwargs):
        with open(f, "wb") as file:
            file.write(b"partial")
        raise RuntimeError("exporter failed")

    monkeypatch.setattr(sret.export, "export_program", lambda *args: None)
    monkeypatch.setattr(torch.onnx, "export", partial_then_fail)
    with pytest.raises(RuntimeError, match="exporter failed"):
        export_onnx(tiny(), tmp_path / "model.onnx", 64)
    assert not any(tmp_path.iterdir())
