from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _keep_torch_threads() -> Iterator[None]:
    """The actor classifier sets torch's thread count (as each Ray actor should); undo it here."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
