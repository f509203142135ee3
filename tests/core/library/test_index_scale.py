"""The index at library scale: lookups streamed in chunks (the first row before the rest is looked up),
opening a big index without reading all of it, a damaged big index still moved aside, sessions of one
app run reopened together, EXIF dates read from headers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from resnet_desktop.core.images.taken import date_taken, parse_exif_date
from resnet_desktop.core.inference.records import ClassScore, Prediction
from resnet_desktop.core.library import index_db
from resnet_desktop.core.library.incremental import FIRST_CHUNK, IndexedRun
from resnet_desktop.core.library.index import BackboneIdentity, FileStat, LibraryIndex, ModelIdentity
from resnet_desktop.core.library.sessions import reopen_last
from tests.core.library.photos import make_photos

IDENTITY = ModelIdentity(
    "resnet18", "test", "{}", "test model", "cats", "fp32", BackboneIdentity("resnet18", "test", "{}", "fp32", "test")
)
SCORE = (ClassScore("tabby", 281, 0.9),)


def _no_engine() -> object:
    raise AssertionError("known files must not need the model")


def _known(index: LibraryIndex, paths: list[Path]) -> None:
    model_id = index.model_id(IDENTITY)
    index.store(model_id, 1, [(FileStat.of(p), None, Prediction(p, SCORE)) for p in paths])


def test_the_first_row_comes_after_one_small_chunk_of_lookups_not_after_all_of_them(tmp_path: Path) -> None:
    paths = make_photos(tmp_path / "photos", 3 * FIRST_CHUNK, size=(48, 36))
    pulled: list[Path] = []

    def source() -> Iterator[Path]:
        for path in paths:
            pulled.append(path)
            yield path

    with LibraryIndex(tmp_path / "index.sqlite3") as index:
        _known(index, paths)
        run = IndexedRun(_no_engine, index, IDENTITY, topk=1)  # type: ignore[arg-type]
        rows = run.classify(source())
        first = next(rows)
        assert first.prediction.path == paths[0] and first.from_index
        assert len(pulled) == FIRST_CHUNK  # not 96: the rest is looked up as it is needed
        assert [r.prediction.path for r in rows] == paths[1:]  # all of them, in order
        assert run.counts.from_index == len(paths)


def test_a_batch_lookup_answers_like_one_lookup_per_file(tmp_path: Path) -> None:
    paths = make_photos(tmp_path / "photos", 4, size=(48, 36))
    with LibraryIndex(tmp_path / "index.sqlite3") as index:
        _known(index, paths[:2])
        model_id = index.model_id(IDENTITY)
        paths[1].write_bytes(paths[1].read_bytes() + b"changed")  # changed: not a hit
        stats = [FileStat.of(p) for p in paths]
        many = index.lookup_many(stats, model_id, 1)
        assert [h is not None for h in many] == [True, False, False, False]
        assert [index.lookup(s, model_id, 1) is not None for s in stats] == [True, False, False, False]
        assert index.lookup_many(stats, model_id, 5) == [None] * 4  # stored with top-1 only: not deep enough


def test_a_big_index_opens_without_its_integrity_check_and_one_found_damaged_is_checked_next_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index.sqlite3"
    with LibraryIndex(path) as index:
        _known(index, make_photos(tmp_path / "photos", 2, size=(48, 36)))
    checks: list[str] = []
    monkeypatch.setattr(index_db, "CHECK_ON_OPEN_BYTES", 0)  # every index is "big" now
    real_connect = sqlite3.connect

    def spying_connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        db = real_connect(*args, **kwargs)  # type: ignore[arg-type]
        db.set_trace_callback(lambda sql: checks.append(sql) if "quick_check" in sql else None)
        return db

    monkeypatch.setattr(sqlite3, "connect", spying_connect)
    LibraryIndex(path).close()
    assert checks == []  # opened without reading every page
    with LibraryIndex(path) as index:
        index.suspect(sqlite3.DatabaseError("database disk image is malformed"))  # what a failing query reports
        index.suspect(sqlite3.OperationalError("database is locked"))  # not damage
    assert index_db.check_flag(path).exists()
    LibraryIndex(path).close()
    assert checks == ["PRAGMA quick_check"] and not index_db.check_flag(path).exists()


def test_reopen_last_session_brings_back_every_session_of_the_last_app_run(tmp_path: Path) -> None:
    a = make_photos(tmp_path / "a", 2, size=(48, 36))
    b = make_photos(tmp_path / "b", 3, start=5, size=(48, 36))
    c = make_photos(tmp_path / "c", 1, start=9, size=(48, 36))
    with LibraryIndex(tmp_path / "index.sqlite3") as index:
        _known(index, a + b + c)
        model_id = index.model_id(IDENTITY)
        index.add_session(model_id, [tmp_path / "c"], 1, run="yesterday")
        index.add_session(model_id, [tmp_path / "a"], 1, run="today")
        index.add_session(model_id, [tmp_path / "b"], 1, run="today")
        reopened = reopen_last(index)
        assert reopened is not None
        assert sorted(r.path.name for r in reopened.rows) == sorted(p.name for p in a + b)
        index.add_session(model_id, [tmp_path / "c"], 1)  # a CLI run: a session of its own
        reopened = reopen_last(index)
        assert reopened is not None and [r.path for r in reopened.rows] == c


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023:07:14 18:03:22", "2023-07-14T18:03:22"),
        ("2023-07-14 18:03", "2023-07-14T18:03:00"),
        ("2023:07:14", "2023-07-14T00:00:00"),
        (b"2001:01:02 03:04:05\x00", "2001-01-02T03:04:05"),
        ("0000:00:00 00:00:00", ""),
        ("    :  :     :  :  ", ""),
        ("2023:13:01 00:00:00", ""),
        (None, ""),
    ],
)
def test_exif_dates_are_read_as_iso_text_and_blank_ones_are_none(text: object, expected: str) -> None:
    assert parse_exif_date(text) == expected


def test_date_taken_prefers_the_original_date_and_survives_a_file_without_exif(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0132] = "2020:01:01 00:00:00"  # DateTime (last changed)
    exif.get_ifd(0x8769)[0x9003] = "2019:08:15 12:30:00"  # DateTimeOriginal
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg", exif=exif)
    Image.new("RGB", (8, 8)).save(tmp_path / "b.png")
    (tmp_path / "c.jpg").write_bytes(b"\xff\xd8\xff broken")
    assert date_taken(tmp_path / "a.jpg") == "2019-08-15T12:30:00"
    assert date_taken(tmp_path / "b.png") == ""
    assert date_taken(tmp_path / "c.jpg") == ""
