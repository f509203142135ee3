"""The explain front door: Grad-CAM and feature maps of one photo, and the pictures made of them.

Use cases (``core.explain.photo``): ``explain_photo`` + ``render`` (``resnet-desktop explain``),
``prepare`` / ``fetch_layer`` / ``compute_cam`` (the Features panel), ``cam_pair`` (the model lab's
true-vs-predicted view); all open the photo with ``open_for_model`` (long strips pre-cropped, as in
classification). Painting helpers (``core.explain.heatmaps``: numpy + Pillow) are re-exported for the
GUI. Importing this module does not import torch (the window appears before torch is loaded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from resnet_desktop.core.explain.heatmaps import (
    COLORMAPS,
    DEFAULT_COLORMAP,
    apply_colormap,
    network_view,
    normalize_maps,
    overlay,
    render_grid,
    save_png,
    tile_at,
)
from resnet_desktop.core.explain.photo import (
    CAM_VIEW,
    MAX_OUTPUT_SIDE,
    VIEW_SIZE,
    CamPair,
    Explanation,
    Prepared,
    cam_pair,
    compute_cam,
    explain_photo,
    fetch_layer,
    open_for_model,
    prepare,
    render,
    resolve_class,
)

if TYPE_CHECKING:  # types only: these modules import torch
    from resnet_desktop.core.explain.activations import ActivationCache as ActivationCache
    from resnet_desktop.core.explain.gradcam import CamResult as CamResult
    from resnet_desktop.core.explain.hooks import LayerInfo as LayerInfo

__all__ = [
    "CAM_VIEW",
    "COLORMAPS",
    "DEFAULT_COLORMAP",
    "MAX_OUTPUT_SIDE",
    "VIEW_SIZE",
    "CamPair",
    "Explanation",
    "Prepared",
    "apply_colormap",
    "cam_pair",
    "compute_cam",
    "explain_photo",
    "fetch_layer",
    "network_view",
    "normalize_maps",
    "open_for_model",
    "overlay",
    "prepare",
    "render",
    "render_grid",
    "resolve_class",
    "save_png",
    "tile_at",
]
