"""Generated data for the evaluation tests: a seeded fine-tuned classifier and a held-out folder.

Built once per test session (the fine-tune takes a few seconds); nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_CACHE: dict[str, Path] = {}


def finetuned_model_file(factory: pytest.TempPathFactory) -> Path:
    """A head-only fine-tune of a seeded random resnet18 on 3 generated classes, saved as a model file."""
    if "model" not in _CACHE:
        from resnet_desktop.core.finetune.run import FineTuneSettings, run_fine_tune
        from resnet_desktop.core.finetune.synthetic import make_labeled_folder

        root = factory.mktemp("finetune")
        train = make_labeled_folder(root / "train", classes=3, per_class=8, seed=1)
        settings = FineTuneSettings(arch="resnet18", weights="random", epochs=4, seed=3, device="cpu", head_threads=1)
        result = run_fine_tune(train, settings)
        _CACHE["model"] = result.save(root / "shapes.safetensors")
    return _CACHE["model"]


def heldout_folder(factory: pytest.TempPathFactory) -> Path:
    """3 classes x 5 images the model never saw (another seed, some shapes in other classes' colours)."""
    if "heldout" not in _CACHE:
        from resnet_desktop.core.finetune.synthetic import make_labeled_folder

        _CACHE["heldout"] = make_labeled_folder(
            factory.mktemp("heldout") / "photos", classes=3, per_class=5, seed=7, any_colour=0.4
        )
    return _CACHE["heldout"]
