"""Planning: where each photo goes, before anything is touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.library.organize import UNCERTAIN, FileOp, Mode, OrganizeOptions, make_plan
from resnet_desktop.core.library.safe_names import MAX_NAME_BYTES, FolderNames, safe_name
from tests.core.library.tree import LABELS, make_tree, predict


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict[Path, str]]:
    root = tmp_path / "photos"
    return root, make_tree(root, 12)


@pytest.mark.parametrize("mode", list(Mode))
def test_plan_keeps_structure_below_each_class_and_touches_nothing(tree, tmp_path: Path, mode: Mode) -> None:
    root, photos = tree
    dest = tmp_path / "sorted"
    plan = make_plan(predict(list(photos), ("cat", "dog")), dest, OrganizeOptions(mode=mode), roots=[root])
    assert not dest.exists()
    assert len(plan.photo_ops) == len(photos) and not plan.skipped
    for op in plan.photo_ops:
        assert op.action is mode
        rel = op.source.relative_to(root)
        assert op.destination == dest / op.folder / rel
        assert op.folder == (UNCERTAIN if op.probability < 0.5 else op.label)
    assert plan.counts()[UNCERTAIN] == 2  # predict() puts every 5th photo below 0.5


def test_threshold_decides_what_is_uncertain(tree, tmp_path: Path) -> None:
    root, photos = tree
    preds = predict(list(photos), ("cat",))
    strict = make_plan(preds, tmp_path / "d", OrganizeOptions(threshold=0.9))
    assert set(strict.counts()) == {UNCERTAIN}
    lax = make_plan(preds, tmp_path / "d", OrganizeOptions(threshold=0.0))
    assert set(lax.counts()) == {"cat"}
    with pytest.raises(SettingsError, match="between 0 and 1"):
        make_plan(preds, tmp_path / "d", OrganizeOptions(threshold=1.5))


def test_flat_names_collide_and_get_numbers_never_overwrite(tree, tmp_path: Path) -> None:
    _root, photos = tree
    dest = tmp_path / "sorted"
    (dest / "cat").mkdir(parents=True)
    (dest / "cat" / "IMG_0000.jpg").write_bytes(b"someone else's photo")
    plan = make_plan(predict(list(photos), ("cat",), low_every=0), dest, OrganizeOptions(flat=True))
    names = [op.destination for op in plan.photo_ops]
    assert len(set(names)) == len(names) == len(photos)
    assert all(n.parent == dest / "cat" for n in names)
    assert dest / "cat" / "IMG_0000.jpg" not in names
    assert dest / "cat" / "IMG_0000 (2).jpg" in names and dest / "cat" / "IMG_0000 (3).jpg" in names


def test_names_differing_only_in_case_are_one_name(tmp_path: Path) -> None:
    """macOS and Windows would make Cat.jpg and cat.jpg one file: the plan never relies on case."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, two = tmp_path / "a" / "Cat.jpg", tmp_path / "b" / "cat.jpg"
    one.write_bytes(b"1")
    two.write_bytes(b"2")
    preds = [Prediction(p, (ClassScore("Tabby", 0, 0.9),)) for p in (one, two)]
    plan = make_plan(preds[:2], tmp_path / "d", OrganizeOptions(flat=True))
    assert [op.destination.name for op in plan.photo_ops] == ["Cat.jpg", "cat (2).jpg"]
    assert FolderNames(["Tabby", "tabby"]).mapping == {"Tabby": "Tabby", "tabby": "tabby (2)"}


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("../evil", "___evil"),
        ("..", "__"),
        ("a/b", "a_b"),
        ("a\\b", "a_b"),
        ("CON", "CON_"),
        ("con.txt", "con.txt_"),
        ("LPT1", "LPT1_"),
        ("trailing. ", "trailing"),
        ('what?*<>|:"', "what_______"),
        ("tab\there", "tab_here"),
        ("", "_unnamed"),
        ("Äpfel 🍎", "Äpfel 🍎"),
    ],
)
def test_class_names_become_safe_folder_names(label: str, expected: str) -> None:
    assert safe_name(label) == expected


def test_unsafe_labels_stay_inside_dest_distinct_and_short(tmp_path: Path) -> None:
    paths = []
    for i, _label in enumerate(LABELS):
        p = tmp_path / "in" / f"{i}.jpg"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(bytes([i]))
        paths.append(p)
    preds = [Prediction(p, (ClassScore(label, 0, 0.9),)) for p, label in zip(paths, LABELS, strict=True)]
    preds.append(Prediction(tmp_path / "in" / "x.jpg", (ClassScore("a_b", 0, 0.9),)))  # collides with a/b
    (tmp_path / "in" / "x.jpg").write_bytes(b"x")
    dest = tmp_path / "sorted"
    plan = make_plan(preds, dest, OrganizeOptions(flat=True))
    folders = list(plan.folders.values())
    assert len(set(folders)) == len(folders) == len(LABELS) + 1
    for folder in folders:
        assert "/" not in folder and "\\" not in folder and folder not in (".", "..")
        assert not folder.startswith(".") and not folder.endswith((".", " "))
        assert len(folder.encode()) <= MAX_NAME_BYTES
    for op in plan.photo_ops:
        assert op.destination.parent.parent == dest
        assert os.path.realpath(op.destination).startswith(os.path.realpath(dest) + os.sep)
    # the mapping is kept, so the journal can say which label each folder holds
    assert plan.folders["../evil"] == "___evil" and plan.folders["CON"] == "CON_"
    assert plan.folders["x" * 300] == "x" * MAX_NAME_BYTES


def test_any_of_topk_puts_a_photo_in_every_class_above_the_threshold(tmp_path: Path) -> None:
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"p")
    scores = (ClassScore("cat", 0, 0.55), ClassScore("dog", 1, 0.52), ClassScore("fox", 2, 0.1))
    plan = make_plan([Prediction(photo, scores)], tmp_path / "d", OrganizeOptions(mode=Mode.LINK, topk=3))
    assert sorted(op.folder for op in plan.photo_ops) == ["cat", "dog"]
    top1 = make_plan([Prediction(photo, scores)], tmp_path / "d", OrganizeOptions(mode=Mode.LINK, topk=1))
    assert [op.folder for op in top1.photo_ops] == ["cat"]
    with pytest.raises(SettingsError, match="moving puts each photo in one folder"):
        make_plan([Prediction(photo, scores)], tmp_path / "d", OrganizeOptions(mode=Mode.MOVE, topk=2))


def test_error_rows_missing_files_and_exclusions_go_nowhere_and_are_listed(tree, tmp_path: Path) -> None:
    root, photos = tree
    dest = root / "sorted"  # inside the tree being organized
    dest.mkdir()
    inside = dest / "old.jpg"
    inside.write_bytes(b"organized last time")
    preds = predict(list(photos), ("cat", "dog"), low_every=0)
    preds += [
        Prediction(root / "broken.jpg", error="cannot identify image file"),
        Prediction(root / "gone.jpg", (ClassScore("cat", 0, 0.9),)),
        Prediction(inside, (ClassScore("cat", 0, 0.9),)),
        preds[0],  # the same photo twice (a table with duplicates)
    ]
    excluded_file = sorted(photos)[1]
    plan = make_plan(preds, dest, exclude_folders=["dog"], exclude_files=[excluded_file])
    reasons = {s.path.name: s.reason for s in plan.skipped}
    assert reasons["broken.jpg"] == "cannot identify image file"
    assert reasons["gone.jpg"] == "the file is no longer there"
    assert reasons["old.jpg"] == "already inside the destination folder"
    assert reasons[excluded_file.name] == "excluded"
    assert all(op.folder == "cat" for op in plan.photo_ops)
    assert len(plan.photo_ops) == len([p for p in preds[: len(photos)] if p.top1.label == "cat"])
    assert len({op.source for op in plan.photo_ops}) == len(plan.photo_ops)


def test_existing_sidecars_travel_with_copied_or_moved_photos(tmp_path: Path) -> None:
    photo = tmp_path / "in" / "p.jpg"
    photo.parent.mkdir()
    photo.write_bytes(b"p")
    Path(f"{photo}.xmp").write_text("<x/>")
    pred = [Prediction(photo, (ClassScore("cat", 0, 0.9),))]
    moved = make_plan(pred, tmp_path / "d", OrganizeOptions(mode=Mode.MOVE))
    assert [(op.source.name, op.destination.name, op.companion_of) for op in moved.file_ops] == [
        ("p.jpg", "p.jpg", None),
        ("p.jpg.xmp", "p.jpg.xmp", 0),
    ]
    linked = make_plan(pred, tmp_path / "d", OrganizeOptions(mode=Mode.SYMLINK))
    assert len(linked.file_ops) == 1
    assert isinstance(moved.operations[0], FileOp)
