"""Git, asked without ever raising: the producers record the commit they ran at, the page how old
each results file is. Outside a checkout, or without git, every answer is None."""
from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The code a measurement depends on, as git pathspecs: the models and the harness, but not the
# page (bench/page/, bench/report.py), which renders results and changes none of them.
MEASURING_CODE = ("sret", "bench", ":(exclude)bench/page", ":(exclude)bench/report.py")
MEASURING_CODE_WORDS = "`sret/` or `bench/` (not the page's `bench/page/` and `bench/report.py`)"


def git(*args: str, repo: Path = REPO) -> str | None:
    """Stdout of a git command in ``repo``, or None when git, the checkout or the revision is missing."""
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def commit(repo: Path = REPO) -> str | None:
    """The commit the checkout is at."""
    return git("rev-parse", "HEAD", repo=repo) or None


def dirty(repo: Path = REPO, paths: tuple[str, ...] = MEASURING_CODE) -> bool | None:
    """Whether ``paths`` differ from the commit (uncommitted measuring code); None outside a checkout."""
    status = git("status", "--porcelain", "--", *paths, repo=repo)
    return None if status is None else bool(status)
