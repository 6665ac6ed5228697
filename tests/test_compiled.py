"""The one torch.compile recipe (bench.measure.compiled): each setting recorded, each computing the model."""
from __future__ import annotations

import pytest
import torch

from bench.measure import compiled
from bench.measure import formulation_speed
from bench.measure import throughput_run


def test_model_speed_records_the_frozen_dynamic_batch_recipe_of_the_tuned_policy():
    assert formulation_speed.COMPILE == {"policy": "tuned", "backend": "inductor", "mode": "default",
                                   "inductor_config": {"freezing": True}, "dynamic_batch": True}


def test_a_compiled_throughput_run_records_torch_compiles_defaults_and_an_eager_one_none():
    block = throughput_run.config_block(throughput_run.Config(models=("sret_t",), kernels=("stock",), compile=True))
    assert block["compile_settings"] == {"backend": "inductor", "mode": "default", "inductor_config": {},
                                         "dynamic_batch": False}
    assert throughput_run.config_block(throughput_run.Config(models=("sret_t",), kernels=("stock",)))["compile_settings"] is None


@pytest.mark.slow
def test_the_default_recipe_is_torch_compile_itself():
    model = torch.nn.Linear(4, 2)
    assert compiled.compile_model(model)._orig_mod is model  # an OptimizedModule around the model


@pytest.mark.slow
def test_the_frozen_recipe_computes_the_model_at_two_batch_sizes():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Linear(16, 3)).eval()
    forward = compiled.compile_model(model, compiled.FROZEN)
    with torch.inference_mode():
        for batch in (2, 5):
            x = torch.randn(batch, 8)
            torch.testing.assert_close(forward(x), model(x), rtol=1e-5, atol=1e-5)
