"""How old each results file is against the code: its commit, and the commits since that changed
the code it measured (``sret/`` or ``bench/``, less the page's own rendering code), from git history.

A results file records ``environment.git_commit``. When later commits changed the measuring code,
the file may no longer describe it and the page flags it; a change to how the page renders
(``bench/page/``, ``bench/report.py``) changes no measurement and is not counted. The count is
taken up to a named commit (the checkout that renders the page, which the page names), so a
re-render at that commit gives the same page. Without git, outside a checkout, or with a commit
the history does not hold, every answer is "unknown"; nothing here raises.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from bench.core.git import MEASURING_CODE, MEASURING_CODE_WORDS, REPO, git
from bench.page.markdown import device_label
from bench.page.section import Section, Table

UNKNOWN = "unknown"
AGES = "ages"


@dataclass(frozen=True)
class Age:
    """A results file's commit and the code commits after it, up to ``head``; None where unknown."""

    commit: str | None
    head: str | None
    code_commits_since: int | None

    @property
    def stale(self) -> bool:
        return bool(self.code_commits_since)


def resolve(revision: str | None, repo: Path = REPO) -> str | None:
    """The full commit id of ``revision`` in ``repo``'s history, or None."""
    if not revision:
        return None
    return git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", repo=repo)


def age(commit: str | None, head: str | None = "HEAD", repo: Path = REPO,
        paths: Sequence[str] = MEASURING_CODE) -> Age:
    """How many commits after ``commit``, up to ``head``, changed ``paths``."""
    full, head_full = resolve(commit, repo), resolve(head, repo)
    if full is None or head_full is None:
        return Age(full or commit, head_full, None)
    if git("merge-base", "--is-ancestor", full, head_full, repo=repo) is None:
        return Age(full, head_full, None)  # not an ancestor: "since" has no meaning
    listed = git("rev-list", "--count", f"{full}..{head_full}", "--", *paths, repo=repo)
    return Age(full, head_full, int(listed) if listed and listed.isdigit() else None)


def ages(files: Sequence[tuple[str, dict[str, Any]]], head: str | None = "HEAD",
         repo: Path = REPO) -> dict[str, Age]:
    """The age of every results file, keyed by the name the page shows it under.

    Files measured at one commit share one lookup, and ``head`` is resolved once: the git calls
    grow with the distinct commits, not with the files."""
    head = resolve(head, repo) or head
    by_commit: dict[str | None, Age] = {}
    found = {}
    for name, document in files:
        commit = document["environment"].get("git_commit")
        if commit not in by_commit:
            by_commit[commit] = age(commit, head, repo)
        found[name] = by_commit[commit]
    return found


def _short(commit: str | None) -> str:
    return commit[:12] if commit else UNKNOWN


def stale_lines(found: dict[str, Age], documents: dict[str, dict[str, Any]], anchors: dict[str, str]) -> list[str]:
    """The warning at the top of the page for results older than the code they measured, or measured
    on uncommitted code."""
    stale = [name for name, entry in found.items() if entry.stale]
    dirty = [name for name, document in documents.items() if document["environment"].get("git_dirty")]
    lines = []
    if stale:
        lines += [f"**Stale results:** {', '.join(f'`{name}`' for name in stale)} "
                  f"{'was' if len(stale) == 1 else 'were'} measured before later changes to "
                  f"{MEASURING_CODE_WORDS} ([results files against the code](#{anchors[AGES]})).", ""]
    if dirty:
        lines += [f"**Uncommitted code:** {', '.join(f'`{name}`' for name in dirty)} "
                  f"{'was' if len(dirty) == 1 else 'were'} measured on changes to {MEASURING_CODE_WORDS} "
                  "that no commit holds: no commit reproduces them.", ""]
    return lines


_ENVIRONMENT_FIELDS = (("kind", None), ("date", "date"), ("git commit", "git_commit"), ("uncommitted code", "git_dirty"),
                       ("device", None), ("torch device", "device"), ("threads", "threads"), ("CPUs", "cpu_count"),
                       ("python", "python"), ("torch", "torch"), ("timm", "timm"), ("fvcore", "fvcore"),
                       ("thop", "thop"), ("platform", "platform"))


def _environment_cell(document: dict[str, Any], label: str, key: str | None) -> Any:
    environment = document["environment"]
    if label == "kind":
        return document["kind"]
    if label == "device":
        return device_label(environment)
    value = environment.get(key)
    if key == "git_commit":
        return value[:12] if value else None
    if key == "git_dirty":
        return "**yes**" if value else "no" if value is False else UNKNOWN
    return value


def _state(entry: Age) -> list[str]:
    since = UNKNOWN if entry.code_commits_since is None else str(entry.code_commits_since)
    verdict = ("**stale: the code changed since**" if entry.stale else
               "current" if entry.code_commits_since == 0 else UNKNOWN)
    return [since, verdict]


def files_section(files: Sequence[tuple[str, dict[str, Any]]], found: dict[str, Age], command: str) -> Section:
    """A row per results file: where, when and with what it was measured, and whether the code changed
    since (a stale file in bold); ``command`` regenerates the page."""
    heads = {entry.head for entry in found.values()}
    head = next(iter(heads)) if len(heads) == 1 else None
    rows = [[f"`{name}`", *(_environment_cell(document, label, key) for label, key in _ENVIRONMENT_FIELDS),
             *_state(found[name])] for name, document in files]
    return Section("Results files against the code", [
        f"Commits that changed {MEASURING_CODE_WORDS} after the commit each results file was "
        f"measured at, up to {_short(head) if head else 'an unknown commit'} (the checkout this page was "
        "rendered from). A stale file may no longer describe the code: measure it again.",
        Table(rows, ["results file", *(label for label, _ in _ENVIRONMENT_FIELDS), "code commits since", "state"],
              [name for name, _ in files]),
        f"Regenerate this page from the committed results with `{command}`."], key=AGES)


def rendered_at(page: str) -> str | None:
    """The commit a page says it was rendered from (what :func:`files_section` wrote), or None."""
    marker = "up to "
    for line in page.splitlines():
        if line.startswith("Commits that changed") and marker in line:
            word = line.split(marker, 1)[1].split(" ", 1)[0]
            return None if word in ("an", UNKNOWN) else word
    return None
