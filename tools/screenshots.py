"""Make the README's screenshots from the running app.

    .venv/bin/python tools/screenshots.py docs/screenshots
    xvfb-run -a .venv/bin/python tools/screenshots.py docs/screenshots   # on a real X server

Each screen is the real ``MainWindow`` driven through its public API (classify, select a row,
load a model), grabbed with ``QWidget.grab()``. No download happens: the results screens use
seeded random weights by default (the status bar says so) because this must run offline, or
``--weights FILE`` (resnet50 weights); the missing-weights screen is what the default model
shows when its weights are not cached.
The Library folders and Teach screens are ``room_screenshots.py``'s. Main windows and tool windows are
1366x768 (a common laptop screen); every dialog fits in it.
Settings, caches, the library index and the label sets go to a temporary folder, never the user's.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

logger = logging.getLogger(__name__)

WINDOW_SIZE = (1366, 768)


def wait_until(condition: Callable[[], bool], timeout_s: float = 300.0) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not reach the expected state in time")
        QApplication.processEvents()
        time.sleep(0.01)


def settle(seconds: float = 0.4) -> None:
    """Let thumbnails/previews decoded on the thread pool arrive and repaint."""
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def new_window(workdir: Path, name: str, spec: object):
    from PySide6.QtCore import QSettings

    from resnet_desktop.gui.main_window import MainWindow
    from resnet_desktop.gui.settings import AppSettings

    settings = AppSettings(QSettings(str(workdir / f"{name}.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, model_ref=spec, device="cpu")
    window.resize(*WINDOW_SIZE)
    window.show()
    return window


def demo_folder(workdir: Path) -> Path:
    """The shipped sample photos plus one file that is not an image (to show an error row)."""
    from resnet_desktop.resources import sample_images

    folder = workdir / "My photos"
    folder.mkdir(parents=True, exist_ok=True)
    for path in sample_images():
        shutil.copy2(path, folder / path.name)
    (folder / "notes.jpg").write_text("Shopping list: milk, eggs.\n", encoding="utf-8")
    return folder


def many_copies(workdir: Path, folder: Path, n: int) -> Path:
    """``n`` photos for a job that takes a while: the samples, each copy one pixel different, so that
    the library index (which knows a photo by its content) does not answer them all at once."""
    from PIL import Image

    photos = sorted(p for p in folder.iterdir() if p.suffix == ".jpg" and p.name != "notes.jpg")
    images = []
    for path in photos:
        with Image.open(path) as opened:
            images.append(opened.convert("RGB"))
    target = workdir / "Holiday 2024"
    target.mkdir(exist_ok=True)
    for i in range(n):
        image = images[i % len(images)].copy()
        image.putpixel((0, 0), (i % 256, i // 256, 0))
        image.save(target / f"IMG_{1000 + i}.jpg", quality=90)
    return target


def drag_enter(window, paths: list[Path]) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDragEnterEvent(
        QPointF(window.rect().center()),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, event)


def results_window(workdir: Path, folder: Path, weights: str):
    from resnet_desktop.core.models.ref import ModelRef

    window = new_window(workdir, "results", ModelRef.parse("resnet50", weights))
    window.start()
    wait_until(lambda: window.model_info is not None)
    window.classify([folder])
    wait_until(lambda: not window.service.busy and window.results.rowCount() > 0)
    rows = window.results_panel.proxy.visible_rows()
    target = next((i for i, r in enumerate(rows) if r.path.name == "cat.jpg"), 0)
    window.results_panel.select_row(target)
    settle(1.0)
    return window


def organize_screens(window, workdir: Path):
    """The organize dialog with its preview (one folder open, thumbnails in), then after applying."""
    dialog = window.organize.open_dialog()
    dialog.resize(980, 640)
    dialog.options.dest_edit.setText(str(workdir / "Sorted"))
    dialog.options.threshold_spin.setValue(0.6)
    dialog.options.xmp_check.setChecked(True)
    wait_until(lambda: dialog.plan is not None and dialog.plan.options.xmp and dialog.apply_button.isEnabled())
    for item in dialog.tree.folder_items():
        item.setExpanded(True)
    if dialog.tree.skipped_item is not None:
        dialog.tree.skipped_item.setExpanded(True)
    settle(1.0)
    yield dialog, "organize-preview.png"
    dialog.apply_button.click()
    wait_until(lambda: not dialog.busy and "Done:" in dialog.summary.text())
    settle(0.3)
    yield dialog, "organize-done.png"
    dialog.close()
    undo = window.organize.undo_last()
    wait_until(lambda: undo.close_button.isEnabled())
    settle(0.2)
    yield undo, "organize-undo.png"
    undo.close()


def feature_screens(loaded, photo: Path):
    """The Features panel in a window of its own (the window size): layer1, layer4 by max with a channel
    enlarged, and Grad-CAM over the photo."""
    from resnet_desktop.gui.explain.panel import FeaturePanel

    panel = FeaturePanel()
    panel.resize(*WINDOW_SIZE)
    panel.set_model(loaded)
    panel.set_image(photo)
    panel.show()
    wait_until(lambda: panel.current_layer == "layer1" and not panel.busy)
    settle(0.3)
    yield panel, "feature-layer1.png"
    panel.select_layer("layer4")
    panel.sort_combo.setCurrentIndex(panel.sort_combo.findData("max"))
    wait_until(lambda: panel.current_layer == "layer4" and not panel.busy)
    panel.select_channel(int(panel._order[0]))
    settle(0.3)
    yield panel, "feature-layer4.png"
    panel.cam_check.setChecked(True)
    wait_until(lambda: panel._cam is not None and not panel.busy)
    settle(0.3)
    yield panel, "feature-gradcam.png"
    panel.shutdown()
    panel.close()


def shoot(out: Path, scheme: str, weights: str = "random") -> list[Path]:
    from PySide6.QtWidgets import QApplication

    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.gui.theme import apply_color_scheme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ResNet Desktop")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    workdir = Path(tempfile.mkdtemp(prefix="resnet-desktop-shots-"))
    # An empty torch cache and no downloads: the default model's weights are missing, on any machine.
    os.environ["TORCH_HOME"] = str(workdir / "torch")
    os.environ["XDG_CACHE_HOME"] = str(workdir / "cache")
    os.environ["XDG_DATA_HOME"] = str(workdir / "data")  # the library index, its folders, the label sets
    os.environ["XDG_CONFIG_HOME"] = str(workdir / "config")
    os.environ["RESNET_DESKTOP_OFFLINE"] = "1"

    def save(widget, name: str) -> None:
        path = out / name
        if not widget.grab().save(str(path)):
            raise OSError(f"could not write {path}")
        written.append(path)
        print(f"wrote {path}")

    try:
        folder = demo_folder(workdir)
        apply_color_scheme(app, scheme)

        # 1. Missing weights: the default model, offline, nothing cached.
        window = new_window(workdir, "missing", None)
        window.start()
        wait_until(lambda: window.banner.isVisible())
        settle()
        save(window, "missing-weights.png")
        window.close()

        # 2. Results + 3. the preview panel on its own.
        window = results_window(workdir, folder, weights)
        save(window, "main-window.png")
        save(window.side_tabs, "preview-top5.png")
        assert window.model_info is not None
        for shot in feature_screens(window.model_info.loaded, folder / "cat.jpg"):
            save(*shot)

        # 4. The drop highlight: a real drag-enter with three files, as a file manager sends it.
        drag_enter(window, sorted(folder.iterdir())[:3])
        settle(0.2)
        save(window, "drop-highlight.png")
        window.drop_overlay.hide()

        # 5. A bigger job under way: streaming rows, progress with images/s and ETA, Cancel.
        window.clear_results(ask=False)
        window.classify([many_copies(workdir, folder, 400)])
        wait_until(
            lambda: (
                window.results.rowCount() >= 16
                and window.service.current_job is not None
                and window.service.current_job.total is not None
            )
        )
        settle(0.3)
        save(window, "classifying.png")
        window.cancel()
        wait_until(lambda: not window.service.busy)
        window.close()

        # 6. Tools > Organize into Folders…: the preview of the plan, then the result.
        window = results_window(workdir, folder, weights)
        for shot in organize_screens(window, workdir):
            save(*shot)
        window.close()

        # 7. The Library list and the status bar while a folder is indexed in the background; 8. Teach.
        from room_screenshots import library_screens, teach_screens

        for shot in library_screens(ModelRef.parse("resnet50", weights), workdir):
            save(*shot)
        for shot in teach_screens(workdir):
            save(*shot)

        # 9. Dark mode.
        apply_color_scheme(app, "dark")
        window = results_window(workdir, folder, weights)
        save(window, "dark-mode.png")
        window.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write PNG screenshots of the running app.")
    parser.add_argument("out", type=Path, nargs="?", default=REPO_ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--scheme",
        choices=("light", "auto"),
        default="light",
        help="colour scheme of the non-dark screens (light by default, for stable images)",
    )
    parser.add_argument(
        "--weights",
        default="random",
        help="resnet50 weights for the results screens: 'random' (default) or a weights file",
    )
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(level=logging.WARNING)
    weights = args.weights if args.weights == "random" else str(Path(args.weights).resolve())
    shoot(args.out, args.scheme, weights)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
