"""``labels``, ``teach`` and ``review`` from the shell, on digits drawn as photos; a taught version
loads in ``classify`` and ``export``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from resnet_desktop.cli import main
from tests.digits import DigitsWorld, make_digits_tree


@pytest.fixture
def world(tmp_path: Path, digits_world: DigitsWorld, monkeypatch: pytest.MonkeyPatch) -> DigitsWorld:
    monkeypatch.setenv("RESNET_DESKTOP_INDEX", str(digits_world.index_copy(tmp_path / "data")))
    return digits_world


def _json(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 0) -> object:
    assert main(argv) == code, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_labels_import_list_export_round_trip(
    world: DigitsWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["labels", "import", str(world.train), "--set", "digits"]) == 0
    assert "Label set 'digits': 100 labeled, 0 changed, 0 already so (10 classes" in capsys.readouterr().err
    assert main(["labels", "import", str(world.train), "--set", "digits"]) == 0  # known by content: no change
    assert "0 labeled, 0 changed, 100 already so" in capsys.readouterr().err
    listed = _json(capsys, ["labels", "list", "--format", "json"])
    assert isinstance(listed, list) and listed[0]["name"] == "digits" and listed[0]["labels"] == 100
    assert [c["labeled"] for c in listed[0]["classes"]] == [10] * 10 and listed[0]["classes"][0]["key"] == 1
    out = tmp_path / "labels.csv"
    assert main(["labels", "export", str(out)]) == 0  # the only set
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["path", "label"] and len(rows) == 101
    assert {(Path(p), name) for p, name in rows[1:]} == set(world.train_labels.items())
    assert main(["labels", "export", str(out)]) == 2
    assert "already exists; use --force" in capsys.readouterr().err
    assert main(["labels", "import", str(out), "--set", "copy"]) == 0
    assert "Label set 'copy': 100 labeled" in capsys.readouterr().err


def test_teach_reports_held_out_figures_and_its_version_loads_in_classify_and_export(
    world: DigitsWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["labels", "import", str(world.train), "--set", "digits"]) == 0
    version = tmp_path / "digits.safetensors"
    report = _json(
        capsys,
        [
            "teach",
            "--set",
            "digits",
            "--model",
            str(world.model),
            "--in",
            str(world.pool),
            "--output",
            str(version),
            "--format",
            "json",
        ],
    )
    assert isinstance(report, dict)
    assert report["held_out_accuracy"] >= 0.75 and report["held_out"] + report["trained_on"] == 100
    assert report["embeddings_computed"] == 0 and report["embeddings_reused"] == 160  # all in the index already
    assert set(report["per_class"]) == set(world.train_labels.values())
    assert all(
        {"precision", "recall", "labeled", "held_out", "threshold"} <= set(v) for v in report["per_class"].values()
    )
    assert sum(report["scored"].values()) == 60 and report["version"] == 1 and report["seconds"] > 0
    photo = sorted(p for p, name in world.pool_labels.items() if name == "three")[0]
    answer = _json(capsys, ["classify", "--no-index", "--model", str(version), "--format", "json", str(photo)])
    assert isinstance(answer, list) and answer[0]["predictions"][0]["label"] in world.train_labels.values()
    onnx = tmp_path / "digits.onnx"
    assert main(["export", "--model", str(version), "--output", str(onnx)]) == 0, capsys.readouterr().err
    assert onnx.is_file()
    evaluated = _json(capsys, ["evaluate", "--model", str(version), "--format", "json", str(world.test)])
    assert isinstance(evaluated, dict) and evaluated["images"] == 80 and evaluated["top1_accuracy"] >= 0.75
    plan = _json(
        capsys,
        [
            "organize",
            str(world.pool),
            "--into",
            str(tmp_path / "sorted"),
            "--model",
            str(version),
            "--dry-run",
            "--no-index",
            "--format",
            "json",
        ],
    )
    assert isinstance(plan, dict) and sum(plan["counts"].values()) == 60
    assert set(plan["folders"]) <= {*world.train_labels.values(), "_uncertain"}
    items = _json(capsys, ["review", "-n", "5", "--format", "json"])
    assert isinstance(items, list) and len(items) == 5
    assert all({"path", "predicted", "confidence", "reason"} <= set(i) and i["reason"] == "uncertain" for i in items)
    assert [i["margin"] for i in items] == sorted(i["margin"] for i in items)  # least sure first
    assert all(Path(i["path"]).parent.parent == world.pool for i in items)


def test_teach_embeds_only_photos_the_index_lacks(
    world: DigitsWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["labels", "import", str(world.train)]) == 0
    fresh = tmp_path / "fresh"
    make_digits_tree(fresh, 1, classes=4, offset=40)
    report = _json(
        capsys,
        [
            "teach",
            "--model",
            str(world.model),
            "--in",
            str(fresh),
            "--output",
            str(tmp_path / "v.safetensors"),
            "--format",
            "json",
        ],
    )
    assert isinstance(report, dict) and report["embeddings_computed"] == 4 and report["embeddings_reused"] == 100
    again = _json(capsys, ["teach", "--output", str(tmp_path / "v2.safetensors"), "--format", "json"])
    assert isinstance(again, dict) and again["embeddings_computed"] == 0 and again["version"] == 2


def test_teach_and_review_refuse_what_cannot_work_in_one_line(
    world: DigitsWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "v.safetensors")
    assert main(["teach", "--output", out]) == 2
    assert "There are no label sets yet; import labels first" in capsys.readouterr().err
    assert main(["labels", "import", str(tmp_path / "nowhere")]) == 2
    assert f"{tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err
    assert main(["labels", "import", str(world.train), "--set", "a"]) == 0
    assert main(["labels", "import", str(world.train), "--set", "b"]) == 0
    capsys.readouterr()
    assert main(["review"]) == 2
    assert "Choose a label set with --set: a, b" in capsys.readouterr().err
    assert main(["review", "--set", "a"]) == 2
    assert "The label set 'a' has not been taught yet: teach it first" in capsys.readouterr().err
    monkeypatch.setenv("RESNET_DESKTOP_INDEX", "off")
    monkeypatch.setenv("RESNET_DESKTOP_USER_STORE", str(tmp_path / "data" / "library-user.sqlite3"))
    assert main(["teach", "--set", "a", "--output", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "Teaching needs the library index (it holds the photos' embeddings), which is switched off" in err
