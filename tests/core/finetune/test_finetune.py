"""Fine-tuning core: folder validation, split, head training on frozen features, model file."""

from __future__ import annotations

import shutil
import threading
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image

from resnet_desktop.core.errors import CancelledError, DatasetError, OutputError
from resnet_desktop.core.finetune.data import scan_dataset, stratified_split
from resnet_desktop.core.finetune.head import C_GRID, HeadConfig, train_head
from resnet_desktop.core.finetune.run import FineTuneResult, FineTuneSettings, TrainProgress, fine_tune, run_fine_tune
from resnet_desktop.core.finetune.synthetic import make_labeled_folder


@pytest.fixture(scope="module")
def labeled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 classes x 6 tiny generated images, plus one truncated JPEG that passes the header check."""
    root = make_labeled_folder(tmp_path_factory.mktemp("ds") / "photos", classes=3, per_class=6, seed=1)
    noise = Image.effect_noise((160, 120), 60).convert("RGB")
    noise.save(root / "circles" / "broken.jpg", quality=95)
    data = (root / "circles" / "broken.jpg").read_bytes()
    (root / "circles" / "broken.jpg").write_bytes(data[: len(data) // 2])
    return root


@pytest.fixture(scope="module")
def base():
    from resnet_desktop.core.models.zoo import load_model

    return load_model("resnet18", "random")


SETTINGS = FineTuneSettings(arch="resnet18", weights="random", augment=1, epochs=4, seed=3, device="cpu")


@pytest.fixture(scope="module")
def runs(labeled: Path, base) -> dict:
    """Two head-only runs with the same seed on the same base model, plus the state before.

    The first run skips the scan's file check, so the truncated JPEG reaches training (as a file
    that breaks after the scan would) and must be skipped there.
    """
    before = {k: v.clone() for k, v in base.model.state_dict().items()}
    events: list[TrainProgress] = []
    unchecked = scan_dataset(labeled, check_files=False)
    first = run_fine_tune(unchecked, SETTINGS, loaded=base, progress=events.append)
    second = run_fine_tune(unchecked, SETTINGS, loaded=base)
    return {"before": before, "first": first, "second": second, "events": events}


# -- scan and validation -------------------------------------------------------------------------


def test_scan_counts_classes_recursively(tmp_path: Path) -> None:
    root = make_labeled_folder(tmp_path / "d", classes=2, per_class=3)
    nested = root / "squares" / "more" / "deeper"
    nested.mkdir(parents=True)
    shutil.copy(root / "squares" / "squares_000.jpg", nested / "x.jpg")
    scan = scan_dataset(root)
    assert scan.classes == ["circles", "squares"]
    assert scan.counts == {"circles": 3, "squares": 4}
    assert scan.ok and not scan.warnings
    scan.validate()


def test_single_class_is_refused(tmp_path: Path) -> None:
    root = make_labeled_folder(tmp_path / "d", classes=1, per_class=4)
    scan = scan_dataset(root)
    assert not scan.ok
    assert any("at least 2 class subfolders" in p and "'circles'" in p for p in scan.problems)
    with pytest.raises(DatasetError, match="at least 2 class subfolders"):
        scan.validate()


def test_class_with_one_image_is_refused(tmp_path: Path) -> None:
    root = make_labeled_folder(tmp_path / "d", classes=3, per_class=[4, 1, 0])
    scan = scan_dataset(root)
    text = "\n".join(scan.problems)
    assert "Class 'squares'" in text and "has 1 image;" in text
    assert "Class 'triangles'" in text and "has 0 images" in text
    with pytest.raises(DatasetError, match="squares"):
        list(fine_tune(root, SETTINGS))


def test_folder_without_images_and_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "d" / "a").mkdir(parents=True)
    (tmp_path / "d" / "b").mkdir()
    (tmp_path / "d" / "b" / "notes.txt").write_text("not a photo")
    empty = scan_dataset(tmp_path / "d")
    assert any("No images found" in p for p in empty.problems)
    missing = scan_dataset(tmp_path / "nope")
    assert missing.problems == [f"{tmp_path / 'nope'} does not exist."]
    a_file = scan_dataset(tmp_path / "d" / "b" / "notes.txt")
    assert "is not a folder" in a_file.problems[0]


def test_warnings_for_duplicates_imbalance_and_unreadable(tmp_path: Path) -> None:
    root = make_labeled_folder(tmp_path / "d", classes=2, per_class=[12, 2])
    shutil.copy(root / "circles" / "circles_003.jpg", root / "squares" / "copy.jpg")
    (root / "squares" / "garbage.jpg").write_bytes(b"definitely not a jpeg")
    shutil.copy(root / "circles" / "circles_004.jpg", root / "loose.jpg")
    scan = scan_dataset(root)
    assert scan.ok
    assert scan.counts == {"circles": 12, "squares": 3}
    assert scan.duplicates == [(root / "circles" / "circles_003.jpg", root / "squares" / "copy.jpg")]
    joined = "\n".join(scan.warnings)
    assert "imbalanced" in joined and "4.0:1" in joined
    assert "circles/circles_003.jpg and squares/copy.jpg" in joined
    assert [p for p, _ in scan.unreadable] == [root / "squares" / "garbage.jpg"]
    assert "garbage.jpg" in joined
    assert "directly in" in joined


# -- split -----------------------------------------------------------------------------------------


def test_split_is_stratified_seeded_and_complete() -> None:
    labels = [0] * 10 + [1] * 3 + [2] * 2
    split = stratified_split(labels, 0.2, seed=5)
    assert sorted(split.train + split.val) == list(range(len(labels)))
    val_labels = [labels[i] for i in split.val]
    assert val_labels.count(0) == 2 and val_labels.count(1) == 1 and val_labels.count(2) == 1
    train_labels = [labels[i] for i in split.train]
    assert {0, 1, 2} <= set(train_labels)
    assert stratified_split(labels, 0.2, seed=5) == split
    assert any(stratified_split(labels, 0.2, seed=s) != split for s in range(6, 12))


# -- training ----------------------------------------------------------------------------------------


def test_same_seed_same_split_and_metrics(runs: dict) -> None:
    first, second = runs["first"], runs["second"]
    assert isinstance(first, FineTuneResult)
    assert [p.path for p in first.predictions] == [p.path for p in second.predictions]
    assert first.metrics["confusion"] == second.metrics["confusion"]
    assert first.metrics["per_class"] == second.metrics["per_class"]
    assert [(p.pred, round(p.confidence, 5)) for p in first.predictions] == [
        (p.pred, round(p.confidence, 5)) for p in second.predictions
    ]
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-5)


def test_progress_events_cover_features_and_epochs(runs: dict) -> None:
    events = runs["events"]
    phases = [e.phase for e in events]
    assert "features" in phases and "train" in phases
    feature_events = [e for e in events if e.phase == "features" and e.images_total]
    assert feature_events[-1].images_done == feature_events[-1].images_total == 19
    epochs = [e for e in events if e.phase == "train"]
    assert [e.epoch for e in epochs] == list(range(1, len(epochs) + 1))
    assert all(e.val_loss is not None and 0 <= e.val_acc <= 1 for e in epochs)
    assert runs["first"].history == epochs


def test_head_only_leaves_backbone_and_batchnorm_untouched(runs: dict, base) -> None:
    before = runs["before"]
    after = base.model.state_dict()
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key
    assert any("running_mean" in k for k in before)
    trained = runs["first"].model.state_dict()
    for key, value in before.items():
        if not key.startswith("fc."):
            assert torch.equal(value, trained[key]), key
    assert trained["fc.weight"].shape == (3, 512)


def test_scan_reports_a_truncated_file_like_classification(labeled: Path) -> None:
    from resnet_desktop.core.images import TRUNCATED

    scan = scan_dataset(labeled)
    assert scan.unreadable == [(labeled / "circles" / "broken.jpg", TRUNCATED)]
    assert scan.counts["circles"] == 6
    assert any("broken.jpg" in w and TRUNCATED in w for w in scan.warnings)


def test_unreadable_file_is_skipped_with_reason(runs: dict, labeled: Path) -> None:
    skipped = runs["first"].skipped
    assert [p for p, _ in skipped] == [labeled / "circles" / "broken.jpg"]
    assert skipped[0][1]
    assert runs["first"].metrics["skipped"] == 1


def test_metrics_are_consistent(runs: dict) -> None:
    result = runs["first"]
    matrix = torch.tensor(result.metrics["confusion"])
    assert int(matrix.sum()) == len(result.predictions)
    assert result.val_accuracy == pytest.approx(float(matrix.diag().sum() / matrix.sum()), abs=1e-4)
    assert len(result.misclassified) == int(matrix.sum() - matrix.diag().sum())
    for name, row in result.metrics["per_class"].items():
        i = result.class_names.index(name)
        assert row["support"] == int(matrix[i].sum())


def test_saved_model_loads_with_its_class_names(runs: dict, labeled: Path, tmp_path: Path) -> None:
    from resnet_desktop.core.models.zoo import load_model

    result = runs["first"]
    path = result.save(tmp_path / "mine.safetensors")
    loaded = load_model(weights=path)
    assert loaded.arch == "resnet18"
    assert loaded.categories == ["circles", "squares", "triangles"]
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded.model(x), result.model(x), atol=1e-5)
    with pytest.raises(OutputError, match="already exists"):
        result.save(path)
    assert "misclassified" in loaded.meta["metrics"] and str(labeled) not in path.with_suffix(".json").read_text()


def test_cancel_stops_and_raises(labeled: Path, base) -> None:
    cancel = threading.Event()
    seen = []
    with pytest.raises(CancelledError):
        for event in fine_tune(labeled, SETTINGS, loaded=base, cancel=cancel):
            seen.append(event)
            if isinstance(event, TrainProgress) and event.phase == "features" and event.images_done:
                cancel.set()
    assert not any(isinstance(e, FineTuneResult) for e in seen)


def test_last_stage_trains_a_copy_of_layer4(labeled: Path, base) -> None:
    before = {k: v.clone() for k, v in base.model.state_dict().items()}
    settings = FineTuneSettings(arch="resnet18", weights="random", mode="last-stage", epochs=2, seed=0, device="cpu")
    events: list[TrainProgress] = []
    result = run_fine_tune(labeled, settings, loaded=base, progress=events.append)
    assert [e.epoch for e in events if e.phase == "finetune"] == [1, 2]
    for key, value in before.items():
        assert torch.equal(value, base.model.state_dict()[key]), key
    assert result.model.fc.out_features == 3
    trained = result.model.state_dict()
    for key in before:
        if key.startswith(("layer1.", "layer2.", "layer3.", "conv1.", "bn1.")):
            assert torch.equal(before[key], trained[key]), key


# -- quality bar ---------------------------------------------------------------------------------------


def _clusters(seed: int, n: int = 60, d: int = 256, classes: int = 4, sep: float = 0.12):
    generator = torch.Generator().manual_seed(seed)
    means = torch.randn(classes, d, generator=generator) * sep
    x = torch.relu(torch.randn(classes * n, d, generator=generator) + means.repeat_interleave(n, 0)) * 3 + 1
    y = torch.arange(classes).repeat_interleave(n)
    order = torch.randperm(len(y), generator=generator)
    x, y = x[order], y[order]
    cut = int(len(y) * 0.6)
    return x[:cut], y[:cut], x[cut:], y[cut:]


def test_head_matches_tuned_logistic_regression() -> None:
    """Same frozen features: the head's validation accuracy >= LogisticRegressionCV's (summed over datasets)."""
    sklearn = pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.preprocessing import StandardScaler

    del sklearn
    ours = theirs = 0.0
    for seed in range(3):
        xt, yt, xv, yv = _clusters(seed)
        scaler = StandardScaler().fit(xt.numpy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = LogisticRegressionCV(Cs=list(C_GRID), cv=5, max_iter=5000).fit(
                scaler.transform(xt.numpy()), yt.numpy()
            )
        theirs += reference.score(scaler.transform(xv.numpy()), yv.numpy())
        *_, head = train_head(xt, yt, torch.arange(len(yt)), xv, yv, 4, HeadConfig(epochs=30))
        ours += float((head.linear(xv).argmax(1) == yv).float().mean())
    assert theirs < 3 * 0.95, "the generated problem must not be trivially separable"
    assert ours >= theirs - 1e-6  # float32 vs float64 means of the same counts


def test_scan_can_be_cancelled(tmp_path: Path) -> None:
    root = make_labeled_folder(tmp_path / "d", classes=2, per_class=3)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        scan_dataset(root, cancel=cancel)
