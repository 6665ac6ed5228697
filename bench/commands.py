"""The command that reproduces each table of the report, written under it.

Each results file gets its command back from what it recorded (``config``, seeds, device), one
function per kind. The page is annotated after it is rendered, so every section, in whichever
module it is written, gets its line: a table names the results files it shows (in its cells, or
in the text of its section before it), or its heading says which kind of file it comes from;
anything else is rendered from ``expected/`` and the results by ``bench.report`` itself.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Sequence

REPORT_COMMAND = "python -m bench.report > reports/latest.md"
PREFIX = "Reproduce: "
# Sections rendered from the verify results (heading prefixes; "###" claim headings are under them).
VERIFY_HEADINGS = ("What was checked", "The four Papers-with-Code figures", "Official README figures",
                   "Known deviations", "Claims of the paper's text", "What each released model computes",
                   "Three FLOP counters")
# Subsections whose tables come from expected/ rather than a measurement.
REPORT_HEADINGS = ("Where each figure comes from", "Claims of the paper this suite does not check")


def _join(values: Sequence[Any]) -> str:
    return ",".join(str(value) for value in values)


def verify_command(name: str, document: dict[str, Any]) -> str:
    parts = ["python -m bench.verify"]
    device = document["environment"].get("device")
    if device and device != "cpu":
        parts.append(f"--device {device}")
    if any(row["metric"] == "top1" and row["measured"] is not None for row in document.get("results", [])):
        parts.append("--checkpoints CHECKPOINT_DIR --data IMAGENET_VAL_DIR")
    if any(row["policy"] == "compiled" for row in document.get("function", [])):
        parts.append("--compile")
    return " ".join([*parts, f"--json {name}"])


def throughput_command(name: str, document: dict[str, Any]) -> str:
    config = document.get("config", {})
    parts = ["python -m bench.throughput"]
    if config.get("models"):
        parts.append(f"--models {_join(config['models'])}")
    parts.append(f"--device {config.get('device') or document['environment'].get('device') or 'cpu'}")
    if config.get("batch_sizes"):
        parts.append(f"--batch-sizes {_join(config['batch_sizes'])}")
    if config.get("kernels"):
        parts.append(f"--kernels {_join(config['kernels'])}")
    options = (("amp", "--amp"), ("img_size", "--img-size"), ("threads", "--threads"),
               ("warmup_iters", "--warmup"), ("iters_per_round", "--iters"), ("rounds", "--rounds"))
    parts += [f"{flag} {config[key]}" for key, flag in options if config.get(key) is not None]
    parts += [flag for key, flag in (("compile", "--compile"), ("channels_last", "--channels-last"))
              if config.get(key)]
    return " ".join([*parts, f"--json {name}"])


def slicing_speed_command(name: str, document: dict[str, Any]) -> str:
    config = document.get("config", {})
    sliced = [model for model in config.get("models", []) if not model.endswith("_wo_slice")]
    parts = ["python -m bench.slicing_speed", f"--models {_join(sliced)}",
             f"--device {config.get('device') or 'cpu'}"]
    for key, flag in (("batch_sizes", "--batch-sizes"), ("kernels", "--kernels")):
        if config.get(key):
            parts.append(f"{flag} {_join(config[key])}")
    options = (("amp", "--amp"), ("threads", "--threads"), ("warmup_iters", "--warmup"),
               ("iters_per_round", "--iters"), ("rounds", "--rounds"))
    parts += [f"{flag} {config[key]}" for key, flag in options if config.get(key) is not None]
    if config.get("tf32") and not config.get("amp"):
        parts.append("--tf32")
    return " ".join([*parts, f"--json {name}"])


def gpu_command(name: str, document: dict[str, Any]) -> str:
    """Every file ``bench.gpu`` writes comes from its one command (its ``gpu_run`` file records it whole)."""
    if document.get("command"):
        return " ".join(document["command"])
    return f"python -m bench.gpu --out {Path(name).parent.as_posix()}"


def model_speed_command(name: str, document: dict[str, Any]) -> str:
    rows = document.get("results", [])
    first = rows[0] if rows else {}
    parts = ["python -m bench.model_speed"]
    if rows:
        parts.append(f"--models {_join(dict.fromkeys(row['model'] for row in rows))}")
    for key, flag in (("batch_size", "--batch-size"), ("rounds", "--rounds"), ("iters_per_round", "--iters")):
        if first.get(key) is not None:
            parts.append(f"{flag} {first[key]}")
    if document.get("threads") is not None:
        parts.append(f"--threads {document['threads']}")
    if document["environment"].get("device_type") == "gpu":
        parts.append(f"--device {document['environment'].get('device') or 'cuda'}")
    if rows and not any("compiled" in row.get("ratios", {}) for row in rows):
        parts.append("--no-compile")
    if any("release_code" in row.get("ratios", {}) for row in rows):
        parts.append("--release-code RELEASE_CODE_DIR")
    return " ".join([*parts, f"--json {name}"])


def accuracy_command(name: str, document: dict[str, Any]) -> str:
    parts = ["python -m bench.accuracy", f"--model {document['model']}"]
    if document.get("pretrained_tag"):
        parts.append(f"--pretrained {document['pretrained_tag']}")
    elif document.get("checkpoint"):
        parts.append(f"--checkpoint CHECKPOINT_DIR/{Path(document['checkpoint']).name}")
    parts.append("--data IMAGENET_VAL_DIR")
    if document.get("seeds"):
        parts.append(f"--seeds {_join(document['seeds'])}")
    if document.get("limit"):
        parts.append(f"--limit {document['limit']}")
    if document.get("environment", {}).get("device_type") == "gpu":
        parts.append("--device cuda")
    return " ".join([*parts, f"--json {name}"])


COMMANDS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "verify": verify_command, "throughput": throughput_command,
    "model_speed": model_speed_command, "accuracy": accuracy_command,
    "slicing_speed": slicing_speed_command, "device_check": gpu_command, "gpu_run": gpu_command,
}


def command_for(name: str, document: dict[str, Any]) -> str:
    """The command that writes results file ``name`` as it was written."""
    if document.get("written_by") == "bench.gpu":
        return gpu_command(name, document)
    return COMMANDS[document["kind"]](name, document)


def _is_table(line: str) -> bool:
    return line.startswith("|")


def _named_files(text: str, files: dict[str, dict[str, Any]]) -> list[str]:
    """The results files a piece of the page names, in the order of their first mention."""
    positions = {name: text.find(name) for name in files if name in text}
    return sorted(positions, key=positions.get)


def commands_for_table(table: str, section_text: str, headings: Sequence[str],
                       files: dict[str, dict[str, Any]]) -> list[str]:
    """The commands under one table: see the module docstring for the order of the rules."""
    named = _named_files(table, files)
    if named:
        return [command_for(name, files[name]) for name in named]
    before = _named_files(section_text, files)
    if before:
        return [command_for(name, files[name]) for name in before]
    innermost = headings[-1] if headings else ""
    if not innermost.startswith(REPORT_HEADINGS):
        verify = [name for name, document in files.items() if document["kind"] == "verify"]
        if verify and any(heading.startswith(VERIFY_HEADINGS) for heading in headings):
            return [command_for(verify[0], files[verify[0]])]
    return [REPORT_COMMAND]


def annotate(page: str, files: dict[str, dict[str, Any]]) -> str:
    """``page`` with the reproducing command(s) written under every table."""
    lines = page.split("\n")
    out: list[str] = []
    headings: list[tuple[int, str]] = []  # (level, text) of the headings above, outermost first
    section: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        heading = re.match(r"(#{1,6}) (.*)", line)
        if heading:
            level = len(heading.group(1))
            headings = [entry for entry in headings if entry[0] < level] + [(level, heading.group(2))]
            section = [] if level <= 2 else section
        if _is_table(line):
            end = index
            while end < len(lines) and _is_table(lines[end]):
                end += 1
            table = "\n".join(lines[index:end])
            found = commands_for_table(table, "\n".join(section), [text for _, text in headings], files)
            out += lines[index:end]
            out += ["", PREFIX + "; ".join(f"`{command}`" for command in found)]
            section += lines[index:end]
            index = end
            continue
        out.append(line)
        section.append(line)
        index += 1
    return "\n".join(out)


def commands_on_page(page: str) -> list[str]:
    """Every command written under a table of ``page``, once each, in order."""
    found: list[str] = []
    for line in page.splitlines():
        if line.startswith(PREFIX):
            found += [command for command in re.findall(r"`([^`]+)`", line) if command not in found]
    return found
