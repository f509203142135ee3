"""Each teach test gets its own store and its own copy of the digits index."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from resnet_desktop.core.library.index import LibraryIndex
from resnet_desktop.core.teach import api
from tests.digits import DigitsWorld


@dataclass
class Teaching:
    world: DigitsWorld
    store: api.UserStore
    index: LibraryIndex


@pytest.fixture
def teaching(tmp_path: Path, digits_world: DigitsWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[Teaching]:
    index_path = digits_world.index_copy(tmp_path / "data")
    monkeypatch.setenv("RESNET_DESKTOP_INDEX", str(index_path))
    store = api.open_store()
    index = api.open_library()
    try:
        yield Teaching(digits_world, store, index)
    finally:
        index.close()
        store.close()
