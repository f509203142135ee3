"""Evaluating a model on a labeled folder: the report against a hand-computed reference."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from sklearn.metrics import classification_report

from resnet_desktop.core.errors import CancelledError, DatasetError
from resnet_desktop.core.evaluate.report import EvaluationReport
from resnet_desktop.core.evaluate.run import evaluate_folder, run_evaluation
from resnet_desktop.core.inference.engine import reference_logits
from resnet_desktop.core.inference.records import Progress
from resnet_desktop.core.models.zoo import load_model
from tests.evaluate_data import finetuned_model_file, heldout_folder


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory: pytest.TempPathFactory):
    return load_model(weights=finetuned_model_file(tmp_path_factory))


@pytest.fixture(scope="module")
def heldout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return heldout_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def report(finetuned, heldout: Path) -> EvaluationReport:
    return run_evaluation(finetuned, heldout, device="cpu")


def test_the_report_equals_a_hand_computed_reference(finetuned, heldout: Path, report: EvaluationReport) -> None:
    names = finetuned.categories
    assert report.rows == names == ["circles", "squares", "triangles"]
    truth, predicted = [], []
    matrix = [[0] * 3 for _ in range(3)]
    for row, name in enumerate(names):
        for path in sorted((heldout / name).iterdir()):
            # The textbook pipeline: full decode, torchvision's transform, one image at a time.
            probs = reference_logits(finetuned, path).softmax(dim=0)
            pred = int(probs.argmax())
            truth.append(row)
            predicted.append(pred)
            matrix[row][pred] += 1
            mine = next(r for r in report.images if r.path == path)
            assert (mine.true, mine.pred) == (row, pred)
            assert mine.confidence == pytest.approx(float(probs.max()), abs=1e-4)
            assert mine.p_true == pytest.approx(float(probs[row]), abs=1e-4)
    assert report.confusion.tolist() == matrix
    assert report.scored == 15 and report.top1 == pytest.approx(
        sum(t == p for t, p in zip(truth, predicted, strict=True)) / 15
    )
    assert 0 < report.top1 < 1  # the held-out folder is hard enough to show mistakes
    assert report.top5 == 1.0 and report.top5_k == 3
    for row, stats in enumerate(report.per_class):
        tp = matrix[row][row]
        predicted_as = sum(matrix[t][row] for t in range(3))
        assert stats.support == 5
        assert stats.recall == pytest.approx(tp / 5)
        assert stats.precision == pytest.approx(tp / predicted_as if predicted_as else 0.0)
    sk = classification_report(truth, predicted, labels=[0, 1, 2], output_dict=True, zero_division=0)
    for row, stats in enumerate(report.per_class):
        assert stats.f1 == pytest.approx(sk[str(row)]["f1-score"])
    assert report.averages["macro"]["f1"] == pytest.approx(sk["macro avg"]["f1-score"])
    assert report.columns == names  # every class of the model is in the folder: no "other"


def test_top_losses_sweep_and_json(report: EvaluationReport) -> None:
    losses = [report.images[i].loss for i in report.top_losses]
    assert losses == sorted(losses, reverse=True) and len(losses) == 15
    data = json.loads(report.to_json())
    assert data["format"] == "resnet-desktop-evaluation"
    assert data["top1_accuracy"] == pytest.approx(report.top1, abs=1e-4)
    assert data["suggested_threshold"] in [row["threshold"] for row in data["threshold_sweep"]]
    assert data["threshold_sweep"][0] == {
        "threshold": 0.0,
        "kept": 15,
        "share_kept": 1.0,
        "accuracy": pytest.approx(report.top1, abs=1e-4),
    }
    assert data["calibration"]["ece"] == pytest.approx(report.ece, abs=1e-4)
    assert sum(b["count"] for b in data["calibration"]["bins"]) == 15
    assert len(data["predictions"]) == 15 and "categories" not in data["model"]
    assert data["classes"][0]["folders"] == ["circles"]


def test_cells_hold_their_images(report: EvaluationReport) -> None:
    total = 0
    for row in range(3):
        for column in range(3):
            cell = report.cell(row, column)
            assert len(cell) == report.confusion[row, column]
            assert all(r.true == row and r.pred == column for r in cell)
            total += len(cell)
    assert total == 15


def test_imagenet_folders_unmatched_list_other_column_and_failures(tmp_path: Path, heldout: Path) -> None:
    root = tmp_path / "photos"
    for name in ("n02123045", "Great_White_Shark", "cardigan", "kittens"):
        shutil.copytree(heldout / "circles", root / name)
    (root / "kittens" / "broken.jpg").write_bytes(b"not a jpeg")
    mapping = {"kittens": "tabby"}
    loaded = load_model("resnet18", "random")
    events = list(evaluate_folder(loaded, root, device="cpu", mapping=mapping))
    report = events[-1]
    assert isinstance(report, EvaluationReport)
    assert all(isinstance(e, Progress) for e in events[:-1]) and events[-2].done == 16
    assert report.rows == ["great white shark", "tabby"]
    assert report.row_folders == {"great white shark": ["Great_White_Shark"], "tabby": ["kittens", "n02123045"]}
    assert report.columns == ["great white shark", "tabby", "other"]
    assert report.confusion.sum() == 15 and report.confusion.shape == (2, 3)
    assert [u["folder"] for u in report.unmatched] == ["cardigan"]
    assert report.unmatched[0]["images"] == 5 and "several classes" in report.unmatched[0]["reason"]
    assert [p.name for p, _ in report.failed] == ["broken.jpg"]
    assert report.top5_k == 5


def test_nothing_matches_or_no_folder(tmp_path: Path, finetuned) -> None:
    (tmp_path / "a" / "dogs").mkdir(parents=True)
    with pytest.raises(DatasetError, match="None of the subfolders .* matches a class"):
        run_evaluation(finetuned, tmp_path / "a", device="cpu")
    (tmp_path / "b").mkdir()
    with pytest.raises(DatasetError, match="has no subfolders"):
        run_evaluation(finetuned, tmp_path / "b", device="cpu")
    with pytest.raises(DatasetError, match="does not exist"):
        run_evaluation(finetuned, tmp_path / "c", device="cpu")


def test_cancel_stops_without_a_report(finetuned, heldout: Path) -> None:
    cancel = threading.Event()
    events = evaluate_folder(finetuned, heldout, device="cpu", cancel=cancel)
    next(events)
    cancel.set()
    with pytest.raises(CancelledError, match="no report was made"):
        list(events)
