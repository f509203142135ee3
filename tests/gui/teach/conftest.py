"""The teach room's tests run on the real core: ``teaching`` (tests/core/teach) gives each test its own
copy of the digits index (every train and pool digit embedded by a seeded random ResNet) and its own
store; the room opens its own connections to both on its worker."""

from __future__ import annotations

from pathlib import Path

from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.teach import api
from tests.core.teach.conftest import Teaching, teaching  # noqa: F401  (the fixture, shared)

#: The digits a teach test sorts: the train and pool photos of these (16 each, all embedded).
CLASSES = ("zero", "one", "two")


def scope_of(t: Teaching) -> list[Path]:
    return [folder / name for folder in (t.world.train, t.world.pool) for name in CLASSES]


def truth_of(t: Teaching) -> dict[str, str]:
    """path -> the digit it shows, for the photos of ``scope_of``."""
    found = {**t.world.train_labels, **t.world.pool_labels}
    return {str(p): name for p, name in found.items() if name in CLASSES}


def make_set(t: Teaching, name: str = "digits") -> api.LabelSetInfo:
    """A set made as ``labels``/``teach`` would, never taught yet: the room binds and embeds it on opening."""
    return api.create_set(t.store, name, classes=CLASSES, base=ModelRef(file=t.world.model), scope=scope_of(t))
