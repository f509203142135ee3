"""The models front door: export a model to ONNX or TorchScript, verified against PyTorch before it is kept.

``export_model`` (and ``info_dict`` for its figures) is what ``resnet-desktop export``, Model > Export
Model… and the fine-tune wizard's "Export to ONNX…" call. Which model is named by ``core.models.ref``
(``ModelRef``, ``load``); importing this module does not import torch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.models.gate import PhotoSet, labeled_photos, split_photos
from resnet_desktop.core.models.spec import EXPORT_FORMATS, EXPORT_PRECISIONS

if TYPE_CHECKING:  # these import torch
    from resnet_desktop.core.models.export import ExportResult as ExportResult
    from resnet_desktop.core.models.zoo import LoadedModel

__all__ = [
    "FORMATS",
    "PRECISIONS",
    "PhotoSet",
    "check_int8_photos",
    "export_model",
    "info_dict",
    "labeled_photos",
    "split_photos",
]

FORMATS = EXPORT_FORMATS
PRECISIONS = EXPORT_PRECISIONS


def export_model(
    loaded: LoadedModel,
    output: Path,
    *,
    format: str = "onnx",
    precision: str = "fp32",
    calibration: Path | None = None,
    photos: PhotoSet | None = None,
    overwrite: bool = False,
    progress: Callable[[str], object] | None = None,
    cancel: threading.Event | None = None,
) -> ExportResult:
    """Export ``loaded`` to ``output`` and verify it. int8 calibrates and is verified on the person's
    photos: ``calibration`` (a folder; ``FOLDER/<class name>/...`` counts as labeled) or ``photos``.

    Nothing is written when the verification refuses the file (``ExportError`` with the figures).
    """
    from resnet_desktop.core.models import export
    from resnet_desktop.core.work import check_cancel

    check_int8_photos(precision, calibration)
    if calibration is not None:
        photos = labeled_photos(calibration)

    def stage(message: str) -> None:
        check_cancel(cancel)  # a cancel takes effect between stages (each takes a few seconds at most)
        if progress is not None:
            progress(message)

    return export.export_model(
        loaded,
        output,
        format=format,
        precision=precision,
        photos=photos,
        overwrite=overwrite,
        progress=stage,
    )


def check_int8_photos(precision: str, calibration: Path | None) -> None:
    """``--calibration`` only with int8 (refused before the model is loaded)."""
    if calibration is not None and not precision.startswith("int8"):
        raise SettingsError("--calibration is for the int8 precisions only")


def info_dict(result: ExportResult) -> dict[str, Any]:
    """Every figure of an export, for ``--json``."""
    from resnet_desktop.core.models import export

    return export.info_dict(result)
