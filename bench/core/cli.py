"""The one command-line convention: bad input is one line on stderr and exit 2, never a traceback.

Commands raise :class:`UsageError` (or an error class registered with :func:`user_error`, such
as a checkpoint error of ``sret``) and wrap their ``main`` with :func:`run`. Option types that
several commands share (positive integers, comma lists) are here, so their messages agree.
"""
from __future__ import annotations

import argparse
import difflib
import sys
from typing import Callable, Iterable, Sequence

from bench.core.io import ResultsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


USER_ERRORS: list[type[BaseException]] = [UsageError, ResultsError]


def user_error(cls: type[BaseException]) -> type[BaseException]:
    """Register an error class whose message is for the user (one line, exit 2), e.g. a bad checkpoint."""
    if cls not in USER_ERRORS:
        USER_ERRORS.append(cls)
    return cls


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but its errors are one line and go through :class:`UsageError`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def run(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Call ``main`` and turn user errors into one line on stderr and exit 2."""
    try:
        return main(argv)
    except tuple(USER_ERRORS) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def unknown_name(kind: str, name: str, known: Iterable[str], list_known: bool = False) -> UsageError:
    """An error naming an unknown ``name`` and the closest real ones (and all of them, ``list_known``,
    where there are few enough to read)."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hints = [f"did you mean {', '.join(close)}?"] if close else []
    hints += [f"choose from {', '.join(known)}"] if list_known else []
    hint = f" ({' '.join(hints)})" if hints else ""
    return UsageError(f"unknown {kind} {name!r}{hint}")


def split_list(text: str) -> list[str]:
    """``"a,b, c"`` -> ``["a", "b", "c"]``: the comma lists every command takes."""
    return [item.strip() for item in text.split(",") if item.strip()]


def choice_list(option: str, noun: str, text: str, known: Sequence[str]) -> tuple[str, ...]:
    """``option``'s comma list of ``known`` names, in order, each once; one line naming an unknown one."""
    chosen = tuple(dict.fromkeys(split_list(text)))
    for name in chosen:
        if name not in known:
            raise UsageError(f"{option}: {unknown_name(noun, name, known, list_known=True)}")
    if not chosen:
        raise UsageError(f"{option}: {text!r} names no {noun}")
    return chosen


def positive_int(option: str, minimum: int = 1) -> Callable[[str], int]:
    """An argparse ``type`` for ``option``: an integer of at least ``minimum``, else one line naming it."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise UsageError(f"{option}: {text!r} is not {kind}")
        return value
    return parse


def positive_number(option: str) -> Callable[[str], float]:
    """An argparse ``type``: a number above zero (seconds, say)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not value > 0:
            raise UsageError(f"{option}: {text!r} is not a positive number")
        return value
    return parse


def int_list(option: str) -> Callable[[str], tuple[int, ...]]:
    """An argparse ``type``: ``"1,8,64"`` -> ``(1, 8, 64)``, naming the first entry that is not a positive integer."""
    def parse(text: str) -> tuple[int, ...]:
        values = tuple(dict.fromkeys(positive_int(option)(item) for item in split_list(text)))
        if not values:
            raise UsageError(f"{option}: {text!r} names no value")
        return values
    return parse


def device_text(text: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:N`` (whether torch sees that GPU is checked where torch is)."""
    kind, _, index = text.partition(":")
    if kind not in ("cpu", "cuda") or (index and (kind == "cpu" or not index.isdigit())):
        raise UsageError(f"--device: unknown device {text!r} (use cpu or cuda[:N])")
    return text
