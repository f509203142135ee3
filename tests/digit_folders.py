"""scikit-learn's handwritten digits drawn as image files: a labeled folder with real structure.

1,797 8x8 grey digits (0..16) become small RGB PNGs in ``<root>/<digit>/``, split deterministically
into parts (e.g. training, calibration, held-out) so tests and benchmarks learn and verify on
different photos. Nothing is downloaded: the digits ship inside scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

CLASS_NAMES = [str(d) for d in range(10)]


def make_digits_folders(
    root: Path, parts: Sequence[tuple[str, float]], *, size: int = 64, seed: int = 0
) -> dict[str, Path]:
    """Write the digits into ``root/<part>/<digit>/<n>.png`` for each (part, share) in ``parts``.

    Each digit's images are shuffled with ``seed`` and cut by the shares (the last part takes the
    rest), so every part holds every class in about the same proportions.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0 * 255).clip(0, 255).astype(np.uint8)
    rng = np.random.default_rng(seed)
    folders = {name: root / name for name, _ in parts}
    for digit in range(10):
        indices = np.flatnonzero(digits.target == digit)
        rng.shuffle(indices)
        start = 0
        for number, (name, share) in enumerate(parts):
            end = len(indices) if number == len(parts) - 1 else start + round(share * len(indices))
            folder = folders[name] / str(digit)
            folder.mkdir(parents=True, exist_ok=True)
            for i in indices[start:end]:
                grey = Image.fromarray(255 - images[i], mode="L").resize((size, size), Image.Resampling.BILINEAR)
                grey.convert("RGB").save(folder / f"{i:04d}.png")
            start = end
    return folders


def labeled_files(folder: Path) -> tuple[list[Path], list[int]]:
    """The PNGs under ``folder/<digit>/`` and their digit, in a stable order."""
    paths = sorted(folder.glob("*/*.png"))
    return paths, [int(p.parent.name) for p in paths]


#: The digits are 64 px drawings: the models taught on them look at 64 px (resize 72, centre crop 64).
RESIZE, CROP = 72, 64


def _base_64px():  # type: ignore[no-untyped-def]
    """Seeded random-init resnet18 with a 64 px preprocessing recipe (ImageNet mean/std)."""
    import dataclasses

    from resnet_desktop.core.models import zoo
    from resnet_desktop.core.models.spec import Preprocessing

    base = zoo.load_model("resnet18", "random")
    prep = Preprocessing(RESIZE, CROP, base.preprocessing.mean, base.preprocessing.std)
    return dataclasses.replace(base, preprocessing=prep)


def teach_digits(train: Path, output: Path) -> Path:
    """Teach a head on ``train`` (the app's own fine-tuning, head only) and save the model file."""
    from resnet_desktop.core.finetune.run import fine_tune
    from resnet_desktop.core.finetune.settings import FineTuneSettings
    from resnet_desktop.core.work import drive

    settings = FineTuneSettings(arch="resnet18", weights="random", device="cpu", head_threads=1)
    result = drive(fine_tune(train, settings, loaded=_base_64px()))
    result.save(output)
    return output


def tied_digits_model(output: Path) -> Path:
    """The random resnet18 backbone with a head whose ten logits share one direction and differ only
    by a hair: fp32's top-1 rests on differences far smaller than int8's rounding, so int8 changes it."""
    import torch

    from resnet_desktop.core.models.modelfile import ModelFileMeta, save_model_file

    base = _base_64px()
    model = base.model
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        shared = torch.randn((1, model.fc.in_features), generator=generator)
        hair = torch.randn((10, model.fc.in_features), generator=generator) * 1e-4
        model.fc = torch.nn.Linear(model.fc.in_features, 10)
        model.fc.weight.copy_(shared + hair)
        model.fc.bias.zero_()
    meta = ModelFileMeta("resnet18", CLASS_NAMES, base.preprocessing.to_dict(), base_weights="random")
    return save_model_file(output, model, meta)
