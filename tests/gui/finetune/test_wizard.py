"""pytest-qt walk through the fine-tune wizard on a generated labeled folder (resnet18, random weights)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from resnet_desktop.core.finetune.synthetic import make_labeled_folder
from resnet_desktop.gui.finetune.wizard import FineTuneWizard

#: Set to a folder to write the training/results screenshots there (docs/screenshots).
SCREENSHOTS = os.environ.get("RESNET_DESKTOP_SCREENSHOTS")


def _next(wizard: FineTuneWizard) -> None:
    button = wizard.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled()
    button.click()


def test_whole_wizard_trains_saves_and_switches(qtbot, tmp_path: Path) -> None:
    from resnet_desktop.core.models.zoo import load_model

    # Screenshot runs use a bigger folder and AdamW so the curves have something to show.
    root = make_labeled_folder(
        tmp_path / "photos",
        classes=3,
        per_class=20 if SCREENSHOTS else 8,
        size=(160, 120) if SCREENSHOTS else (64, 48),
        seed=4,
        any_colour=0.3,
    )
    wizard = FineTuneWizard(None, base_arch="resnet18", base_weights="random")
    qtbot.addWidget(wizard)
    wizard.show()

    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    wizard.folder_page.set_folder(root)
    _next(wizard)

    scan_page = wizard.scan_page
    qtbot.waitUntil(scan_page.isComplete, timeout=30_000)
    assert scan_page.counts.rowCount() == 3
    per_class = "20" if SCREENSHOTS else "8"
    assert [scan_page.counts.item(r, 1).text() for r in range(3)] == [per_class] * 3
    assert scan_page.samples.count() == 12
    assert "Ready to train" in scan_page.notes.text()
    _next(wizard)

    settings_page = wizard.settings_page
    assert settings_page.arch.currentData() == "resnet18"
    settings_page.epochs.setValue(4)
    settings_page.augment.setValue(1)
    settings = settings_page.settings()
    assert (settings.arch, settings.weights, settings.epochs, settings.augment) == ("resnet18", "random", 4, 1)
    if SCREENSHOTS:
        settings_page.optimizer.setCurrentIndex(settings_page.optimizer.findData("adamw"))
        settings_page.epochs.setValue(40)
        settings_page.learning_rate.setValue(0.003)
    _next(wizard)

    training = wizard.training_page
    qtbot.waitUntil(training.isComplete, timeout=120_000)
    epochs = training.table.rowCount()
    assert 1 <= epochs <= (40 if SCREENSHOTS else 4)
    assert len(training.val_loss.getData()[0]) == epochs
    assert "validation accuracy" in training.status.text()
    if SCREENSHOTS:
        wizard.grab().save(str(Path(SCREENSHOTS) / "finetune-training.png"))
    _next(wizard)

    results = wizard.results_page
    result = wizard.trained
    assert results.per_class.rowCount() == 3
    assert results.confusion_model.rowCount() == 3 and results.confusion_model.columnCount() == 3
    matrix = result.metrics["confusion"]
    index = results.confusion_model.index(1, 1)
    results.confusion.clicked.emit(index)
    assert results.cell_gallery.count() == matrix[1][1]
    assert results.mistakes.count() == len(result.misclassified)
    if SCREENSHOTS:
        results.confusion.clicked.emit(results.confusion_model.index(0, 0))
        galleries = (results.cell_gallery, results.mistakes)
        qtbot.waitUntil(
            lambda: all(not g.item(i).icon().isNull() for g in galleries for i in range(g.count())), timeout=10_000
        )
        wizard.grab().save(str(Path(SCREENSHOTS) / "finetune-results.png"))
    _next(wizard)

    save = wizard.save_page
    save.location.setText(str(tmp_path / "models"))
    save.name.setText("shapes")
    save.save_button.click()
    qtbot.waitUntil(lambda: save.saved_path is not None, timeout=30_000)
    path = tmp_path / "models" / "shapes.safetensors"
    assert save.saved_path == path and path.with_suffix(".json").is_file()

    assert not save.save_button.isEnabled()
    save.save()  # saving again under the same name never overwrites
    assert "already exists" in save.status.text()

    with qtbot.waitSignal(wizard.modelReady, timeout=5_000) as blocker:
        save.use_button.click()
    assert blocker.args == [str(path)]
    loaded = load_model(weights=path)
    assert loaded.categories == ["circles", "squares", "triangles"]


def test_blocking_problems_keep_next_disabled(qtbot, tmp_path: Path) -> None:
    root = make_labeled_folder(tmp_path / "photos", classes=2, per_class=[3, 1])
    wizard = FineTuneWizard(None, base_arch="resnet18", base_weights="random", folder=root)
    qtbot.addWidget(wizard)
    wizard.show()
    _next(wizard)
    qtbot.waitUntil(lambda: wizard.scan_page.scan is not None, timeout=30_000)
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert "Cannot train" in wizard.scan_page.notes.text() and "squares" in wizard.scan_page.notes.text()


def test_closing_mid_training_cancels_and_waits(qtbot, tmp_path: Path) -> None:
    root = make_labeled_folder(tmp_path / "photos", classes=2, per_class=30, size=(320, 240))
    wizard = FineTuneWizard(None, base_arch="resnet18", base_weights="random", folder=root)
    qtbot.addWidget(wizard)
    wizard.show()
    _next(wizard)
    qtbot.waitUntil(wizard.scan_page.isComplete, timeout=30_000)
    _next(wizard)
    _next(wizard)
    training = wizard.training_page
    qtbot.waitUntil(lambda: training.progress.maximum() > 1 and training.progress.value() > 0, timeout=60_000)
    task = training.task
    wizard.close()
    assert task is not None and task.done and task.cancelled
    assert training.result is None


def test_folder_can_be_dropped(qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    wizard = FineTuneWizard(None, base_arch="resnet18", base_weights="random")
    qtbot.addWidget(wizard)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path))])
    event = QDropEvent(
        QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    wizard.folder_page.dropEvent(event)
    assert wizard.folder_page.folder() == tmp_path and wizard.folder_page.isComplete()


def test_main_window_classifies_with_the_fine_tuned_model(qtbot, window, tmp_path: Path) -> None:
    """Tools > Fine-tune on the window's current model, save, use it: the window labels with the new classes."""
    root = make_labeled_folder(tmp_path / "photos", classes=2, per_class=6, seed=7)
    wizard = window.open_finetune()
    wizard.folder_page.set_folder(root)
    _next(wizard)
    qtbot.waitUntil(wizard.scan_page.isComplete, timeout=30_000)
    _next(wizard)
    assert wizard.settings_page.use_current_model(), "the window's model is the default base"
    wizard.settings_page.epochs.setValue(2)
    _next(wizard)
    qtbot.waitUntil(wizard.training_page.isComplete, timeout=120_000)
    _next(wizard)
    _next(wizard)
    wizard.save_page.location.setText(str(tmp_path / "models"))
    wizard.save_page.name.setText("two-shapes")
    wizard.save_page.save_button.click()
    qtbot.waitUntil(lambda: wizard.save_page.saved_path is not None, timeout=30_000)
    with qtbot.waitSignal(window.modelReady, timeout=120_000) as ready:
        wizard.save_page.use_button.click()
    assert ready.args[0].loaded.categories == ["circles", "squares"]
    window.classify([root / "circles" / "circles_000.jpg", root / "squares" / "squares_000.jpg"])
    qtbot.waitUntil(lambda: not window.service.busy and window.results.rowCount() == 2, timeout=120_000)
    rows = window.results.rows()
    assert all({s.label for s in r.scores} == {"circles", "squares"} for r in rows)
