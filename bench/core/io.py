"""Results files: written atomically, read back with their schema checked.

A crash leaves the old file or the new one, never half of one; a file of another schema or
kind is named in one line instead of being guessed at.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bench.core.git import REPO
from bench.core.schema import KINDS, SCHEMA


def display_path(path: Path, root: Path = REPO) -> str:
    """A path as results files and pages record it: relative to the checkout ``root`` when inside
    it, so the record does not depend on where the checkout lies."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


class ResultsError(Exception):
    """A results or data file that is missing, malformed or of another schema (one line, exit 2)."""


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A temporary file in ``path``'s folder (so the rename is atomic) with normal permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; results are meant to be shared
    return fd, tmp


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file (JSON, CSV, Markdown) so that a crash leaves either the old file or the new one."""
    path = Path(path)
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | os.PathLike, payload: Any) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2) + "\n")


def read_results(path: str | os.PathLike) -> dict[str, Any]:
    """Read a results document, naming the file if it is missing, malformed or foreign."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"results file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"results file {path} is not valid JSON ({error})") from None
    if not isinstance(payload, dict) or "schema" not in payload:
        raise ResultsError(f"results file {path} has no 'schema' field: not a sret-bench results file")
    if payload["schema"] != SCHEMA:
        raise ResultsError(f"results file {path} is of schema {payload['schema']!r}, this version reads {SCHEMA!r}: "
                           "measure it again")
    if payload.get("kind") not in KINDS:
        raise ResultsError(f"results file {path} has unknown kind {payload.get('kind')!r}")
    return payload
