"""The one error convention of every command: bad input is one line on stderr and exit 2.

Commands raise :class:`UsageError` (or a library error listed in ``_USER_ERRORS``) and
wrap their ``main`` with :func:`run`, so no user ever sees a traceback for a typo.
"""
from __future__ import annotations

import argparse
import difflib
import sys
from typing import Callable, Iterable, Sequence

from bench.results import ResultsError
from sret.checkpoint import CheckpointError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


_USER_ERRORS = (UsageError, CheckpointError, ResultsError)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but its errors are one line and go through :class:`UsageError`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def run(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Call ``main`` and turn user errors into one line on stderr and exit 2."""
    try:
        return main(argv)
    except _USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def unknown_name(kind: str, name: str, known: Iterable[str]) -> UsageError:
    """An error naming an unknown ``name`` and the closest real ones."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return UsageError(f"unknown {kind} {name!r}{hint}")


def split_list(text: str) -> list[str]:
    """``"a,b, c"`` -> ``["a", "b", "c"]``: the comma lists every command takes."""
    return [item.strip() for item in text.split(",") if item.strip()]
