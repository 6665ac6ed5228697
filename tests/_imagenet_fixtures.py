"""A made-up ImageNet validation folder and a tiny model whose answers are known by construction.

The model is timm's ``test_vit`` with its classifier weight zeroed and its bias set so that
the same five classes, in a fixed order, win for every image. Its top-1 is then the share of
images labelled ``RANKING[0]``, its top-5 the share labelled with any of ``RANKING``: figures
computed here by hand, independently of the code under test.
"""
from __future__ import annotations

import random
from pathlib import Path

import torch
from PIL import Image

from timm.data import ImageNetInfo

_WNIDS = ImageNetInfo().label_names()

# Class index -> number of images. The indices are not 0..3, so a loader that numbered the
# folders present (torchvision's ImageFolder) instead of using the ImageNet index would fail.
IMAGES_PER_CLASS = {3: 3, 10: 2, 500: 4, 999: 2}   # 11 images: odd, so a 2-way shard pads
RANKING = (500, 700, 3, 5, 6)                       # the model's top-5 for every image
TOTAL = sum(IMAGES_PER_CLASS.values())
TOP1 = 100.0 * IMAGES_PER_CLASS[500] / TOTAL                          # 4 / 11
TOP5 = 100.0 * (IMAGES_PER_CLASS[500] + IMAGES_PER_CLASS[3]) / TOTAL  # 7 / 11
_SIZES = [(200, 150), (97, 311), (160, 160), (320, 240), (64, 480), (256, 256)]


def wnid(index: int) -> str:
    return _WNIDS[index]


def make_folder(root: Path, images_per_class: dict[int, int] = IMAGES_PER_CLASS) -> list[str]:
    """Write ``root/<wnid>/*`` images of assorted sizes and modes; return their relative names."""
    rng = random.Random(0)
    names = []
    for label, count in images_per_class.items():
        folder = root / wnid(label)
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(count):
            size = _SIZES[(label + number) % len(_SIZES)]
            colour = tuple(rng.randrange(256) for _ in range(3))
            image = Image.new("RGB", size, colour)
            image.putpixel((size[0] // 2, size[1] // 2), (255 - colour[0], 0, 0))
            suffix = ".JPEG"
            if number == 1:
                image = image.convert("L")  # grayscale JPEGs exist in ImageNet val
            if number == 2:
                suffix = ".png"
            name = f"ILSVRC2012_val_{label:04d}{number:04d}{suffix}"
            image.save(folder / name)
            names.append(f"{wnid(label)}/{name}")
    return sorted(names)


def known_answer_model(name: str = "test_vit") -> torch.nn.Module:
    """``name`` with a head that ranks ``RANKING`` first for any input."""
    import timm

    torch.manual_seed(0)
    model = timm.create_model(name, num_classes=1000)
    head = model.get_classifier()
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        for rank, label in enumerate(RANKING):
            head.bias[label] = 10.0 - rank
    return model.eval()


def random_head_model(name: str = "test_vit") -> torch.nn.Module:
    """``name`` with a large random head, so that predictions differ from image to image."""
    import timm

    torch.manual_seed(1)
    model = timm.create_model(name, num_classes=1000)
    with torch.no_grad():
        model.get_classifier().weight.normal_(0.0, 1.0)
    return model.eval()


def save_checkpoint(model: torch.nn.Module, path: Path, kind: str = "official") -> Path:
    """Save ``model`` as the official ``{'model': sd}`` dict, a bare state dict, or safetensors."""
    state_dict = {key: value.contiguous() for key, value in model.state_dict().items()}
    if kind == "official":
        torch.save({"model": state_dict, "epoch": 299}, path)
    elif kind == "bare":
        torch.save(state_dict, path)
    elif kind == "safetensors":
        from safetensors.torch import save_file

        save_file(state_dict, str(path))
    else:
        raise ValueError(kind)
    return path
