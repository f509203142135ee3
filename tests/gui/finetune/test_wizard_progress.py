"""Issue 27 item 5: the wizard's progress moves with the work, and epochs appear as they finish.

The bar sat at "100 %" of the feature phase, with empty charts, while the head's regularisation was
cross-validated (most of a small run's time). Each event the page shows is recorded as the person
sees it right after it was handled: the bar's range and value, the status line, the epoch rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox

from tests.gui.finetune.conftest import TRAIN_TIMEOUT_MS, press_next


def test_progress_follows_cross_validation_and_epochs_stream(qtbot, make_wizard, labeled: Path, monkeypatch) -> None:
    wizard = make_wizard(labeled)
    page = wizard.training_page
    real = page._on_item
    seen: list[dict[str, Any]] = []

    def spy(item: Any) -> None:
        real(item)
        seen.append(
            {
                "phase": getattr(item, "phase", "result"),
                "range": (page.progress.minimum(), page.progress.maximum()),
                "value": page.progress.value(),
                "status": page.status.text(),
                "rows": page.table.rowCount(),
                "points": len(page.train_loss.getData()[0] if page.train_loss.getData()[0] is not None else []),
            }
        )

    page._on_item = spy  # type: ignore[method-assign]  # connected when the page starts its run
    press_next(qtbot, wizard)
    qtbot.waitUntil(wizard.scan_page.isComplete, timeout=30_000)
    press_next(qtbot, wizard)
    wizard.settings_page.epochs.setValue(4)
    press_next(qtbot, wizard)
    qtbot.waitUntil(page.isComplete, timeout=3 * TRAIN_TIMEOUT_MS)  # ~105 cross-validation fits on a busy machine

    select = [s for s in seen if s["phase"] == "select" and s["range"][1] > 0]
    assert len(select) > 10, "the cross-validation fits move the bar"
    total = select[0]["range"][1]
    assert all(s["range"] == (0, total) for s in select)
    assert [s["value"] for s in select] == list(range(1, total + 1))
    assert f"cross-validation: fit {total} of {total}" in select[-1]["status"]

    # Between phases the bar is busy, never the finished phase's 100 %.
    for s in seen:
        if "Training the new head" in s["status"]:
            assert s["range"] == (0, 0), s

    epochs = [s for s in seen if s["phase"] == "train" and s["rows"]]
    assert epochs, "epochs were reported"
    assert [s["rows"] for s in epochs] == list(range(1, len(epochs) + 1)), "one new row per finished epoch"
    assert all(s["points"] == s["rows"] for s in epochs), "the charts grow with the table"
    assert seen.index(epochs[0]) > seen.index(select[-1])
    # the trained model was not saved: closing asks (a modal box); this test discards it
    monkeypatch.setattr(QMessageBox, "question", lambda *_a, **_k: QMessageBox.StandardButton.Discard)
    wizard.close()
