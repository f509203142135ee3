"""The shared metrics against scikit-learn and against cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import classification_report
from sklearn.metrics import confusion_matrix as sk_confusion

from resnet_desktop.core.evaluate import metrics as m


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_class_and_confusion_match_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, extra = 4, 2  # predictions may fall in 2 columns that are not scored classes ("other")
    true = rng.integers(0, n, 200)
    pred = np.where(rng.random(200) < 0.6, true, rng.integers(0, n + extra, 200))
    pred[true == 3] = 0  # class 3 is never predicted: precision is undefined, reported as 0
    names = [f"c{i}" for i in range(n)]
    matrix = m.confusion_matrix(true, pred, n, n + extra)
    assert matrix.tolist() == sk_confusion(true, pred, labels=range(n + extra))[:n].tolist()
    stats = m.per_class(matrix, names)
    report = classification_report(true, pred, labels=list(range(n)), output_dict=True, zero_division=0)
    for i, s in enumerate(stats):
        expected = report[str(i)]
        assert (s.precision, s.recall, s.f1, s.support) == pytest.approx(
            (expected["precision"], expected["recall"], expected["f1-score"], expected["support"])
        )
    averages = m.averages(stats)
    for ours, theirs in (("macro", "macro avg"), ("weighted", "weighted avg")):
        assert averages[ours]["precision"] == pytest.approx(report[theirs]["precision"])
        assert averages[ours]["recall"] == pytest.approx(report[theirs]["recall"])
        assert averages[ours]["f1"] == pytest.approx(report[theirs]["f1-score"])
    assert m.accuracy(true, pred) == pytest.approx(float((true == pred).mean()))


def test_a_known_ece() -> None:
    # 4 images at 0.95, all right (gap 0.05); 4 at 0.55, 2 right (gap 0.05); 2 at 0.25, none right (gap 0.25):
    # ECE = 0.4 * 0.05 + 0.4 * 0.05 + 0.2 * 0.25 = 0.09
    confidence = [0.95] * 4 + [0.55] * 4 + [0.25] * 2
    correct = [True] * 4 + [True, True, False, False] + [False, False]
    result = m.calibration(confidence, correct, bins=10)
    assert result.ece == pytest.approx(0.09)
    filled = [b for b in result.bins if b.count]
    assert [(b.count, b.confidence, b.accuracy) for b in filled] == [(2, 0.25, 0.0), (4, 0.55, 0.5), (4, 0.95, 1.0)]
    assert [(b.lower, b.upper) for b in filled] == [
        pytest.approx((0.2, 0.3)),
        pytest.approx((0.5, 0.6)),
        pytest.approx((0.9, 1.0)),
    ]
    assert len(result.bins) == 10


def test_perfect_calibration_and_the_edges() -> None:
    # Half right at 0.5 is perfectly calibrated; confidence exactly 0 and 1 land in the first/last bin.
    assert m.calibration([0.5, 0.5], [True, False]).ece == pytest.approx(0.0)
    edges = m.calibration([0.0, 1.0], [False, True], bins=15)
    assert edges.bins[0].count == 1 and edges.bins[-1].count == 1
    assert edges.ece == pytest.approx(0.0)


def test_threshold_sweep_and_the_suggestion() -> None:
    confidence = [0.9, 0.8, 0.7, 0.6, 0.3, 0.2]
    correct = [True, True, True, False, False, True]
    sweep = m.threshold_sweep(confidence, correct, thresholds=(0.0, 0.5, 0.65, 0.95))
    assert [(r.threshold, r.kept, r.accuracy) for r in sweep] == [
        (0.0, 6, pytest.approx(4 / 6)),
        (0.5, 4, pytest.approx(0.75)),
        (0.65, 3, 1.0),
        (0.95, 0, None),
    ]
    assert sweep[1].share_kept == pytest.approx(4 / 6)
    threshold, reason = m.suggest_threshold(sweep, target=0.9)
    assert threshold == 0.65 and "90%" in reason
    # Unreachable target: the most accurate threshold, the lower one on ties.
    threshold, reason = m.suggest_threshold(sweep[:2], target=0.99)
    assert threshold == 0.5 and "no threshold reaches" in reason


def test_top_losses_most_confused_and_top5() -> None:
    assert m.top_losses([0.9, 0.01, 0.5, 0.0], 3) == [3, 1, 2]
    assert m.losses([1.0])[0] == pytest.approx(0.0)
    matrix = np.array([[5, 3, 1], [0, 4, 2]])
    assert m.most_confused(matrix, ["a", "b"], ["a", "b", "other"]) == [
        ("a", "b", 3),
        ("b", "other", 2),
        ("a", "other", 1),
    ]
    topk = np.array([[1, 2], [0, 1], [2, 0]])
    assert m.topk_accuracy([2, 1, 1], topk) == pytest.approx(2 / 3)
