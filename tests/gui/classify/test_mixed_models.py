"""Issue 27 item 1: rows carry their model; the table never mixes two label sets without asking.

A Model column appears when the table holds more than one model; adding rows of a model with other
labels asks first; Organize refuses mixed label sets (and says how to get one); Export asks and then
names each row's model in the file.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.gui.classify.mixing import EXPORT_TITLE, MIX_TITLE, ORGANIZE_TITLE
from resnet_desktop.gui.classify.results_model import COL_MODEL, HEADERS
from resnet_desktop.gui.library.organize_dialog import OrganizeDialog
from tests.badfiles import make_good_images
from tests.gui.classify.test_parts import fruit_model_file
from tests.gui.harness import Person
from tests.ray_cluster import needs_ray

YES, NO = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


def model_cells(person: Person) -> list[str]:
    proxy = person.window.results_panel.proxy
    return [proxy.index(r, COL_MODEL).data() for r in range(proxy.rowCount())]


def model_column_shown(person: Person) -> bool:
    return not person.window.results_panel.table.isColumnHidden(COL_MODEL)


def organize_dialogs() -> list[OrganizeDialog]:
    from PySide6.QtWidgets import QApplication

    return [w for w in QApplication.topLevelWidgets() if isinstance(w, OrganizeDialog) and w.isVisible()]


def test_rows_of_another_model_ask_and_organize_and_export_know(person: Person, qtbot, tmp_path: Path) -> None:
    window = person.window
    person.drop(make_good_images(tmp_path / "first", n=2))
    person.wait_idle()
    imagenet = window.model_info.source
    assert window.results.rowCount() == 2
    assert HEADERS[COL_MODEL] == "Model" and not model_column_shown(person), "one model: no Model column"

    fruit = fruit_model_file(tmp_path)
    with qtbot.waitSignal(window.modelReady, timeout=120_000):
        window.models.use_model_file(fruit)
    second = make_good_images(tmp_path / "second", n=2)

    person.drop(second)  # the person says No: nothing is added
    assert person.dialogs.calls[-1] == ("question", MIX_TITLE)
    asked = person.dialogs.texts[-1]
    assert f"results of {imagenet} (2 rows)" in asked and "fruit" in asked and "labels differ" in asked
    person.wait_idle()
    assert window.results.rowCount() == 2
    assert "Nothing added" in person.status_text()

    person.dialogs.answer(YES)
    person.drop(second)
    person.wait_idle()
    assert window.results.rowCount() == 4
    assert model_column_shown(person), "two models: the Model column is shown"
    fruit_name = window.model_info.source
    assert sorted(model_cells(person)) == sorted([imagenet] * 2 + [fruit_name] * 2)

    person.trigger("Organize into Folders…")
    assert ORGANIZE_TITLE in person.banner_text()
    assert f"{imagenet} (2 rows)" in person.banner_text() and f"{fruit_name} (2 rows)" in person.banner_text()
    assert window.banner.button_texts() == ["Re-run"] and not organize_dialogs()

    target = tmp_path / "out.csv"
    person.dialogs.save(target)
    person.dialogs.answer(YES)
    person.trigger("Export Results…")
    assert ("question", EXPORT_TITLE) in person.dialogs.calls
    with target.open(encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0] == ["path", "rank", "label", "index", "probability", "error", "model"]
    assert {row[6] for row in table[1:]} == {imagenet, fruit_name}
    fruit_rows = [row for row in table[1:] if row[6] == fruit_name]
    assert {row[2] for row in fruit_rows} <= {"apple", "banana", "cherry"}

    # Keeping one model's rows (its name in the filter) lets Organize go on.
    window.results_panel.filter_edit.setText("fruit")
    assert sorted(model_cells(person)) == [fruit_name] * 2
    person.trigger("Organize into Folders…")
    assert organize_dialogs()
    organize_dialogs()[0].close()


def test_clear_and_one_model_again_hides_the_model_column(person: Person, qtbot, tmp_path: Path) -> None:
    window = person.window
    person.drop(make_good_images(tmp_path / "a", n=1))
    person.wait_idle()
    with qtbot.waitSignal(window.modelReady, timeout=120_000):
        window.models.use_model_file(fruit_model_file(tmp_path))
    person.dialogs.answer(YES)
    person.drop(make_good_images(tmp_path / "b", n=1))
    person.wait_idle()
    assert model_column_shown(person)
    window.clear_results(ask=False)
    assert not model_column_shown(person)


def _parquet(folder: Path, rows: list[Prediction], model_id: str) -> Path:
    from resnet_desktop.core.cluster.results import PartWriter, to_table

    PartWriter(folder).write(to_table(rows, list(range(len(rows))), model_id))
    return folder


@needs_ray
def test_parquet_results_of_another_label_set_ask_first(person: Person, tmp_path: Path, qtbot) -> None:
    window = person.window
    person.drop(make_good_images(tmp_path / "photos", n=2))
    person.wait_idle()
    categories = window.model_info.loaded.categories
    patterns = _parquet(
        tmp_path / "patterns.parquet",
        [Prediction(tmp_path / "s.jpg", (ClassScore("stripes", 0, 0.9),))],
        "resnet18:patterns.safetensors:sha256-1",
    )
    person.dialogs.folder(patterns)
    person.trigger("Open Results (Parquet)…")  # answered No
    qtbot.waitUntil(lambda: "Not opened" in person.status_text(), timeout=30_000)
    assert person.dialogs.calls[-1] == ("question", MIX_TITLE)
    assert "resnet18:patterns.safetensors:sha256-1" in person.dialogs.texts[-1]
    assert window.results.rowCount() == 2

    # The same labels at the same indices as the loaded model: one label set, no question; two names shown.
    same = _parquet(
        tmp_path / "same.parquet",
        [Prediction(tmp_path / "t.jpg", (ClassScore(categories[3], 3, 0.8), ClassScore(categories[7], 7, 0.1)))],
        "resnet18:random:sha256-2",
    )
    asked = len(person.dialogs.calls)
    person.dialogs.folder(same)
    person.trigger("Open Results (Parquet)…")
    qtbot.waitUntil(lambda: window.results.rowCount() == 3, timeout=30_000)
    assert len([k for k in person.dialogs.kinds()[asked:] if k == "question"]) == 0
    assert model_column_shown(person) and "resnet18:random:sha256-2" in model_cells(person)
    person.trigger("Organize into Folders…")
    assert organize_dialogs() and ORGANIZE_TITLE not in person.banner_text()
    organize_dialogs()[0].close()


def test_json_export_names_models_only_when_mixed(person: Person, tmp_path: Path) -> None:
    person.drop(make_good_images(tmp_path / "p", n=1))
    person.wait_idle()
    target = tmp_path / "one.json"
    person.dialogs.save(target)
    person.trigger("Export Results…")
    assert "model" not in json.loads(target.read_text(encoding="utf-8"))[0]
