"""Library folders through the front door: the folder list (user data), status counts, a pass that
classifies new, changed and moved photos and prunes deleted ones, offline folders, dates taken."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.library.api import (
    FolderModels,
    FolderStoreError,
    add_folder,
    browse_library,
    clear_index,
    folder_statuses,
    get_folder,
    list_folders,
    remove_folder,
    scan_folders,
    set_default_model,
    set_folder_model,
)
from resnet_desktop.core.library.folders import FolderStore, default_folders_path
from resnet_desktop.core.library.index import default_index_path
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.work import drive
from tests.core.library.photos import make_photos, structured_photo


@pytest.fixture
def ref(resnet18_weights: Path) -> ModelRef:
    return ModelRef("resnet18", file=resnet18_weights)


@pytest.fixture(scope="module")
def models() -> FolderModels:
    """One model for the module (loading it is the slow part); CPU, one thread, small batches."""
    return FolderModels("cpu", threads=1, batch_size=4)


def _status(folder: Path) -> dict[str, object]:
    [status] = folder_statuses([folder])
    return status.to_dict()


def test_the_folder_list_is_user_data_beside_the_index_and_survives_clearing_the_index(
    tmp_path: Path, ref: ModelRef, resnet18_weights: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    folder = add_folder(photos, ref)
    assert folder.model == f"resnet18:{resnet18_weights}"  # a file by its absolute path: the watcher runs anywhere
    index = default_index_path()
    assert index is not None and default_folders_path() == index.with_name("library-folders.sqlite3")
    clear_index()
    assert [f.path for f in list_folders()] == [photos]
    set_folder_model(photos, ModelRef("resnet34", "random"))
    assert get_folder(photos).model == "resnet34:random"
    remove_folder(photos)
    assert list_folders() == []
    assert photos.is_dir()  # nothing of the person's is touched


def test_adding_uses_the_apps_model_unless_one_is_given(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert add_folder(tmp_path / "a").model == "resnet50"  # nothing chosen anywhere: the default model
    set_default_model(ModelRef("resnet18", "random"))  # what the app records as its active model
    assert add_folder(tmp_path / "b").model == "resnet18:random"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: t / "missing", "does not exist"),
        (lambda t: t / "photos" / "p.jpg", "is a file, not a folder; add the folder that holds it"),
        (lambda t: t / "photos", "is already in the library"),
        (lambda t: t / "photos" / "sub", "is inside the library folder"),
        (lambda t: t, "holds the library folder"),
    ],
)
def test_a_folder_that_cannot_be_added_is_refused_saying_why(tmp_path: Path, make, message: str) -> None:
    (tmp_path / "photos" / "sub").mkdir(parents=True)
    (tmp_path / "photos" / "p.jpg").write_bytes(b"x")
    add_folder(tmp_path / "photos")
    with pytest.raises(SettingsError, match=message):
        add_folder(make(tmp_path))
    assert len(list_folders()) == 1


def test_a_folder_that_is_not_in_the_library_is_named_in_the_refusal(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"is not a library folder \(see 'resnet-desktop library list'\)"):
        remove_folder(tmp_path)


def test_a_damaged_folder_list_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = default_folders_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a database at all " * 100)
    with pytest.raises(FolderStoreError, match="is damaged .* it was left untouched"):
        list_folders()
    assert path.read_bytes() == b"not a database at all " * 100


def test_a_newer_folder_list_is_refused(tmp_path: Path) -> None:
    with FolderStore() as store:
        store._db.execute("PRAGMA user_version = 99")
    with pytest.raises(FolderStoreError, match="written by a newer version"):
        list_folders()


def test_status_counts_photos_pending_and_skipped_by_type_and_a_pass_indexes_them(
    tmp_path: Path, ref: ModelRef, models: FolderModels
) -> None:
    folder = tmp_path / "photos"
    make_photos(folder, 3, size=(64, 48))
    make_photos(folder / "2023", 2, start=10, size=(64, 48))
    (folder / "IMG_1.CR2").write_bytes(b"raw")
    (folder / "IMG_2.nef").write_bytes(b"raw")
    (folder / "clip.mp4").write_bytes(b"video")
    (folder / "photo_000.jpg.xmp").write_text("<x/>")  # a sidecar: neither a photo nor skipped
    (folder / ".hidden.jpg").write_bytes(b"x")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    add_folder(folder, ref)
    before = _status(folder)
    assert (before["files"], before["indexed"], before["pending"], before["errors"]) == (6, 0, 6, 0)
    assert before["skipped"] == 3 and before["skipped_by_type"] == {"cr2": 1, "mp4": 1, "nef": 1}
    assert before["offline"] is False

    [result] = drive(scan_folders(models))
    assert (result.new, result.failed, result.from_index) == (6, 1, 0)
    after = _status(folder)
    assert (after["files"], after["indexed"], after["pending"], after["errors"]) == (6, 5, 0, 1)
    assert result.status.to_dict() == after  # what the pass reports is what a fresh look says

    [again] = drive(scan_folders(models))
    assert (again.new, again.from_index) == (0, 0)  # nothing pending: nothing looked up or classified


def test_a_pass_classifies_new_and_changed_photos_follows_renames_and_prunes_deleted_ones(
    tmp_path: Path, ref: ModelRef, models: FolderModels
) -> None:
    folder = tmp_path / "photos"
    paths = make_photos(folder, 6, size=(64, 48))
    add_folder(folder, ref)
    drive(scan_folders(models))
    (folder / "renamed").mkdir()
    paths[0].rename(folder / "renamed" / "first.jpg")  # a move: found by inode
    paths[1].unlink()
    paths[2].unlink()
    structured_photo(77, (64, 48)).save(paths[3], quality=92)  # changed in place
    os.utime(paths[3], ns=(0, os.stat(paths[3]).st_mtime_ns + 10**9))
    make_photos(folder, 2, start=50, size=(64, 48))

    [result] = drive(scan_folders(models))
    assert (result.new, result.from_index, result.moved, result.pruned) == (3, 1, 1, 2)
    status = result.status
    assert (status.files, status.indexed, status.pending) == (6, 6, 0)
    view = browse_library([folder])
    assert sorted(p.path.name for p in view.rows) == sorted(p.name for p in folder.rglob("*.jpg"))


def test_an_unmounted_drive_is_offline_and_nothing_of_it_is_pruned(
    tmp_path: Path, ref: ModelRef, models: FolderModels
) -> None:
    mount = tmp_path / "usb"
    make_photos(mount, 3, size=(64, 48))
    add_folder(mount, ref)
    drive(scan_folders(models))
    aside = tmp_path / "usb-away"
    mount.rename(aside)  # the drive is unplugged: the folder is gone
    [result] = drive(scan_folders(models))
    assert result.status.offline and "not there" in result.status.offline_reason
    status = _status(mount)
    assert status["offline"] is True and status["indexed"] == 3  # what the index holds is kept
    mount.mkdir()  # the empty mount point of an unmounted drive
    [result] = drive(scan_folders(models))
    assert result.status.offline and "the folder is empty but" in result.status.offline_reason
    mount.rmdir()
    aside.rename(mount)  # plugged in again: every photo still comes from the index
    [result] = drive(scan_folders(models))
    assert not result.status.offline and result.new == 0 and result.status.indexed == 3


def _with_date(path: Path, date: str) -> None:
    image = structured_photo(hash(path.name) % 1000, (64, 48))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = date
    image.save(path, exif=exif, quality=90)


def test_browsing_sorts_by_the_date_taken_and_filters_a_date_range(
    tmp_path: Path, ref: ModelRef, models: FolderModels
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    _with_date(folder / "summer.jpg", "2023:07:14 18:03:22")
    _with_date(folder / "winter.jpg", "2022:12:24 09:00:00")
    _with_date(folder / "spring.jpg", "2024:04:01 12:00:00")
    make_photos(folder, 1, size=(64, 48))  # no EXIF date
    add_folder(folder, ref)
    [result] = drive(scan_folders(models))
    assert result.dated == 4
    view = browse_library()
    assert [p.path.name for p in view.rows] == ["spring.jpg", "summer.jpg", "winter.jpg", "photo_000.jpg"]
    assert view.taken[str(folder / "summer.jpg")] == "2023-07-14T18:03:22"
    assert view.taken[str(folder / "photo_000.jpg")] == ""
    ranged = browse_library(taken_from="2023-01-01", taken_to="2023-12-31")
    assert [p.path.name for p in ranged.rows] == ["summer.jpg"]
    assert [p.path.name for p in browse_library(taken_to="2022-12-24").rows] == ["winter.jpg"]  # the whole last day


def test_two_library_folders_each_keep_their_own_model(tmp_path: Path, ref: ModelRef, models: FolderModels) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    make_photos(first, 2, size=(64, 48))
    make_photos(second, 2, start=20, size=(64, 48))
    add_folder(first, ref)
    add_folder(second, ModelRef("resnet18", "random"))
    results = drive(scan_folders(models))
    assert [r.new for r in results] == [2, 2]
    view = browse_library()
    assert len(view.rows) == 4 and len(set(view.models.values())) == 2
    with sqlite3.connect(default_index_path()) as db:  # type: ignore[arg-type]
        assert db.execute("SELECT count(*) FROM models").fetchone()[0] == 2
    shutil.rmtree(second)
    second.mkdir()
    assert _status(second)["offline"] is True  # emptied: treated as an unmounted drive, not pruned
