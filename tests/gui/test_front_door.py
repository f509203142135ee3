"""The front door (issue 11): ``resnet-desktop [GUI options] [PATH...]`` starts the app with them,
View > Theme is a remembered setting, and the missing-weights advice names things that exist."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QMenu

from resnet_desktop import cli
from resnet_desktop.gui import app as gui_app
from resnet_desktop.gui.main_window import MainWindow
from resnet_desktop.gui.theme import apply_color_scheme, is_dark
from tests.helpers import SAMPLES_DIR

TIMEOUT_MS = 120_000


@pytest.fixture
def front_door(qtbot, monkeypatch: pytest.MonkeyPatch, app_settings, restore_look):
    """Run ``cli.main(argv)`` with the event loop replaced by ``until(window)``: no blocking, and the
    settings in a temp file (no log file, the excepthook restored afterwards)."""
    monkeypatch.setattr(gui_app, "AppSettings", lambda: app_settings)
    monkeypatch.setattr(gui_app, "_setup_logging", lambda: None)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    seen: list[MainWindow] = []

    def run(argv: list[str], until) -> MainWindow:
        def fake_exec() -> int:
            window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
            qtbot.addWidget(window)
            seen.append(window)
            qtbot.waitUntil(lambda: until(window), timeout=TIMEOUT_MS)
            return 0

        monkeypatch.setattr(QApplication, "exec", staticmethod(fake_exec))
        assert cli.main(argv) == 0
        return seen[-1]

    yield run
    for window in seen:
        window.close()


def _action(window: MainWindow, *path: str):
    """The QAction at menu path ("View", "Theme", "Dark"), matched without '&' and case."""
    menus = [a.menu() for a in window.menuBar().actions()]
    actions = window.menuBar().actions()
    for depth, name in enumerate(path):
        match = next((a for a in actions if a.text().replace("&", "").lower() == name.lower()), None)
        assert match is not None, f"no {' > '.join(path[: depth + 1])}"
        if depth == len(path) - 1:
            return match
        menu = match.menu()
        assert isinstance(menu, QMenu), menus
        actions = menu.actions()
    raise AssertionError(path)


def test_gui_options_and_paths_on_the_front_door(front_door, resnet18_weights: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("coffee.jpg", "rocket.jpg"):
        shutil.copy(SAMPLES_DIR / name, folder / name)
    cat = Path(shutil.copy(SAMPLES_DIR / "cat.jpg", tmp_path / "cat.jpg"))
    argv = ["--weights", str(resnet18_weights), "--model", "resnet18", "--device", "cpu"]
    argv += ["--color-scheme", "dark", str(cat), str(folder)]

    window = front_door(argv, lambda w: w.results.rowCount() == 3 and not w.service.busy)
    info = window.model_info
    assert info is not None and info.ref.arch == "resnet18" and info.ref.file == resnet18_weights
    assert info.device_name.lower().startswith("cpu")
    assert sorted(p.name for p in window.results.paths()) == ["cat.jpg", "coffee.jpg", "rocket.jpg"]
    assert is_dark(QApplication.palette())
    assert _action(window, "View", "Theme", "Dark").isChecked()
    assert window.settings.color_scheme() == "system"  # a command-line choice is for this run only


def test_no_paths_no_command_still_starts_the_app(front_door) -> None:
    window = front_door(
        ["--model", "resnet18", "--weights", "random", "--device", "cpu"], lambda w: w.model_info is not None
    )
    assert window.model_info.ref.arch == "resnet18" and window.results.rowCount() == 0


def test_a_command_is_still_a_command(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["classify", "--help"])
    assert "usage: resnet-desktop classify" in capsys.readouterr().out


def test_theme_menu_applies_and_remembers(qtbot, make_window, app_settings, restore_look, front_door) -> None:
    window = make_window(start=False)
    light_palette = QPalette(QApplication.palette())
    assert _action(window, "View", "Theme", "System").isChecked()

    _action(window, "View", "Theme", "Dark").trigger()
    assert is_dark(QApplication.palette()) and _action(window, "View", "Theme", "Dark").isChecked()
    assert app_settings.qsettings.value("view/color_scheme") == "dark"
    assert not _action(window, "View", "Theme", "System").isChecked()  # exclusive

    _action(window, "View", "Theme", "Light").trigger()
    assert not is_dark(QApplication.palette()) and app_settings.color_scheme() == "light"
    _action(window, "View", "Theme", "System").trigger()
    assert QApplication.palette().color(QPalette.ColorRole.Window) == light_palette.color(QPalette.ColorRole.Window)
    assert app_settings.color_scheme() == "system"

    # Remembered: the next start applies it before the window shows.
    _action(window, "View", "Theme", "Dark").trigger()
    window.close()
    apply_color_scheme(QApplication.instance(), "system")
    assert not is_dark(QApplication.palette())
    again = front_door(
        ["--model", "resnet18", "--weights", "random", "--device", "cpu"], lambda w: w.model_info is not None
    )
    assert is_dark(QApplication.palette()) and _action(again, "View", "Theme", "Dark").isChecked()


def test_missing_weights_advice_names_menus_and_commands_that_exist(
    qtbot, make_window, tmp_path: Path, monkeypatch
) -> None:
    from resnet_desktop.core.models.ref import ModelRef

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))  # nothing cached, and offline
    window = make_window(ModelRef.parse("resnet18", "DEFAULT"), start=False)
    window.start()
    qtbot.waitUntil(window.banner.isVisible, timeout=TIMEOUT_MS)
    advice = window.banner.text.text()

    menu_paths = re.findall(r"\b([A-Z][a-z]+) > ([^,.;']+…)", advice)
    assert menu_paths, advice
    for menu, item in menu_paths:
        _action(window, menu, item)
    for button in re.findall(r"'([^']+)' button", advice):
        assert button in window.banner.button_texts()
    commands = re.findall(r"'(resnet-desktop[^']*)'", advice)
    assert commands, advice
    parser = cli.build_parser()
    for command in commands:
        words = [str(tmp_path / "w.pth") if w == "FILE" else w for w in shlex.split(command)[1:]]
        parser.parse_args([*words, str(tmp_path / "a.jpg")] if "classify" in words else words)


def test_the_app_prints_its_help_without_opening_a_window(capsys) -> None:
    from resnet_desktop.gui.app import main as gui_main

    with pytest.raises(SystemExit) as exited:
        gui_main(["resnet-desktop-gui", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: resnet-desktop-gui [-h] [--model ARCH]")
    assert "--color-scheme" in out and "passed on to Qt" in out
