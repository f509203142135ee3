"""A generated photo tree, predictions for it, and checks that every photo is present exactly once."""

from __future__ import annotations

import hashlib
import os
import random
from collections import Counter
from pathlib import Path

from resnet_desktop.core.inference.records import ClassScore, Prediction

LABELS = ("tabby cat", "golden retriever", "../evil", "CON", "a/b", "x" * 300, "Äpfel 🍎")


def make_tree(root: Path, n: int = 12, *, seed: int = 0) -> dict[Path, str]:
    """``n`` small "photos" (random bytes, unique) in nested folders; returns path -> sha256."""
    rng = random.Random(seed)
    made = {}
    for i in range(n):
        folder = root / ("2023" if i % 2 else "2024") / ("trip" if i % 3 == 0 else "home")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IMG_{i % 4:04d}.jpg"  # repeated names: flattening collides
        if path.exists():
            path = folder / f"IMG_{i:04d}.jpg"
        data = rng.randbytes(200 + 37 * i)
        path.write_bytes(data)
        made[path] = hashlib.sha256(data).hexdigest()
    return made


def predict(paths: list[Path], labels: tuple[str, ...] = LABELS, *, low_every: int = 5) -> list[Prediction]:
    """One prediction per path: label i % len(labels); every ``low_every``-th one below 0.5."""
    out = []
    for i, path in enumerate(sorted(paths)):
        p = 0.3 if low_every and i % low_every == low_every - 1 else 0.8
        first = labels[i % len(labels)]
        second = labels[(i + 1) % len(labels)]
        out.append(Prediction(path, (ClassScore(first, i, p), ClassScore(second, i + 1, 0.6 if p < 0.5 else 0.15))))
    return out


def hashes_under(*roots: Path) -> Counter[str]:
    """sha256 of every regular file (not symbolic links, not journals) under ``roots``."""
    found: Counter[str] = Counter()
    for root in roots:
        for folder, _dirs, files in os.walk(root):
            for name in files:
                path = Path(folder) / name
                if path.is_symlink() or name.startswith(".resnet-desktop-journal-"):
                    continue
                found[hashlib.sha256(path.read_bytes()).hexdigest()] += 1
    return found


def assert_each_once(original: dict[Path, str], *roots: Path) -> None:
    """Every original photo's bytes exist exactly once under ``roots``, and nothing else does."""
    assert hashes_under(*roots) == Counter(original.values())


def assert_restored(original: dict[Path, str]) -> None:
    for path, sha in original.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, path
