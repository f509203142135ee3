"""``resnet-desktop evaluate`` and ``resnet-desktop bench`` from the command line."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
from pathlib import Path

import pytest

from resnet_desktop.cli import main
from tests.evaluate_data import finetuned_model_file, heldout_folder


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return finetuned_model_file(tmp_path_factory)


@pytest.fixture(scope="module")
def heldout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return heldout_folder(tmp_path_factory)


def test_json_report_to_a_file(tmp_path: Path, model_file: Path, heldout: Path, capsys) -> None:
    from resnet_desktop.core.evaluate.run import run_evaluation
    from resnet_desktop.core.models.zoo import load_model

    out = tmp_path / "report.json"
    code = main(
        [
            "evaluate",
            str(heldout),
            "--weights",
            str(model_file),
            "--device",
            "cpu",
            "--format",
            "json",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    assert capsys.readouterr().out == ""
    data = json.loads(out.read_text())
    expected = run_evaluation(load_model(weights=model_file), heldout, device="cpu")
    assert data["top1_accuracy"] == pytest.approx(expected.top1, abs=1e-4)
    assert data["confusion"]["matrix"] == expected.confusion.tolist()
    assert data["suggested_threshold"] == expected.suggested_threshold
    assert [c["class"] for c in data["classes"]] == ["circles", "squares", "triangles"]
    # Never replaced without --force.
    assert main(["evaluate", str(heldout), "--weights", str(model_file), "--output", str(out)]) == 2
    assert "already exists; use --force" in capsys.readouterr().err


def test_table_report(model_file: Path, heldout: Path, capsys) -> None:
    assert main(["evaluate", str(heldout), "--weights", str(model_file), "--device", "cpu", "--top-losses", "3"]) == 0
    out = capsys.readouterr().out
    for heading in (
        "Top-1 accuracy:",
        "Top-5 accuracy:",
        "(top-3: the model has 3 classes)",
        "Per class:",
        "Confusion matrix (rows: true class",
        "Most confidently wrong (the mistakes with the highest loss):",
        "expected calibration error",
        "Threshold sweep",
        "Suggested confidence threshold:",
    ):
        assert heading in out
    assert "(macro average)" in out and "circles" in out


def test_compare_two_models_with_unmatched_folders_and_a_failure(
    tmp_path: Path, model_file: Path, heldout: Path, capsys
) -> None:
    root = tmp_path / "photos"
    shutil.copytree(heldout, root)
    shutil.copytree(heldout / "circles", root / "Tabby")
    (root / "circles" / "broken.jpg").write_bytes(b"no image")
    code = main(
        [
            "evaluate",
            str(root),
            "--model",
            str(model_file),
            "--model",
            "resnet18:random",
            "--device",
            "cpu",
            "--format",
            "json",
        ]
    )
    assert code == 1  # one unreadable file, listed
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "resnet-desktop-comparison"
    first, second = data["reports"]
    assert [u["folder"] for u in first["unmatched_folders"]] == ["Tabby"]
    assert [u["folder"] for u in second["unmatched_folders"]] == ["circles", "squares", "triangles"]
    assert first["images"] == 15 and second["images"] == 5
    assert [f["path"].endswith("broken.jpg") for f in first["failed"]] == [True]
    assert second["confusion"]["columns"] == ["tabby", "other"]
    labels = [row["label"] for row in data["comparison"]]
    assert labels == [model_file.name, "resnet18:random"]
    assert [row["params"] for row in data["comparison"]] == [11178051, 11689512]  # 3-class head vs 1000
    for row in data["comparison"]:
        assert row["latency_ms"] > 0 and row["images_per_second"] > 0
        assert set(row) >= {"top1", "top5", "ece", "peak_memory_mb", "gflops", "file_size_mb"}


def test_mapping_file_and_errors(tmp_path: Path, heldout: Path, capsys) -> None:
    mapping = tmp_path / "map.csv"
    mapping.write_text("folder,class\ncircles,n02123045\nsquares,tench\n", encoding="utf-8")
    code = main(["evaluate", str(heldout), "--model", "resnet18:random", "--map", str(mapping), "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    assert "tabby" in out and "tench" in out and "'triangles' (5 images): matches no class" in out
    mapping.write_text("circles\n", encoding="utf-8")
    assert main(["evaluate", str(heldout), "--model", "resnet18:random", "--map", str(mapping)]) == 2
    assert "line 1: expected two columns" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nope"), "--model", "resnet18:random"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("resnet-desktop evaluate: error: ") and "does not exist" in err
    assert main(["evaluate", str(heldout), "--model", "vgg16"]) == 2
    assert "unknown model 'vgg16'" in capsys.readouterr().err
    assert main(["evaluate", str(heldout), "--model", "resnet50-v1:IMAGENET1K_V2"]) == 2
    assert "no ImageNet weights for resnet50-v1" in capsys.readouterr().err


def test_bench_table_and_csv(tmp_path: Path, capsys) -> None:
    args = ["bench", "--model", "resnet18", "--device", "cpu", "--batch-size", "2", "--batches", "1", "--repeats", "2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "vs first" in out and "1.00x" in out and "resnet18" in out
    assert "speed does not depend on the values" in out
    target = tmp_path / "bench.csv"
    assert main([*args, "--format", "csv", "--output", str(target)]) == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [r["label"] for r in rows] == ["resnet18"]
    assert float(rows[0]["images_per_second"]) > 0 and rows[0]["random_weights"] == "True"


def test_bench_v1_against_v1_5(capsys) -> None:
    args = [
        "bench",
        "--model",
        "resnet50",
        "--model",
        "resnet50-v1",
        "--device",
        "cpu",
        "--batch-size",
        "1",
        "--batches",
        "1",
        "--repeats",
        "1",
        "--format",
        "table",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "resnet50-v1 vs resnet50: v1.5 runs at" in out
    assert "torchvision ships no ImageNet weights" in out


def test_most_confidently_wrong_lists_only_mistakes(model_file: Path, heldout: Path) -> None:
    """It listed correct images under "most confidently wrong" when nothing (or little) was wrong."""
    from resnet_desktop.core.evaluate.api import evaluate_models, report_text
    from resnet_desktop.core.evaluate.report import EvaluationReport
    from resnet_desktop.core.models.ref import ModelRef

    reports = [e for e in evaluate_models([ModelRef(file=model_file)], heldout) if isinstance(e, EvaluationReport)]
    report = reports[0]
    wrong = report.confidently_wrong
    assert all(not report.images[i].correct for i in wrong)
    assert len(wrong) == sum(not r.correct for r in report.images if report.images.index(r) in report.top_losses)
    text = report_text(report, top_losses=len(report.images))
    section = text.split("Most confidently wrong (the mistakes with the highest loss):")[1].split("\n\n")[0]
    for image in report.images:
        assert (str(image.path) in section) == (not image.correct and report.images.index(image) in wrong)
    right = [i for i, r in enumerate(report.images) if r.correct]
    assert right, "the fine-tuned model gets some held-out images right"
    everyone_right = dataclasses.replace(report, images=[report.images[i] for i in right], top_losses=[0])
    assert "None: every image was classified correctly." in report_text(everyone_right)
