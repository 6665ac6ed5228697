"""Sessions of sret-bench: `nox -s verify` is the main job, `nox -s tests` the test suite.

verify, throughput and model_speed write their JSON under runs/ (ignored by git), so running
them never changes a committed file; only `nox -s report` re-measures into reports/ and
re-renders both pages, to be reviewed and committed. Logic lives in bench/; this file holds sessions only.
"""
from __future__ import annotations

import nox

nox.options.sessions = ["tests", "verify"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

# The exact builds the suite is tested with (pyproject.toml gives only lower bounds). On this
# project's machines pip takes torch/torchvision from the local disk; PyPI's torchvision does
# not work beside the CPU-only torch file there. fvcore and thop are the versions the official
# FLOP counts in tests/fixtures were recorded with.
TESTED = ("torch==2.14.1", "torchvision==0.29.1", "timm==1.0.31", "fvcore==0.1.5.post20221221",
          "thop==0.1.1.post2209072238")


def install(session: nox.Session, extras: str = "") -> None:
    """Install the tested pins first, then this project and its other dependencies."""
    session.install(*TESTED)
    session.install("-e", f".[{extras}]" if extras else ".")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (pass pytest arguments after --)."""
    install(session, "test,deploy")  # tests/test_export.py runs the ONNX files, never skips them
    session.run("pytest", *(session.posargs or ("tests/",)))


@nox.session
def verify(session: nox.Session) -> None:
    """The paper-claims gate on the CPU; writes runs/verify.json, fails when a figure fails."""
    install(session)
    session.run("python", "-m", "bench.verify", "--device", "cpu", "--json", "runs/verify.json",
                *session.posargs)


@nox.session(default=False)
def throughput(session: nox.Session) -> None:
    """Throughput, latency and memory of SReT against timm baselines (CPU; runs/throughput-cpu.json)."""
    install(session)
    session.run("python", "-m", "bench.throughput",
                *(session.posargs or ("--device", "cpu", "--json", "runs/throughput-cpu.json")))


@nox.session(default=False)
def accuracy(session: nox.Session) -> None:
    """ImageNet top-1 of a checkpoint: nox -s accuracy -- --pretrained TAG --data DIR."""
    install(session)
    session.run("python", "-m", "bench.accuracy", *session.posargs)


@nox.session(default=False)
def model_speed(session: nox.Session) -> None:
    """Our SReT against the paper's formulation of it, eager and compiled (CPU, batch 8; runs/model_speed-cpu.json)."""
    install(session)
    session.run("python", "-m", "bench.model_speed",
                *(session.posargs or ("--json", "runs/model_speed-cpu.json")))


@nox.session(default=False)
def report(session: nox.Session) -> None:
    """Re-measure on the CPU (the gate, then bench/page/report_runs.py's runs) into reports/ and re-render both pages."""
    install(session, "deploy")  # the deployment runtimes of throughput-runtimes-cpu.json
    session.run("python", "-m", "bench.page.report_runs")


@nox.session(python=False, default=False)
def device_wheels(session: nox.Session) -> None:
    """Build .whl/ (git-ignored), the pure-Python wheels the device run carries (bench/device/wheels.sh)."""
    session.run("bash", "bench/device/wheels.sh", external=True)


@nox.session(python=False, default=False)
def device_rehearsal(session: nox.Session) -> None:
    """The device run rehearsed on the CPU under torch 2.11, from a clone of HEAD (bench/device/rehearsal.py)."""
    session.run("python3", "-m", "bench.device.rehearsal", *session.posargs, external=True)


@nox.session(default=False)
def gpu(session: nox.Session) -> None:
    """On a CUDA machine: the gate's models, the zoo's throughput, model speed and slicing on the
    card, within a time budget (`nox -s gpu -- --budget-s 900`), into reports/*-<gpu>.json, then
    reports/latest.md re-rendered with a section naming the card."""
    install(session)
    session.run("python", "-m", "bench.gpu", "--out", "reports", *session.posargs,
                success_codes=[0, 1])  # a failed unit is recorded in gpu_run-<gpu>.json, the rest still counts
    session.run("python", "-m", "bench.report", "--write", "reports")


# --- the speed regression gate (bench.compare --revisions) --------------------------------------

@nox.session(default=False)
def speed_gate(session: nox.Session) -> None:
    """Time NEW (default: this working tree) against BASE (default: the commit reports/ was measured at)
    side by side: `nox -s speed_gate -- [BASE [NEW]] [bench.compare options]`; fails when slower."""
    install(session)
    session.run("python", "-m", "bench.compare", "--revisions", *session.posargs)


@nox.session(default=False)
def speed_calibration(session: nox.Session) -> None:
    """20 A/A and 10 slowed revision comparisons of HEAD -> reports/speed_calibration.json: the gate's
    floor, noise and plan (`nox -s speed_calibration -- [bench.compare options]`)."""
    install(session)
    session.run("python", "-m", "bench.compare", "--calibrate", "HEAD", *session.posargs)
