"""Every menu action of the main window, triggered as a person would, in every state of the window.

The actions are enumerated from the menus (``Person.actions``), so a new menu item is covered without
touching this file. In each state every *enabled* action is triggered; the test fails on an
"Unexpected error" (banner, message box, status), on an exception reaching ``sys.excepthook`` or a Qt
slot, and on an enabled action that changes nothing a person can see (no dialog, window, message,
row, clipboard text or job).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication

from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.common import model_service as service_module
from tests.gui.harness import Person, excepthook_spy, plain

#: Actions whose effect is to end the session: checked last, on their own.
ENDS_SESSION = {"Quit"}


def tiny_photos(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (40, 30), ((i * 37) % 256, (i * 91) % 256, (i * 13) % 256)).save(folder / f"p{i:03d}.jpg")
    return folder


class Gate:
    """Holds the worker's real model load (or classify stream) until released: a slow disk, on demand."""

    def __init__(self, name: str) -> None:
        self.open = threading.Event()
        self.name = name
        self.real = real = getattr(service_module, name)

        def held(*args: Any, **kwargs: Any) -> Any:
            self.open.wait(60)
            return real(*args, **kwargs)

        setattr(service_module, name, held)

    def release(self) -> None:
        setattr(service_module, self.name, self.real)
        self.open.set()


@pytest.fixture
def opened_urls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``QDesktopServices.openUrl`` is the OS's file manager: recorded, not launched."""
    urls: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: urls.append(url.toString()) or True))
    return urls


def snapshot(person: Person, urls: list[str]) -> tuple[object, ...]:
    window = person.window
    tops = sorted(type(w).__name__ for w in QApplication.topLevelWidgets() if w.isVisible())
    return (
        person.status_text(),
        person.banner_text(),
        window.results.rowCount(),
        window.results_panel.proxy.rowCount(),
        tuple(tops),
        len(person.dialogs.calls),
        len(urls),
        QGuiApplication.clipboard().text(),
        window.service.busy,
        window.service.is_loading,
        len(window.service.queue),
        window.isVisible(),
        tuple(a.text() for a in window.inputs.recent_menu.actions()),
        type(window.focusWidget()).__name__,
        tuple(a.isChecked() for a in person.actions() if a.isCheckable()),
        QApplication.palette().window().color().name(),
    )


def close_new_windows(qtbot: Any, window: Any, before: set[int]) -> None:
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible() and id(widget) not in before and widget is not window:
            widget.close()
    qtbot.wait(20)


def trigger_all(qtbot: Any, person: Person, urls: list[str], state: str) -> list[str]:
    """Trigger every enabled menu action once; return what went wrong, per action."""
    failures: list[str] = []
    covered: list[str] = []
    names = [plain(a.text()) for a in person.actions()]
    for name in names:
        # Found again each time: an action may rebuild a menu (Open Recent) and delete the old items.
        action = next((a for a in person.actions() if plain(a.text()) == name), None)
        if action is None or name in ENDS_SESSION or not action.isEnabled() or not action.isVisible():
            continue
        group = action.actionGroup()
        if action.isChecked() and group is not None and group.isExclusive():
            continue  # choosing the option already chosen changes nothing, by design
        before_windows = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
        QGuiApplication.clipboard().clear()
        person.window.results_panel.table.setFocus()  # where a person's focus rests between actions
        before = snapshot(person, urls)
        action.trigger()
        qtbot.wait(30)
        after = snapshot(person, urls)
        problems = person.problems()
        if problems:
            failures.append(f"[{state}] {name}: {problems}")
            person.hook_errors.clear()
        elif after == before:
            failures.append(f"[{state}] {name}: enabled but nothing happened")
        covered.append(name)
        close_new_windows(qtbot, person.window, before_windows)
    assert covered, f"no enabled action in state {state}"
    print(f"\n[{state}] triggered {len(covered)}: {', '.join(covered)}")
    return failures


@pytest.fixture
def clipboard_clean() -> Iterator[None]:
    """The clipboard and the look (View > Theme) are the whole process's: put them back after."""
    yield
    QGuiApplication.clipboard().clear()
    from resnet_desktop.gui.theme import apply_color_scheme

    apply_color_scheme(QApplication.instance(), "system")


def test_every_action_in_every_state(
    qtbot, make_window, resnet18_weights: Path, dialogs, opened_urls, tmp_path: Path, clipboard_clean
) -> None:
    failures: list[str] = []
    photos = tiny_photos(tmp_path / "photos", 6)

    # 1. No model: the default ImageNet weights are not on this machine (offline), so loading fails.
    window = make_window(ModelRef.parse("resnet18", "DEFAULT"), start=False)
    person = Person(qtbot, window, dialogs)
    with excepthook_spy(person):
        with qtbot.waitSignal(window.service.modelFailed, timeout=120_000):
            window.start()
        assert window.model_info is None
        failures += trigger_all(qtbot, person, opened_urls, "no model")
        window.close()

    # 2. Model loading: the worker's load is held until every action has been tried.
    gate = Gate("load_and_place")
    window = make_window(ModelRef.parse("resnet18", str(resnet18_weights)), start=False)
    person = Person(qtbot, window, dialogs)
    with excepthook_spy(person):
        window.start()
        qtbot.waitUntil(lambda: window.service.is_loading, timeout=30_000)
        failures += trigger_all(qtbot, person, opened_urls, "loading")
        gate.release()
        # (Edit > Cancel stopped the sample job queued behind the load, so the load goes on.)
        qtbot.waitUntil(lambda: not window.service.is_loading, timeout=60_000)
        window.close()

    # 3. Ready, no results; 4. results present; 5. a job running (held at its start).
    window = make_window(ModelRef.parse("resnet18", str(resnet18_weights)))
    person = Person(qtbot, window, dialogs)
    with excepthook_spy(person):
        failures += trigger_all(qtbot, person, opened_urls, "ready, no results")
        person.wait_idle()
        window.results.clear()
        person.drop([photos])
        person.wait_idle()
        assert window.results.rowCount() == 6
        window.results_panel.select_row(0)
        failures += trigger_all(qtbot, person, opened_urls, "results")
        person.wait_idle()

        gate = Gate("classify_stream")
        person.drop([tiny_photos(tmp_path / "more", 4)])
        qtbot.waitUntil(lambda: window.service.current_job is not None, timeout=30_000)
        failures += trigger_all(qtbot, person, opened_urls, "job running")
        gate.release()
        person.wait_idle()

        # Quit, last: the window goes away and its threads stop.
        person.trigger("Quit")
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
        assert not window.service.running
    assert not failures, "\n".join(failures)
