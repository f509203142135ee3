"""Issue 27 item 15 through the window: File > Export Results writes no live spreadsheet formula."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PIL import Image

from tests.cli.test_csv_injection import HOSTILE, hostile_model_file, live_formulas
from tests.gui.harness import Person


def test_export_neutralises_csv_cells_and_json_keeps_the_text(person: Person, qtbot, tmp_path: Path) -> None:
    window = person.window
    with qtbot.waitSignal(window.modelReady, timeout=120_000):
        window.models.use_model_file(hostile_model_file(tmp_path))
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("=cmd.png", "@a.png"):
        Image.new("RGB", (40, 40), "teal").save(photos / name)
    window.toolbar.topk_spin.setValue(len(HOSTILE))
    person.drop([photos])
    person.wait_idle()
    assert window.results.rowCount() == 2

    person.dialogs.save(tmp_path / "out.csv", "CSV (*.csv)")
    person.trigger("Export Results…")
    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    assert live_formulas(table) == []
    assert {row[2] for row in table[1:]} == {"'" + text for text in HOSTILE}
    assert {Path(row[0]).name for row in table[1:]} == {"=cmd.png", "@a.png"}  # a full path starts with '/'

    person.dialogs.save(tmp_path / "out.json", "JSON (*.json)")
    person.trigger("Export Results…")
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert {p["label"] for item in data for p in item["predictions"]} == set(HOSTILE)
