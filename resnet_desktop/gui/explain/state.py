"""What the feature panel knows about the current image; replaced as a whole when the image changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from resnet_desktop.core.explain.api import ActivationCache, LayerInfo


@dataclass
class ImageState:
    """The captured image: its activations, photo and class probabilities, and what is on screen."""

    cache: ActivationCache | None = None
    layers: dict[str, LayerInfo] = field(default_factory=dict)
    #: The part of the photo the network sees, (S, S, 3) uint8.
    view: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    #: The layer on screen, its output (C, H, W) and the enlarged channel.
    layer: str | None = None
    activation: np.ndarray | None = None
    channel: int | None = None
