"""Every model a paper's folder names is one timm knows, checked before anything is measured.

The data folder is loaded without timm (``bench.spec``); here each figure's architecture must be a
timm model, each pretrained tag a pretrained cfg timm lists, and each tag of ``weights.csv`` a cfg
of the architecture its row names, so that a typo is one line naming the file, line and column
rather than a failure halfway through a run.
"""
from __future__ import annotations

import timm

import sret  # noqa: F401  (registers the sret_* models and their tags with timm)
from bench.spec.data_files import ExpectedError
from bench.spec.data_folder import DataFolder

__all__ = ["check_known"]


def _where(where: str, fallback: str) -> str:
    return where or fallback


def check_known(folder: DataFolder) -> None:
    """Raise :class:`ExpectedError` (one line) for the first name of ``folder`` timm does not know."""
    pretrained = set(timm.list_pretrained())
    baselines_file = str(folder.path / "baselines.csv")
    for figure in folder.figures:
        where = _where(figure.where, baselines_file)
        if not timm.is_model(figure.architecture):
            raise ExpectedError(f"{where}, column 'model': timm {timm.__version__} knows no model "
                                f"{figure.architecture!r}")
        if figure.is_pretrained and figure.model not in pretrained:
            raise ExpectedError(f"{where}, column 'model': {figure.model!r} is not a pretrained tag of timm "
                                f"{timm.__version__} (timm.list_pretrained)")
    for row in folder.weights:
        if not row.tag:
            continue
        if row.tag not in pretrained:
            raise ExpectedError(f"{row.where}, column 'tag': {row.tag!r} is not a pretrained tag of timm "
                                f"{timm.__version__} (timm.list_pretrained)")
        architecture = timm.models.get_pretrained_cfg(row.tag).architecture
        if architecture != row.model.split(".", 1)[0]:
            raise ExpectedError(f"{row.where}, column 'tag': timm's cfg of {row.tag!r} is of architecture "
                                f"{architecture!r}, not {row.model!r}")
