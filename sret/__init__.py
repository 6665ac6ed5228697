"""SReT model zoo: importing this package registers every SReT variant with timm.

>>> import timm, sret
>>> model = timm.create_model("sret_t", pretrained=False)
"""
from .checkpoint import CheckpointError, load_checkpoint, read_state_dict
from .model import SReT, checkpoint_filter_fn
from .kernels import KERNEL_POLICIES, apply_kernel_policy, kernel_policy_of  # also counts CPU SDPA

__all__ = ["SReT", "CheckpointError", "KERNEL_POLICIES", "apply_kernel_policy", "checkpoint_filter_fn",
           "kernel_policy_of", "load_checkpoint", "read_state_dict"]
