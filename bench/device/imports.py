"""What the device run imports, and which of it neither the device image nor the carried wheels provide.

The device machine has no registry: a third-party package that ``run.sh``'s modules import and
that is neither on the image (``plan.IMAGE_PACKAGES``) nor carried (``plan.WHEELS``) stops the
run there, after its cold start. This finds that here, without torch: it reads the project's
source (every ``import``, also those inside functions, which run only on some paths) from the
entry modules through every project module they reach, maps each third-party top-level module
to its distribution in the running environment, and follows the carried wheels' requirements,
whose dependencies ``run.sh`` does not install (``--no-deps``).
"""
from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Iterable, Iterator, Mapping

ROOT = Path(__file__).resolve().parents[2]
OWN = ("bench", "sret")
# What run.sh runs: the preflight, bench.gpu, and here the ingest of what comes back.
ENTRIES = ("bench.device.plan", "bench.device.preflight", "bench.gpu", "bench.device.ingest")


def normalise(name: str) -> str:
    """A distribution's name as PEP 503 compares it (``PyYAML`` -> ``pyyaml``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def source(module: str, root: Path = ROOT) -> Path | None:
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None  # a name imported from a module, not a module


def imported(path: Path, module: str) -> Iterator[str]:
    """Every module name ``path`` imports anywhere in it (``from a import b`` gives ``a`` and ``a.b``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            name = ".".join([*parts, node.module] if node.module else parts)
            yield name
            yield from (f"{name}.{alias.name}" for alias in node.names)


def third_party(entries: Iterable[str] = ENTRIES, root: Path = ROOT) -> dict[str, set[str]]:
    """Third-party top-level module -> the project modules importing it, over everything ``entries`` reach."""
    found: dict[str, set[str]] = {}
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = source(module, root)
        if path is None:
            continue
        parents = module.split(".")
        todo += [".".join(parents[:i]) for i in range(1, len(parents))]  # a package's __init__ runs first
        for name in imported(path, module):
            top = name.split(".")[0]
            if top in OWN:
                todo.append(name)
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.setdefault(top, set()).add(module)
    return found


def requirements(distribution: str, python: str) -> set[str]:
    """The distributions ``distribution`` requires when installed without extras under Python ``python``."""
    from packaging.requirements import Requirement  # pytest's and pip's dependency, not the device's

    needed = set()
    for text in metadata.requires(distribution) or ():
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None or marker.evaluate({"python_version": python, "python_full_version": f"{python}.0",
                                               "extra": "", "sys_platform": "linux", "platform_system": "Linux"}):
            needed.add(normalise(requirement.name))
    return needed


def needed(image: Iterable[str], wheels: Iterable[str], skipped: Mapping[str, str], python: str,
           entries: Iterable[str] = ENTRIES, root: Path = ROOT) -> tuple[dict[str, str], set[str]]:
    """(distribution -> who needs it, for each one neither on ``image`` nor in ``wheels``; the
    distributions of ``image`` that are used). ``skipped``: distribution -> the one project module
    that may import it, on a path the device run never takes. A module that no installed
    distribution provides counts as missing, under its own name."""
    image, carried = set(map(normalise, image)), {normalise(w.split("==")[0]) for w in wheels}
    owners = metadata.packages_distributions()
    users: dict[str, set[str]] = {}  # distribution -> the project modules importing it, or the wheels requiring it
    for top, modules in third_party(entries, root).items():
        for distribution in owners.get(top, [top]):
            users.setdefault(normalise(distribution), set()).update(modules)
    todo = [name for name in users if name in carried]
    while todo:  # run.sh installs the wheels with --no-deps: what they require must be there too
        wheel = todo.pop()
        for requirement in requirements(wheel, python):
            if requirement not in users and requirement in carried:
                todo.append(requirement)
            users.setdefault(requirement, set()).add(f"the carried {wheel}")
    allowed = {normalise(name): {module} for name, module in skipped.items()}
    missing = {name: "needed by " + ", ".join(sorted(by)) for name, by in users.items()
               if name not in image | carried and not by <= allowed.get(name, set())}
    return missing, {name for name in users if name in image and name not in carried}
