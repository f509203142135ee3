"""The one atomic writer: all or nothing, never clobbers, normal permissions, special targets."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from resnet_desktop.core import atomic
from resnet_desktop.core.atomic import AtomicFile, atomic_group, write_bytes, write_text
from resnet_desktop.core.errors import OutputError


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_new_files_get_the_permissions_of_any_file_the_user_creates(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        path = write_text(tmp_path / "out.json", "[]\n")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o077)
        private = write_bytes(tmp_path / "private.bin", b"x")
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    finally:
        os.umask(previous)


def test_a_replaced_file_keeps_its_own_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared.csv"
    path.write_text("old")
    path.chmod(0o664)
    write_text(path, "new", overwrite=True)
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o664


def test_existing_files_are_never_replaced_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text("precious")
    with pytest.raises(OutputError, match="already exists"):
        write_text(path, "new")
    out = AtomicFile(tmp_path / "late.txt")
    out.stream.write(b"ours")
    (tmp_path / "late.txt").write_text("appeared meanwhile")  # another program got there first
    with pytest.raises(OutputError, match="already exists"):
        out.commit()
    assert path.read_text() == "precious"
    assert (tmp_path / "late.txt").read_text() == "appeared meanwhile"
    assert _names(tmp_path) == ["late.txt", "mine.txt"]


def test_without_hard_links_the_name_is_claimed_exclusively(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*_args: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(atomic.os, "link", no_links)
    path = write_text(tmp_path / "fat32.txt", "ok")
    assert path.read_text() == "ok"
    with pytest.raises(OutputError, match="already exists"):
        write_text(path, "again")
    assert path.read_text() == "ok" and _names(tmp_path) == ["fat32.txt"]


def test_a_failure_while_writing_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), AtomicFile(path, overwrite=True, text=True) as out:
        out.stream.write("half")
        raise RuntimeError("the run broke")
    assert path.read_text() == "old" and _names(tmp_path) == ["out.txt"]


def test_disk_full_is_one_clear_error_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OutputError, match="the disk is full"):
        write_text(tmp_path / "big.json", "x" * 1000)
    assert _names(tmp_path) == []


def test_a_symbolic_link_is_followed_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_text(link, "new", overwrite=True)
    assert link.is_symlink() and real.read_text() == "new"


def test_special_files_are_written_through_never_renamed_over(tmp_path: Path) -> None:
    devnull = Path(os.devnull)
    write_text(devnull, "discarded", overwrite=True)
    assert stat.S_ISCHR(devnull.stat().st_mode), "/dev/null must stay a device"
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_text(fifo, "through the pipe", overwrite=True)
        assert os.read(reader, 100) == b"through the pipe"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    write_text(devnull, "x")  # a device replaces nothing: no permission to overwrite needed
    assert stat.S_ISCHR(devnull.stat().st_mode)


def test_folders_and_missing_folders_are_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a folder"):
        atomic.check_writable(tmp_path, overwrite=True)
    with pytest.raises(OutputError, match="does not exist"):
        atomic.check_writable(tmp_path / "nope" / "out.csv")


def test_a_group_lands_together_or_not_at_all(tmp_path: Path) -> None:
    weights, sidecar = tmp_path / "m.safetensors", tmp_path / "m.json"
    with pytest.raises(TypeError), atomic_group(AtomicFile(weights), AtomicFile(sidecar, text=True)) as (w, s):
        w.stream.write(b"tensors")
        s.stream.write(1)  # a bug in the middle of writing
    assert _names(tmp_path) == []
    sidecar.write_text("someone else's")
    with pytest.raises(OutputError), atomic_group(AtomicFile(weights), AtomicFile(tmp_path / "m2.json")) as (w, s):
        w.stream.write(b"tensors")
        s.stream.write(b"{}")
        (tmp_path / "m2.json").write_text("appeared meanwhile")
    assert _names(tmp_path) == ["m.json", "m2.json"], "the weights published first were taken back"
    with atomic_group(AtomicFile(weights), AtomicFile(tmp_path / "m3.json")) as (w, s):
        w.stream.write(b"tensors")
        s.stream.write(b"{}")
    assert weights.read_bytes() == b"tensors" and (tmp_path / "m3.json").read_bytes() == b"{}"
