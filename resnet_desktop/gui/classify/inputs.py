"""Where files to classify come from besides a drop: Open Images/Folder, Paste, samples, Recent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu, QWidget

from resnet_desktop.core.errors import OutputError
from resnet_desktop.gui.common import dialogs
from resnet_desktop.gui.common.banner import Banner
from resnet_desktop.gui.common.dropzone import local_paths
from resnet_desktop.gui.common.status import StatusBar
from resnet_desktop.gui.settings import AppSettings

#: ``classify(paths, remember)``: queue paths; ``remember`` adds folders to Open Recent.
Classify = Callable[[list[Path], bool], object]


def paste_folder() -> Path:
    """Where pasted clipboard images are saved: the app's cache dir (never the user's files)."""
    from platformdirs import user_cache_path

    return user_cache_path("resnet-desktop", appauthor=False) / "pasted"


class Inputs(QObject):
    """The File menu's ways in, and the Open Recent menu they keep."""

    def __init__(
        self,
        window: QWidget,
        settings: AppSettings,
        status: StatusBar,
        banner: Banner,
        classify: Classify,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.status = status
        self.banner = banner
        self._classify = classify
        self.recent_menu = QMenu("Open &Recent", window)
        self.refresh_recent()

    def start_folder(self) -> str:
        recent = self.settings.recent_folders()
        return recent[0] if recent else str(Path.home())

    def remember(self, paths: list[Path]) -> None:
        for path in paths:
            if path.is_dir():
                self.settings.add_recent_folder(path)
        self.refresh_recent()

    def open_images(self) -> None:
        files = dialogs.ask_images(self.window, self.start_folder())
        if files:
            self._classify(files, True)

    def open_folder(self) -> None:
        folder = dialogs.ask_folder(self.window, self.start_folder())
        if folder is not None:
            self._classify([folder], True)

    def try_samples(self) -> None:
        from resnet_desktop.resources import sample_images

        self._classify(sample_images(), False)

    def paste(self) -> None:
        """Classify the clipboard's image (saved as PNG in the cache dir) or its copied files."""
        mime = QGuiApplication.clipboard().mimeData()
        files = local_paths(mime)
        if files:
            self._classify(files, True)
            return
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.status.set_message("The clipboard holds no image or files to classify.")
            return
        try:
            path = dialogs.save_pasted_image(image, paste_folder())
        except (OSError, OutputError) as exc:
            self.banner.show_message("Could not paste the image", str(exc))
            return
        self._classify([path], False)

    def refresh_recent(self) -> None:
        self.recent_menu.clear()
        folders = self.settings.recent_folders()
        for folder in folders:
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self._classify([Path(f)], True))
        if folders:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", self._clear_recent)
        self.recent_menu.setEnabled(bool(folders))

    def _clear_recent(self) -> None:
        self.settings.clear_recent_folders()
        self.refresh_recent()
