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
from resnet_desktop.core.models.spec import EXPORT_FORMATS, EXPORT_PRECISIONS

if TYPE_CHECKING:  # these import torch
    from resnet_desktop.core.models.export import ExportResult as ExportResult
    from resnet_desktop.core.models.zoo import LoadedModel

__all__ = ["FORMATS", "PRECISIONS", "export_model", "info_dict"]

FORMATS = EXPORT_FORMATS
PRECISIONS = EXPORT_PRECISIONS


def export_model(
    loaded: LoadedModel,
    output: Path,
    *,
    format: str = "onnx",
    precision: str = "fp32",
    calibration: Path | None = None,
    overwrite: bool = False,
    progress: Callable[[str], object] | None = None,
    cancel: threading.Event | None = None,
) -> ExportResult:
    """Export ``loaded`` to ``output`` and verify it (``calibration``: a folder of photos for int8-static).

    Nothing is written when the verification refuses the file (``ExportError`` with the figures).
    """
    from resnet_desktop.core.models import export, quantize
    from resnet_desktop.core.work import check_cancel

    if calibration is not None and precision != "int8-static":
        raise SettingsError("--calibration is for --precision int8-static only")
    images = quantize.calibration_images(calibration) if precision == "int8-static" else None

    def stage(message: str) -> None:
        check_cancel(cancel)  # a cancel takes effect between stages (each takes a few seconds at most)
        if progress is not None:
            progress(message)

    return export.export_model(
        loaded,
        output,
        format=format,
        precision=precision,
        calibration=images,
        overwrite=overwrite,
        progress=stage,
    )


def info_dict(result: ExportResult) -> dict[str, Any]:
    """Every figure of an export, for ``--json``."""
    from resnet_desktop.core.models import export

    return export.info_dict(result)
