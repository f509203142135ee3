"""The store of label sets, classes and labels: names checked, classes in hotkey order, a label
follows its photo through an edit, the schema migrates after a backup, the front door is light."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.library.migrate import migrate
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.teach import api
from resnet_desktop.core.teach.split import MIN_KEPT_PER_CLASS, cap, fold_of, split
from resnet_desktop.core.work import drive
from tests.core.teach.conftest import Teaching
from tests.digits import digits, draw
from tests.helpers import REPO_ROOT


def test_sets_and_classes_are_named_and_ordered_as_the_person_says(tmp_path: Path) -> None:
    with api.open_store(tmp_path / "user.sqlite3") as store:
        info = api.create_set(store, "  Pets ", classes=["Rex", "cats", "none of these"])
        assert info.name == "Pets" and [(c.name, c.position) for c in info.classes] == [
            ("Rex", 0),
            ("cats", 1),
            ("none of these", 2),
        ]
        with pytest.raises(TeachError, match="There is already a label set called 'Pets'"):
            api.create_set(store, "Pets")
        with pytest.raises(TeachError, match="A class name cannot hold control characters"):
            api.add_class(store, "Pets", "bad\nname")
        with pytest.raises(TeachError, match="A label set needs a name"):
            api.create_set(store, "   ")
        with pytest.raises(TeachError, match="has at most 100 characters"):
            api.add_class(store, "Pets", "x" * 101)
        api.add_class(store, "Pets", "birds", colour="#ff8800")
        api.rename_class(store, "Pets", "cats", "Cats")
        with pytest.raises(TeachError, match="already has a class called 'Rex'"):
            api.rename_class(store, "Pets", "Cats", "Rex")
        listed = r"its classes: Rex, Cats, none of these, birds"
        with pytest.raises(TeachError, match=rf"no class called 'dogs' \({listed}\)"):
            api.label_photos(store, "Pets", [], "dogs")
        assert [c.colour for c in api.set_info(store, "Pets").classes] == [None, None, None, "#ff8800"]
        api.rename_set(store, "Pets", "Animals")
        with pytest.raises(TeachError, match="There is no label set called 'Pets'; the label sets are: Animals"):
            api.set_info(store, "Pets")


def test_labeling_counts_what_changed_and_clears(tmp_path: Path) -> None:
    from PIL import Image

    photos = []
    for i in range(3):
        path = tmp_path / f"p{i}.png"
        Image.new("RGB", (4, 4), (i, 0, 0)).save(path)
        photos.append(path)
    with api.open_store(tmp_path / "user.sqlite3") as store:
        api.create_set(store, "s", classes=["a", "b"])
        first = api.label_photos(store, "s", [*photos[:2], tmp_path / "missing.png"], "a")
        assert (first.labeled, first.unchanged) == (2, 0)
        assert [p for p, _reason in first.skipped] == [tmp_path / "missing.png"]
        again = api.label_photos(store, "s", photos, "a")
        assert (again.labeled, again.unchanged) == (1, 2)
        moved = api.label_photos(store, "s", photos[:1], "b")
        assert moved.labeled == 1 and {c.name: c.labeled for c in api.set_info(store, "s").classes} == {"a": 2, "b": 1}
        cleared = api.label_photos(store, "s", photos[:2], None)
        assert (cleared.cleared, cleared.unchanged) == (2, 0)
        assert [label.path for label in api.labels_of(store, "s")] == [photos[2]]
        assert api.delete_class(store, "s", "a") == 1 and api.labels_of(store, "s") == []


def test_an_edited_photos_label_follows_it(teaching: Teaching, tmp_path: Path) -> None:
    t = teaching
    drive(api.import_labels(t.store, t.world.train, "digits", index=t.index))
    images, _ = digits()
    photo = tmp_path / "mine" / "seven.png"
    photo.parent.mkdir()
    draw(images[7], seed=1).save(photo)  # type: ignore[attr-defined]
    api.label_photos(t.store, "digits", [photo], "seven")
    drive(api.teach(t.store, t.index, "digits", base=ModelRef(file=t.world.model)))
    before = {label.path: label.sha256 for label in api.labels_of(t.store, "digits")}[photo]
    draw(images[7], seed=999).save(photo)  # type: ignore[attr-defined]  # an edit: new content, same place
    report = drive(api.teach(t.store, t.index, "digits"))  # embeds the edited photo again (by its path)
    assert report.embeddings.computed == 1
    labels = {label.path: label for label in api.labels_of(t.store, "digits")}
    assert len(labels) == 101 and labels[photo].class_name == "seven" and labels[photo].sha256 != before
    assert report.fit.without_embedding == 0


def test_the_cap_keeps_every_class_and_the_split_never_moves() -> None:
    import hashlib

    shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(3000)]
    classes = ["big"] * 2950 + ["small"] * 50
    kept = cap(shas, classes, limit=1000)
    names = [classes[i] for i in kept]
    assert names.count("small") == 50 and names.count("big") == 983
    first = split(shas[:100], classes[:100])
    grown = split(shas, classes)
    assert [fold_of(s) for s in shas[:100]] == first.folds.tolist()
    assert grown.held_out[:100].tolist() == first.held_out.tolist()  # a held-out label stays held out
    assert 0.15 < grown.held_out.mean() < 0.25
    assert MIN_KEPT_PER_CLASS <= 100


def test_a_migration_backs_the_file_up_first(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    assert migrate(db, path, ["CREATE TABLE a (x)"]) is None  # a new file needs no backup
    db.execute("INSERT INTO a VALUES (1)")
    backup = migrate(db, path, ["CREATE TABLE a (x)", "CREATE TABLE b (y)"])
    assert backup == tmp_path / "f.sqlite3.v1-backup"
    old = sqlite3.connect(backup)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1 and old.execute("SELECT x FROM a").fetchall() == [(1,)]
    with pytest.raises(sqlite3.OperationalError):
        migrate(db, path, ["CREATE TABLE a (x)", "CREATE TABLE b (y)", "NOT SQL"])
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2  # rolled back, and its backup gone
    assert not (tmp_path / "f.sqlite3.v2-backup").exists()


def test_the_front_door_imports_neither_torch_nor_qt() -> None:
    code = "import sys, resnet_desktop.core.teach.api; print('torch' in sys.modules, 'PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
