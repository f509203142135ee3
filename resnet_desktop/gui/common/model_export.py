"""Exporting a model from the GUI (Model > Export Model…, and the wizard's last page): the save
dialog with its format and precision choice (ONNX fp32 / fp16 / int8, TorchScript), and the
background work that exports, verifies and writes. int8 is calibrated and verified on the person's
own photos (those the library index knows) and refused below the quality gate, like the CLI's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QWidget

if TYPE_CHECKING:
    from resnet_desktop.core.models.api import ExportResult
    from resnet_desktop.core.models.ref import LoadedModel
    from resnet_desktop.gui.common.tasks import TaskContext

ONNX_FILTER = "ONNX model (*.onnx)"
ONNX_FP16_FILTER = "ONNX model, fp16: half the size (*.onnx)"
ONNX_INT8_FILTER = "ONNX model, int8: a quarter of the size, checked on your photos (*.onnx)"
TORCHSCRIPT_FILTER = "TorchScript model (*.pt)"
#: filter -> (format, precision)
CHOICES = {
    ONNX_FILTER: ("onnx", "fp32"),
    ONNX_FP16_FILTER: ("onnx", "fp16"),
    ONNX_INT8_FILTER: ("onnx", "int8-static"),
    TORCHSCRIPT_FILTER: ("torchscript", "fp32"),
}


def ask_export_path(parent: QWidget, start: Path) -> tuple[Path, str, str] | None:
    """The file, format (``"onnx"`` or ``"torchscript"``) and precision the person chose, or None if
    cancelled. The suffix follows the chosen filter when the person typed none."""
    name, chosen = QFileDialog.getSaveFileName(parent, "Export Model", str(start), ";;".join(CHOICES))
    if not name:
        return None
    path = Path(name)
    format, precision = CHOICES.get(chosen, ("onnx", "fp32"))
    if path.suffix.lower() == ".pt":
        format, precision = "torchscript", "fp32"
    if not path.suffix:
        path = path.with_suffix(".pt" if format == "torchscript" else ".onnx")
    return path, format, precision


def export_work(
    model: LoadedModel | Callable[[], LoadedModel], path: Path, format: str, ctx: TaskContext, precision: str = "fp32"
) -> ExportResult:
    """Runs on a worker thread: core's export, verify, write; stage messages go to ``ctx.progress``.

    ``model`` may be a loader (a model running torch-free is loaded with torch only now).
    """
    from resnet_desktop.core.library.api import your_photos
    from resnet_desktop.core.models.api import export_model, split_photos

    loaded = model if not callable(model) else model()
    photos = split_photos(your_photos()) if precision.startswith("int8") else None
    # The save dialog has already asked whether to replace an existing file.
    return export_model(
        loaded,
        path,
        format=format,
        precision=precision,
        photos=photos,
        overwrite=path.exists(),
        progress=ctx.progress,
        cancel=ctx.cancel,
    )


def exported_text(result: ExportResult) -> str:
    """What the person reads once the file is written: where, how big, how well it matched PyTorch."""
    return f"Wrote {result.path} ({result.size_bytes / 2**20:.1f} MB). Verified: {result.verified()}"
