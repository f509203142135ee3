"""Apply, resume and undo on a generated photo tree: every photo present exactly once, byte for byte."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from resnet_desktop.core.errors import OutputError, SettingsError
from resnet_desktop.core.library import apply, fileops, journal, undo
from resnet_desktop.core.library.organize import Mode, OrganizeOptions, make_plan
from resnet_desktop.core.work import drive
from tests.core.library.tree import assert_each_once, assert_restored, hashes_under, make_tree, predict


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict[Path, str]]:
    root = tmp_path / "photos"
    return root, make_tree(root, 12)


def _plan(root: Path, photos: dict[Path, str], dest: Path, **options: object):
    return make_plan(predict(list(photos), ("cat", "dog")), dest, OrganizeOptions(**options), roots=[root])  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", list(Mode))
def test_apply_then_undo_each_mode(tree, tmp_path: Path, mode: Mode) -> None:
    root, photos = tree
    dest = tmp_path / "sorted"
    plan = _plan(root, photos, dest, mode=mode)
    outcome = apply.organize(plan)
    assert outcome.finished and outcome.done == len(plan.operations) and not outcome.problems
    for op in plan.photo_ops:
        assert op.destination.exists()
        if mode is Mode.COPY:
            assert op.source.exists() and not fileops.same_file(op.source, op.destination)
            assert op.destination.stat().st_mtime_ns == op.source.stat().st_mtime_ns
        elif mode is Mode.MOVE:
            assert not op.source.exists()
        elif mode is Mode.LINK:
            assert fileops.same_file(op.source, op.destination) and not op.destination.is_symlink()
        else:
            assert op.destination.is_symlink() and os.readlink(op.destination) == str(op.source)
    if mode is Mode.MOVE:
        assert_each_once(photos, root, dest)
    result = undo.run(outcome.journal)
    assert result.finished and not result.problems and result.done == len(plan.operations)
    assert_restored(photos)
    assert_each_once(photos, root)
    assert not dest.exists()  # the folders we created are gone again


def test_journal_records_each_operation_before_it_is_done(tree, tmp_path: Path) -> None:
    root, photos = tree
    plan = _plan(root, photos, tmp_path / "sorted", mode=Mode.MOVE)
    path = apply.begin(plan)
    assert path.parent == tmp_path and path.name.startswith(".resnet-desktop-journal-")
    state = journal.read(path)
    assert len(state.ops) == len(plan.operations) and not state.started
    assert state.header["folders"] == {"cat": "cat", "dog": "dog"}
    steps = apply.apply(path)
    next(steps)  # one operation done
    state = journal.read(path)
    assert list(state.done) == [0] and 0 in state.started  # the next ones' starts may share its fsync
    lines = [json.loads(line) for line in path.read_text().splitlines()[len(plan.operations) + 1 :]]
    kinds = [(r["type"], r.get("id")) for r in lines]
    assert kinds.index(("start", 0)) < kinds.index(("done", 0))
    steps.close()


def test_resume_finishes_a_cancelled_apply(tree, tmp_path: Path) -> None:
    import threading

    root, photos = tree
    dest = tmp_path / "sorted"
    plan = _plan(root, photos, dest, mode=Mode.MOVE)
    path = apply.begin(plan)
    cancel = threading.Event()
    steps = apply.apply(path, cancel=cancel)
    for _ in range(5):
        next(steps)
    cancel.set()
    outcome = drive(steps)
    assert outcome.cancelled and outcome.done == 5
    assert_each_once(photos, root, dest)
    again = apply.run(path)
    assert again.finished and again.done == len(plan.operations)
    assert all(op.destination.exists() and not op.source.exists() for op in plan.photo_ops)
    assert_each_once(photos, root, dest)


def test_undo_refuses_a_file_changed_after_the_move_and_restores_the_rest(tree, tmp_path: Path) -> None:
    root, photos = tree
    dest = tmp_path / "sorted"
    plan = _plan(root, photos, dest, mode=Mode.MOVE)
    outcome = apply.organize(plan)
    edited = plan.photo_ops[3]
    edited.destination.write_bytes(b"edited in another program")
    result = undo.run(outcome.journal)
    assert [p for p, _ in result.problems] == [edited.destination]
    assert "changed since it was moved" in result.problems[0][1]
    assert edited.destination.read_bytes() == b"edited in another program"
    assert not edited.source.exists()
    for path, sha in photos.items():
        if path != edited.source:
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    # the refused one is tried again by a second undo, and still refused (nothing is forced)
    assert [p for p, _ in undo.run(outcome.journal).problems] == [edited.destination]
    with pytest.raises(SettingsError, match="was undone"):
        apply.run(outcome.journal)


def test_undo_keeps_a_copy_whose_original_is_gone_and_one_that_was_edited(tree, tmp_path: Path) -> None:
    root, photos = tree
    plan = _plan(root, photos, tmp_path / "sorted")
    outcome = apply.organize(plan)
    gone, edited = plan.photo_ops[0], plan.photo_ops[1]
    gone.source.unlink()
    edited.destination.write_bytes(b"retouched")
    result = undo.run(outcome.journal)
    reasons = dict(result.problems)
    assert "the original" in reasons[gone.destination] and "is gone" in reasons[gone.destination]
    assert "changed since it was copied" in reasons[edited.destination]
    assert hashlib.sha256(gone.destination.read_bytes()).hexdigest() == photos[gone.source]
    assert len(result.problems) == 2 and result.done == len(plan.operations) - 2


def test_a_full_disk_stops_cleanly_and_resume_finishes(tree, tmp_path: Path, monkeypatch) -> None:
    """ENOSPC from the kernel (simulated at fsync, where delayed allocation reports it) on the 4th copy."""
    root, photos = tree
    dest = tmp_path / "sorted"
    plan = _plan(root, photos, dest)
    path = apply.begin(plan)
    real_fsync = os.fsync
    copies: set[str] = set()

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        if target.startswith(str(dest)) and target.endswith(".partial"):
            copies.add(target)
            if len(copies) >= 4:
                raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to tell which file is being synced")
    monkeypatch.setattr(os, "fsync", fsync)
    outcome = apply.run(path)
    assert outcome.stopped is not None and "the disk is full" in outcome.stopped
    assert outcome.done == 3 and len(outcome.problems) == 1
    assert not list(dest.rglob("*.partial"))  # no half-written temp files
    assert_restored(photos)  # the originals are untouched
    assert sum(hashes_under(dest).values()) == 3
    monkeypatch.setattr(os, "fsync", real_fsync)
    again = apply.run(path)
    assert again.finished and again.done == len(plan.operations) and not again.problems
    assert hashes_under(dest) == hashes_under(root)


def test_a_read_only_destination_fails_before_anything_is_touched(tree, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions (the full-disk test covers CI)")
    root, photos = tree
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            apply.begin(_plan(root, photos, locked / "sorted"))
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)
    assert_restored(photos)


def test_move_to_another_file_system_copies_verifies_then_removes(tree, tmp_path: Path, monkeypatch) -> None:
    root, photos = tree
    dest = tmp_path / "sorted"

    def cross_device(source: Path, destination: Path) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(fileops, "rename_no_replace", cross_device)
    plan = _plan(root, photos, dest, mode=Mode.MOVE)
    outcome = apply.organize(plan)
    assert outcome.finished and not outcome.problems
    records = journal.read(outcome.journal).done
    assert {r["how"] for r in records.values()} == {"copied"}
    assert_each_once(photos, root, dest)
    assert undo.run(outcome.journal).finished
    assert_restored(photos)
    assert_each_once(photos, root)


def test_move_across_real_file_systems_when_there_are_two(tree, tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev or not os.access(shm, os.W_OK):
        pytest.skip("no second writable file system (/dev/shm) here")
    root, photos = tree
    dest = Path(tempfile.mkdtemp(dir=shm)) / "sorted"
    try:
        outcome = apply.organize(_plan(root, photos, dest, mode=Mode.MOVE))
        assert {r["how"] for r in journal.read(outcome.journal).done.values()} == {"copied"}
        assert_each_once(photos, root, dest)
        assert undo.run(outcome.journal).finished
        assert_restored(photos)
    finally:
        shutil.rmtree(dest.parent, ignore_errors=True)


def test_a_name_taken_after_planning_gets_the_next_number(tree, tmp_path: Path) -> None:
    root, photos = tree
    dest = tmp_path / "sorted"
    plan = _plan(root, photos, dest)
    path = apply.begin(plan)
    squatter = plan.photo_ops[2].destination
    squatter.parent.mkdir(parents=True, exist_ok=True)
    squatter.write_bytes(b"appeared meanwhile")
    outcome = apply.run(path)
    assert outcome.finished
    assert squatter.read_bytes() == b"appeared meanwhile"
    moved_to = Path(journal.read(path).done[plan.operations.index(plan.photo_ops[2])]["dest"])
    assert moved_to.name.endswith(" (2).jpg")
    undo.run(path)
    assert squatter.read_bytes() == b"appeared meanwhile" and not moved_to.exists()


def test_a_line_cut_short_by_a_crash_is_ignored_and_cut_before_appending(tree, tmp_path: Path) -> None:
    root, photos = tree
    dest = tmp_path / "sorted"
    path = apply.begin(_plan(root, photos, dest, mode=Mode.MOVE))
    with open(path, "ab") as fh:
        fh.write(b'{"type": "start", "id": 0, "de')  # the kernel never confirmed this write
    assert not journal.read(path).started
    outcome = apply.run(path)
    assert outcome.finished
    for line in path.read_text().splitlines():
        json.loads(line)
    assert_each_once(photos, root, dest)


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.jsonl"
    bogus.write_text('{"hello": 1}\n')
    with pytest.raises(SettingsError, match="not a ResNet Desktop organize journal"):
        journal.read(bogus)
    with pytest.raises(SettingsError, match="Cannot read the journal"):
        journal.read(tmp_path / "missing.jsonl")


def test_a_read_only_file_system_is_refused_with_a_plain_reason(tree, tmp_path: Path, monkeypatch) -> None:
    """EROFS from the kernel (simulated: root and CI can write anywhere) when the destination is created."""
    root, photos = tree
    dest = tmp_path / "card" / "sorted"
    real_mkdir = os.mkdir

    def mkdir(path, mode=0o777, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path).startswith(str(tmp_path / "card")):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_mkdir(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    with pytest.raises(OutputError, match="Cannot organize into .*: the folder is on a read-only file system"):
        apply.begin(_plan(root, photos, dest))
    assert not (tmp_path / "card").exists() and not journal.find_journals(tmp_path)
    assert_restored(photos)


def test_hard_links_across_disks_stop_at_once_with_what_works(tree, tmp_path: Path, monkeypatch) -> None:
    root, photos = tree

    def cross_device(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    outcome = apply.organize(_plan(root, photos, tmp_path / "sorted", mode=Mode.LINK))
    assert outcome.stopped is not None and "choose copy or symbolic link" in outcome.stopped
    assert outcome.done == 0 and len(outcome.problems) == 1  # one message, not one per photo
    assert_restored(photos)


@pytest.mark.parametrize("then", ["resume", "undo"])
def test_a_move_to_another_disk_killed_after_the_copy(tree, tmp_path: Path, then: str) -> None:
    """The state a kill leaves between "copy published" and "source removed": both hold the photo."""
    root, photos = tree
    dest = tmp_path / "sorted"
    plan = _plan(root, photos, dest, mode=Mode.MOVE)
    path = apply.begin(plan)
    op = plan.photo_ops[0]
    with journal.JournalWriter(path) as writer:
        for folder in reversed(op.destination.relative_to(dest).parents[:-1]):  # as the applier records them
            (dest / folder).mkdir()
            writer.append({"type": "mkdir", "path": str(dest / folder)})
        writer.append({"type": "start", "id": 0, "dest": str(op.destination), "source_fp": {"size": 1, "mtime_ns": 1}})
    shutil.copy2(op.source, op.destination)
    (op.destination.parent / f".{op.destination.name}.1234abcd.partial").write_bytes(b"half")  # a killed temp file
    if then == "resume":
        assert apply.run(path).finished
        assert not op.source.exists() and op.destination.exists()
        assert_each_once(photos, root, dest)
    else:
        assert undo.run(path).finished
        assert_restored(photos)
        assert_each_once(photos, root)
        assert not dest.exists()
