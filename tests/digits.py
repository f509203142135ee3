"""Data with real structure for learning tests: scikit-learn's handwritten digits drawn as images.

Random weights make natural photos look alike, but a seeded random ResNet still separates digits
(~97% with a linear head on its pooled features), so a head learned on them shows whether learning
works. ``digits_model`` is such a ResNet as a model file with a small input size, so embedding a
few hundred digits takes a second or two.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SIZE = 32


def digits() -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 8, 8) in 0..16, labels) of the 1,797 digits bundled with scikit-learn."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.images, data.target


def draw(image: np.ndarray, size: int = SIZE, seed: int = 0) -> object:
    """One digit as an RGB picture, with a little noise so no two files have the same bytes."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.clip(image / 16 * 255 + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR).convert("RGB")


def make_digits_tree(
    root: Path, per_class: int, *, classes: int = 10, offset: int = 0, size: int = SIZE
) -> dict[Path, str]:
    """``root/<name>/<name>_NNNN.png`` for the first ``classes`` digits, ``per_class`` each, skipping the
    first ``offset`` of each class (so a test folder never shares a digit with a training folder)."""
    images, labels = digits()
    written: dict[Path, str] = {}
    for digit in range(classes):
        folder = root / NAMES[digit]
        folder.mkdir(parents=True, exist_ok=True)
        for i in np.flatnonzero(labels == digit)[offset : offset + per_class].tolist():
            path = folder / f"{NAMES[digit]}_{i:04d}.png"
            draw(images[i], size, seed=i).save(path)  # type: ignore[attr-defined]
            written[path] = NAMES[digit]
    return written


def digits_model(path: Path, *, size: int = SIZE, seed: int = 0) -> Path:
    """A seeded random resnet18 as our model file, with a ``size`` x ``size`` input (fast to embed)."""
    import torch

    from resnet_desktop.core.models import modelfile, zoo

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = zoo.build_model("resnet18", 2)
    pre = zoo.Preprocessing(resize_size=size, crop_size=size, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    meta = modelfile.ModelFileMeta(arch="resnet18", class_names=["a", "b"], preprocessing=pre.to_dict())
    return modelfile.save_model_file(path, model, meta)


class DigitsWorld:
    """Digits drawn as photos, a base model that embeds them fast, and a library index that already
    holds their embeddings (made once per test session; ``index_copy`` gives each test its own)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.train = root / "train"
        self.pool = root / "pool"
        self.test = root / "test"
        self.train_labels = make_digits_tree(self.train, 10)
        self.pool_labels = make_digits_tree(self.pool, 6, offset=10)
        self.test_labels = make_digits_tree(self.test, 8, offset=16)
        self.model = digits_model(root / "base.safetensors")
        self.index = root / "library.sqlite3"
        self._embed()

    def _embed(self) -> None:
        from resnet_desktop.core.inference.engine import Engine
        from resnet_desktop.core.library.incremental import IndexedRun
        from resnet_desktop.core.library.index import FP32, LibraryIndex, ModelIdentity
        from resnet_desktop.core.models.ref import ModelRef, load

        loaded = load(ModelRef(file=self.model))
        index = LibraryIndex(self.index)
        engine = Engine(loaded, "cpu", autocast=False, batch_size=32)  # big batches: fewer thread hand-offs
        run = IndexedRun(engine, index, ModelIdentity.of(loaded, FP32))
        items = list(run.classify([*self.train_labels, *self.pool_labels]))
        assert all(item.prediction.ok for item in items)
        index._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        run.close()

    def index_copy(self, folder: Path) -> Path:
        """A copy of the index with every train and pool photo embedded."""
        import shutil

        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "library.sqlite3"
        shutil.copy(self.index, target)
        return target
