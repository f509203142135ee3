"""Exporting a model from the GUI (Model > Export Model…, and the wizard's last page): the save
dialog with its ONNX/TorchScript choice, and the background work that exports, verifies and writes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QWidget

if TYPE_CHECKING:
    from resnet_desktop.core.models.api import ExportResult
    from resnet_desktop.core.models.ref import LoadedModel
    from resnet_desktop.gui.common.tasks import TaskContext

ONNX_FILTER = "ONNX model (*.onnx)"
TORCHSCRIPT_FILTER = "TorchScript model (*.pt)"


def ask_export_path(parent: QWidget, start: Path) -> tuple[Path, str] | None:
    """The file and format the person chose (``"onnx"`` or ``"torchscript"``), or None if cancelled.

    The suffix follows the chosen filter when the person typed none.
    """
    name, chosen = QFileDialog.getSaveFileName(
        parent, "Export Model", str(start), f"{ONNX_FILTER};;{TORCHSCRIPT_FILTER}"
    )
    if not name:
        return None
    path = Path(name)
    format = "torchscript" if chosen == TORCHSCRIPT_FILTER or path.suffix.lower() == ".pt" else "onnx"
    if not path.suffix:
        path = path.with_suffix(".pt" if format == "torchscript" else ".onnx")
    return path, format


def export_work(loaded: LoadedModel, path: Path, format: str, ctx: TaskContext) -> ExportResult:
    """Runs on a worker thread: core's export, verify, write; stage messages go to ``ctx.progress``."""
    from resnet_desktop.core.models.api import export_model

    # The save dialog has already asked whether to replace an existing file.
    return export_model(loaded, path, format=format, overwrite=path.exists(), progress=ctx.progress, cancel=ctx.cancel)


def exported_text(result: ExportResult) -> str:
    """What the person reads once the file is written: where, how big, how well it matched PyTorch."""
    return f"Wrote {result.path} ({result.size_bytes / 2**20:.1f} MB). Verified: {result.agreement.summary()}"
