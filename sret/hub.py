"""Where the official SReT checkpoints come from: Google Drive, through gdown, into a local cache.

The checkpoints of the official release (szq0214/SReT) are Google Drive files with no
published checksum. The first download records the file's sha256 beside it
(``<file>.sha256``) and every later use checks the file against it, so a cached file that
changed on disk is named instead of silently evaluated. Every failure is a one-line
:class:`~sret.checkpoint.CheckpointError`.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

from sret.checkpoint import CheckpointError

__all__ = ["cache_dir", "checkpoint_name", "checkpoint_path", "fetch", "sha256_file"]

CACHE_ENV = "SRET_CACHE"
_DOWNLOAD_TIMEOUT_S = 60  # between bytes; a dead connection fails instead of hanging


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The checkpoint cache: ``path``, else ``$SRET_CACHE``, else ``~/.cache/sret-bench``."""
    if path is not None:
        return Path(path).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path.home() / ".cache" / "sret-bench"


def checkpoint_name(pretrained_cfg: Mapping[str, Any]) -> str:
    """``<architecture>.<tag>``: the name of a pretrained tag, and of its cached file."""
    architecture = pretrained_cfg.get("architecture")
    if not architecture:
        raise CheckpointError(f"pretrained cfg has no 'architecture': {dict(pretrained_cfg)!r}")
    tag = pretrained_cfg.get("tag")
    return f"{architecture}.{tag}" if tag else str(architecture)


def sha256_file(path: str | os.PathLike) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_path(pretrained_cfg: Mapping[str, Any], cache_dir: str | os.PathLike | None = None,
                    *, quiet: bool = False) -> Path:
    """The local checkpoint file of a pretrained cfg: its ``file``, or its ``url`` downloaded once.

    A cached download is reused only while its sha256 matches the one recorded when it was
    downloaded; a mismatch names the file and asks for it to be deleted.
    """
    local = pretrained_cfg.get("file")
    if local:
        local = Path(local).expanduser()
        if not local.is_file():
            raise CheckpointError(f"checkpoint {local} does not exist (the pretrained cfg's 'file')")
        return local

    name = checkpoint_name(pretrained_cfg)
    target = _cache_dir(cache_dir) / f"{name}.pth"
    if target.is_file():
        _check_recorded_sha256(target)
        return target

    url = pretrained_cfg.get("url")
    if not url:
        raise CheckpointError(f"pretrained tag {name} has no download url and no cached file {target}")
    _download(str(url), target, quiet=quiet)
    if not quiet:
        print(f"cached {target} (${CACHE_ENV} moves the cache)", flush=True)
    return target


def fetch(tag_name: str, cache_dir: str | os.PathLike | None = None, *, quiet: bool = False) -> Path:
    """The local checkpoint of a registered pretrained tag such as ``sret_t.in1k``."""
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(tag_name)
    if cfg is None:
        raise CheckpointError(f"unknown pretrained tag {tag_name!r}")
    return checkpoint_path(cfg.to_dict(), cache_dir, quiet=quiet)


def _cache_dir(path: str | os.PathLike | None) -> Path:
    directory = cache_dir(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CheckpointError(f"checkpoint cache {directory} cannot be created: {error}") from None
    return directory


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _check_recorded_sha256(path: Path) -> None:
    sidecar = _sidecar(path)
    actual = sha256_file(path)
    if not sidecar.is_file():
        # A file put in the cache by hand: trust it on first use, as a download would be.
        _write_sidecar(sidecar, actual, path.name)
        return
    recorded = sidecar.read_text(encoding="utf-8").split()[0] if sidecar.stat().st_size else ""
    if recorded != actual:
        raise CheckpointError(
            f"checkpoint {path} changed since it was downloaded (sha256 {actual[:12]}..., "
            f"recorded {recorded[:12] or 'nothing'}... in {sidecar.name}); delete it to download it again"
        )


def _write_sidecar(sidecar: Path, digest: str, filename: str) -> None:
    # The `sha256sum -c` format, written atomically.
    fd, tmp = tempfile.mkstemp(prefix=f".{sidecar.name}.", suffix=".tmp", dir=sidecar.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"{digest}  {filename}\n")
    os.replace(tmp, sidecar)


def _download(url: str, target: Path, *, quiet: bool) -> None:
    """Download ``url`` to ``target`` through a temporary file, recording its sha256."""
    import gdown
    import requests

    workdir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        partial = workdir / target.name
        digest = hashlib.sha256()
        try:
            gdown.download(url, str(partial), quiet=quiet, hasher=digest, timeout=_DOWNLOAD_TIMEOUT_S)
        except (requests.RequestException, gdown.exceptions.DownloadError, OSError, ValueError) as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise CheckpointError(f"download of {url} failed: {reason}") from None
        if not partial.is_file() or partial.stat().st_size == 0:
            raise CheckpointError(f"download of {url} failed: nothing was received")
        with open(partial, "rb") as handle:
            head = handle.read(512).lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html")):
            # Google Drive answers quota and permission problems with a web page.
            raise CheckpointError(f"download of {url} failed: the server sent a web page, not a checkpoint")
        # The sha256 goes first: a crash in between leaves a stale sidecar, never an unrecorded file.
        _write_sidecar(_sidecar(target), digest.hexdigest(), target.name)
        os.replace(partial, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
