"""GUI fixtures: isolated settings, windows, and a ``person`` who drives them (see ``harness``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette

from tests.gui.harness import Dialogs, Person, excepthook_spy


@pytest.fixture
def app_settings(tmp_path: Path):
    """AppSettings backed by an INI file in the test's temp dir (tests never share settings).

    The backend is PyTorch here: the app's default, Auto, exports and measures each model once per
    cache folder, and every test has its own (seconds per window). Tests of Auto, ONNX Runtime and
    Fast Mode (``test_backend_menu.py``) choose them explicitly.
    """
    from resnet_desktop.gui.settings import AppSettings

    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.set_backend("torch")
    return settings


@pytest.fixture
def make_window(qtbot, app_settings):
    """Factory: a shown MainWindow; ``start=True`` waits until its model is ready."""
    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.gui.main_window import MainWindow

    windows = []

    def make(spec: ModelRef | None = None, *, start: bool = True, device: str = "cpu") -> MainWindow:
        window = MainWindow(app_settings, model_ref=spec, device=device)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        if start:
            with qtbot.waitSignal(window.modelReady, timeout=120_000):
                window.start()
        return window

    yield make
    for window in windows:
        window.close()


@pytest.fixture
def window(make_window, resnet18_weights: Path):
    """A window with a seeded random resnet18 loaded from a weights FILE, ready to classify."""
    from resnet_desktop.core.models.ref import ModelRef

    return make_window(ModelRef.parse("resnet18", str(resnet18_weights)))


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A folder of good images plus every kind of bad file, and the expected reason per bad name."""
    from tests.badfiles import make_bad_files, make_good_images

    folder = tmp_path / "photos"
    expected = make_bad_files(folder)
    make_good_images(folder / "good", n=6)
    yield folder, expected
    locked = folder / "unreadable.jpg"
    if locked.exists():
        locked.chmod(0o644)


@pytest.fixture
def dialogs(monkeypatch) -> Dialogs:
    """File dialogs and message boxes answered from queues (unanswered ones are cancelled)."""
    return Dialogs(monkeypatch)


@pytest.fixture
def person(qtbot, window, dialogs) -> Iterator[Person]:
    """A person at the ready window (seeded resnet18); fails the test on any unexpected error."""
    driver = Person(qtbot, window, dialogs)
    with excepthook_spy(driver):
        yield driver
    assert not driver.problems(), driver.problems()


@pytest.fixture
def restore_look(qapp):
    """The app's style and palette are process-wide: put them back for the next test."""
    from resnet_desktop.gui.theme import apply_color_scheme

    style, palette = qapp.style().name(), QPalette(qapp.palette())
    yield
    apply_color_scheme(qapp, "system")
    qapp.setStyle(style)
    qapp.setPalette(palette)
