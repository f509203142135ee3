"""Exporting a model from the GUI (Model > Export Model…, and the wizard's last page): the save
dialog with its ONNX/TorchScript choice, and the background work that exports, verifies and writes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QWidget

from resnet_desktop.gui.common import save_folders

if TYPE_CHECKING:
    from resnet_desktop.core.models.api import ExportResult
    from resnet_desktop.core.models.ref import LoadedModel
    from resnet_desktop.gui.common.tasks import TaskContext

ONNX_FILTER = "ONNX model (*.onnx)"
TORCHSCRIPT_FILTER = "TorchScript model (*.pt)"


def model_name(loaded: LoadedModel) -> str:
    """The name an export suggests: a model file's own name ("patterns"), else architecture and weights."""
    if loaded.custom_file is not None:
        return Path(loaded.custom_file).stem
    weights = loaded.weights_name or "random"
    return f"{loaded.arch}-{weights}"


def ask_export_path(parent: QWidget, name: str, near: Path | None = None) -> tuple[Path, str] | None:
    """The file and format the person chose (``"onnx"`` or ``"torchscript"``), or None if cancelled.

    It starts at ``name``.onnx in the folder of the last model export (else ``near``, else Documents);
    the suffix follows the chosen filter when the person typed none.
    """
    start = save_folders.start_path(save_folders.MODEL, f"{name}.onnx", near)
    chosen_name, chosen = QFileDialog.getSaveFileName(
        parent, "Export Model", str(start), f"{ONNX_FILTER};;{TORCHSCRIPT_FILTER}"
    )
    if not chosen_name:
        return None
    path = Path(chosen_name)
    format = "torchscript" if chosen == TORCHSCRIPT_FILTER or path.suffix.lower() == ".pt" else "onnx"
    if not path.suffix:
        path = path.with_suffix(".pt" if format == "torchscript" else ".onnx")
    save_folders.remember(save_folders.MODEL, path)
    return path, format


def export_work(loaded: LoadedModel, path: Path, format: str, ctx: TaskContext) -> ExportResult:
    """Runs on a worker thread: core's export, verify, write; stage messages go to ``ctx.progress``."""
    from resnet_desktop.core.models.api import export_model

    # The save dialog has already asked whether to replace an existing file.
    return export_model(loaded, path, format=format, overwrite=path.exists(), progress=ctx.progress, cancel=ctx.cancel)


def exported_text(result: ExportResult) -> str:
    """What the person reads once the file is written: where, how big, how well it matched PyTorch."""
    return f"Wrote {result.path} ({result.size_bytes / 2**20:.1f} MB). Verified: {result.agreement.summary()}"
