"""The fast model's quality gate: top-1 agreement on >= 100 photos, no class losing more than 2%."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnet_desktop.core.models import gate
from resnet_desktop.core.models.gate import judge, labeled_photos, split_photos

NAMES = ["cats", "dogs", "owls"]


def test_fewer_than_100_photos_cannot_be_verified_which_is_not_a_pass() -> None:
    result = judge([0] * 99, [0] * 99, class_names=NAMES)
    assert result.verdict == gate.UNVERIFIABLE and not result.passed
    assert result.summary().startswith("cannot be verified: 99 photos not used for calibration, at least 100")


def test_every_answer_kept_passes_and_the_figure_is_the_agreement() -> None:
    result = judge([0, 1] * 60, [0, 1] * 60, class_names=NAMES, calibration_photos=40)
    assert result.passed and result.agreement == 1.0
    assert result.figure() == "100.0% top-1 agreement with fp32 on 120 photos"


def test_top5_like_closeness_is_not_enough_top1_must_agree_on_98_percent() -> None:
    reference = [0] * 50 + [1] * 50 + [2] * 50
    candidate = list(reference)
    for i in range(0, 150, 30):  # 5 of 150 change (96.7%)
        candidate[i] = (candidate[i] + 1) % 3
    result = judge(reference, candidate, class_names=NAMES)
    assert result.verdict == gate.REFUSED and f"{result.agreement:.1%}" == "96.7%"
    assert "refused: 96.7% top-1 agreement with fp32 on 150 photos" in result.summary()


def test_a_small_class_cannot_be_sacrificed_to_a_good_average() -> None:
    reference = [0] * 190 + [2] * 10
    candidate = [0] * 190 + [0] + [2] * 9  # 99.5% overall, but "owls" lost 1 of 10
    result = judge(reference, candidate, class_names=NAMES)
    assert result.agreement == 0.995 and result.verdict == gate.REFUSED
    assert (result.worst_class, result.worst_class_lost, result.worst_class_photos) == ("owls", 1, 10)
    assert "worst class 'owls' lost 1 of 10 (10.0%)" in result.summary()


def test_two_percent_of_a_class_is_the_limit() -> None:
    reference = [0] * 100 + [1] * 100
    two = [1, 1] + [0] * 98 + [1] * 100
    three = [1, 1, 1] + [0] * 97 + [1] * 100
    assert judge(reference, two, class_names=NAMES).passed
    refused = judge(reference, three, class_names=NAMES)
    assert not refused.passed and refused.worst_class == "cats" and refused.worst_class_loss == 0.03


def test_with_labels_a_class_loses_only_photos_fp32_got_right() -> None:
    labels: list[int | None] = [0] * 100 + [1] * 100
    reference = [0] * 100 + [0] * 5 + [1] * 95  # fp32 gets 5 dogs wrong already
    candidate = [0] * 100 + [2] * 5 + [1] * 95  # int8 moves those 5 wrong answers elsewhere
    result = judge(reference, candidate, class_names=NAMES, labels=labels)
    assert result.agreement == 0.975 and result.worst_class_lost == 0  # no class lost a right answer
    assert result.verdict == gate.REFUSED  # but the overall agreement is still below 98%


def test_split_keeps_calibration_and_verification_apart(tmp_path: Path) -> None:
    paths = [tmp_path / f"{i:03d}.jpg" for i in range(300)]
    labels: list[str | None] = [f"c{i % 3}" for i in range(300)]
    photos = split_photos(paths, labels)
    assert len(photos.calibration) == 64 and photos.calibration[:2] == [paths[0], paths[4]]
    assert not set(photos.calibration) & set(photos.verification)
    assert len(photos.verification) == 300 - 64
    assert photos.labels is not None and photos.labels[0] == "c1"  # paths[1] is the first verifying photo


def test_split_spreads_over_a_library_sorted_into_folders(tmp_path: Path) -> None:
    """In path order the first photos are the first folders: calibration and verification must come
    from every folder (before: verified on the first 600 photos, calibrated on the first 256)."""
    paths = [tmp_path / str(folder) / f"{i:03d}.png" for folder in range(10) for i in range(100)]
    photos = split_photos(paths)
    assert len(photos.calibration) == 64 and len(photos.verification) == 600
    assert not set(photos.calibration) & set(photos.verification)
    for part in (photos.calibration, photos.verification):
        per_folder = {folder: sum(1 for p in part if p.parent.name == str(folder)) for folder in range(10)}
        assert min(per_folder.values()) >= 0.8 * len(part) / 10, per_folder


def test_a_folder_tree_labels_its_photos(tmp_path: Path) -> None:
    from PIL import Image

    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("RGB", (8, 8)).save(tmp_path / name / f"{i}.png")
    photos = labeled_photos(tmp_path)
    assert photos.labels is not None and set(photos.labels) == {"cats", "dogs"}
    (tmp_path / "empty").mkdir()
    with pytest.raises(gate.SettingsError, match="no images found"):
        labeled_photos(tmp_path / "empty")
    with pytest.raises(gate.SettingsError, match="not a folder of photos"):
        labeled_photos(tmp_path / "missing")
