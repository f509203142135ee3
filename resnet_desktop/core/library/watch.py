"""Keeping the library current: watch every library folder (watchdog: inotify, FSEvents or
ReadDirectoryChangesW behind one API) and bring a folder up to date a moment after it changes.

- Events only mark a folder as changed; once it has been quiet for ``settle_s`` (or has been
  changing for ``max_settle_s``), one pass (``sync.sync_folder``) looks at the whole folder, so
  renames, moves, deletions and half-copied files all come out right whatever order events came in.
- Where the OS refuses another watch (Linux: ``fs.inotify.max_user_watches``), the folder is
  scanned every ``poll_s`` instead, with a notice saying so and how to raise the limit.
- Every folder is also looked at once at start (what changed while nothing watched) and every
  ``rescan_s`` (what a watch can miss: a network share, an overflowing event queue).
- The folder list is re-read when another process changes it (``library add`` while this runs).
- ``pause`` stops a pass after its current batch (committed) and waits; ``cancel`` ends it all.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from resnet_desktop.core.library.folders import FolderStore, LibraryFolder
from resnet_desktop.core.library.index import LibraryIndex
from resnet_desktop.core.library.queries import require_index
from resnet_desktop.core.library.scan import kind_of
from resnet_desktop.core.library.sync import FolderModels, SyncEvent, SyncResult, sync_folder
from resnet_desktop.core.work import Work

logger = logging.getLogger(__name__)

WATCHING, PAUSED, INDEXING, STOPPED = "watching", "paused", "indexing", "stopped"
INOTIFY_LIMIT = "/proc/sys/fs/inotify/max_user_watches"


@dataclass(frozen=True)
class WatchState:
    """What the watcher is doing now (for the status bar): ``watching``, ``indexing``, ``paused``, ``stopped``."""

    state: str
    folder: Path | None = None


@dataclass(frozen=True)
class WatchNotice:
    """Something a person should know (a folder scanned periodically because it cannot be watched)."""

    message: str
    folder: Path | None = None


@dataclass(frozen=True)
class FolderSynced:
    """A pass over one folder ended (``result.status`` is the folder's status now)."""

    result: SyncResult


@dataclass(frozen=True)
class FolderRemoved:
    folder: Path


WatchEvent = WatchState | WatchNotice | FolderSynced | FolderRemoved | SyncEvent


class AnyOf(threading.Event):
    """Set when any of its events is set: a pass stops on ``pause`` as on ``cancel``."""

    def __init__(self, *events: threading.Event) -> None:
        super().__init__()
        self._events = events

    def is_set(self) -> bool:
        return super().is_set() or any(e.is_set() for e in self._events)


def limit_message(folder: Path, exc: OSError, every: str) -> str:
    what = "inotify watch limit" if exc.errno == errno.ENOSPC else "limit on watches"
    hint = ""
    if exc.errno == errno.ENOSPC:
        hint = (
            f" Raise it with 'sudo sysctl fs.inotify.max_user_watches=524288' (now {_inotify_limit()};"
            " add the line to /etc/sysctl.d/ to keep it)."
        )
    return f"{folder}: the operating system's {what} is reached, so this folder is scanned every {every} instead.{hint}"


def _inotify_limit() -> str:
    try:
        return Path(INOTIFY_LIMIT).read_text().strip()
    except OSError:
        return "unknown"


class _Handler(FileSystemEventHandler):
    def __init__(self, folder: Path, changed: Callable[[Path], None]) -> None:
        self.folder = folder
        self.changed = changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reading a photo (thumbnails, the engine) changes nothing
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if any(p and _matters(str(p), event.is_directory) for p in paths):
            self.changed(self.folder)


def _matters(path: str, is_directory: bool) -> bool:
    """Photos and other visible files (skipped ones are counted); not sidecars, hidden or temporary files."""
    name = path.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    kind = kind_of(name)
    return kind is not None and (is_directory or kind != "sidecar")


class FolderWatcher:
    """One watchdog observer; a recursive watch per folder, or a note that the folder must be polled."""

    def __init__(
        self, changed: Callable[[Path], None], observer: BaseObserver | None = None, *, every: str = "minute"
    ) -> None:
        self._changed = changed
        #: How often a folder that cannot be watched is scanned, for the notice ("60 s").
        self.every = every
        self._observer = observer if observer is not None else Observer()
        self._watches: dict[Path, ObservedWatch] = {}
        #: folder -> why it is scanned periodically instead of watched
        self.polled: dict[Path, str] = {}

    def start(self) -> None:
        self._observer.start()

    def stop(self) -> None:
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout=2.0)

    def watch(self, folder: Path) -> str | None:
        """Watch ``folder`` and below; returns a notice when it has to be polled instead."""
        if folder in self._watches or folder in self.polled:
            return None
        try:
            self._watches[folder] = self._observer.schedule(
                _Handler(folder, self._changed), str(folder), recursive=True
            )
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EMFILE):
                message = limit_message(folder, exc, self.every)
            else:
                message = f"{folder}: cannot be watched ({exc.strerror or exc}), so it is scanned every {self.every}."
            self.polled[folder] = message
            return message
        return None

    def unwatch(self, folder: Path) -> None:
        self.polled.pop(folder, None)
        watch = self._watches.pop(folder, None)
        if watch is not None:
            try:
                self._observer.unschedule(watch)
            except (KeyError, OSError):
                pass

    @property
    def watched(self) -> list[Path]:
        return sorted(self._watches)


class _Changes:
    """Folders marked as changed by the watcher's thread, and when they last changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first: dict[Path, float] = {}
        self._last: dict[Path, float] = {}
        self.wake = threading.Event()

    def mark(self, folder: Path) -> None:
        now = time.monotonic()
        with self._lock:
            self._first.setdefault(folder, now)
            self._last[folder] = now
        self.wake.set()

    def due(self, settle_s: float, max_settle_s: float) -> list[Path]:
        """Folders quiet for ``settle_s`` or changing for ``max_settle_s``; they are unmarked."""
        now = time.monotonic()
        with self._lock:
            ready = [
                f for f, last in self._last.items() if now - last >= settle_s or now - self._first[f] >= max_settle_s
            ]
            for folder in ready:
                self._first.pop(folder)
                self._last.pop(folder)
        return sorted(ready)

    def pending(self) -> bool:
        with self._lock:
            return bool(self._last)


def format_interval(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 120 else f"{seconds:g} s"


def watch_library(
    models: FolderModels,
    *,
    store_path: Path | None = None,
    index_path: Path | None = None,
    cancel: threading.Event | None = None,
    pause: threading.Event | None = None,
    settle_s: float = 1.0,
    max_settle_s: float = 5.0,
    poll_s: float = 60.0,
    rescan_s: float = 1800.0,
    observer: BaseObserver | None = None,
) -> Work[WatchEvent, None]:
    """Watch the library's folders until ``cancel`` is set (see the module's docstring)."""
    cancel = cancel if cancel is not None else threading.Event()
    pause = pause if pause is not None else threading.Event()
    stop_pass = AnyOf(cancel, pause)
    changes = _Changes()
    watcher = FolderWatcher(changes.mark, observer, every=format_interval(poll_s))
    store = FolderStore(store_path)
    index = require_index(index_path)
    folders: dict[Path, LibraryFolder] = {}
    version: int | None = None
    next_scan: dict[Path, float] = {}
    try:
        watcher.start()
        yield WatchState(WATCHING)
        while not cancel.is_set():
            if store.data_version() != version:
                version = store.data_version()
                yield from _reload(store, watcher, folders, next_scan)
            if pause.is_set():
                yield WatchState(PAUSED)
                while pause.is_set() and not cancel.is_set():
                    changes.wake.wait(0.25)
                    changes.wake.clear()
                yield WatchState(WATCHING)
                continue
            now = time.monotonic()
            due = set(changes.due(settle_s, max_settle_s)) | {f for f, t in next_scan.items() if t <= now}
            synced_any = False
            for path in sorted(due):
                folder = folders.get(path)
                if folder is None or stop_pass.is_set():
                    continue
                if path not in watcher.watched and path not in watcher.polled and path.is_dir():
                    notice = watcher.watch(path)  # it was offline when watching began
                    if notice is not None:
                        yield WatchNotice(notice, path)
                yield WatchState(INDEXING, path)
                result = yield from _pass(store, index, folder, models, stop_pass)
                synced_any = True
                offline = result is None or result.status.offline
                interval = poll_s if path in watcher.polled or offline else rescan_s
                next_scan[path] = time.monotonic() + interval
                if result is not None and result.interrupted:
                    next_scan[path] = time.monotonic()  # go on with it once resumed
                if result is not None:
                    yield FolderSynced(result)
            if synced_any and not stop_pass.is_set():
                yield WatchState(WATCHING)
            changes.wake.wait(0.2 if changes.pending() else 1.0)
            changes.wake.clear()
    finally:
        watcher.stop()
        index.close()
        store.close()
    yield WatchState(STOPPED)


def _reload(
    store: FolderStore, watcher: FolderWatcher, folders: dict[Path, LibraryFolder], next_scan: dict[Path, float]
) -> Work[WatchEvent, None]:
    """Take in the folder list as it is now: watch new folders (and look at them at once), drop removed ones."""
    current = {folder.path: folder for folder in store.folders()}
    for path in set(folders) - set(current):
        watcher.unwatch(path)
        next_scan.pop(path, None)
        yield FolderRemoved(path)
    for path, folder in current.items():
        if path not in folders or folders[path].model != folder.model:
            next_scan[path] = 0.0  # a new folder, or a new model: look at all of it now
        if path not in folders and path.is_dir():
            notice = watcher.watch(path)
            if notice is not None:
                yield WatchNotice(notice, path)
    folders.clear()
    folders.update(current)


def _pass(
    store: FolderStore,
    index: LibraryIndex,
    folder: LibraryFolder,
    models: FolderModels,
    stop: threading.Event,
) -> Work[WatchEvent, SyncResult | None]:
    """One folder's pass; a failure (a model that will not load) is a notice, not the end of watching."""
    from resnet_desktop.core.errors import ResNetDesktopError, describe

    try:
        fresh = store.get(folder.path) or folder  # its rules or device may have changed meanwhile
        return (yield from sync_folder(store, index, fresh, models, cancel=stop))
    except ResNetDesktopError as exc:
        yield WatchNotice(f"{folder.path}: {describe(exc)}", folder.path)
    except OSError as exc:
        yield WatchNotice(f"{folder.path}: {exc.strerror or exc}", folder.path)
    return None
