"""`python3 -m bench.device.rehearsal`: the device run rehearsed here, on the CPU, under the device image's torch.

The device machine has no registry and 15 minutes of device time, so what would fail there
should fail here first: a package neither on the image nor carried, an API its torch (2.11,
older than the 2.14 the suite runs on) lacks, a results file the ingest refuses. This runs the
whole chain as the device and the checkout would, from a fresh clone of HEAD:

1. ``clone``: ``git clone`` of the checkout, HEAD checked out (uncommitted changes are not rehearsed);
2. ``venv``: a virtual environment of the image's python with the image's builds of torch and
   torchvision (``plan.IMAGE_PINS``) and only what of the image the run uses (``plan.IMAGE_USED``,
   plus matplotlib for the page); timm, fvcore and thop come only from the carried wheels;
3. ``wheels``: ``bench/device/wheels.sh`` builds ``.whl/`` in the clone;
4. ``run``: ``bench/device/run.sh`` with ``SRET_DEVICE=cpu`` (bench.gpu's own code path) and a short budget;
5. ``ingest``: ``python -m bench.device.ingest`` of its archive into the clone's reports/;
6. ``render``: ``python -m bench.report`` there, which must show the GPU section.

Everything is written under one temporary folder (removed after a pass, kept after a failure)
and a cache (``--cache``: the downloaded wheels and the environment, reused while the
requirements are the same); the checkout is only read. The last line says passed or the step
that failed and its first error line; the exit status is 0 or 1.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from bench.device import plan

ROOT = Path(__file__).resolve().parents[2]
# Wheels and a venv, several GB, reused between rehearsals: under $SRET_CACHE like the suite's other caches.
CACHE = Path(os.environ.get("SRET_CACHE") or Path.home() / ".cache" / "sret-bench") / "rehearsal"
# Every phase of bench.gpu must run at least one unit, so that all of its code meets torch 2.11:
# the gate's model on the device, eager throughput, model speed, slicing and one compiled unit.
# The compiled phase starts only with 150 s left (bench.measure.gpu_run.PRIOR_S), and each compiled
# unit took 1 to 2.5 minutes on a 2-core CPU, so the budget is 300 s, not a shorter one that would
# skip it; the run is kept small instead: one SReT model at 64 px, fp32, batch 2, one call per round.
# bench.gpu stops when nothing is left to run, so an idle machine takes about half of it.
BUDGET_S = 300
GPU_ARGS = ("--models sret_t --speed-models sret_t --img-size 64 --max-batch 2 --speed-batch 1 --dtypes fp32 "
            "--warmup 1 --rounds 1 --iters 1 --kernels stock")
PAGE_PACKAGES = ("matplotlib",)  # bench.report's, on the image; the page renders here, not there
GPU_SECTION = "`python -m bench.gpu` on"  # what the page shows once bench.gpu's results are ingested
ERROR = re.compile(r"error|missing|failed|traceback|cannot|not found|no such", re.IGNORECASE)


class StepFailed(Exception):
    """A step that failed: its name and its first error line."""

    def __init__(self, step: str, line: str) -> None:
        super().__init__(f"{step}: {line}")
        self.step, self.line = step, line


def say(text: str) -> None:
    print(f"[rehearsal {time.strftime('%H:%M:%S', time.gmtime())}] {text}", flush=True)


def first_error(text: str) -> str:
    """The first line that reads as an error, else the last line, else a placeholder."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return next((line for line in lines if ERROR.search(line)), lines[-1] if lines else "no output")


def step(name: str, argv: Sequence[str], log: Path, *, cwd: Path, env: dict[str, str] | None = None,
         stdout: Path | None = None) -> None:
    """Run ``argv``, its output appended to ``log`` (stdout into ``stdout`` instead, when given); a
    non-zero exit is StepFailed naming the step and the first error line of this command's output."""
    with open(log, "a", encoding="utf-8") as err:
        err.write(f"$ {' '.join(argv)}\n")
    start = log.stat().st_size
    with open(log, "a", encoding="utf-8") as err, open(stdout or log, "a", encoding="utf-8") as out:
        try:
            done = subprocess.run(list(argv), cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        except OSError as error:
            raise StepFailed(name, f"{argv[0]}: {error.strerror or error}") from None
    if done.returncode != 0:
        with open(log, encoding="utf-8", errors="replace") as text:
            text.seek(start)
            raise StepFailed(name, f"exit {done.returncode}: {first_error(text.read())}")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would let another python's packages or this
    checkout's code in (a nox session's PYTHONPATH, VIRTUAL_ENV)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    return {**env, "PYTHONNOUSERSITE": "1", **extra}


def find_python(wanted: str = plan.IMAGE_PYTHON) -> tuple[str, str]:
    """(a python of the image's minor version, its version); else this one's, and the caller says so."""
    pyenv = Path.home() / ".pyenv" / "versions"
    candidates = [f"python{wanted}", *sorted(glob.glob(str(pyenv / f"{wanted}*" / "bin" / f"python{wanted}")))]
    for candidate in [*candidates, sys.executable]:
        try:
            done = subprocess.run([candidate, "-c", "import platform, venv; print(platform.python_version())"],
                                  capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return candidate, done.stdout.strip()
    raise StepFailed("venv", f"no python{wanted} here, and {sys.executable} cannot make a venv")


def requirements() -> list[str]:
    """The image's builds the run needs, pinned where KINDS.md gives the image's version."""
    names = sorted({*plan.IMAGE_USED, *plan.IMAGE_PINS, *PAGE_PACKAGES})
    return [f"{name}=={plan.IMAGE_PINS[name]}" if name in plan.IMAGE_PINS else name for name in names]


def environment(python: str, cache: Path, log: Path) -> Path:
    """The rehearsal's venv, made once per python and requirement list (marker file) and reused."""
    wanted = requirements()
    venv = cache / f"venv-{Path(python).name}"
    marker = venv / "rehearsal-requirements.txt"
    interpreter = venv / "bin" / "python"
    if marker.is_file() and marker.read_text(encoding="utf-8").split() == wanted and interpreter.exists():
        say(f"venv: reusing {venv}")
        return interpreter
    say(f"venv: making {venv} with {' '.join(wanted)} (a first run downloads torch's CUDA build, several GB)")
    shutil.rmtree(venv, ignore_errors=True)
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    step("venv", [python, "-m", "venv", str(venv)], log, cwd=cache)
    pip = [str(interpreter), "-m", "pip", "--disable-pip-version-check"]
    step("venv", [*pip, "download", "-q", "--dest", str(wheels), *wanted], log, cwd=cache, env=clean_env())
    step("venv", [*pip, "install", "-q", "--no-index", "--find-links", str(wheels), *wanted], log, cwd=cache,
         env=clean_env())
    marker.write_text("\n".join(wanted) + "\n", encoding="utf-8")
    return interpreter


def version_of(python: Path, package: str) -> str:
    done = subprocess.run([str(python), "-c", f"from importlib.metadata import version; print(version({package!r}))"],
                          capture_output=True, text=True, env=clean_env())
    return done.stdout.strip() or "-"


def unrehearsed(results: Path) -> list[str]:
    """bench.gpu's phases that ran no unit (skipped for time, or not run), from its manifest: their
    code did not meet this torch."""
    return [f"{phase['phase']} ({phase['status']})" for manifest in sorted(results.glob("gpu_run-*.json"))
            for phase in json.loads(manifest.read_text(encoding="utf-8"))["phases"] if not phase["units_done"]]


def git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise StepFailed("clone", f"git {' '.join(args)}: {first_error(done.stderr)}")
    return done.stdout.strip()


def rehearse(work: Path, cache: Path, budget_s: int, python: str) -> tuple[str, str]:
    """Every step in order, under ``work``; (the commit, torch's version) once all passed."""
    log = work / "rehearsal.log"
    commit = git("rev-parse", "--short", "HEAD")
    if git("status", "--porcelain", "--untracked-files=no"):
        say("note: the checkout has uncommitted changes; HEAD is rehearsed without them")
    clone = work / "clone"
    say(f"clone: HEAD {commit} into {clone}")
    step("clone", ["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)], log, cwd=work)
    step("clone", ["git", "checkout", "--quiet", "--detach", git("rev-parse", "HEAD")], log, cwd=clone)

    venv_python = environment(python, cache, log)
    torch = version_of(venv_python, "torch")
    if torch.split("+")[0] != plan.IMAGE_PINS["torch"]:
        raise StepFailed("venv", f"torch {torch} in {venv_python}, not the image's {plan.IMAGE_PINS['torch']}")

    say("wheels: bash bench/device/wheels.sh (.whl/ in the clone)")
    step("wheels", ["bash", "bench/device/wheels.sh", str(venv_python)], log, cwd=clone, env=clean_env())

    out = work / "out"
    say(f"run: bash bench/device/run.sh on the CPU, budget {budget_s}s (output: {out}/{plan.LOG})")
    step("run", ["bash", "bench/device/run.sh"], log, cwd=clone, env=clean_env(
        OUT=str(out), SRET_PYTHON=str(venv_python), SRET_DEVICE="cpu", SRET_BUDGET_S=str(budget_s),
        SRET_RESULTS=str(work / "results"), SRET_SITE=str(work / "site"), SRET_GPU_ARGS=GPU_ARGS,
        TORCHINDUCTOR_CACHE_DIR=str(work / "inductor")))  # compiles from scratch, as a fresh device does
    run_log = (out / plan.LOG).read_text(encoding="utf-8") if (out / plan.LOG).is_file() else ""
    if not (out / plan.ARCHIVE).is_file():
        raise StepFailed("run", f"no $OUT/{plan.ARCHIVE}: {first_error(run_log)}")
    failed = [line for line in run_log.splitlines() if ": FAILED " in line]
    if failed:  # bench.gpu records a failed unit and goes on; on the device that unit would be lost
        raise StepFailed("run", failed[0].strip())
    unrun = unrehearsed(work / "results")
    if unrun:
        raise StepFailed("run", f"bench.gpu phases not rehearsed: {', '.join(unrun)}; a larger --budget-s runs them")

    say(f"ingest: python -m bench.device.ingest {plan.ARCHIVE} into the clone's reports/")
    step("ingest", [str(venv_python), "-m", "bench.device.ingest", str(out / plan.ARCHIVE)], log, cwd=clone,
         env=clean_env())
    page = clone / "reports" / "latest.md"
    say(f"render: python -m bench.report > {page}")
    step("render", [str(venv_python), "-m", "bench.report"], log, cwd=clone, env=clean_env(), stdout=page)
    if GPU_SECTION not in page.read_text(encoding="utf-8"):
        raise StepFailed("render", f"the page has no GPU section ({GPU_SECTION!r} not in {page})")
    return commit, torch


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.device.rehearsal", description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=int, default=BUDGET_S, help="bench.gpu's budget (default: %(default)s)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="wheels and venv, reused (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder after a pass too")
    args = parser.parse_args(argv)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="sret-rehearsal-"))
    passed = False
    try:
        args.cache.mkdir(parents=True, exist_ok=True)
        say(f"cache: {args.cache} (wheels and venv, reused; --cache or $SRET_CACHE moves it)")
        python, version = find_python()
        if not version.startswith(plan.IMAGE_PYTHON + "."):
            say(f"note: no python {plan.IMAGE_PYTHON} here (the image's); rehearsing under python {version}")
        commit, torch = rehearse(work, args.cache, args.budget_s, python)
        passed = True
    except StepFailed as failure:
        print(f"logs kept in {work}", flush=True)
        print(f"device rehearsal: failed at {failure.step}: {failure.line}", flush=True)
        return 1
    finally:
        if passed and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"device rehearsal: passed ({time.monotonic() - started:.0f} s, commit {commit}, torch {torch})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
