"""Drive the fine-tune wizard as a person does: click its real buttons, answer its message boxes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWizard

from resnet_desktop.core.finetune.synthetic import make_labeled_folder
from resnet_desktop.gui.finetune.wizard import FineTuneWizard

TRAIN_TIMEOUT_MS = 120_000


def click(qtbot, button: QPushButton) -> None:
    """A real left click on a visible, enabled button."""
    assert button.isVisible() and button.isEnabled(), f"{button.text()!r} cannot be clicked"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wizard_button(wizard: QWizard, which: QWizard.WizardButton) -> QPushButton:
    button = wizard.button(which)
    assert isinstance(button, QPushButton)
    return button


def press_next(qtbot, wizard: QWizard) -> None:
    click(qtbot, wizard_button(wizard, QWizard.WizardButton.NextButton))


@pytest.fixture
def labeled(tmp_path: Path) -> Path:
    """Two small classes: enough to train a resnet18 head in a second or two."""
    return make_labeled_folder(tmp_path / "photos", classes=2, per_class=6, size=(64, 48), seed=3)


@pytest.fixture
def excepthook_spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseException]]:
    """Exceptions that escape a slot reach sys.excepthook (pytest-qt may see them too): collect them."""
    caught: list[BaseException] = []

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        caught.append(value)

    monkeypatch.setattr(sys, "excepthook", hook)
    yield caught


class Answers:
    """Queued answers to ``QMessageBox.question``; ``asked`` lists the titles of the questions put."""

    def __init__(self) -> None:
        self.queued: list[QMessageBox.StandardButton] = []
        self.asked: list[str] = []

    def question(self, parent: object, title: str, text: str, *args: object, **kwargs: object):
        self.asked.append(title)
        assert self.queued, f"unexpected question: {title}"
        return self.queued.pop(0)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    spy = Answers()
    monkeypatch.setattr(QMessageBox, "question", spy.question)
    return spy


@pytest.fixture
def make_wizard(qtbot) -> Callable[..., FineTuneWizard]:
    def make(folder: Path | None = None) -> FineTuneWizard:
        wizard = FineTuneWizard(None, base_arch="resnet18", base_weights="random", folder=folder)
        qtbot.addWidget(wizard)
        wizard.show()
        return wizard

    return make


def to_trained(qtbot, wizard: FineTuneWizard) -> None:
    """Folder -> scan -> settings -> training done (clicking Next), stopping on the training page."""
    press_next(qtbot, wizard)
    qtbot.waitUntil(wizard.scan_page.isComplete, timeout=30_000)
    press_next(qtbot, wizard)
    wizard.settings_page.epochs.setValue(3)
    press_next(qtbot, wizard)
    qtbot.waitUntil(wizard.training_page.isComplete, timeout=TRAIN_TIMEOUT_MS)
