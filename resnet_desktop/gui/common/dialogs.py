"""Small dialogs and file pickers (kept out of the main window so it stays readable)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from resnet_desktop import __version__
from resnet_desktop.core.atomic import write_bytes
from resnet_desktop.core.errors import OutputError
from resnet_desktop.core.models.ref import FILE_SUFFIXES
from resnet_desktop.gui.common.text import plural

IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.bmp *.gif *.tif *.tiff *.webp *.heic *.heif);;All files (*)"
# The one list of weights/model file names (``core.models.ref``), so the picker cannot drift from it.
MODEL_FILTER = f"Model files ({' '.join('*' + s for s in FILE_SUFFIXES)});;All files (*)"
EXPORT_FILTER = "CSV (*.csv);;JSON (*.json)"


def ask_images(parent: QWidget, start: str = "") -> list[Path]:
    files, _ = QFileDialog.getOpenFileNames(parent, "Open Images", start, IMAGE_FILTER)
    return [Path(f) for f in files]


def ask_folder(parent: QWidget, start: str = "") -> Path | None:
    folder = QFileDialog.getExistingDirectory(parent, "Open Folder", start)
    return Path(folder) if folder else None


def ask_model_file(parent: QWidget, start: str = "") -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open Model File", start, MODEL_FILTER)
    return Path(path) if path else None


def ask_export_path(parent: QWidget, start: str = "") -> Path | None:
    path, chosen = QFileDialog.getSaveFileName(parent, "Export Results", start, EXPORT_FILTER)
    if not path:
        return None
    result = Path(path)
    if result.suffix.lower() not in (".csv", ".json"):
        result = result.with_suffix(".json" if "JSON" in chosen else ".csv")
    return result if confirm_changed_name(parent, Path(path), result) else None


def confirm_changed_name(parent: QWidget, confirmed: Path, final: Path) -> bool:
    """The save dialog only asked about ``confirmed``; if we added a suffix and ``final`` exists,
    ask again before it is replaced (we never overwrite a file the person did not agree to)."""
    if final == confirmed or not final.exists():
        return True
    return ask_yes_no(
        parent, "Replace file?", f"{final.name} already exists in {final.parent}.\nDo you want to replace it?"
    )


def ask_yes_no(parent: QWidget, title: str, text: str) -> bool:
    """A question whose safe answer (No) is the default: closing the box never destroys anything."""
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    answer = QMessageBox.question(parent, title, text, buttons, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def save_pasted_image(image: QImage, folder: Path) -> Path:
    """Write a clipboard image as PNG into ``folder`` (atomically, never over an existing file)."""
    folder.mkdir(parents=True, exist_ok=True)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):  # type: ignore[call-overload]  # the stubs omit QIODevice targets
        raise OutputError("The clipboard image could not be encoded as PNG.")
    data = bytes(buffer.data().data())
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        target = folder / (f"pasted-{stamp}.png" if n == 1 else f"pasted-{stamp}-{n}.png")
        if target.exists():
            continue
        try:
            return write_bytes(target, data)
        except OutputError:
            if not target.exists():  # not a name clash: a real write failure
                raise
    raise OutputError(f"Could not find a free file name for the pasted image in {folder}")


def about_text(versions: dict[str, str], device: str) -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    rows = {
        "ResNet Desktop": __version__,
        "Python": sys.version.split()[0],
        "Qt": qVersion(),
        "PySide6": pyside_version,
    }
    rows.update(versions)
    rows["Device"] = device or "(model not loaded yet)"
    table = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in rows.items())
    return (
        "<h3>ResNet Desktop</h3><p>Classify photos with ResNets, look inside the network, and "
        f"teach it your own classes.</p><table>{table}</table>"
    )


def show_about(parent: QWidget, versions: dict[str, str], device: str) -> None:
    shown = {k: v for k, v in versions.items() if k in ("torch", "torchvision")}
    QMessageBox.about(parent, "About ResNet Desktop", about_text(shown, device))


def confirm_clear(parent: QWidget, count: int) -> bool:
    """Edit > Clear Results asks first: the rows cannot be brought back (the files are untouched)."""
    return ask_yes_no(
        parent, "Clear results?", f"Remove all {plural(count, 'result')} from the table? Your files are not touched."
    )
