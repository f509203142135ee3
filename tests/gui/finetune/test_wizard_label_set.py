"""The wizard's last page: "Keep as a Label Set" imports the trained folder into teach's store."""

from __future__ import annotations

from pathlib import Path

from resnet_desktop.core.teach import api
from tests.gui.finetune.conftest import TRAIN_TIMEOUT_MS, click, press_next, to_trained


def test_keep_as_a_label_set_imports_the_folder_once(qtbot, make_wizard, labeled: Path) -> None:
    wizard = make_wizard(labeled)
    to_trained(qtbot, wizard)
    press_next(qtbot, wizard)  # results
    press_next(qtbot, wizard)  # save
    page = wizard.save_page
    classes = sorted(d.name for d in labeled.iterdir())
    photos = sum(1 for p in labeled.rglob("*") if p.is_file())

    click(qtbot, page.label_set_button)
    assert not page.label_set_button.isEnabled()  # one import at a time
    qtbot.waitUntil(page.label_set_button.isEnabled, timeout=TRAIN_TIMEOUT_MS)
    assert page.status.text() == (
        f"Label set '{labeled.name}': {photos} photos labeled in {len(classes)} classes (0 already were); "
        f"teach it with resnet-desktop teach --set '{labeled.name}'."
    )
    with api.open_store() as store:
        info = api.set_info(store, labeled.name)
    assert info.class_names == classes and info.labels == photos

    click(qtbot, page.label_set_button)  # again: known by content, nothing changes
    qtbot.waitUntil(page.label_set_button.isEnabled, timeout=TRAIN_TIMEOUT_MS)
    assert f"0 photos labeled in {len(classes)} classes ({photos} already were)" in page.status.text()
