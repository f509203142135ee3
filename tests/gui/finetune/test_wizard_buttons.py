"""Every button of every wizard page, in each state, can be clicked without an uncaught exception.

Each case builds the wizard up to one state by clicking Next, then clicks every visible, enabled
QPushButton of the page (file dialogs answered "cancelled"), then the wizard's own Back (and Next
to return) and finally Cancel, answering "Discard" when it asks about an unsaved model. The buttons
are found with ``findChildren``, so a button added to a page later is clicked too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton, QWizard

from resnet_desktop.core.finetune.synthetic import make_labeled_folder
from resnet_desktop.gui.finetune.wizard import FineTuneWizard
from tests.gui.finetune.conftest import TRAIN_TIMEOUT_MS, Answers, click, press_next, wizard_button

Setup = Callable[..., None]


def _settle(qtbot, page) -> None:
    """Wait for what a click started on this page (a scan, a training run, a save) to end."""
    running = getattr(page, "is_running", None)
    if running is not None:
        qtbot.waitUntil(lambda: not running(), timeout=TRAIN_TIMEOUT_MS)
    qtbot.wait(10)


def _page_buttons(wizard: QWizard) -> list[QPushButton]:
    page = wizard.currentPage()
    return [b for b in page.findChildren(QPushButton) if b.isVisible() and b.isEnabled()]


def _click_every_page_button(qtbot, wizard: QWizard) -> list[str]:
    clicked: list[str] = []
    seen: set[int] = set()
    while wizard.isVisible():
        fresh = [b for b in _page_buttons(wizard) if id(b) not in seen]
        if not fresh:
            break
        button = fresh[0]
        seen.add(id(button))
        page = wizard.currentPage()
        click(qtbot, button)
        clicked.append(button.text())
        _settle(qtbot, page)
    return clicked


def _scan(qtbot, wizard: FineTuneWizard) -> None:
    press_next(qtbot, wizard)
    qtbot.waitUntil(lambda: wizard.scan_page.scan is not None, timeout=30_000)


def _settings(qtbot, wizard: FineTuneWizard) -> None:
    _scan(qtbot, wizard)
    press_next(qtbot, wizard)
    wizard.settings_page.epochs.setValue(2)


def _trained(qtbot, wizard: FineTuneWizard) -> None:
    _settings(qtbot, wizard)
    press_next(qtbot, wizard)
    qtbot.waitUntil(wizard.training_page.isComplete, timeout=TRAIN_TIMEOUT_MS)


def _stopped(qtbot, wizard: FineTuneWizard) -> None:
    _settings(qtbot, wizard)
    press_next(qtbot, wizard)
    click(qtbot, wizard.training_page.cancel_button)
    qtbot.waitUntil(wizard.training_page.again_button.isVisible, timeout=TRAIN_TIMEOUT_MS)


def _results(qtbot, wizard: FineTuneWizard) -> None:
    _trained(qtbot, wizard)
    press_next(qtbot, wizard)


def _save(qtbot, wizard: FineTuneWizard) -> None:
    _results(qtbot, wizard)
    press_next(qtbot, wizard)


def _saved(qtbot, wizard: FineTuneWizard) -> None:
    _save(qtbot, wizard)
    click(qtbot, wizard.save_page.save_button)
    qtbot.waitUntil(lambda: wizard.save_page.saved_path is not None, timeout=30_000)


STATES: dict[str, tuple[str | None, Setup]] = {
    "folder, empty": (None, lambda qtbot, w: None),
    "folder, chosen": ("ok", lambda qtbot, w: None),
    "scan, ready": ("ok", _scan),
    "scan, blocking problems": ("bad", _scan),
    "settings": ("ok", _settings),
    "training, stopped": ("ok", _stopped),
    "training, done": ("ok", _trained),
    "results": ("ok", _results),
    "save, not saved": ("ok", _save),
    "save, saved": ("ok", _saved),
}


@pytest.mark.parametrize("state", list(STATES))
def test_every_button_in_each_state(
    qtbot, state: str, tmp_path: Path, monkeypatch, excepthook_spy, answers: Answers
) -> None:
    from resnet_desktop.gui.finetune import results_page

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(results_page, "default_models_folder", lambda: tmp_path / "models")
    kind, setup = STATES[state]
    folder = None
    if kind is not None:
        per_class = 6 if kind == "ok" else [6, 1]
        folder = make_labeled_folder(tmp_path / "photos", classes=2, per_class=per_class, seed=2)
    wizard = FineTuneWizard(None, base_arch="resnet18", base_weights="random", folder=folder)
    qtbot.addWidget(wizard)
    wizard.show()
    setup(qtbot, wizard)
    page = wizard.currentPage()

    clicked = _click_every_page_button(qtbot, wizard)
    assert excepthook_spy == [], (state, clicked)
    if not wizard.isVisible():  # "Use this model now" switches to the model and closes
        assert clicked[-1] == "Use this model now"
        return

    back = wizard_button(wizard, QWizard.WizardButton.BackButton)
    if back.isVisible() and back.isEnabled():
        click(qtbot, back)
        assert wizard.currentPage() is not page
        _settle(qtbot, wizard.currentPage())
        press_next(qtbot, wizard)
        _settle(qtbot, wizard.currentPage())
        assert wizard.currentPage() is page

    if wizard.unsaved_model():
        answers.queued.append(QMessageBox.StandardButton.Discard)
    click(qtbot, wizard_button(wizard, QWizard.WizardButton.CancelButton))
    assert not wizard.isVisible()
    assert excepthook_spy == [], (state, clicked)
