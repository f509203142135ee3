"""The library index through the CLI: reuse, changed and renamed files, corrupt files, schema."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from resnet_desktop.cli import main
from resnet_desktop.core.library.index import SCHEMA_VERSION, LibraryIndex, default_index_path
from tests.core.library.photos import make_photos, structured_photo


def _args(weights: Path, *extra: str) -> list[str]:
    return ["--model", "resnet18", "--weights", str(weights), "--device", "cpu", "--batch-size", "2", *extra]


def _classify(folder: Path, weights: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[list[dict], str]:
    code = main(["classify", str(folder), *_args(weights, "--format", "json", *extra)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out), err


def _same(a: list[dict], b: list[dict]) -> None:
    assert [r["path"] for r in a] == [r["path"] for r in b]
    for x, y in zip(a, b, strict=True):
        assert [p["label"] for p in x["predictions"]] == [p["label"] for p in y["predictions"]]
        for p, q in zip(x["predictions"], y["predictions"], strict=True):
            assert p["probability"] == pytest.approx(q["probability"], abs=1e-5)


def test_second_run_comes_from_the_index_and_a_changed_file_is_classified_again(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    paths = make_photos(folder, 4)
    first, err = _classify(folder, resnet18_weights, capsys)
    assert "From the library index: 0; newly classified: 4." in err
    index_file = default_index_path()
    assert index_file is not None and index_file.is_file()
    assert index_file.is_relative_to(Path(os.environ["XDG_DATA_HOME"]))

    again, err = _classify(folder, resnet18_weights, capsys)
    assert "From the library index: 4; newly classified: 0." in err
    _same(again, first)  # the stored table is the computed one

    structured_photo(99).save(paths[1], quality=92)  # a different picture under the same name
    os.utime(paths[1], ns=(os.stat(paths[1]).st_atime_ns, os.stat(paths[1]).st_mtime_ns + 5_000_000_000))
    changed, err = _classify(folder, resnet18_weights, capsys)
    assert "From the library index: 3; newly classified: 1." in err
    reference, err = _classify(folder, resnet18_weights, capsys, "--no-index")
    assert "library index" not in err
    _same(changed, reference)
    assert changed[1]["predictions"] != first[1]["predictions"]


def test_no_index_neither_reads_nor_writes(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    make_photos(folder, 2)
    _classify(folder, resnet18_weights, capsys, "--no-index")
    index_file = default_index_path()
    assert index_file is not None and not index_file.exists()


def test_renamed_and_moved_files_are_found_by_content(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    paths = make_photos(folder, 3)
    first, _err = _classify(folder, resnet18_weights, capsys)
    paths[0].rename(folder / "renamed.jpg")  # same inode: found without hashing
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy2(paths[1], elsewhere / "copy.jpg")  # a copy: found by its SHA-256
    paths[1].unlink()
    again, err = _classify(folder, resnet18_weights, capsys)
    assert "From the library index: 2 (1 moved or renamed); newly classified: 0." in err
    copied, err = _classify(elsewhere, resnet18_weights, capsys)
    assert "From the library index: 1 (1 moved or renamed); newly classified: 0." in err
    by_name = {Path(r["path"]).name: r["predictions"] for r in first}
    assert {Path(r["path"]).name: r["predictions"] for r in again}["renamed.jpg"] == by_name["photo_000.jpg"]
    assert copied[0]["predictions"] == by_name["photo_001.jpg"]
    index_file = default_index_path()
    assert index_file is not None
    with LibraryIndex(index_file) as index:
        # both rows followed their files (the originals are gone): nothing stale is left behind
        assert sorted(Path(p).name for p in index.folders()) == ["elsewhere", "photos"]
        assert index.info().files == 3


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_index_is_reported_moved_aside_and_the_run_goes_on(
    damage: str, tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    make_photos(folder, 2)
    _classify(folder, resnet18_weights, capsys)
    index_file = default_index_path()
    assert index_file is not None
    with LibraryIndex(index_file) as index:
        index._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = index_file.read_bytes()
    index_file.write_bytes(b"this is not a database " * 200 if damage == "garbage" else data[: len(data) // 2])
    records, err = _classify(folder, resnet18_weights, capsys)
    assert len(records) == 2
    assert "resnet-desktop classify: warning: The library index" in err
    assert "was damaged" in err and "moved aside" in err
    assert "Traceback" not in err
    aside = [p for p in index_file.parent.iterdir() if ".corrupt-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1  # kept, never deleted
    assert "newly classified: 2." in err  # the new index starts empty
    with LibraryIndex(index_file) as index:
        assert index.integrity() == "ok"
        assert index.info().results == 2


def test_an_unusable_index_location_is_a_warning_not_a_failure(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "photos"
    make_photos(folder, 1)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RESNET_DESKTOP_INDEX", str(blocker / "index.sqlite3"))
    records, err = _classify(folder, resnet18_weights, capsys)
    assert len(records) == 1
    assert "warning: The library index" in err and "cannot be opened" in err


def test_schema_is_versioned_and_a_newer_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    with LibraryIndex(path) as index:
        assert index._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert index._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    from resnet_desktop.core.library.index import LibraryIndexError

    with pytest.raises(LibraryIndexError, match="newer version"):
        LibraryIndex(path)
    assert path.exists()  # a newer index is never moved aside or touched


def test_progress_reaches_the_total_with_hits_and_misses(tmp_path: Path, resnet18_weights: Path) -> None:
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.library.incremental import IndexedRun
    from resnet_desktop.core.library.index import ModelIdentity
    from resnet_desktop.core.models.zoo import load_model

    folder = tmp_path / "photos"
    paths = make_photos(folder, 5)
    loaded = load_model("resnet18", resnet18_weights)
    engine = Engine(loaded, "cpu", batch_size=2)
    with LibraryIndex(tmp_path / "index.sqlite3") as index:
        identity = ModelIdentity.of(loaded, "fp32")
        list(IndexedRun(engine, index, identity).classify(paths[:2]))
        seen = []
        run = IndexedRun(engine, index, identity)
        items = list(run.classify(paths, progress=seen.append))
    assert [i.source for i in items] == ["index", "index", "new", "new", "new"]
    assert [p.path for p in (i.prediction for i in items)] == paths
    assert seen[-1].done == seen[-1].total == 5  # the last engine batch is reported too
    assert all(i.prediction.embedding is None for i in items)  # vectors stay in the index


def test_a_locked_index_is_a_notice_and_the_run_classifies_without_it(tmp_path: Path, resnet18_weights: Path) -> None:
    from resnet_desktop.core.inference.engine import Engine
    from resnet_desktop.core.library.incremental import IndexedRun
    from resnet_desktop.core.library.index import ModelIdentity
    from resnet_desktop.core.models.zoo import load_model

    paths = make_photos(tmp_path / "photos", 3)
    loaded = load_model("resnet18", resnet18_weights)
    path = tmp_path / "index.sqlite3"
    LibraryIndex(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        with LibraryIndex(path, timeout_s=0.2) as index:
            run = IndexedRun(Engine(loaded, "cpu", batch_size=2), index, ModelIdentity.of(loaded, "fp32"))
            items = list(run.classify(paths))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [i.source for i in items] == ["new"] * 3 and all(i.prediction.ok for i in items)
    assert run.index is None
    assert run.counts.notices == [f"The library index {path} stayed locked by another program; going on without it."]


def test_a_failure_about_the_file_is_remembered_until_it_changes_and_one_about_the_machine_is_not(
    tmp_path: Path,
) -> None:
    """`similar`/`duplicates` said "Indexed 2 new file(s)" on every run: the unreadable files were decoded again."""
    from resnet_desktop.core.images.reasons import NOT_AN_IMAGE, TRUNCATED
    from resnet_desktop.core.inference.records import Prediction
    from resnet_desktop.core.library.index import FileStat, ModelIdentity

    broken, locked = tmp_path / "broken.jpg", tmp_path / "locked.jpg"
    broken.write_bytes(b"not a jpeg at all")
    locked.write_bytes(b"\xff\xd8\xff")
    from resnet_desktop.core.library.index import BackboneIdentity

    backbone = BackboneIdentity("resnet18", "tensors:x", "{}", "fp32", "test")
    identity = ModelIdentity("resnet18", "random:0", "{}", "test", "x", "fp32", backbone)
    index = LibraryIndex(tmp_path / "index.db")
    try:
        model = index.model_id(identity)
        stored = [
            (FileStat.of(broken), None, Prediction(path=broken, error=NOT_AN_IMAGE)),
            (FileStat.of(locked), None, Prediction(path=locked, error="permission denied (cannot read the file)")),
        ]
        index.store(model, 5, stored)
        hit = index.lookup(FileStat.of(broken), model, 5)
        assert hit is not None and hit.prediction.error == NOT_AN_IMAGE and not hit.prediction.ok
        assert index.lookup(FileStat.of(locked), model, 5) is None, "the permission may be fixed: try again"
        broken.write_bytes(b"still not a jpeg, but other bytes")
        assert index.lookup(FileStat.of(broken), model, 5) is None, "a changed file is tried again"
        index.store(model, 5, [(FileStat.of(broken), None, Prediction(path=broken, error=TRUNCATED))])
        assert index.lookup(FileStat.of(broken), model, 5) is not None
    finally:
        index.close()


def test_similar_on_a_folder_with_unreadable_files_indexes_nothing_twice(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    make_photos(folder, 3)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    args = ["duplicates", str(folder), "--model", "resnet18", "--weights", str(resnet18_weights), "--format", "json"]
    assert main(args) == 1
    first = capsys.readouterr().err
    assert "Indexed 3 new photo(s)" in first and "1 file(s) could not be read:" in first
    assert main(args) == 1
    again = capsys.readouterr().err
    assert "Indexed" not in again, "nothing new: the failure is remembered, not decoded again"
    assert "1 file(s) could not be read:" in again and "broken.jpg" in again
