"""Sessions of sret-bench: `nox -s verify` is the main job, `nox -s tests` the test suite."""
from __future__ import annotations

import nox

nox.options.sessions = ["tests", "verify"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

# The torch/torchvision builds that lie on this project's machines (pip takes them from
# disk); PyPI's torchvision does not work beside the CPU-only torch file there.
TORCH = ("torch==2.14.1", "torchvision==0.29.1")


def install(session: nox.Session, extras: str = "") -> None:
    """Install torch first (pinned), then this project and its dependencies."""
    session.install(*TORCH)
    session.install("-e", f".[{extras}]" if extras else ".")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (pass pytest arguments after --)."""
    install(session, "test")
    session.run("pytest", *(session.posargs or ("tests/",)))


@nox.session
def verify(session: nox.Session) -> None:
    """The paper-claims gate on the CPU; writes reports/verify.json, fails when a figure fails."""
    install(session)
    session.run("python", "-m", "bench.verify", "--device", "cpu", "--json", "reports/verify.json",
                *session.posargs)


@nox.session(default=False)
def throughput(session: nox.Session) -> None:
    """Throughput, latency and memory of SReT against timm baselines (CPU by default)."""
    install(session)
    session.run("python", "-m", "bench.throughput",
                *(session.posargs or ("--device", "cpu", "--json", "reports/throughput-cpu.json")))


@nox.session(default=False)
def accuracy(session: nox.Session) -> None:
    """ImageNet top-1 of a checkpoint: nox -s accuracy -- --pretrained TAG --data DIR."""
    install(session)
    session.run("python", "-m", "bench.accuracy", *session.posargs)


@nox.session(default=False)
def model_speed(session: nox.Session) -> None:
    """Our SReT against the paper's formulation of it, eager and compiled (CPU, batch 8)."""
    install(session)
    session.run("python", "-m", "bench.model_speed", *session.posargs)


@nox.session(default=False)
def report(session: nox.Session) -> None:
    """Re-measure on the CPU (verify, throughput, model speed) and re-render reports/latest.md."""
    import os
    import tempfile

    install(session)
    session.run("python", "-m", "bench.verify", "--device", "cpu", "--json", "reports/verify.json",
                success_codes=[0, 1])  # a failing figure belongs in the report, not in a crash
    session.run("python", "-m", "bench.throughput", "--device", "cpu", "--threads", "2",
                "--json", "reports/throughput-cpu.json")
    session.run("python", "-m", "bench.model_speed", "--json", "reports/model_speed-cpu.json")
    fd, tmp = tempfile.mkstemp(dir="reports", suffix=".md.tmp")
    with os.fdopen(fd, "w") as page:
        session.run("python", "-m", "bench.report", stdout=page)
    os.replace(tmp, "reports/latest.md")
