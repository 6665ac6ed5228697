"""`python -m bench.device.ingest ARCHIVE`: the device run's archive into reports/, checked before anything is written.

The archive came back from another machine, so it is read, never extracted: every member must be
a plain file whose name is one of bench.gpu's results (``<stem>-<card>.json``, no folder), at
most 16 MiB, a results document of the kind its stem says, all of one card and with the run's
manifest among them. Anything else is one line naming the member, exit 2, and nothing written.
Then ``python -m bench.report > reports/latest.md`` renders the GPU section from them.
"""
from __future__ import annotations

import json
import re
import sys
import tarfile
from pathlib import Path
from typing import Sequence

from bench.core.cli import ArgumentParser, UsageError, run
from bench.core.io import write_text_atomic
from bench.core.schema import SCHEMA

REPORTS = Path(__file__).resolve().parents[2] / "reports"
MAX_BYTES = 16 * 2**20
# bench.gpu's file stems and the kind of document each holds.
STEMS = {"gpu_run": "gpu_run", "device_check": "device_check", "throughput-fp32": "throughput",
         "throughput-bf16": "throughput", "throughput-fp32-compiled": "throughput",
         "throughput-bf16-compiled": "throughput", "model_speed": "model_speed", "slicing_speed": "slicing_speed"}
NAME = re.compile(r"(?P<stem>" + "|".join(sorted(map(re.escape, STEMS), key=len, reverse=True))
                  + r")-(?P<card>[a-z0-9]+(?:-[a-z0-9]+)*)\.json")


def read_archive(path: Path) -> dict[str, str]:
    """File name -> text of every member, each checked; raises UsageError on the first that is not right."""
    try:
        archive = tarfile.open(path, "r:gz")
    except (OSError, tarfile.TarError) as error:
        raise UsageError(f"{path}: not a readable .tar.gz ({error})") from None
    files: dict[str, str] = {}
    cards = set()
    with archive:
        for member in archive.getmembers():
            name = member.name[2:] if member.name.startswith("./") else member.name
            if member.isdir() and name in ("", "."):
                continue
            match = NAME.fullmatch(name)
            if not member.isfile() or match is None:
                raise UsageError(f"{path}: member {member.name!r} is not one of bench.gpu's results files "
                                 f"(<stem>-<card>.json, a plain file, no folder)")
            if member.size > MAX_BYTES or name in files:
                raise UsageError(f"{path}: member {name!r} is over 16 MiB or appears twice")
            files[name] = check_document(path, name, archive.extractfile(member).read(), STEMS[match["stem"]])
            cards.add(match["card"])
    if len(cards) != 1 or not any(name.startswith("gpu_run-") for name in files):
        raise UsageError(f"{path}: expected the files of one card with its gpu_run manifest, got {sorted(files)}")
    return files


def check_document(path: Path, name: str, data: bytes, kind: str) -> str:
    """The member's text, once it is a results document of ``kind``."""
    try:
        text = data.decode("utf-8")
        document = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: member {name!r} is not JSON ({error})") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA or document.get("kind") != kind:
        raise UsageError(f"{path}: member {name!r} is not a {SCHEMA} {kind} document")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench.device.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path, help="the sret-gpu.tar.gz the device run sent back")
    parser.add_argument("--into", type=Path, default=REPORTS, help="where the files go (default: reports/)")
    args = parser.parse_args(argv)
    files = read_archive(args.archive)
    for name, text in sorted(files.items()):
        target = args.into / name
        verb = "replaced" if target.exists() else "wrote"
        write_text_atomic(target, text)
        print(f"{verb} {target}")
    print("next: python -m bench.report > reports/latest.md, then review and commit reports/")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
