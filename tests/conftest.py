"""Shared fixtures. Every device test runs on CPU, and on CUDA when one is present."""

import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    """A torch device name: "cpu" always, "cuda" when available."""
    return request.param
