"""The wizard defects a new user hit (issue 11), each driven through the real buttons."""

from __future__ import annotations

import itertools
from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QMessageBox, QPushButton, QWizard

from resnet_desktop.core.images import TRUNCATED
from tests.gui.finetune.conftest import Answers, click, press_next, to_trained, wizard_button

SAVE = QMessageBox.StandardButton.Save
DISCARD = QMessageBox.StandardButton.Discard
STAY = QMessageBox.StandardButton.Cancel


def _to_save_page(qtbot, wizard) -> None:
    to_trained(qtbot, wizard)
    press_next(qtbot, wizard)  # results
    press_next(qtbot, wizard)  # save
    assert wizard.currentPage() is wizard.save_page


def test_finish_without_saving_asks_and_save_writes_the_model(
    qtbot, make_wizard, labeled: Path, tmp_path: Path, answers: Answers
) -> None:
    wizard = make_wizard(labeled)
    _to_save_page(qtbot, wizard)
    wizard.save_page.location.setText(str(tmp_path / "models"))
    wizard.save_page.name.setText("mine")

    answers.queued.append(STAY)
    click(qtbot, wizard_button(wizard, QWizard.WizardButton.FinishButton))
    assert answers.asked == ["Save the trained model?"]
    assert wizard.isVisible() and not (tmp_path / "models" / "mine.safetensors").exists()

    answers.queued.append(SAVE)
    with qtbot.waitSignal(wizard.accepted, timeout=30_000):
        click(qtbot, wizard_button(wizard, QWizard.WizardButton.FinishButton))
    assert not wizard.isVisible()
    assert (tmp_path / "models" / "mine.safetensors").is_file()


def test_cancel_on_results_page_asks_and_discard_closes(qtbot, make_wizard, labeled: Path, answers: Answers) -> None:
    wizard = make_wizard(labeled)
    to_trained(qtbot, wizard)
    press_next(qtbot, wizard)
    answers.queued.append(DISCARD)
    click(qtbot, wizard_button(wizard, QWizard.WizardButton.CancelButton))
    assert answers.asked == ["Save the trained model?"]
    assert not wizard.isVisible()


def test_save_from_the_question_on_the_results_page_goes_to_save_and_writes(
    qtbot, make_wizard, labeled: Path, tmp_path: Path, answers: Answers, monkeypatch
) -> None:
    from resnet_desktop.gui.finetune import results_page

    monkeypatch.setattr(results_page, "default_models_folder", lambda: tmp_path / "models")
    wizard = make_wizard(labeled)
    to_trained(qtbot, wizard)
    press_next(qtbot, wizard)
    answers.queued.append(SAVE)
    wizard.close()  # the window's close button: the same question
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=30_000)
    assert [p.name for p in (tmp_path / "models").glob("*.safetensors")] == ["photos-resnet18.safetensors"]


def test_after_saving_finish_asks_nothing(qtbot, make_wizard, labeled: Path, tmp_path: Path, answers: Answers) -> None:
    wizard = make_wizard(labeled)
    _to_save_page(qtbot, wizard)
    wizard.save_page.location.setText(str(tmp_path))
    click(qtbot, wizard.save_page.save_button)
    qtbot.waitUntil(lambda: wizard.save_page.saved_path is not None, timeout=30_000)
    click(qtbot, wizard_button(wizard, QWizard.WizardButton.FinishButton))
    assert answers.asked == [] and not wizard.isVisible()


def _visible_buttons(widget) -> list[str]:
    return [b.text() for b in widget.findChildren(QPushButton) if b.isVisible()]


def test_one_cancel_on_the_training_page_and_train_again_after_stopping(
    qtbot, make_wizard, labeled: Path, monkeypatch
) -> None:
    from resnet_desktop.core.finetune import run

    wizard = make_wizard(labeled)
    press_next(qtbot, wizard)
    qtbot.waitUntil(wizard.scan_page.isComplete, timeout=30_000)
    press_next(qtbot, wizard)
    wizard.settings_page.epochs.setValue(3)

    real = run.fine_tune

    def slow_start(*args, cancel=None, **kwargs):
        if not slow_start.done:  # type: ignore[attr-defined]
            slow_start.done = True  # type: ignore[attr-defined]
            assert cancel is not None and cancel.wait(30)
        return (yield from real(*args, cancel=cancel, **kwargs))

    slow_start.done = False  # type: ignore[attr-defined]
    monkeypatch.setattr(run, "fine_tune", slow_start)
    press_next(qtbot, wizard)
    training = wizard.training_page
    texts = _visible_buttons(wizard)
    assert texts.count("Cancel") == 1, texts  # the wizard's: closes; the page's says what it does
    assert "Stop training" in texts and "Train again" not in texts

    click(qtbot, training.cancel_button)
    qtbot.waitUntil(lambda: training.again_button.isVisible(), timeout=30_000)
    assert "nothing was saved" in training.status.text()
    assert not training.cancel_button.isVisible() and training.result is None

    click(qtbot, training.again_button)
    qtbot.waitUntil(training.isComplete, timeout=120_000)
    assert "validation accuracy" in training.status.text()
    assert wizard_button(wizard, QWizard.WizardButton.NextButton).isEnabled()


def test_settings_hide_what_lbfgs_does_not_use(qtbot, make_wizard) -> None:
    wizard = make_wizard()
    page = wizard.settings_page
    wizard.show()
    page.show()  # shown on its own: visibility of its rows is what a person sees on that page

    def shown(widget) -> bool:
        return widget.isVisibleTo(page)

    page.optimizer.setCurrentIndex(page.optimizer.findData("lbfgs"))
    page.mode.setCurrentIndex(page.mode.findData("head"))
    assert not shown(page.learning_rate) and not shown(page.batch_size)
    assert shown(page.hyper_note) and "do not apply" in page.hyper_note.text()

    page.optimizer.setCurrentIndex(page.optimizer.findData("adamw"))
    assert shown(page.learning_rate) and shown(page.batch_size) and not shown(page.hyper_note)

    page.optimizer.setCurrentIndex(page.optimizer.findData("lbfgs"))
    page.mode.setCurrentIndex(page.mode.findData("last-stage"))  # the end-to-end phase uses both
    assert shown(page.learning_rate) and shown(page.batch_size)


def test_scan_reports_truncated_images_like_classification(qtbot, make_wizard, labeled: Path) -> None:
    import io

    import numpy as np

    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, "JPEG")
    broken = labeled / "circles" / "broken.jpg"
    broken.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) * 6 // 10])
    with Image.open(broken) as image:  # the header is fine: only reading the pixels finds it
        assert image.size == (320, 240)
    wizard = make_wizard(labeled)
    press_next(qtbot, wizard)
    page = wizard.scan_page
    qtbot.waitUntil(page.isComplete, timeout=30_000)
    assert page.counts.item(0, 1).text() == "6"  # the broken file is not counted
    assert "broken.jpg" in page.notes.text() and TRUNCATED in page.notes.text()


def test_scan_thumbnails_do_not_overlap(qtbot, make_wizard, tmp_path: Path) -> None:
    from resnet_desktop.core.finetune.synthetic import make_labeled_folder

    root = make_labeled_folder(tmp_path / "photos", classes=3, per_class=5, seed=1)
    (root / "circles").rename(root / "circles with a rather long class name")
    wizard = make_wizard(root)
    page = wizard.scan_page
    for size in ((900, 680), (640, 480)):
        wizard.resize(*size)
        if wizard.currentPage() is wizard.folder_page:
            press_next(qtbot, wizard)
        qtbot.waitUntil(page.isComplete, timeout=30_000)
        qtbot.waitUntil(
            lambda: all(not page.samples.item(i).icon().isNull() for i in range(page.samples.count())), timeout=10_000
        )
        rects = [page.samples.visualItemRect(page.samples.item(i)) for i in range(page.samples.count())]
        assert len(rects) == 12
        for a, b in itertools.combinations(rects, 2):
            assert not a.intersects(b), (a, b)
        # Each cell holds the whole thumbnail and a line of caption under it.
        line = page.samples.fontMetrics().height()
        for i, rect in enumerate(rects):
            icon = page.samples.item(i).icon().actualSize(page.samples.iconSize())
            assert rect.width() >= icon.width() and rect.height() >= icon.height() + line, (rect, icon)


def test_quitting_the_app_with_an_unsaved_model_can_be_cancelled(
    qtbot, make_window, resnet18_weights: Path, labeled: Path, dialogs
) -> None:
    """File > Quit asks the wizard's question; Cancel keeps the main window and the wizard open."""
    from PySide6.QtWidgets import QMessageBox

    from resnet_desktop.core.models.ref import ModelRef

    window = make_window(ModelRef.parse("resnet18", str(resnet18_weights)))
    window.finetune_action.trigger()
    wizard = window.tools.wizard
    dialogs.folder(labeled)
    browse = next(b for b in wizard.folder_page.findChildren(QPushButton) if b.text().startswith("Browse"))
    click(qtbot, browse)
    assert wizard.folder_page.edit.text() == str(labeled)
    to_trained(qtbot, wizard)
    dialogs.answer(QMessageBox.StandardButton.Cancel)
    window.quit_action.trigger()
    assert ("question", "Save the trained model?") in dialogs.calls
    assert window.isVisible() and wizard.isVisible(), "Cancel keeps everything open"
    dialogs.answer(QMessageBox.StandardButton.Discard)
    window.quit_action.trigger()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
