"""SReT model zoo: importing this package registers every SReT variant with timm.

>>> import timm, sret
>>> model = timm.create_model("sret_t", pretrained=False)
"""
from .checkpoint import CheckpointError, load_checkpoint, read_state_dict
from .model import SReT, checkpoint_filter_fn

__all__ = ["SReT", "CheckpointError", "checkpoint_filter_fn", "load_checkpoint", "read_state_dict"]
