"""bench.measure.revisions and ``bench.compare --revisions``: real worktrees and real worker processes.

The revisions are small git repositories made here, whose ``sret/`` registers a tiny timm model
(or crashes, hangs, or prints garbage on import), so the whole protocol runs in seconds; one test
times the project's own ``sret_t`` at HEAD against itself. What the gate decides from the rounds
is tested on hand-made records, whose answers are worked out here.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import compare as entry
from bench.core.cli import run as run_command
from bench.gate import pairs, revision_gate
from bench.measure import revisions

REPO = Path(__file__).resolve().parents[1]

TINY_SRET = '''
import torch
from timm.models import register_model


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3 * 8 * 8, 10)
        self.pretrained_cfg = {"input_size": (3, 8, 8)}

    def forward(self, x):
        return self.fc(x.flatten(1))


@register_model
def sret_fake(pretrained=False, **kwargs):
    return Tiny()
'''


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()


def make_repo(tmp_path: Path, sret_source: str | None = TINY_SRET) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    if sret_source is not None:
        (repo / "sret").mkdir()
        (repo / "sret" / "__init__.py").write_text(sret_source)
    (repo / "README").write_text("a revision\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    return repo


SETTINGS = revisions.Settings(({"model": "sret_fake", "kernels": "stock", "batch": 2},), pairs=2, rounds=4,
                              warmup=1, round_s=0.01)


def worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list").splitlines() if line]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


# --- real worker processes --------------------------------------------------------------------------


@pytest.mark.slow
def test_two_commits_are_timed_in_alternating_rounds_from_their_own_worktrees(tmp_path):
    repo = make_repo(tmp_path)
    first = git(repo, "rev-parse", "HEAD")
    (repo / "README").write_text("a second revision\n")
    git(repo, "commit", "-q", "-am", "two")
    base, new = revisions.resolve(first, repo=repo), revisions.resolve("HEAD", repo=repo)
    record = revisions.compare(base, new, SETTINGS, repo=repo)
    assert [pair["started_first"] for pair in record["pairs"]] == ["base", "new"]
    for pair in record["pairs"]:
        assert len(pair["seconds"][0]["base_s"]) == len(pair["seconds"][0]["new_s"]) == 4
        # each worker imported its own revision's sret/, from a worktree that is gone now
        assert pair["base_worker"]["sret"] != pair["new_worker"]["sret"]
        assert not Path(pair["base_worker"]["sret"]).exists()
    assert record["base"]["commit"] == first and record["worker_environment"]["OMP_WAIT_POLICY"] == "PASSIVE"
    assert worktrees(repo) == worktrees(repo)[:1]  # only the main checkout is left


@pytest.mark.slow
def test_the_working_tree_is_timed_from_a_copy_with_its_uncommitted_change(tmp_path):
    repo = make_repo(tmp_path)
    # uncommitted: every forward sleeps 50 ms, which only the working tree's copy can show
    slow = TINY_SRET.replace("return self.fc(x.flatten(1))", "import time; time.sleep(0.05); return self.fc(x.flatten(1))")
    (repo / "sret" / "__init__.py").write_text(slow)
    new = revisions.resolve(".", repo=repo)
    assert new.working_tree and new.dirty
    record = revisions.compare(revisions.resolve("HEAD", repo=repo), new, SETTINGS, repo=repo)
    for pair in record["pairs"]:
        assert max(pair["seconds"][0]["base_s"]) < 0.04 < min(pair["seconds"][0]["new_s"])
        assert pair["new_worker"]["sret"] != str((repo / "sret").resolve())
        assert len(pair["base_worker"]["sret"]) == len(pair["new_worker"]["sret"])  # paths of one length
    assert len(worktrees(repo)) == 1


@pytest.mark.parametrize("source, message", [  # the first runs bench/measure/revision_worker.py in the quick suite
    ("import os\nos._exit(3)\n", "died (exit 3)"),
    pytest.param("print('hello from sret')\n", "printed garbage: 'hello from sret'", marks=pytest.mark.slow),
    pytest.param("raise ImportError('no such thing')\n", "failed: ImportError: no such thing", marks=pytest.mark.slow),
])
def test_a_worker_that_dies_or_prints_garbage_is_one_line_and_leaves_nothing(tmp_path, source, message):
    repo = make_repo(tmp_path, source)
    with pytest.raises(revisions.RevisionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        revisions.compare(revisions.resolve("HEAD", repo=repo), revisions.resolve("HEAD", repo=repo), SETTINGS,
                          repo=repo)
    assert len(worktrees(repo)) == 1


@pytest.mark.slow
def test_a_worker_that_hangs_is_stopped_and_named(tmp_path, monkeypatch):
    repo = make_repo(tmp_path, "import time\ntime.sleep(600)\n")
    monkeypatch.setattr(revisions, "READY_TIMEOUT_S", 8)  # the machine's edge: not 5 minutes in a test
    spawned = []
    real_worker = revisions.Worker

    def recording(*args, **kwargs):
        spawned.append(real_worker(*args, **kwargs))
        return spawned[-1]

    monkeypatch.setattr(revisions, "Worker", recording)
    with pytest.raises(revisions.RevisionError, match="hung: no answer within 8 s"):
        revisions.compare(revisions.resolve("HEAD", repo=repo), revisions.resolve("HEAD", repo=repo), SETTINGS,
                          repo=repo)
    assert spawned and not any(alive(worker.process.pid) for worker in spawned)
    assert len(worktrees(repo)) == 1


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_and_removes_the_worktrees(tmp_path):
    repo = make_repo(tmp_path)
    seen = []

    def interrupt(_):
        seen.append(worktrees(repo))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        revisions.compare(revisions.resolve("HEAD", repo=repo), revisions.resolve("HEAD", repo=repo),
                          SETTINGS, repo=repo, progress=interrupt)
    assert len(seen[0]) == 3 and len(worktrees(repo)) == 1  # a worktree per side existed, and is gone


# --- revisions that cannot be compared --------------------------------------------------------------


def test_an_unknown_revision_a_revision_without_sret_and_a_dirty_base_are_refused(tmp_path):
    repo = make_repo(tmp_path, None)
    with pytest.raises(revisions.RevisionError, match="unknown revision 'nope'"):
        revisions.resolve("nope", repo=repo)
    with pytest.raises(revisions.RevisionError, match="has no sret/ package"):
        revisions.resolve("HEAD", repo=repo)
    (repo / "sret").mkdir()
    (repo / "sret" / "__init__.py").write_text("# new\n")
    dirty = revisions.resolve(".", repo=repo)
    with pytest.raises(revisions.RevisionError, match="dirty working tree, and so is NEW"):
        revisions.check_sides(dirty, dirty)


def test_a_results_file_stands_for_the_commit_it_was_measured_at(tmp_path):
    measured = json.loads((REPO / "reports" / "throughput-cpu-run1.json").read_text())["environment"]
    assert revisions.resolve(str(REPO / "reports" / "throughput-cpu-run1.json")).commit == measured["git_commit"]
    dirty = tmp_path / "dirty.json"
    dirty.write_text(json.dumps({"environment": {"git_commit": "abc", "git_dirty": True}}))
    with pytest.raises(revisions.RevisionError, match="measured on a dirty tree"):
        revisions.resolve(str(dirty))


def test_bad_revisions_reach_the_command_line_as_one_line_and_exit_2(capsys):
    code = run_command(entry.main, ["--revisions", "no-such-revision-anywhere"])
    _, err = capsys.readouterr()
    assert code == 2 and err.strip() == f"error: unknown revision 'no-such-revision-anywhere': not a commit of {REPO}"
    assert run_command(entry.main, ["--revisions", "HEAD", "--models", "deit_tiny_patch16_224"]) == 2
    assert "not an SReT model" in capsys.readouterr().err


# --- the machine's other work -----------------------------------------------------------------------


def test_a_busy_process_is_other_work_unless_it_is_one_of_ours():
    """Two meters over the same second, one told the busy process is ours: they differ by exactly its CPU
    time, which getrusage reports for it once it is reaped (whatever else the machine is doing)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        theirs, ours = revisions.LoadMeter([]), revisions.LoadMeter([busy.pid])
        time.sleep(1.0)
        seen_theirs, seen_ours = theirs.result(), ours.result()
    finally:
        busy.kill()
        busy.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_cores = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / seen_theirs["wall_s"]
    assert busy_cores > 0.3  # it did run
    difference = seen_theirs["other_processes_cores"] - seen_ours["other_processes_cores"]
    assert difference == pytest.approx(busy_cores, abs=0.1)


# --- judging, on hand-made records ------------------------------------------------------------------


def record(per_pair_seconds, load=0.0):
    """A comparison of one configuration: per pair, (BASE seconds, NEW seconds) of each round."""
    return {"settings": {"configurations": [{"model": "sret_t", "kernels": "stock", "batch": 8}],
                         "rounds": len(per_pair_seconds[0][0])},
            "pairs": [{"seconds": [{"base_s": list(b), "new_s": list(n)}], "calls_per_round": [2],
                       "load": {"other_processes_cores": load, "steal_cores": 0.0, "wall_s": 10.0}, "start_s": 5.0,
                       "base_worker": {"torch": "2.14.1"}, "new_worker": {"torch": "2.14.1"}}
                      for b, n in per_pair_seconds]}


SLOWED = [([1.0, 1.0, 1.0], [1.04, 1.03, 1.04]), ([1.0, 1.0, 1.0], [1.04, 1.04, 1.05]),
          ([1.0, 1.0, 1.0], [1.03, 1.04, 1.04]), ([1.0, 1.0, 1.0], [1.04, 1.04, 1.04])]


def test_every_pair_about_4_percent_slower_is_slower_with_its_interval():
    judged = revision_gate.judge(record(SLOWED), floor=0.02)["configurations"][0]
    medians = [1 / 1.04, 1 / 1.04, 1 / 1.04, 1 / 1.04]
    assert judged["pair_medians"] == pytest.approx(medians)
    assert judged["ratio"] == pytest.approx(1 / 1.04) and judged["verdict"] == pairs.SLOWER
    assert judged["images_per_s_base"] == pytest.approx(16.0)  # batch 8 x 2 calls in 1 s


def test_a_busy_machine_makes_the_verdict_unreliable_naming_the_load():
    judged = revision_gate.judge(record(SLOWED, load=1.4), floor=0.02)
    assert judged["configurations"][0]["verdict"] == pairs.UNRELIABLE
    assert judged["configurations"][0]["verdict_if_reliable"] == pairs.SLOWER
    assert judged["load_problems"][0] == "pair 1: other processes used 1.40 cores while its rounds ran"


def test_calibration_chooses_the_smallest_silent_floor_and_counts_the_slowed_it_catches():
    # A/A: one comparison whose pairs all read about 1.5% faster (interval clear of 1), one centred on 1.
    aa = [record([([1.0] * 3, [1 / 1.015] * 3)] * 3 + [([1.0] * 3, [1 / 1.016] * 3)]),
          record([([1.0] * 3, [1.01] * 3), ([1.0] * 3, [0.99] * 3)] * 2)]
    calibration = revision_gate.calibrate(aa, [record(SLOWED)], target_half_width=0.012, max_pairs=8)
    # the faster A/A's estimate is ~1.0152: a floor of 0.02 (steps of 0.005 above 0.0152) silences it
    assert calibration["chosen_floor"] == 0.02
    assert calibration["aa"]["false_alarms"] == 0 and calibration["slowed"]["flagged_slower"] == 1
    assert calibration["slowed"]["measured_cost_ratio"] == pytest.approx(1 / 1.04, rel=2e-3)
    at_zero = next(row for row in calibration["alarms_per_floor"] if row["floor"] == 0.0)
    assert at_zero["aa_alarms"] == 1


# --- the project's own model, HEAD against itself ------------------------------------------------------


@pytest.mark.slow
def test_head_against_itself_exits_0(capsys):
    code = run_command(entry.main, ["--revisions", "HEAD", "HEAD", "--models", "sret_t", "--kernels", "stock",
                                    "--batch-sizes", "1", "--pairs", "2", "--rounds", "2", "--load-limit", "100"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "sret_t stock batch 1" in out and "2 process pairs x 2 rounds" in out


def test_the_calibration_slowdown_applies_to_this_sret_and_only_adds_work():
    patch = REPO / "tests" / "fixtures" / "slowdown.patch"
    assert subprocess.run(["git", "apply", "--check", str(patch)], cwd=REPO).returncode == 0
    added = [line for line in patch.read_text().splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert any("F.gelu(hidden)" in line and "unused" in line for line in added)


def test_steal_counts_only_past_its_own_limit_pair_after_pair():
    busy = record(SLOWED)
    for pair, steal in zip(busy["pairs"], (0.3, 0.6, 0.3, 0.3)):
        pair["load"]["steal_cores"] = steal
    assert revision_gate.load_problems(busy) == ["pair 2: the hypervisor stole 0.60 cores while its rounds ran"]
