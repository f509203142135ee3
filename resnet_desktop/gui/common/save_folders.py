"""Where a save dialog starts: the folder last saved to for that kind of file, else a folder of the
person's (near what is being saved, or Documents), never inside the app's own files.

"Try Sample Images" classifies photos in the app's ``assets/samples``: suggesting that folder for an
export would put the person's files among the app's (and in an installed app, somewhere read-only).
Each kind (results tables, pictures, models, model-lab reports) remembers its own last folder, so an
export of a channel grid does not start where the CSV went.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

from resnet_desktop.gui.settings import APPLICATION, ORGANIZATION
from resnet_desktop.resources import assets_dir

RESULTS, PICTURE, MODEL, REPORT = "results", "picture", "model", "report"
_KEY = "save_folders/{}"
#: The main window's settings (``use_settings``); the app's default settings until then.
_store: list[QSettings] = []


def use_settings(settings: QSettings) -> None:
    """Keep the folders in ``settings`` (the main window's, so a test's settings file holds them too)."""
    _store[:] = [settings]


def _settings() -> QSettings:
    return _store[0] if _store else QSettings(ORGANIZATION, APPLICATION)


def app_folders() -> list[Path]:
    """The app's own files: its assets and its package (a checkout, or the frozen bundle)."""
    package = Path(__file__).resolve().parents[2]
    return [assets_dir().resolve(), package]


def inside_app(path: Path) -> bool:
    try:
        resolved = path.resolve()
    except OSError:
        return False
    return any(resolved == root or root in resolved.parents for root in app_folders())


def documents() -> Path:
    """The person's Documents folder when there is one, else their home."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    folder = Path(location) if location else Path.home()
    return folder if folder.is_dir() else Path.home()


def remembered(kind: str) -> Path | None:
    value = _settings().value(_KEY.format(kind), "")
    folder = Path(str(value)) if value else None
    return folder if folder is not None and folder.is_dir() and not inside_app(folder) else None


def start_path(kind: str, name: str, near: Path | None = None) -> Path:
    """``name`` in the folder a save dialog for ``kind`` should open in."""
    if (folder := remembered(kind)) is None:
        folder = near if near is not None and near.is_dir() and not inside_app(near) else documents()
    return folder / name


def remember(kind: str, saved: Path) -> None:
    """After a save: the next dialog of this kind starts in ``saved``'s folder."""
    _settings().setValue(_KEY.format(kind), str(saved.parent))
