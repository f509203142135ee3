"""The shared resnet18 of the explain tests (seeded random weights)."""

from __future__ import annotations

import pytest
from torch import nn

from tests.core.explain.nets import make_resnet


@pytest.fixture(scope="module")
def resnet18() -> nn.Module:
    return make_resnet("resnet18")
