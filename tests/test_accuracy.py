"""bench.accuracy: exact top-1/top-5 on a made-up folder, every bad input, and a 2-process run.

The figures are known by construction (see ``_imagenet_fixtures``): a tiny timm model whose
head ranks the same five classes first for every image.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from _imagenet_fixtures import (
    IMAGES_PER_CLASS, RANKING, TOP1, TOP5, TOTAL, known_answer_model, make_folder,
    random_head_model, save_checkpoint, wnid,
)
from _serving import serve
from bench.measure import imagenet_top1
from bench.core.cli import run

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("val")
    make_folder(root)
    return root


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("checkpoints")
    model = known_answer_model()
    return {
        "official": save_checkpoint(model, root / "official.pth", "official"),
        "bare": save_checkpoint(model, root / "bare.pth", "bare"),
        "safetensors": save_checkpoint(model, root / "model.safetensors", "safetensors"),
    }


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = run(imagenet_top1.main, [str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- exact figures ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["official", "bare", "safetensors"])
def test_exact_top1_top5_for_each_checkpoint_format(kind, data, checkpoints, capsys, tmp_path):
    out_json = tmp_path / "acc.json"
    code, out, err = cli(capsys, "--model", "test_vit", "--checkpoint", checkpoints[kind], "--data", data,
                         "--workers", "0", "--batch-size", "4", "--json", out_json)
    assert code == 0, err
    result = json.loads(out_json.read_text())
    assert result["schema"] == "sret-bench/2" and result["kind"] == "accuracy"
    assert result["environment"]["device"] == "cpu"
    assert result["top1"] == pytest.approx(TOP1) and result["top5"] == pytest.approx(TOP5)
    assert result["top1_per_seed"] == [pytest.approx(TOP1)]
    assert (result["images"], result["classes"], result["skipped"]) == (TOTAL, len(IMAGES_PER_CLASS), 0)
    assert result["checkpoint"] == str(checkpoints[kind])
    assert result["checkpoint_sha256"] == hashlib.sha256(checkpoints[kind].read_bytes()).hexdigest()
    assert result["seeds"] == [0] and result["world_size"] == 1
    assert f"{TOP1:.3f}" in out and f"{TOP5:.3f}" in out


def test_csv_has_timms_validate_columns(data, checkpoints, capsys, tmp_path):
    """The header as timm's results-imagenet.csv prints it; the values from the known answers and
    test_vit's pretrained cfg (160 px, crop 0.95, bicubic), parameters counted by hand."""
    out_csv = tmp_path / "acc.csv"
    code, _, err = cli(capsys, "--model", "test_vit", "--checkpoint", checkpoints["bare"], "--data", data,
                       "--workers", "0", "--csv", out_csv)
    assert code == 0, err
    assert out_csv.read_text().splitlines()[0] == (
        "model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation")
    params = sum(tensor.numel() for tensor in torch.load(checkpoints["bare"], weights_only=True).values())
    assert read_csv(out_csv) == [{
        "model": "test_vit", "img_size": "160", "top1": f"{TOP1:.3f}", "top1_err": f"{100 - TOP1:.3f}",
        "top5": f"{TOP5:.3f}", "top5_err": f"{100 - TOP5:.3f}", "param_count": f"{params / 1e6:.2f}",
        "crop_pct": "0.950", "interpolation": "bicubic"}]
    assert cli(capsys, "--model", "test_vit", "--checkpoint", checkpoints["bare"], "--data", data,
               "--csv", tmp_path)[0] == 2


def test_bf16_autocast(data, checkpoints, capsys, tmp_path):
    """The bias-only head's logits (10, 9, 8, 7, 6) are exact in bfloat16: same figures."""
    out_json = tmp_path / "acc.json"
    code, _, err = cli(capsys, "--model", "test_vit", "--checkpoint", checkpoints["official"], "--data", data,
                       "--workers", "0", "--amp", "bf16", "--json", out_json)
    assert code == 0, err
    result = json.loads(out_json.read_text())
    assert result["amp"] == "bf16"
    assert result["top1"] == pytest.approx(TOP1) and result["top5"] == pytest.approx(TOP5)


def test_transform_comes_from_the_pretrained_cfg(data, checkpoints, capsys, tmp_path):
    """test_vit.r160_in1k's cfg says 160 px, crop_pct 0.95, bicubic, mean/std 0.5."""
    out_json = tmp_path / "acc.json"
    code, _, err = cli(capsys, "--model", "test_vit.r160_in1k", "--checkpoint", checkpoints["official"],
                       "--data", data, "--workers", "0", "--json", out_json)
    assert code == 0, err
    transform = json.loads(out_json.read_text())["transform"]
    assert transform == {"input_size": [3, 160, 160], "interpolation": "bicubic", "mean": [0.5] * 3,
                         "std": [0.5] * 3, "crop_pct": 0.95, "crop_mode": "center"}


def test_predictions_csv_one_row_per_image(data, checkpoints, capsys, tmp_path):
    out_csv = tmp_path / "pred.csv"
    code, _, err = cli(capsys, "--model", "test_vit", "--checkpoint", checkpoints["official"], "--data", data,
                       "--workers", "1", "--predictions", out_csv)
    assert code == 0, err
    rows = read_csv(out_csv)
    expected_files = sorted(str(p.relative_to(data)) for p in data.glob("*/*"))
    assert [row["file"] for row in rows] == expected_files
    denominator = sum(math.exp(10.0 - rank) for rank in range(5)) + 995
    for row in rows:
        assert int(row["label"]) == _label_of(row["file"])
        assert [int(row[f"top{k}"]) for k in range(1, 6)] == list(RANKING)
        assert float(row["prob1"]) == pytest.approx(math.exp(10.0) / denominator, abs=1e-6)


def _label_of(name: str) -> int:
    return next(label for label in IMAGES_PER_CLASS if wnid(label) == name.split("/")[0])


@pytest.mark.slow
def test_seeds_limit_and_library_call(data, checkpoints):
    result, _ = imagenet_top1.evaluate_checkpoint("test_vit", checkpoints["bare"], data, seeds=(0, 1, 2), batch_size=5)
    assert result["seeds"] == [0, 1, 2]
    assert result["top1_per_seed"] == [pytest.approx(TOP1)] * 3
    assert (result["top1_min"], result["top1_max"], result["top1_std"]) == (
        pytest.approx(TOP1), pytest.approx(TOP1), pytest.approx(0.0))
    limited, _ = imagenet_top1.evaluate_checkpoint("test_vit", checkpoints["bare"], data, limit=4)
    assert limited["images"] == 4 and limited["limit"] == 4
    assert limited["classes"] >= 3  # spread over the folder, not its first class


@pytest.mark.slow
def test_seed_spread_of_a_random_model(data, tmp_path):
    """A model that is random at inference (as sliced SReT is) gets one top-1 per seed."""

    class Noisy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = known_answer_model()
            self.pretrained_cfg = self.inner.pretrained_cfg

        def forward(self, x):
            return self.inner(x) + 20.0 * torch.rand(x.shape[0], 1000)  # global generator, like randperm

    from bench.measure.imagenet import scan

    folder = scan(data)
    first, _ = imagenet_top1.evaluate(Noisy(), folder, seeds=(0, 1, 2, 0), batch_size=4)
    again, _ = imagenet_top1.evaluate(Noisy(), folder, seeds=(0,), batch_size=4)
    per_seed = first["top1_per_seed"]
    assert per_seed[0] == per_seed[3] == again["top1"]  # a seed reproduces its figure
    assert first["top1_min"] == min(per_seed) and first["top1_max"] == max(per_seed)
    assert first["top1"] == pytest.approx(sum(per_seed) / 4)


# --- --pretrained through sret.hub ------------------------------------------------------------

def test_pretrained_reuses_the_cache(data, checkpoints, capsys, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    cached = cache / "test_vit.r160_in1k.pth"
    cached.write_bytes(checkpoints["official"].read_bytes())
    monkeypatch.setenv("SRET_CACHE", str(cache))
    out_json = tmp_path / "acc.json"
    code, _, err = cli(capsys, "--pretrained", "test_vit.r160_in1k", "--data", data, "--workers", "0",
                       "--json", out_json)
    assert code == 0, err
    result = json.loads(out_json.read_text())
    assert result["pretrained_tag"] == "test_vit.r160_in1k" and result["checkpoint"] == str(cached)
    assert result["top1"] == pytest.approx(TOP1)
    assert (cache / "test_vit.r160_in1k.pth.sha256").read_text().split()[0] == result["checkpoint_sha256"]


def test_pretrained_downloads_from_its_url(data, checkpoints, capsys, tmp_path, monkeypatch):
    import dataclasses

    import timm.models

    monkeypatch.setenv("SRET_CACHE", str(tmp_path / "cache"))
    real = timm.models.get_pretrained_cfg("test_vit.r160_in1k")
    with serve(checkpoints["official"].parent) as base:
        patched = dataclasses.replace(real, url=f"{base}/official.pth", hf_hub_id=None)
        monkeypatch.setattr(timm.models, "get_pretrained_cfg", lambda name: patched)
        code, _, err = cli(capsys, "--pretrained", "test_vit.r160_in1k", "--data", data, "--workers", "0")
    assert code == 0, err
    assert (tmp_path / "cache" / "test_vit.r160_in1k.pth").read_bytes() == checkpoints["official"].read_bytes()


# --- bad input: one line naming it, exit 2 -----------------------------------------------------

def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_missing_data_dir(checkpoints, capsys, tmp_path):
    missing = tmp_path / "no-such-val"
    code, _, err = cli(capsys, "--model", "test_vit", "--checkpoint", checkpoints["bare"], "--data", missing)
    assert_one_line_error(code, err, str(missing))


def test_empty_data_dir(checkpoints, capsys, tmp_path):
    code, _, err = cli(capsys, "--model", "test_vit", "--checkpoint", checkpoints["bare"], "--data", tmp_path)
    assert_one_line_error(code, err, str(tmp_path), "no images")


@pytest.fixture()
def messy_data(tmp_path) -> Path:
    """The made-up folder plus a folder that is no wnid and an image that cannot be decoded."""
    root = tmp_path / "val"
    make_folder(root)
    (root / "cats").mkdir()
    (root / "cats" / "cat.JPEG").write_bytes((root / wnid(3)).iterdir().__next__().read_bytes())
    (root / wnid(10) / "broken.JPEG").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    return root


def test_unknown_wnid_folder(messy_data, checkpoints, capsys):
    code, _, err = cli(capsys, "--model", "test_vit", "--checkpoint", checkpoints["bare"], "--data", messy_data,
                       "--workers", "0")
    assert_one_line_error(code, err, str(messy_data / "cats"), "WordNet id")


def test_unreadable_image(messy_data, checkpoints, capsys):
    import shutil

    shutil.rmtree(messy_data / "cats")
    for workers in ("0", "2"):
        code, _, err = cli(capsys, "--model", "test_vit", "--checkpoint", checkpoints["bare"],
                           "--data", messy_data, "--workers", workers)
        assert_one_line_error(code, err, str(messy_data / wnid(10) / "broken.JPEG"), "unreadable")


def test_skip_bad_skips_and_counts(messy_data, checkpoints, capsys, tmp_path):
    out_json = tmp_path / "acc.json"
    code, out, err = cli(capsys, "--model", "test_vit", "--checkpoint", checkpoints["bare"], "--data", messy_data,
                         "--workers", "0", "--batch-size", "3", "--skip-bad", "--json", out_json)
    assert code == 0, err
    result = json.loads(out_json.read_text())
    assert result["skipped"] == 2
    assert result["skipped_files"] == ["cats/", f"{wnid(10)}/broken.JPEG"]
    assert (result["images"], result["classes"]) == (TOTAL, len(IMAGES_PER_CLASS))
    assert result["top1"] == pytest.approx(TOP1) and result["top5"] == pytest.approx(TOP5)


def _evil_checkpoint(path: Path, marker: Path) -> Path:
    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))  # would create the marker if ever unpickled unsafely

    torch.save({"model": {"head.weight": Evil()}}, path)
    return path


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt", "truncated", "malicious", "wrong_architecture",
                                  "bad_safetensors"])
def test_bad_checkpoint(case, data, checkpoints, capsys, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / f"{case}.pth"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "corrupt":
        path.write_bytes(os.urandom(4096))
    elif case == "truncated":
        path.write_bytes(checkpoints["official"].read_bytes()[:5000])
    elif case == "malicious":
        _evil_checkpoint(path, marker)
    elif case == "wrong_architecture":
        import timm

        save_checkpoint(timm.create_model("resnet10t", num_classes=1000), path, "official")
    elif case == "bad_safetensors":
        path = tmp_path / "bad.safetensors"
        path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    code, _, err = cli(capsys, "--model", "test_vit", "--checkpoint", path, "--data", data, "--workers", "0")
    assert_one_line_error(code, err, str(path))
    assert not marker.exists()
    if case == "malicious":  # the file is a real exploit: an unsafe load would have run it
        torch.load(path, weights_only=False)
        assert marker.exists()


def test_checkpoint_of_another_variant(data, capsys, tmp_path):
    """Same family, other widths: the error names the file and the first misfit."""
    import timm

    path = save_checkpoint(timm.create_model("test_vit2", num_classes=1000), tmp_path / "vit2.pth")
    code, _, err = cli(capsys, "--model", "test_vit", "--checkpoint", path, "--data", data, "--workers", "0")
    assert_one_line_error(code, err, str(path), "test_vit")


@pytest.mark.parametrize("argv, needle", [
    (["--model", "test_vitt", "--checkpoint", "x.pth"], "test_vit"),
    (["--model", "test_vit.nope", "--checkpoint", "x.pth"], "nope"),
    (["--model", "test_vit"], "--checkpoint"),
    (["--pretrained", "test_vit.r160_in1k", "--model", "test_vit"], "--pretrained"),
    (["--pretrained", "no_such_thing.in1k"], "no_such_thing.in1k"),
    (["--model", "test_vit", "--checkpoint", "x.pth", "--seeds", "0,x"], "--seeds"),
    (["--model", "test_vit", "--checkpoint", "x.pth", "--batch-size", "0"], "positive"),
    (["--model", "test_vit", "--checkpoint", "x.pth", "--amp", "fp8"], "--amp"),
])
def test_bad_arguments(argv, needle, data, capsys):
    code, _, err = cli(capsys, *argv, "--data", data)
    assert_one_line_error(code, err, needle)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu(data, checkpoints, capsys):
    code, _, err = cli(capsys, "--model", "test_vit", "--checkpoint", checkpoints["bare"], "--data", data,
                       "--device", "cuda")
    assert_one_line_error(code, err, "cuda")


@pytest.mark.slow
def test_subprocess_exit_status_and_one_line(tmp_path, checkpoints):
    """``python -m bench.accuracy`` itself: exit 2, one line, for a missing folder."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.accuracy", "--model", "test_vit", "--checkpoint", str(checkpoints["bare"]),
         "--data", str(tmp_path / "absent")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: data folder {tmp_path / 'absent'} does not exist or is not a folder"]


# --- two processes ------------------------------------------------------------------------------

@pytest.mark.slow
def test_torchrun_two_processes_match_one(data, capsys, tmp_path):
    """2 gloo ranks on the CPU score each of the 11 images exactly once, as one process does."""
    checkpoint = save_checkpoint(random_head_model(), tmp_path / "random.pth")
    single_csv, dist_csv, dist_json = tmp_path / "one.csv", tmp_path / "two.csv", tmp_path / "two.json"
    common = ["--model", "test_vit", "--checkpoint", checkpoint, "--data", data, "--workers", "0",
              "--batch-size", "4"]
    code, _, err = cli(capsys, *common, "--predictions", single_csv)
    assert code == 0, err

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "bench.accuracy", *map(str, common), "--predictions", str(dist_csv), "--json", str(dist_json)],
        cwd=REPO, capture_output=True, text=True, timeout=240, env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("top-1 (%)") == 1  # only rank 0 prints

    one, two = read_csv(single_csv), read_csv(dist_csv)
    assert len(two) == TOTAL and len({row["file"] for row in two}) == TOTAL
    assert [row["file"] for row in two] == [row["file"] for row in one]
    assert len({row["top1"] for row in one}) > 1  # predictions really differ from image to image
    for a, b in zip(one, two):
        assert [a[f"top{k}"] for k in range(1, 6)] == [b[f"top{k}"] for k in range(1, 6)], a["file"]
        assert [float(a[f"prob{k}"]) for k in range(1, 6)] == pytest.approx(
            [float(b[f"prob{k}"]) for k in range(1, 6)], abs=1e-5)

    result = json.loads(dist_json.read_text())
    assert result["world_size"] == 2 and result["images"] == TOTAL
    single, _ = imagenet_top1.evaluate_checkpoint("test_vit", checkpoint, data, batch_size=4)
    assert result["top1"] == single["top1"] and result["top5"] == single["top5"]


# --- the SReT models themselves -------------------------------------------------------------------

@pytest.mark.slow
def test_sliced_sret_is_random_per_seed_and_reproducible(data):
    """Sliced SReT permutes tokens from the global generator: --seeds controls it."""
    import timm

    from bench.measure.imagenet import scan, spread

    folder = scan(data)
    folder.samples = spread(folder.samples, 2)
    model = timm.create_model("sret_t.in1k", num_classes=1000)
    probs = {}
    for run_number, seed in enumerate((0, 1, 0)):
        summary, rows = imagenet_top1.evaluate(model, folder, seeds=(seed,), batch_size=2)
        assert summary["transform"]["crop_pct"] == 0.875 and summary["transform"]["input_size"] == [3, 224, 224]
        probs[run_number] = [row["prob5"] for row in rows]
    assert probs[0] == probs[2]
    assert probs[0] != probs[1]


def test_sret_checkpoint_through_its_filter(data, capsys, tmp_path):
    """sret.model.checkpoint_filter_fn runs, and its complaint comes out naming the file."""
    import timm

    torch.manual_seed(0)
    model = timm.create_model("sret_t_wo_slice", num_classes=1000)
    good = save_checkpoint(model, tmp_path / "sret.pth")
    code, _, err = cli(capsys, "--model", "sret_t_wo_slice", "--checkpoint", good, "--data", data,
                       "--workers", "0", "--limit", "2")
    assert code == 0, err

    # Un-share one block: the tensors under two names of one shared parameter now differ.
    state_dict = model.state_dict()
    seen: dict[int, str] = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        if id(tensor) in seen:
            state_dict[key] = state_dict[key] + 1.0
            break
        seen[id(tensor)] = key
    else:
        pytest.skip("sret_t_wo_slice shares no tensors")
    bad = tmp_path / "unshared.pth"
    torch.save({"model": state_dict}, bad)
    code, _, err = cli(capsys, "--model", "sret_t_wo_slice", "--checkpoint", bad, "--data", data, "--workers", "0")
    assert_one_line_error(code, err, str(bad))


@pytest.mark.slow
def test_torchrun_unreadable_image_found_by_another_rank(messy_data, checkpoints, tmp_path):
    """Rank 1 meets the broken image and stops early; the ranks still meet, rank 0 alone reports it."""
    import shutil

    shutil.rmtree(messy_data / "cats")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "bench.accuracy", "--model", "test_vit", "--checkpoint", str(checkpoints["bare"]),
         "--data", str(messy_data), "--workers", "0", "--batch-size", "4"],
        cwd=REPO, capture_output=True, text=True, timeout=240, env=env,
    )
    assert done.returncode != 0  # torchrun exits 1 when a rank exits 2, and adds its own report
    ours = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(ours) == 1 and ours[0].startswith(f"error: {messy_data / wnid(10) / 'broken.JPEG'}: unreadable image")
    assert "exitcode  : 2" in done.stderr
