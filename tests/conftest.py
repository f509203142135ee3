"""Shared test set-up: headless Qt, a quiet torch, and generated (never downloaded) weights."""

from __future__ import annotations

import os

# Must be set before any Qt import: tests run without a screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch the real torch hub cache or the network from tests.
os.environ.setdefault("RESNET_DESKTOP_OFFLINE", "1")

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import SAMPLES_DIR, save_random_weights

if TYPE_CHECKING:
    from tests.digits import DigitsWorld


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` need CUDA: skipped (with the reason) where there is none."""
    marked = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not marked:
        return
    import torch  # only when a gpu test was collected: most runs never pay for the import here

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in marked:
        item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the torch hub cache and the app's config/data dirs at a per-test temp folder."""
    root = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("TORCH_HOME", str(root / "torch"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(root / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))


@pytest.fixture(autouse=True)
def _torch_threads_restored() -> Iterator[None]:
    """A command run in-process with ``--threads N`` sets torch's thread count for the whole process;
    the next test would then look up measurements (backend_rule's key) under another thread count."""
    yield
    torch = sys.modules.get("torch")
    if torch is not None:
        from resnet_desktop.core.inference.backend_rule import threads_default

        if torch.get_num_threads() != threads_default():
            torch.set_num_threads(threads_default())


@pytest.fixture(scope="session")
def resnet18_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random-init resnet18 state dict (1000 classes) saved as .pth."""
    path = tmp_path_factory.mktemp("weights") / "resnet18-random.pth"
    save_random_weights(path, "resnet18", seed=0)
    return path


@pytest.fixture(scope="session")
def sample_photos() -> list[Path]:
    """The real photographs shipped in assets/samples (public domain / CC0)."""
    return sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


@pytest.fixture(scope="session")
def digits_world(tmp_path_factory: pytest.TempPathFactory) -> DigitsWorld:
    """Digits drawn as photos (train, pool, test folders), a fast base model, an index holding the
    train and pool photos' embeddings: data with real structure for the teach tests."""
    from tests.digits import DigitsWorld

    return DigitsWorld(tmp_path_factory.mktemp("digits"))


@pytest.fixture(scope="session")
def digits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """scikit-learn's handwritten digits drawn as images, in ``<part>/<digit>/``: ``train`` (25%),
    ``gate`` (55%: fast mode calibrates on a quarter of it and is verified on the rest), ``test``."""
    from tests.digit_folders import make_digits_folders

    root = tmp_path_factory.mktemp("digits")
    return make_digits_folders(root, [("train", 0.25), ("gate", 0.55), ("test", 0.2)])


@pytest.fixture(scope="session")
def digits_model(digits: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A head taught on the digits over a seeded random-init resnet18, at 64 px (the digits are
    64 px drawings; it keeps every forward cheap). Its int8 model genuinely agrees with fp32."""
    from tests.digit_folders import teach_digits

    return teach_digits(digits["train"], tmp_path_factory.mktemp("digits-model") / "digits.safetensors")


@pytest.fixture(scope="session")
def tied_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model built so that int8 changes its answers: ten digit classes whose logits differ by a hair."""
    from tests.digit_folders import tied_digits_model

    return tied_digits_model(tmp_path_factory.mktemp("tied-model") / "tied.safetensors")
