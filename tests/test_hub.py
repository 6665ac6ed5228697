"""sret.hub: download once into the cache, record the sha256, reuse offline, name a changed file.

Downloads come from an http.server on 127.0.0.1 in a thread, never from the internet.
"""
from __future__ import annotations

import dataclasses
import hashlib

import pytest
import torch

from _serving import _QuietHandler, serve
from sret import hub
from sret.checkpoint import CheckpointError, read_state_dict


@pytest.fixture()
def served(tmp_path):
    """A checkpoint file on a local server: (directory, file, its sha256)."""
    root = tmp_path / "server"
    root.mkdir()
    checkpoint = root / "weights.pth"
    torch.save({"model": {"head.weight": torch.arange(6.0).reshape(2, 3)}}, checkpoint)
    _QuietHandler.requests_served.clear()
    return root, checkpoint, hashlib.sha256(checkpoint.read_bytes()).hexdigest()


def _cfg(url: str, **extra) -> dict:
    return {"architecture": "sret_t", "tag": "in1k", "url": url, **extra}


def test_downloads_once_records_sha256_and_reuses_offline(served, tmp_path):
    root, checkpoint, digest = served
    cache = tmp_path / "cache"
    with serve(root) as base:
        first = hub.checkpoint_path(_cfg(f"{base}/weights.pth"), cache, quiet=True)
    assert first == cache / "sret_t.in1k.pth"
    assert first.read_bytes() == checkpoint.read_bytes()
    assert (cache / "sret_t.in1k.pth.sha256").read_text().split() == [digest, "sret_t.in1k.pth"]
    assert _QuietHandler.requests_served == ["/weights.pth"]
    assert sorted(p.name for p in cache.iterdir()) == ["sret_t.in1k.pth", "sret_t.in1k.pth.sha256"]

    # The server is down now: the cached file is reused without any request.
    again = hub.checkpoint_path(_cfg(f"{base}/weights.pth"), cache, quiet=True)
    assert again == first
    assert _QuietHandler.requests_served == ["/weights.pth"]
    assert torch.equal(read_state_dict(again)["head.weight"], torch.arange(6.0).reshape(2, 3))


def test_changed_cached_file_is_named(served, tmp_path):
    root, _, _ = served
    cache = tmp_path / "cache"
    with serve(root) as base:
        path = hub.checkpoint_path(_cfg(f"{base}/weights.pth"), cache, quiet=True)
    with open(path, "r+b") as handle:
        handle.seek(10)
        handle.write(b"\x00corrupted\x00")
    with pytest.raises(CheckpointError) as error:
        hub.checkpoint_path(_cfg(f"{base}/weights.pth"), cache, quiet=True)
    message = str(error.value)
    assert str(path) in message and "sha256" in message and "\n" not in message


def test_cache_dir_from_environment(served, tmp_path, monkeypatch):
    root, _, _ = served
    monkeypatch.setenv("SRET_CACHE", str(tmp_path / "env-cache"))
    with serve(root) as base:
        path = hub.checkpoint_path(_cfg(f"{base}/weights.pth"), quiet=True)
    assert path == tmp_path / "env-cache" / "sret_t.in1k.pth"


def test_hand_placed_file_is_trusted_then_checked(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "sret_t.in1k.pth").write_bytes(b"weights")
    path = hub.checkpoint_path(_cfg("http://127.0.0.1:9/never-asked"), cache, quiet=True)
    assert (cache / "sret_t.in1k.pth.sha256").read_text().split()[0] == hashlib.sha256(b"weights").hexdigest()
    path.write_bytes(b"other weights")
    with pytest.raises(CheckpointError, match="changed since"):
        hub.checkpoint_path(_cfg("http://127.0.0.1:9/never-asked"), cache, quiet=True)


def test_missing_url_is_one_line_naming_it(served, tmp_path):
    root, _, _ = served
    with serve(root) as base:
        url = f"{base}/no-such-file.pth"
        with pytest.raises(CheckpointError) as error:
            hub.checkpoint_path(_cfg(url), tmp_path / "cache", quiet=True)
    assert url in str(error.value) and "\n" not in str(error.value)
    # Nothing half-downloaded is left behind to be mistaken for a checkpoint later.
    assert list((tmp_path / "cache").iterdir()) == []


def test_unreachable_server_is_one_line_naming_it(served, tmp_path):
    root, _, _ = served
    with serve(root) as base:
        pass  # the port is closed again: connection refused
    url = f"{base}/weights.pth"
    with pytest.raises(CheckpointError) as error:
        hub.checkpoint_path(_cfg(url), tmp_path / "cache", quiet=True)
    assert url in str(error.value) and "\n" not in str(error.value)


def test_local_file_wins_and_must_exist(tmp_path):
    local = tmp_path / "mine.pth"
    local.write_bytes(b"x")
    assert hub.checkpoint_path(_cfg("http://127.0.0.1:9/x", file=str(local)), tmp_path) == local
    with pytest.raises(CheckpointError, match="gone.pth"):
        hub.checkpoint_path(_cfg("http://127.0.0.1:9/x", file=str(tmp_path / "gone.pth")), tmp_path)


def test_tag_name_without_tag():
    assert hub.checkpoint_name({"architecture": "sret_s", "tag": None}) == "sret_s"
    assert hub.checkpoint_name({"architecture": "sret_s", "tag": "distill_in1k"}) == "sret_s.distill_in1k"


def test_fetch_unknown_tag():
    with pytest.raises(CheckpointError, match="no_such_model.in1k"):
        hub.fetch("no_such_model.in1k")


def test_fetch_registered_tag_uses_its_cfg(served, tmp_path, monkeypatch):
    """fetch() resolves a timm tag's pretrained cfg; a local-only cfg shows it without the network."""
    import timm.models

    root, checkpoint, _ = served
    with serve(root) as base:
        cfg = timm.models.get_pretrained_cfg("test_vit.r160_in1k")
        patched = dataclasses.replace(cfg, url=f"{base}/weights.pth", hf_hub_id=None)
        monkeypatch.setattr(timm.models, "get_pretrained_cfg", lambda name: patched)
        path = hub.fetch("test_vit.r160_in1k", tmp_path / "cache", quiet=True)
    assert path == tmp_path / "cache" / "test_vit.r160_in1k.pth"
    assert path.read_bytes() == checkpoint.read_bytes()


def test_web_page_instead_of_a_checkpoint_is_refused(served, tmp_path):
    root, _, _ = served
    (root / "quota.html").write_text("<!DOCTYPE html><html><body>Too many users</body></html>")
    with serve(root) as base:
        url = f"{base}/quota.html"
        with pytest.raises(CheckpointError) as error:
            hub.checkpoint_path(_cfg(url), tmp_path / "cache", quiet=True)
    assert url in str(error.value) and "web page" in str(error.value)
    assert list((tmp_path / "cache").iterdir()) == []
