"""``resnet-desktop library watch`` with a real watcher (inotify through watchdog) in its own process:
changes show in the index within seconds; a watcher killed mid-run loses nothing and classifies
nothing twice; where the OS refuses a watch, the folder is scanned periodically and it says so."""

from __future__ import annotations

import errno
import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from resnet_desktop.cli import main
from resnet_desktop.core.library.api import (
    FolderModels,
    FolderSynced,
    WatchNotice,
    add_folder,
    folder_statuses,
    watch_library,
)
from resnet_desktop.core.library.incremental import PAUSE_ENV
from resnet_desktop.core.library.index import default_index_path
from resnet_desktop.core.models.ref import ModelRef
from tests.core.library.photos import make_photos
from tests.helpers import REPO_ROOT

#: Importing torch in a new process takes a minute on a loaded 2-core machine; the watcher's own
#: reaction (what the issue bounds at 10 s) is timed from the last file operation.
START_TIMEOUT_S = 300
REACTION_S = 10.0


class Watcher:
    """``library watch --format json`` in a child process; its JSON lines arrive on a queue."""

    def __init__(self, env: dict[str, str]) -> None:
        command = [sys.executable, "-m", "resnet_desktop", "library", "watch", "--format", "json",
                   "--device", "cpu", "--threads", "1", "--batch-size", "4", "--priority", "normal"]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.events: queue.Queue[dict[str, object]] = queue.Queue()
        self.seen: list[dict[str, object]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(json.loads(line))

    def wait_for(self, wanted: str, timeout: float, **match: object) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.seen.append(event)
            if event["event"] == wanted and all(event.get(k) == v for k, v in match.items()):
                return event
        stderr = self.process.stderr.read() if self.process.poll() is not None and self.process.stderr else ""
        raise AssertionError(f"no {wanted} event {match} in {timeout} s; saw {self.seen[-5:]}; {stderr}")

    def synced_up_to_date(self, timeout: float) -> dict[str, object]:
        while True:
            event = self.wait_for("synced", timeout)
            status = event["status"]
            assert isinstance(status, dict)
            if status["pending"] == 0 and not event["interrupted"]:
                return event

    def stop(self) -> tuple[int, float]:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        return code, time.monotonic() - started

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


@pytest.fixture
def watchers() -> Iterator[list[Watcher]]:
    started: list[Watcher] = []
    yield started
    for watcher in started:
        if watcher.process.poll() is None:
            watcher.kill()


def _status(capsys: pytest.CaptureFixture[str], folder: Path) -> dict[str, object]:
    assert main(["library", "status", str(folder), "--format", "json"]) == 0
    [status] = json.loads(capsys.readouterr().out)
    return status  # type: ignore[no-any-return]


def _results(index_file: Path) -> dict[str, float]:
    with sqlite3.connect(f"file:{index_file}?mode=ro", uri=True, timeout=10) as db:
        rows = db.execute("SELECT f.path, r.updated FROM files f JOIN results r ON r.file_id = f.id").fetchall()
    return {str(p): float(u) for p, u in rows}


def test_a_real_watcher_indexes_copies_renames_and_deletions_within_seconds(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str], watchers: list[Watcher]
) -> None:
    folder, staging = tmp_path / "photos", tmp_path / "staging"
    originals = make_photos(folder, 10, size=(64, 48))
    arriving = make_photos(staging, 20, start=100, size=(64, 48))
    add_folder(folder, ModelRef("resnet18", file=resnet18_weights))
    watcher = Watcher(dict(os.environ))
    watchers.append(watcher)
    first = watcher.synced_up_to_date(START_TIMEOUT_S)
    assert first["new"] == 10

    for photo in arriving:
        shutil.copy2(photo, folder / photo.name)
    (folder / "renamed").mkdir()
    for photo in originals[:5]:
        photo.rename(folder / "renamed" / f"r_{photo.name}")
    for photo in originals[5:8]:
        photo.unlink()
    changed_at = time.monotonic()
    expected = {"files": 27, "indexed": 27, "pending": 0, "errors": 0, "offline": False}
    status: dict[str, object] = {}
    while time.monotonic() - changed_at < REACTION_S:
        status = _status(capsys, folder)
        if {k: status[k] for k in expected} == expected:
            break
        time.sleep(0.25)
    reacted_s = time.monotonic() - changed_at
    assert {k: status[k] for k in expected} == expected, f"after {reacted_s:.1f} s: {status}"

    passes = [e for e in watcher.seen if e["event"] == "synced"][1:]
    while sum(int(e["new"]) for e in passes) < 20 or sum(int(e["pruned"]) for e in passes) < 3:
        passes.append(watcher.wait_for("synced", REACTION_S))  # the JSON line may trail the commit
    assert sum(int(e["new"]) for e in passes) == 20  # the copies; the renamed ones came from the index
    assert sum(int(e["moved"]) for e in passes) == 5
    assert sum(int(e["pruned"]) for e in passes) == 3

    assert (
        main(["classify", str(folder), "--weights", str(resnet18_weights), "--device", "cpu", "--format", "csv"]) == 0
    )
    assert "From the library index: 27; newly classified: 0." in capsys.readouterr().err
    code, stop_s = watcher.stop()
    assert code == 0 and stop_s < 2.0, (code, stop_s)


def test_a_watcher_killed_mid_run_loses_nothing_and_classifies_nothing_twice(
    tmp_path: Path, resnet18_weights: Path, watchers: list[Watcher]
) -> None:
    folder = tmp_path / "photos"
    make_photos(folder, 24, size=(64, 48))
    add_folder(folder, ModelRef("resnet18", file=resnet18_weights))
    index_file = default_index_path()
    assert index_file is not None
    paused = Watcher({**os.environ, PAUSE_ENV: "2"})  # stands still after committing 2 batches of 4
    watchers.append(paused)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and (not index_file.exists() or len(_results(index_file)) < 8):
        time.sleep(0.2)
    time.sleep(1.0)
    before = _results(index_file)
    assert len(before) == 8
    paused.kill()  # SIGKILL, mid-run

    again = Watcher(dict(os.environ))
    watchers.append(again)
    done = again.synced_up_to_date(START_TIMEOUT_S)
    assert done["new"] == 16 and done["from_index"] == 0  # only what was not committed
    after = _results(index_file)
    assert len(after) == 24  # nothing lost
    assert {path: after[path] for path in before} == before  # nothing classified twice (untouched rows)
    again.stop()


def test_where_the_os_refuses_a_watch_the_folder_is_scanned_periodically_and_it_says_so(
    tmp_path: Path, resnet18_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchdog.observers import Observer

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")  # what Linux says at max_user_watches

    monkeypatch.setattr(Observer, "schedule", refuse)
    folder = tmp_path / "photos"
    make_photos(folder, 1, size=(64, 48))
    add_folder(folder, ModelRef("resnet18", file=resnet18_weights))
    cancel = threading.Event()
    events: queue.Queue[object] = queue.Queue()

    def run() -> None:
        for event in watch_library(FolderModels("cpu", threads=1), cancel=cancel, poll_s=1.0):
            events.put(event)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        notice = _next(events, WatchNotice, 120)
        assert isinstance(notice, WatchNotice)
        assert "inotify watch limit is reached, so this folder is scanned every 1 s instead" in notice.message
        assert "sudo sysctl fs.inotify.max_user_watches=" in notice.message
        assert isinstance(_next(events, FolderSynced, 120), FolderSynced)
        make_photos(folder, 2, start=30, size=(64, 48))  # no watch: only the periodic scan can see them
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and folder_statuses([folder])[0].indexed < 3:
            time.sleep(0.2)
        assert folder_statuses([folder])[0].indexed == 3
    finally:
        cancel.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def _next(events: queue.Queue[object], kind: type, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = events.get(timeout=0.5)
        except queue.Empty:
            continue
        if isinstance(event, kind):
            return event
    raise AssertionError(f"no {kind.__name__} in {timeout} s")
