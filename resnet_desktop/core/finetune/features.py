"""Frozen-backbone feature extraction for fine-tuning, with seeded augmented views.

The backbone runs once per image (plus once per augmented view of a training image) through
the same parallel decoder and :class:`~resnet_desktop.core.inference.engine.Engine` that classification
uses, so extraction costs about one inference pass. The backbone stays in eval mode under
``inference_mode``: its weights and BatchNorm running statistics never change.

Augmented views are made in the decoding threads from the already-decoded image (no second
decode). Each image's views are seeded from ``seed`` and a hash of its centre crop, so they are
the same whatever thread or batch the image lands in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from PIL import Image
from torch import nn
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from resnet_desktop.core.errors import CancelledError
from resnet_desktop.core.inference.decode import decode_batches, resize_and_crop

if TYPE_CHECKING:
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.models.spec import Preprocessing
    from resnet_desktop.core.models.zoo import LoadedModel

# torchvision's augmentations draw from torch's global RNG; the lock plus fork_rng makes each
# image's draw private and repeatable even with several decoding threads.
_AUGMENT_LOCK = threading.Lock()


def stem_modules(model: nn.Module) -> list[nn.Module]:
    """A torchvision ResNet up to and including layer3 (shared modules, nothing copied)."""
    names = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3")
    return [model.get_submodule(name) for name in names]


def pooled_backbone(model: nn.Module) -> nn.Module:
    """The ResNet without its ``fc``: image -> avgpool features (512 or 2048 wide)."""
    stages = (model.get_submodule("layer4"), model.get_submodule("avgpool"))
    return nn.Sequential(*stem_modules(model), *stages, nn.Flatten(1))


def layer3_backbone(model: nn.Module) -> nn.Module:
    """The ResNet up to layer3: image -> layer3 feature maps (cached by last-stage training)."""
    return nn.Sequential(*stem_modules(model))


def augmentation(preprocessing: Preprocessing) -> T.Compose:
    """Flip, random resized crop and colour jitter, ending at the model's crop size."""
    return T.Compose(
        [
            T.RandomResizedCrop(
                preprocessing.crop_size,
                scale=(0.35, 1.0),
                interpolation=InterpolationMode(preprocessing.interpolation),
                antialias=True,
            ),
            T.RandomHorizontalFlip(),
            T.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05),
            T.PILToTensor(),
        ]
    )


class MultiView:
    """PIL image -> uint8 ``(1 + views, 3, crop, crop)``: the centre crop, then augmented views."""

    def __init__(self, preprocessing: Preprocessing, views: int, seed: int) -> None:
        self.preprocessing = preprocessing
        self.views = views
        self.seed = seed
        self.augment = augmentation(preprocessing)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        centre = F.pil_to_tensor(resize_and_crop(image, self.preprocessing))
        if self.views == 0:
            return centre[None]
        digest = hashlib.blake2b(centre.numpy().tobytes(), digest_size=8, key=str(self.seed).encode()).digest()
        image_seed = int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF
        with _AUGMENT_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(image_seed)
            views = [self.augment(image) for _ in range(self.views)]
        return torch.stack([centre, *views])


@dataclass
class FeatureSet:
    """Backbone outputs for a list of files: ``features[i]`` belongs to ``paths[owner[i]]``."""

    paths: list[Path]
    features: torch.Tensor
    owner: torch.Tensor
    errors: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtractProgress:
    """After each batch: files done out of the total, and the elapsed time."""

    done: int
    total: int
    elapsed_s: float


def feature_engine(loaded: LoadedModel, backbone: nn.Module, device: str, workers: int | None) -> Engine:
    """An :class:`Engine` whose "logits" are backbone outputs (the loaded model is not copied)."""
    from resnet_desktop.core.inference.engine import Engine

    stand_in = dataclasses.replace(loaded, model=backbone)
    return Engine(stand_in, device, workers=workers)


def extract(
    engine: Engine,
    paths: list[Path],
    *,
    views: int = 0,
    seed: int = 0,
    cancel: threading.Event | None = None,
    dtype: torch.dtype = torch.float32,
    after: Callable[[torch.Tensor], torch.Tensor] | None = None,
    progress_done: int = 0,
    progress_total: int | None = None,
) -> Iterator[ExtractProgress | FeatureSet]:
    """Yield progress after each batch, then the :class:`FeatureSet`. Raises CancelledError.

    ``after`` maps each batch of backbone outputs (e.g. layer3 maps -> cached copy); ``dtype`` is
    the cache's storage type.
    """
    transform = MultiView(engine.preprocessing, views, seed)
    total = progress_total if progress_total is not None else len(paths)
    chunks: list[torch.Tensor] = []
    owners: list[torch.Tensor] = []
    errors: dict[int, str] = {}
    started = time.perf_counter()
    index = 0
    batches = decode_batches(
        paths,
        engine.preprocessing,
        batch_size=engine.batch_size,
        workers=engine.workers,
        cancel=cancel,
        transform=transform,
        pin_memory=engine.device.type == "cuda",
        overlap=getattr(engine, "overlap", True),  # the engine's own choice, so extraction paces like classify
    )
    for batch in batches:
        positions = batch.ok_positions
        for position, error in enumerate(batch.errors):
            if error is not None:
                errors[index + position] = error
        if positions:
            pixels = batch.pixels.flatten(0, 1)
            out = engine.logits(pixels)
            if after is not None:
                out = after(out)
            chunks.append(out.to(dtype))
            owner = torch.tensor([index + p for p in positions]).repeat_interleave(views + 1)
            owners.append(owner)
        index += len(batch)
        yield ExtractProgress(progress_done + index, total, time.perf_counter() - started)
        if cancel is not None and cancel.is_set():
            break
    if cancel is not None and cancel.is_set():
        raise CancelledError("Fine-tuning was cancelled while computing features; nothing was saved.")
    if chunks:
        features = torch.cat(chunks)
        owner = torch.cat(owners)
    else:
        features = torch.empty((0, 0), dtype=dtype)
        owner = torch.empty((0,), dtype=torch.long)
    yield FeatureSet(paths=list(paths), features=features, owner=owner, errors=errors)
