"""Known deviations: ``deviations.md``, the explanations of figures (and claims) that do not hold.

Each explanation covers the one measurement it records, not any: when the measurement moves
away from that value, the row fails again. Parsing only; the verdicts are in ``verdicts``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable, Mapping

from bench.spec.data_files import EXPECTED_DIR, METRICS, MODEL_NAME, SETTING, ExpectedError
from bench.spec.rounding import PRINTED_NUMBER, agrees

__all__ = ["DEFAULT_DEVIATIONS", "KNOWN_DEVIATION", "Deviation", "DeviationKey", "explanation_for",
           "load_deviations"]

DEFAULT_DEVIATIONS = EXPECTED_DIR / "deviations.md"
KNOWN_DEVIATION = "known-deviation"  # the status_override that asks for an explanation, and its status
DeviationKey = tuple  # (model, img_size, metric[, setting]) as in paper_values.csv, or ("claim", claim_id)

# The first line of every entry: the measurement the explanation was written for.
_RECORDED = re.compile(r"Measured:\s*(\S+)")
RECORDED_FORMAT = "Measured: <the value it explains, as the gate prints it, e.g. 21.091>"


@dataclass(frozen=True)
class Deviation:
    """An entry of ``deviations.md``: the measurement it explains (as printed) and why."""

    measured_text: str  # e.g. "21.091": the explanation holds while a measurement rounds to it
    explanation: str

    def covers(self, measured: float | int | Decimal) -> bool:
        """Whether ``measured`` is still the measurement explained (same rounding rule as figures)."""
        return agrees(measured, self.measured_text)


def explanation_for(override: str, key: DeviationKey, deviations: Mapping[DeviationKey, Deviation],
                    fail: Callable[[str, str], ExpectedError]) -> Deviation | None:
    """A row's ``status_override``: empty, or ``known-deviation`` with its entry in ``deviations``."""
    if override not in ("", KNOWN_DEVIATION):
        raise fail("status_override", f"{override!r} is not empty or '{KNOWN_DEVIATION}'")
    if not override:
        return None
    if key not in deviations:
        raise fail("status_override", f"'{KNOWN_DEVIATION}' without an explanation: add a heading "
                                      f"'## {' '.join(map(str, key))}' to the deviations file")
    return deviations[key]


def _heading_key(path: Path, number: int, raw: str) -> DeviationKey:
    parts = raw[3:].split()
    if len(parts) == 2 and parts[0] == "claim":  # a text claim: '## claim <claim_id>'
        return ("claim", parts[1])
    if (len(parts) not in (3, 4) or not MODEL_NAME.fullmatch(parts[0]) or not parts[1].isdigit()
            or parts[2] not in METRICS or (len(parts) == 4 and not SETTING.fullmatch(parts[3]))):
        raise ExpectedError(f"{path}, line {number}: heading {raw.strip()!r} is not "
                            f"'## <model> <img_size> <metric>' (metric one of {', '.join(METRICS)}), with the row's "
                            "setting after it if it has one, or '## claim <claim_id>'")
    return (parts[0], int(parts[1]), *parts[2:])


def _entry(path: Path, key: DeviationKey, line: int, body: list[tuple[int, str]]) -> Deviation:
    name = f"'## {' '.join(map(str, key))}'"
    filled = [(number, text) for number, text in body if text.strip()]
    if not filled:
        raise ExpectedError(f"{path}, line {line}: heading {name} has no explanation under it")
    number, first = filled[0]
    recorded = _RECORDED.fullmatch(first.strip())
    if recorded is None:
        raise ExpectedError(f"{path}, line {number}: entry {name} records no measured value: "
                            f"its first line must be '{RECORDED_FORMAT}'")
    if not PRINTED_NUMBER.fullmatch(recorded.group(1)):
        raise ExpectedError(f"{path}, line {number}: entry {name}: recorded value "
                            f"{recorded.group(1)!r} is not a plain decimal number such as '21.091'")
    explanation = "\n".join(text for n, text in body if n > number).strip()
    if not explanation:
        raise ExpectedError(f"{path}, line {line}: heading {name} has no explanation under its measured value")
    return Deviation(recorded.group(1), explanation)


def load_deviations(path: str | Path = DEFAULT_DEVIATIONS) -> dict[DeviationKey, Deviation]:
    """Explanations keyed ``(model, img_size, metric)``: a ``## model img_size metric``
    heading, then a ``Measured: <value>`` line (the measurement explained, as printed), then
    the explanation up to the next heading; a text claim's is keyed ``("claim", claim_id)``
    from a ``## claim <claim_id>`` heading. Fenced code blocks are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ExpectedError(f"deviations file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ExpectedError(f"deviations file {path} cannot be read ({error})") from None

    entries: dict[DeviationKey, Deviation] = {}
    heading: tuple[DeviationKey, int] | None = None
    body: list[tuple[int, str]] = []

    def close() -> None:
        if heading is not None:
            entries[heading[0]] = _entry(path, heading[0], heading[1], body)

    in_fence = False
    for number, raw in enumerate(lines, start=1):
        if raw.lstrip().startswith("```"):
            in_fence = not in_fence
        if not in_fence and raw.startswith("## "):
            close()
            key = _heading_key(path, number, raw)
            if key in entries:
                raise ExpectedError(f"{path}, line {number}: second explanation for {' '.join(raw[3:].split())}")
            heading, body = (key, number), []
        elif heading is not None:
            if not in_fence and raw.startswith("# "):  # a new top-level section ends the entry
                close()
                heading, body = None, []
            else:
                body.append((number, raw))
    close()
    return entries
