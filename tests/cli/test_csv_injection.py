"""Issue 27 item 15: no CSV the app or the CLI writes carries a live spreadsheet formula.

Class names come from a model file's sidecar and file names from the person's disk: either can start
with ``=``, ``+``, ``-`` or ``@``. CSV cells get the leading apostrophe; JSON keeps the exact text.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from resnet_desktop.cli import main
from resnet_desktop.core.csvcells import FORMULA_STARTS, neutralise
from resnet_desktop.core.inference.records import ClassScore, Prediction, long_csv

HOSTILE = ['=HYPERLINK("http://evil.example/x","click")', "+SUM(1,2)", "-2+3", "@cmd", "\tTAB", "\rCR"]


def hostile_model_file(folder: Path) -> Path:
    from resnet_desktop.core.models import modelfile, zoo

    model = zoo.build_model("resnet18", len(HOSTILE))
    meta = modelfile.ModelFileMeta(
        arch="resnet18",
        class_names=list(HOSTILE),
        preprocessing=zoo.get_weights_info("resnet18", "IMAGENET1K_V1").preprocessing.to_dict(),
    )
    return modelfile.save_model_file(folder / "evil.safetensors", model, meta)


def live_formulas(rows: list[list[str]]) -> list[str]:
    return [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]


def test_neutralise_follows_the_leading_apostrophe_rule() -> None:
    assert [neutralise(text) for text in HOSTILE] == ["'" + text for text in HOSTILE]
    assert neutralise("tabby cat") == "tabby cat" and neutralise("") == ""
    assert neutralise(-0.5) == -0.5 and neutralise(3) == 3, "numbers stay numbers"
    assert neutralise("a=b") == "a=b", "only the first character matters"


def test_every_csv_writer_neutralises_text_cells(tmp_path: Path) -> None:
    from resnet_desktop.core.evaluate.records import comparison_csv, results_csv

    rows = [Prediction(Path("=cmd.jpg"), tuple(ClassScore(text, i, 0.1) for i, text in enumerate(HOSTILE)))]
    rows.append(Prediction(Path("@x.png"), error="-broken"))
    table = list(csv.reader(io.StringIO(long_csv(rows, ["=model"] * 2))))
    assert live_formulas(table) == []
    assert [row[2] for row in table[1:-1]] == ["'" + text for text in HOSTILE]
    assert table[-1] == ["'@x.png", "", "", "", "", "'-broken", "'=model"]

    class Row:
        def __init__(self, data: dict[str, object]) -> None:
            self.data = data

        def to_dict(self) -> dict[str, object]:
            return self.data

    speed = list(csv.reader(io.StringIO(results_csv([Row({"model": "=evil", "ms": -1.5})]))))  # type: ignore[list-item]
    assert speed == [["model", "ms"], ["'=evil", "-1.5"]], "a negative number is a number, not a formula"
    from resnet_desktop.core.evaluate.records import COLUMNS

    data = {key: None for key, _title in COLUMNS} | {"label": "+evil"}
    compared = list(csv.reader(io.StringIO(comparison_csv([Row(data)]))))  # type: ignore[list-item]
    assert compared[1][0] == "'+evil" and live_formulas(compared) == []


def test_cli_csv_neutralises_class_and_file_names_and_json_keeps_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = hostile_model_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    for name in ("=1.png", "+2.png", "@3.png", "safe.png"):
        Image.new("RGB", (48, 40), "orange").save(tmp_path / name)
    names = ["=1.png", "+2.png", "@3.png", "safe.png"]
    args = ["--weights", str(model), "--device", "cpu", "--topk", str(len(HOSTILE))]

    assert main(["classify", *names, *args, "--format", "csv", "--output", "out.csv"]) == 0
    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0] == ["path", "rank", "label", "index", "probability", "error"]
    assert live_formulas(table) == []
    assert {row[0] for row in table[1:]} == {"'=1.png", "'+2.png", "'@3.png", "safe.png"}
    assert {row[2] for row in table[1:]} == {"'" + text for text in HOSTILE}

    assert main(["classify", *names, *args, "--format", "json", "--output", "out.json"]) == 0
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert [item["path"] for item in data] == names, "JSON keeps the exact text"
    assert {p["label"] for item in data for p in item["predictions"]} == set(HOSTILE)
    capsys.readouterr()
