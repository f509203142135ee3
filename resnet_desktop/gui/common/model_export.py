"""Exporting a model from the GUI (Model > Export Model…, and the wizard's last page): the save
dialog with its format and precision choice (ONNX fp32 / fp16 / int8, TorchScript), and the
background work that exports, verifies and writes. int8 is calibrated and verified on the person's
own photos (those the library index knows) and refused below the quality gate, like the CLI's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QWidget

from resnet_desktop.gui.common import save_folders

if TYPE_CHECKING:
    from resnet_desktop.core.inference.api import StoredModel
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


def model_name(model: LoadedModel | StoredModel) -> str:
    """The name an export suggests: a model file's own name ("patterns"), else architecture and weights."""
    if model.custom_file is not None:
        return Path(model.custom_file).stem
    weights = model.weights_name or "random"
    return f"{model.arch}-{weights}"


def ask_export_path(parent: QWidget, name: str, near: Path | None = None) -> tuple[Path, str, str] | None:
    """The file, format (``"onnx"`` or ``"torchscript"``) and precision the person chose, or None if
    cancelled.

    It starts at ``name``.onnx in the folder of the last model export (else ``near``, else Documents);
    the suffix follows the chosen filter when the person typed none.
    """
    start = save_folders.start_path(save_folders.MODEL, f"{name}.onnx", near)
    chosen_name, chosen = QFileDialog.getSaveFileName(parent, "Export Model", str(start), ";;".join(CHOICES))
    if not chosen_name:
        return None
    path = Path(chosen_name)
    format, precision = CHOICES.get(chosen, ("onnx", "fp32"))
    if path.suffix.lower() == ".pt":
        format, precision = "torchscript", "fp32"
    if not path.suffix:
        path = path.with_suffix(".pt" if format == "torchscript" else ".onnx")
    save_folders.remember(save_folders.MODEL, path)
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
