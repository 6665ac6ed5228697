"""bench/device: the plan's arithmetic against the device machine's limits, the preflight's fast
failure, what the device run imports against what the device image and the wheels provide,
run.sh end to end on the CPU (what lands in $OUT) and the ingest of what comes back."""
from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
import tarfile
import time
from importlib import metadata
from pathlib import Path

import pytest
from packaging.version import Version

from bench.core.cli import EXIT_OK, EXIT_USAGE, run
from bench.core.schema import SCHEMA
from bench.device import imports, ingest, plan, rehearsal
from bench.page import pages, plot_files
from bench.page import results as page_results

ROOT = Path(__file__).resolve().parents[1]
RUN_SH = ROOT / "bench" / "device" / "run.sh"


# --- the plan ---------------------------------------------------------------------------------


def test_a_failed_try_and_a_full_one_fit_in_the_device_time():
    assert plan.FAILED_TRY_S + plan.FULL_TRY_S <= plan.DEVICE_TIME_S
    assert plan.BUDGET_S < plan.INNER_TIMEOUT_S < plan.TOOL_TIMEOUT_S <= plan.COMMAND_LIMIT_S
    assert plan.FULL_TRY_S == plan.START_UP_S + plan.SETUP_S + plan.INNER_TIMEOUT_S + plan.PACK_S
    assert len(plan.FILES_BACK) <= plan.MAX_FILES_BACK
    assert plan.RESULTS_DIR.startswith("/tmp/")  # outside the checkout


def test_run_sh_takes_its_numbers_from_the_plan():
    script = RUN_SH.read_text()
    assert 'eval "$("$PY" -m bench.device.plan --shell)"' in script
    for needle in ('PYTHONUNBUFFERED=1 timeout -k 10 "$INNER_TIMEOUT_S"', '--budget-s "$BUDGET_S"',
                   '--counts "$PLAN_COUNTS"', '"$OUT/$PLAN_ARCHIVE"', '"$OUT/$PLAN_LOG"', "--no-index --no-deps"):
        assert needle in script
    shell = dict(line.split("=", 1) for line in plan.shell().splitlines())
    assert shell["PLAN_BUDGET_S"] == str(plan.BUDGET_S) and shell["PLAN_INNER_TIMEOUT_S"] == str(plan.INNER_TIMEOUT_S)
    assert (ROOT / shell["PLAN_COUNTS"]).is_file()


def test_every_carried_wheel_is_pinned_once():
    names = [spec.split("==")[0] for spec in plan.WHEELS]
    assert all("==" in spec for spec in plan.WHEELS) and len(set(names)) == len(names)


# --- the preflight ----------------------------------------------------------------------------


def test_the_preflight_names_a_missing_package_in_one_line_fast():
    blocked = ("import runpy, sys; sys.modules['fvcore'] = None; sys.argv[1:] = ['--device', 'cpu']; "
               "runpy.run_module('bench.device.preflight', run_name='__main__')")
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", blocked], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    elapsed = time.monotonic() - start
    lines = done.stdout.splitlines()
    assert done.returncode == 1 and len(lines) == 1, (done.stdout, done.stderr)
    assert "MISSING: fvcore" in lines[0] and "torch " in lines[0] and "fvcore -" in lines[0]
    assert elapsed < 10


# --- what the device run imports: on the image or carried ---------------------------------------


def test_every_package_the_device_run_imports_is_on_the_image_or_carried():
    missing, used = imports.needed(plan.IMAGE_PACKAGES, plan.WHEELS, plan.NOT_ON_DEVICE, plan.IMAGE_PYTHON)
    assert missing == {}, "neither on the device image nor in plan.WHEELS: " + "; ".join(
        f"{name} ({why})" for name, why in sorted(missing.items()))
    assert used == set(plan.IMAGE_USED)  # what the rehearsal installs beside torch


def test_what_is_left_off_the_device_is_imported_and_only_that():
    missing, _ = imports.needed(plan.IMAGE_PACKAGES, plan.WHEELS, {}, plan.IMAGE_PYTHON)
    # no stale exception, and none unrecorded
    assert missing == {name: f"needed by {module}" for name, module in plan.NOT_ON_DEVICE.items()}


def test_the_wheels_requirements_are_read_from_the_versions_carried():
    for spec in plan.WHEELS:
        name, pin = spec.split("==")
        assert Version(metadata.version(name)) == Version(pin), f"{name} here is not the carried {pin}"
    assert set(plan.IMAGE_USED) | set(plan.IMAGE_PINS) <= plan.IMAGE_PACKAGES
    assert not {imports.normalise(spec.split("==")[0]) for spec in plan.WHEELS} & set(plan.IMAGE_USED)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_an_import_anywhere_on_the_path_of_the_run_is_found(tmp_path):
    root = _tree(tmp_path, {
        "bench/__init__.py": "",
        "bench/gpu.py": "from bench.measure.gpu_run import main\n",
        "bench/measure/__init__.py": "",
        "bench/measure/gpu_run.py": "from . import helper\nimport torch\n\ndef main():\n    pass\n",
        "bench/measure/helper.py": "def lazily():\n    import no_such_package_here.sub\n    import yaml\n",
        "bench/page.py": "import matplotlib\n",  # not reached from bench.gpu
    })
    assert set(imports.third_party(["bench.gpu"], root)) == {"torch", "no_such_package_here", "yaml"}
    missing, used = imports.needed({"torch", "PyYAML"}, (), {}, "3.12", ["bench.gpu"], root)
    assert missing == {"no-such-package-here": "needed by bench.measure.helper"}
    assert used == {"torch", "pyyaml"}
    missing, _ = imports.needed({"torch"}, (), {"pyyaml": "bench.measure.helper"}, "3.12", ["bench.gpu"], root)
    assert set(missing) == {"no-such-package-here"}  # left off the device only where it is imported
    missing, _ = imports.needed({"torch"}, (), {"pyyaml": "bench.gpu"}, "3.12", ["bench.gpu"], root)
    assert set(missing) == {"no-such-package-here", "pyyaml"}


def test_a_carried_wheels_requirement_must_be_there_too(tmp_path):
    root = _tree(tmp_path, {"bench/__init__.py": "", "bench/gpu.py": "import fvcore\n"})
    missing, used = imports.needed({"numpy", "pyyaml", "tqdm", "pillow", "tabulate", "portalocker",
                                    "typing-extensions"}, ("fvcore==1", "iopath==1", "yacs==1"), {}, "3.12",
                                   ["bench.gpu"], root)
    assert missing == {"termcolor": "needed by the carried fvcore"}
    assert "portalocker" in used  # iopath's, reached through fvcore


# --- the rehearsal (nox -s device_rehearsal): its parts that need no download ---------------------


def test_the_rehearsal_installs_the_images_torch_and_nothing_the_wheels_carry():
    wanted = rehearsal.requirements()
    assert f"torch=={plan.IMAGE_PINS['torch']}" in wanted and f"torchvision=={plan.IMAGE_PINS['torchvision']}" in wanted
    carried = {imports.normalise(spec.split("==")[0]) for spec in plan.WHEELS}
    assert not {imports.normalise(spec.split("==")[0]) for spec in wanted} & carried  # timm, fvcore, thop: wheels only
    assert set(plan.IMAGE_USED) <= {spec.split("==")[0] for spec in wanted}


def test_the_rehearsals_options_are_bench_gpus():
    from bench.measure import gpu_run

    settings = gpu_run.parse_args(["--device", "cpu", *shlex.split(rehearsal.GPU_ARGS)])
    assert settings.device == "cpu" and settings.compile and settings.speed_models


def test_a_phase_of_bench_gpu_that_ran_no_unit_is_not_rehearsed(tmp_path):
    phases = [{"phase": "eager", "status": "partial", "units_done": [{"unit": "a", "seconds": 1.0}]},
              {"phase": "compiled", "status": "skipped for time", "units_done": []}]
    (tmp_path / "gpu_run-cpu.json").write_text(json.dumps({"phases": phases}))
    assert rehearsal.unrehearsed(tmp_path) == ["compiled (skipped for time)"]


def test_a_failed_step_is_named_with_its_own_first_error_line(tmp_path):
    log = tmp_path / "rehearsal.log"
    log.write_text("an earlier step's error\n")
    failing = "print('collecting'); import sys; sys.exit('ERROR: No matching distribution found for torch==9')"
    with pytest.raises(rehearsal.StepFailed) as failed:
        rehearsal.step("venv", [sys.executable, "-c", failing], log, cwd=tmp_path)
    assert failed.value.step == "venv"
    assert failed.value.line == "exit 1: ERROR: No matching distribution found for torch==9"


def test_the_rehearsal_ends_on_one_line_saying_where_it_failed(monkeypatch, capsys, tmp_path):
    def fails(work, cache, budget_s, python):
        raise rehearsal.StepFailed("wheels", "exit 1: pip wheel failed")

    monkeypatch.setattr(rehearsal, "rehearse", fails)
    assert rehearsal.main(["--cache", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "device rehearsal: failed at wheels: exit 1: pip wheel failed"
    assert "Traceback" not in out + err
    kept = Path(out.split("logs kept in ")[1].split()[0])
    assert kept.is_dir() and kept.name.startswith("sret-rehearsal-")
    kept.rmdir()


# --- run.sh end to end, on the CPU --------------------------------------------------------------


@pytest.fixture(scope="module")
def device_run(tmp_path_factory):
    """run.sh as the device runs it, on the CPU with one tiny model, fp32 only and a small budget."""
    base = tmp_path_factory.mktemp("device")
    env = {**os.environ, "OUT": str(base / "out"), "SRET_PYTHON": sys.executable, "SRET_DEVICE": "cpu",
           "SRET_BUDGET_S": "60", "SRET_RESULTS": str(base / "results"), "SRET_SITE": str(base / "site"),
           "PYTHONPATH": str(ROOT),
           "SRET_GPU_ARGS": "--models test_vit --img-size 64 --speed-models= --max-batch 2 --warmup 1 --rounds 1 "
                            "--iters 1 --no-compile --dtypes fp32"}
    done = subprocess.run(["bash", str(RUN_SH)], env=env, capture_output=True, text=True, timeout=300)
    return done, base


@pytest.mark.slow
def test_run_sh_sends_back_one_archive_and_its_log(device_run):
    done, base = device_run
    assert done.returncode == 0, done.stdout[-3000:]
    out = sorted(p.name for p in (base / "out").iterdir())
    assert out == sorted(plan.FILES_BACK) and len(out) <= plan.MAX_FILES_BACK
    log = (base / "out" / plan.LOG).read_text()
    assert "preflight: python" in log and "bench.gpu exit 0" in log
    with tarfile.open(base / "out" / plan.ARCHIVE) as archive:
        names = archive.getnames()
    assert all(ingest.NAME.fullmatch(name) for name in names) and any(n.startswith("gpu_run-") for n in names)


@pytest.mark.slow
def test_the_archive_ingested_renders_the_device_sections(device_run, tmp_path):
    _, base = device_run
    into = tmp_path / "reports"
    assert run(ingest.main, [str(base / "out" / plan.ARCHIVE), "--into", str(into)]) == EXIT_OK
    files = sorted(into.glob("*.json"))
    assert {p.name.split("-")[0] for p in files} == {"gpu_run", "device_check", "throughput"}
    results = page_results.load_results([ROOT / "reports" / "verify.json", *files])
    page = pages.render_speed(results, ages={})
    assert "`python -m bench.gpu` on" in page and "The gate's models run on" in page


# --- the ingest's refusals, on hand-made archives ---------------------------------------------


def _archive(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            archive.addfile(info)
    return path


def _doc(kind: str) -> bytes:
    return json.dumps({"schema": SCHEMA, "kind": kind}).encode()


GOOD = {"gpu_run-nvidia-h200.json": _doc("gpu_run"), "throughput-bf16-compiled-nvidia-h200.json": _doc("throughput")}


@pytest.mark.parametrize(("members", "link", "culprit"), [
    ({**GOOD, "../gpu_run-nvidia-h200.json": _doc("gpu_run")}, None, "../gpu_run"),
    ({**GOOD, "/tmp/gpu_run-x.json": _doc("gpu_run")}, None, "/tmp/gpu_run-x.json"),
    ({**GOOD, "sub/model_speed-nvidia-h200.json": _doc("model_speed")}, None, "sub/"),
    ({**GOOD, "notes.txt": b"hi"}, None, "notes.txt"),
    (GOOD, "slicing_speed-nvidia-h200.json", "slicing_speed"),
    ({**GOOD, "model_speed-nvidia-h200.json": _doc("throughput")}, None, "model_speed"),
    ({**GOOD, "model_speed-nvidia-h200.json": b"\xff"}, None, "not JSON"),
    ({**GOOD, "model_speed-nvidia-h100.json": _doc("model_speed")}, None, "one card"),
    ({"throughput-fp32-nvidia-h200.json": _doc("throughput")}, None, "gpu_run manifest"),
])
def test_an_archive_with_anything_unexpected_is_refused_whole(tmp_path, capsys, members, link, culprit):
    archive = _archive(tmp_path / "a.tar.gz", members, link)
    into = tmp_path / "reports"
    assert run(ingest.main, [str(archive), "--into", str(into)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and culprit in err and not into.exists()


def test_a_good_archive_is_written_as_it_came(tmp_path):
    archive = _archive(tmp_path / "a.tar.gz", GOOD)
    assert run(ingest.main, [str(archive), "--into", str(tmp_path / "r")]) == EXIT_OK
    assert {p.name: p.read_bytes() for p in (tmp_path / "r").iterdir()} == GOOD
