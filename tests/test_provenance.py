"""bench.page.provenance on a git repository the test builds: commits that changed sret/ or bench/ after a
results file's commit are counted, other paths (and the page's own code) are not, and anything unknown
says so without raising."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bench.core import git
from bench.page import provenance
from bench.page.section import Table

ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=ENV, check=True, capture_output=True,
                          text=True).stdout.strip()


def _commit(repo: Path, path: str, text: str) -> str:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    _git(repo, "add", path)
    _git(repo, "commit", "-q", "-m", f"change {path}")
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def history(tmp_path):
    """measured -> sret/ change -> docs change -> bench/ change -> reports change, on one branch."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    measured = _commit(repo, "sret/model.py", "v1")
    commits = [measured, _commit(repo, "sret/model.py", "v2"), _commit(repo, "README.md", "docs"),
               _commit(repo, "bench/measure/timing.py", "v2"), _commit(repo, "reports/verify.json", "{}")]
    return repo, commits


def test_counts_only_commits_that_changed_the_code(history):
    repo, (measured, code1, docs, code2, reports) = history
    assert provenance.age(measured, "HEAD", repo).code_commits_since == 2  # sret/ and bench/, not docs, reports
    assert provenance.age(measured, docs, repo).code_commits_since == 1
    assert provenance.age(code2, "HEAD", repo).code_commits_since == 0
    age = provenance.age(measured[:10], "HEAD", repo)  # a short id as results might hold
    assert age.commit == measured and age.head == reports and age.stale


def test_changes_to_the_page_alone_are_not_counted(history):
    repo, (measured, *_rest) = history
    before = provenance.age(measured, "HEAD", repo).code_commits_since
    _commit(repo, "bench/page/speed_report.py", "new table")
    _commit(repo, "bench/report.py", "new order")
    assert provenance.age(measured, "HEAD", repo).code_commits_since == before == 2
    _commit(repo, "bench/pages.py", "a harness module whose name starts like the page's")
    assert provenance.age(measured, "HEAD", repo).code_commits_since == 3


def test_uncommitted_page_code_is_not_uncommitted_measuring_code(history):
    repo, _commits = history
    (repo / "bench" / "page").mkdir(parents=True)
    (repo / "bench" / "page" / "new.py").write_text("x")
    assert git.dirty(repo) is False
    (repo / "sret" / "model.py").write_text("v3")
    assert git.dirty(repo) is True


def test_unknown_commits_and_no_history_say_unknown(history, tmp_path):
    repo, (measured, *_rest) = history
    for commit in (None, "", "0123456789abcdef0123456789abcdef01234567", "not a commit"):
        assert provenance.age(commit, "HEAD", repo).code_commits_since is None
    assert provenance.age(measured, None, repo).code_commits_since is None
    bare = tmp_path / "no-git"
    bare.mkdir()
    assert provenance.age(measured, "HEAD", bare) == provenance.Age(measured, None, None)
    files = [("reports/verify.json", {"kind": "verify", "environment": {}})]
    section = provenance.files_section(files, {"reports/verify.json": provenance.age(None, "HEAD", bare)}, "cmd")
    (table,) = [block for block in section.blocks if isinstance(block, Table)]
    (row,) = table.rows
    assert row[0] == "`reports/verify.json`" and row[-2:] == ["unknown", "unknown"]
    clean = {"a.json": {"environment": {"git_dirty": False}}}
    assert provenance.stale_lines({"a.json": provenance.age(None, "HEAD", bare)}, clean, {}) == []


def test_a_commit_on_another_branch_is_not_counted_as_older(history):
    repo, (measured, *_rest) = history
    _git(repo, "checkout", "-q", "-b", "side", measured)
    side = _commit(repo, "bench/other.py", "x")
    _git(repo, "checkout", "-q", "main")
    assert provenance.age(side, "HEAD", repo).code_commits_since is None


def test_the_page_flags_a_stale_file_and_names_its_rendering_commit(history):
    repo, (measured, code1, docs, code2, reports) = history
    found = {"reports/verify.json": provenance.age(measured, "HEAD", repo),
             "reports/throughput-cpu.json": provenance.age(code2, "HEAD", repo)}
    commits = {"reports/verify.json": measured, "reports/throughput-cpu.json": code2}
    files = [(name, {"kind": "verify", "environment": {"git_commit": commit, "git_dirty": False}})
             for name, commit in commits.items()]
    section = provenance.files_section(files, found, "cmd")
    (table,) = [block for block in section.blocks if isinstance(block, Table)]
    commit = table.headers.index("git commit")
    assert [[row[0], row[commit], *row[-2:]] for row in table.rows] == [
        ["`reports/verify.json`", measured[:12], "2", "**stale: the code changed since**"],
        ["`reports/throughput-cpu.json`", code2[:12], "0", "current"]]
    assert provenance.rendered_at(section.blocks[0]) == _git(repo, "rev-parse", "HEAD")[:12]
    documents = {name: {"environment": {"git_dirty": False}} for name in found}
    warning = provenance.stale_lines(found, documents, {provenance.AGES: "ages"})[0]
    assert "`reports/verify.json` was measured before" in warning and "(#ages)" in warning


def test_results_measured_on_uncommitted_code_are_flagged():
    documents = {"a.json": {"environment": {"git_dirty": True}}, "b.json": {"environment": {"git_dirty": False}}}
    (warning, _) = provenance.stale_lines({}, documents, {})
    assert warning.startswith("**Uncommitted code:** `a.json` was measured") and "b.json" not in warning
