"""Two revisions of ``sret/`` timed side by side: git worktrees, worker processes, alternating rounds.

Each side is checked out in its own ``git worktree`` (the working tree, NEW by default, copied into
one) and imported by worker processes of this environment (``revision_worker.py``). For each
process pair the two workers start fresh, the side started first alternating from pair to pair;
the parent then alternates rounds between them (ABBA: BASE first in even rounds, NEW first in odd
ones). Workers run with address-space randomization off (``setarch -R``) where it works, a fixed
``PYTHONHASHSEED``, fixed thread counts and OpenMP threads that sleep when idle
(``OMP_WAIT_POLICY=PASSIVE``): a waiting worker's spinning threads would otherwise be timed as
the other's cost. While rounds run, the CPU time of every other process on the machine is counted
from /proc: a busy machine makes the verdict unreliable, not slower.

Returns plain records (every round of every pair); no statistics, nothing printed. No torch here:
the workers import it. Worktrees and workers are removed on every way out, Ctrl-C included.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from bench.core.cli import UsageError
from bench.core.git import MEASURING_CODE, REPO, git

WORKER = Path(__file__).with_name("revision_worker.py")
WORKING_TREE = "."  # the name that stands for the checkout as it is, uncommitted changes included
READY_TIMEOUT_S = 300  # building and warming up every configuration
ROUND_TIMEOUT_S = 120  # one side's calls of one round
STDERR_TAIL = 400  # characters of a dead worker's stderr quoted in its error


class RevisionError(UsageError):
    """A revision that cannot be compared, or a worker that failed: one line, exit 2."""


# --- revisions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    """What a side runs: a commit, or the working tree (at ``commit``, plus uncommitted changes)."""

    name: str
    commit: str
    working_tree: bool = False
    dirty: bool = False
    patch: Path | None = None  # applied in its worktree (the calibration's slowdown)

    def label(self) -> str:
        text = f"{self.name} ({self.commit[:10]}{', dirty' if self.dirty else ''})"
        return f"{text} + {self.patch.name}" if self.patch else text

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "commit": self.commit, "working_tree": self.working_tree, "dirty": self.dirty,
                "patch": self.patch.name if self.patch else None}


def measured_at(path: Path) -> str:
    """The commit a results file was measured at (its environment block), refusing a dirty one."""
    try:
        environment = json.loads(path.read_text(encoding="utf-8"))["environment"]
        commit = environment["git_commit"]
    except (OSError, ValueError, KeyError, TypeError):
        raise RevisionError(f"{path} is not a results file that records its commit") from None
    if not commit or environment.get("git_dirty"):
        raise RevisionError(f"{path} was measured on {'a dirty tree' if commit else 'no commit'}: "
                            "no revision to time against")
    return commit


def resolve(name: str, repo: Path = REPO, patch: Path | None = None) -> Revision:
    """``name`` as a commit that has ``sret/``; ``.`` is the working tree, and a results file
    (``reports/throughput-cpu-run1.json``) the commit it was measured at. One line if none of these."""
    if name.endswith(".json") and Path(name).is_file():
        name = measured_at(Path(name))
    if name == WORKING_TREE:
        commit = git("rev-parse", "--verify", "HEAD^{commit}", repo=repo)
        if commit is None:
            raise RevisionError(f"{repo} is not a git checkout with a commit")
        status = git("status", "--porcelain", "--", *MEASURING_CODE, repo=repo)
        return Revision(name, commit, working_tree=True, dirty=bool(status), patch=patch)
    commit = git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", repo=repo)
    if commit is None:
        raise RevisionError(f"unknown revision {name!r}: not a commit of {repo}")
    if git("cat-file", "-e", f"{commit}:sret/__init__.py", repo=repo) is None:
        raise RevisionError(f"revision {name!r} ({commit[:10]}) has no sret/ package to time")
    return Revision(name, commit, patch=patch)


def check_sides(base: Revision, new: Revision) -> None:
    """Refuse a BASE that is the dirty working tree NEW is too: that A/A has no commit to record."""
    if base.working_tree and new.working_tree and base.dirty and base.patch == new.patch:
        raise RevisionError("BASE '.' is the dirty working tree, and so is NEW: name a commit for BASE "
                            "(e.g. HEAD) to time the uncommitted change against it")


@contextlib.contextmanager
def checked_out(revisions: Sequence[Revision], repo: Path = REPO) -> Iterator[list[Path]]:
    """A temporary worktree per side (removed after), at paths of one length, also for the working tree
    (its uncommitted ``sret/`` and ``bench/`` copied in) and for both sides of an A/A: with address
    randomization off, a path of another length shifts the memory layout, which was timed as a
    consistent 6% between two copies of the same code."""
    parent = Path(tempfile.mkdtemp(prefix="sret-bench-revisions-"))
    roots: list[Path] = []
    try:
        for index, revision in enumerate(revisions):
            root = parent / f"side{index}"
            commit = "HEAD" if revision.working_tree else revision.commit
            if git("worktree", "add", "--detach", "--quiet", str(root), commit, repo=repo) is None:
                raise RevisionError(f"git worktree add failed for {revision.label()}")
            roots.append(root)
            if revision.working_tree:
                copy_measured_code(repo, root)
            if revision.patch is not None:
                apply_patch(revision, root)
        yield roots
    finally:
        for root in roots:
            git("worktree", "remove", "--force", str(root), repo=repo)
        shutil.rmtree(parent, ignore_errors=True)
        git("worktree", "prune", repo=repo)


def copy_measured_code(repo: Path, root: Path) -> None:
    """The working tree's ``sret/`` and ``bench/`` as they are (uncommitted and deleted files too)."""
    for folder in ("sret", "bench"):
        shutil.rmtree(root / folder, ignore_errors=True)
        if (repo / folder).is_dir():
            shutil.copytree(repo / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))


def apply_patch(revision: Revision, root: Path) -> None:
    done = subprocess.run(["git", "apply", str(revision.patch.resolve())], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RevisionError(f"patch {revision.patch} does not apply to {revision.label()}: "
                            f"{(done.stderr.strip().splitlines() or ['?'])[0]}")


# --- the machine's other work ---------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_cpu_seconds() -> tuple[float, float] | None:
    """CPU seconds the whole machine spent busy, and those stolen by the hypervisor, from /proc/stat."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq) / CLOCK_TICKS, steal / CLOCK_TICKS


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of one live process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class LoadMeter:
    """Cores' worth of CPU time that processes other than ours used since it was made, and steal."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = pids
        self.start, self.own_start, self.wall_start = machine_cpu_seconds(), self.own(), time.monotonic()

    def own(self) -> float:
        times = os.times()
        return times.user + times.system + sum(process_cpu_seconds(pid) for pid in self.pids)

    def result(self) -> dict[str, float | None]:
        end, own, wall = machine_cpu_seconds(), self.own(), time.monotonic() - self.wall_start
        if self.start is None or end is None or wall <= 0:
            return {"other_processes_cores": None, "steal_cores": None, "wall_s": wall}
        other = (end[0] - self.start[0]) - (own - self.own_start)
        return {"other_processes_cores": max(0.0, other) / wall, "steal_cores": (end[1] - self.start[1]) / wall,
                "wall_s": wall}


# --- workers ----------------------------------------------------------------------------------------


def aslr_off_prefix() -> list[str]:
    """``setarch <arch> -R`` where it exists and works here (a container may refuse it), else nothing."""
    setarch = shutil.which("setarch")
    if setarch is None:
        return []
    prefix = [setarch, platform.machine(), "-R"]
    try:
        ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return prefix if ok else []


def worker_environment(threads: int) -> dict[str, str]:
    """This environment, with the settings that keep a worker's timing its own."""
    return {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}


class Worker:
    """One worker process importing one revision; every failure becomes a :class:`RevisionError`."""

    def __init__(self, label: str, root: Path, configs: Sequence[dict[str, Any]], threads: int, warmup: int,
                 prefix: Sequence[str]) -> None:
        self.label = label
        self.stderr = tempfile.TemporaryFile()
        command = [*prefix, sys.executable, str(WORKER), "--root", str(root), "--configs", json.dumps(list(configs)),
                   "--threads", str(threads), "--warmup", str(warmup)]
        # Its own session: Ctrl-C reaches the parent only, which then stops every worker itself.
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                        text=True, start_new_session=True, cwd=root, env=worker_environment(threads))
        self.ready: dict[str, Any] = {}

    def _fail(self, what: str) -> RevisionError:
        self.stderr.seek(0)
        tail = self.stderr.read().decode(errors="replace").strip()[-STDERR_TAIL:].replace("\n", " | ")
        return RevisionError(f"worker for {self.label} {what}" + (f" (stderr: {tail})" if tail else ""))

    def message(self, timeout_s: float) -> dict[str, Any]:
        """The worker's next JSON line, within ``timeout_s``."""
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        if not ready:
            raise self._fail(f"hung: no answer within {timeout_s:.0f} s")
        line = self.process.stdout.readline()
        if not line:
            raise self._fail(f"died (exit {self.process.wait(timeout=10)})")
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            raise self._fail(f"printed garbage: {line.strip()[:80]!r}") from None
        if not isinstance(message, dict):
            raise self._fail(f"printed garbage: {line.strip()[:80]!r}")
        if "error" in message:
            raise self._fail(f"failed: {message['error']}")
        return message

    def wait_ready(self) -> dict[str, Any]:
        message = self.message(READY_TIMEOUT_S)
        if not isinstance(message.get("ready"), dict):
            raise self._fail(f"sent {json.dumps(message)[:80]} instead of ready")
        self.ready = message["ready"]
        return self.ready

    def time(self, config: int, calls: int) -> float:
        """Wall seconds of ``calls`` forwards of configuration ``config``."""
        try:
            self.process.stdin.write(f"{config} {calls}\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._fail("died before a round") from None
        seconds = self.message(ROUND_TIMEOUT_S).get("seconds")
        if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds <= 0:
            raise self._fail(f"sent {seconds!r} as a round's seconds")
        return float(seconds)

    def close(self) -> None:
        """Ask it to end (stdin closed), then kill it and its session if it does not."""
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.stderr.close()


@contextlib.contextmanager
def workers(sides: Sequence[tuple[str, Path]], configs: Sequence[dict[str, Any]], threads: int, warmup: int,
            prefix: Sequence[str]) -> Iterator[list[Worker]]:
    """Workers started in the order given, all ready before the first round; all stopped after."""
    started: list[Worker] = []
    try:
        for label, root in sides:
            started.append(Worker(label, root, configs, threads, warmup, prefix))
        for worker in started:
            worker.wait_ready()
        yield started
    finally:
        for worker in started:
            worker.close()


# --- a comparison -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How a comparison is timed: its configurations, pairs, rounds, and the work in each round."""

    configs: tuple[dict[str, Any], ...]
    pairs: int
    rounds: int
    threads: int = 2
    warmup: int = 3
    round_s: float = 0.4  # each side's share of a round, per configuration: sets its number of calls

    def record(self) -> dict[str, Any]:
        return {"configurations": list(self.configs), "pairs": self.pairs, "rounds": self.rounds,
                "threads": self.threads, "warmup_calls": self.warmup, "round_target_s": self.round_s}


def calls_per_round(base: Worker, new: Worker, index: int, round_s: float) -> int:
    """Forwards per round for a configuration: one call timed on each side, scaled to ``round_s``."""
    one = max(base.time(index, 1), new.time(index, 1))
    return max(1, round(round_s / one))


def time_pair(base: Worker, new: Worker, settings: Settings) -> dict[str, Any]:
    """Every round of one pair: per configuration, BASE and NEW seconds, BASE first in even rounds."""
    calls = [calls_per_round(base, new, index, settings.round_s) for index in range(len(settings.configs))]
    seconds: list[dict[str, list[float]]] = [{"base_s": [], "new_s": []} for _ in settings.configs]
    meter = LoadMeter([base.process.pid, new.process.pid])
    for round_index in range(settings.rounds):
        order = ((base, "base_s"), (new, "new_s"))
        for worker, side in order if round_index % 2 == 0 else order[::-1]:
            for index, count in enumerate(calls):
                seconds[index][side].append(worker.time(index, count))
    load = meter.result()
    return {"calls_per_round": calls, "seconds": seconds, "load": load}


def compare(base: Revision, new: Revision, settings: Settings, repo: Path = REPO,
            progress: Callable[[int], None] = lambda _: None) -> dict[str, Any]:
    """Every pair of a comparison: which side started first, each round's seconds, the load seen."""
    check_sides(base, new)
    prefix = aslr_off_prefix()
    pairs = []
    with checked_out([base, new], repo) as (base_root, new_root):
        for pair in range(settings.pairs):
            sides = [(base.label(), base_root), (new.label(), new_root)]
            first = "base" if pair % 2 == 0 else "new"
            started = time.monotonic()
            with workers(sides if first == "base" else sides[::-1], settings.configs, settings.threads,
                         settings.warmup, prefix) as (one, two):
                base_worker, new_worker = (one, two) if first == "base" else (two, one)
                start_s = time.monotonic() - started
                timed = time_pair(base_worker, new_worker, settings)
                pairs.append({"started_first": first, "start_s": start_s, **timed,
                              "base_worker": base_worker.ready, "new_worker": new_worker.ready})
            progress(1)
    return {"base": base.record(), "new": new.record(), "settings": settings.record(), "aslr_off": bool(prefix),
            "worker_environment": {key: worker_environment(settings.threads)[key]
                                   for key in ("OMP_WAIT_POLICY", "PYTHONHASHSEED", "OMP_NUM_THREADS")},
            "pairs": pairs}
