"""An ImageNet validation folder (one folder per WordNet id) scored against all 1000 classes.

Labels are the canonical ImageNet-1k indices (timm's ``ImageNetInfo`` order), not the
position of a folder among the folders present, so a folder holding only some classes
still scores correctly against a model's 1000 logits.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from PIL import Image

from bench.core.cli import UsageError


@dataclass(frozen=True)
class Sample:
    """One image: its path, its path relative to the data folder, its class index."""

    path: Path
    name: str
    label: int


@dataclass
class Folder:
    """The images found in a validation folder, and what was skipped there."""

    root: Path
    samples: list[Sample]
    skipped: list[str]

    @property
    def classes(self) -> int:
        return len({sample.label for sample in self.samples})


@functools.lru_cache(maxsize=1)
def wnid_to_index() -> dict[str, int]:
    """``{'n01440764': 0, ...}``: the 1000 ImageNet-1k WordNet ids in class-index order."""
    from timm.data import ImageNetInfo

    return {wnid: index for index, wnid in enumerate(ImageNetInfo().label_names())}


def scan(root: str | os.PathLike, *, skip_bad: bool = False) -> Folder:
    """List the images of ``root/<wnid>/*`` in a fixed order (by class folder, then file name).

    An entry that is not a WordNet-id folder is an error naming it, or with ``skip_bad``
    is skipped and counted. Hidden files (``.DS_Store``) are ignored.
    """
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"data folder {root} does not exist or is not a folder")
    classes = wnid_to_index()
    samples: list[Sample] = []
    skipped: list[str] = []
    for entry in sorted(root.iterdir(), key=lambda path: path.name):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir() or entry.name not in classes:
            what = "folder" if entry.is_dir() else "file"
            if not skip_bad:
                raise UsageError(
                    f"{entry}: {what} name is not an ImageNet-1k WordNet id "
                    "(expected <data>/n01440764/*.JPEG; --skip-bad skips it)"
                )
            skipped.append(f"{entry.name}{'/' if entry.is_dir() else ''}")
            continue
        label = classes[entry.name]
        for image in sorted(entry.iterdir(), key=lambda path: path.name):
            if image.name.startswith("."):
                continue
            if not image.is_file():
                if not skip_bad:
                    raise UsageError(f"{image}: not an image file (--skip-bad skips it)")
                skipped.append(f"{entry.name}/{image.name}/")
                continue
            samples.append(Sample(image, f"{entry.name}/{image.name}", label))
    if not samples:
        raise UsageError(f"data folder {root} holds no images in <wnid>/ folders")
    return Folder(root, samples, skipped)


def spread(samples: list[Sample], limit: int | None) -> list[Sample]:
    """At most ``limit`` samples, evenly spaced over the list so that they cover many classes."""
    if limit is None or limit >= len(samples):
        return samples
    return [samples[((2 * i + 1) * len(samples)) // (2 * limit)] for i in range(limit)]


class ImageDataset(torch.utils.data.Dataset):
    """Decoded, transformed images; an unreadable one yields ``None`` and its error instead.

    Errors are returned rather than raised so that they reach the caller intact from
    worker processes, where the caller decides between failing and skipping.
    """

    def __init__(self, samples: list[Sample], transform: Callable[[Image.Image], torch.Tensor]):
        self.samples = samples
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        sample = self.samples[index]
        try:
            with Image.open(sample.path) as image:
                tensor = self.transform(image.convert("RGB"))
        except Exception as error:  # noqa: BLE001 - any decoder failure means "unreadable"
            reason = " ".join(str(error).split()) or type(error).__name__
            return None, index, reason
        return tensor, index, None


def collate(batch):
    """Stack the readable images; pass on the indices of all and the errors of the others."""
    good = [(tensor, index) for tensor, index, error in batch if error is None]
    bad = [(index, error) for _, index, error in batch if error is not None]
    images = torch.stack([tensor for tensor, _ in good]) if good else None
    indices = torch.tensor([index for _, index in good], dtype=torch.long)
    return images, indices, bad
