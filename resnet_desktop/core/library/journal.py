"""The organize journal: JSON lines next to the destination, durable line by line.

The first line says what the file is and which plan it holds; then comes one ``op`` line per planned
operation; both are published at once (``core.atomic``). Applying appends ``start`` (with the final
destination) and fsyncs it *before* the operation, then ``done`` or ``failed``; undo appends ``undone``
or ``refused``. A line cut short by a crash is the last one and is ignored when reading: every
operation that was done has its ``start`` on disk, so ``--resume`` and ``--undo`` can always tell
where each photo is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

from resnet_desktop.core.atomic import reason, write_text
from resnet_desktop.core.errors import OutputError, SettingsError
from resnet_desktop.core.library.journal_records import HeaderRecord, JournalRecord

FORMAT = "resnet-desktop-organize-journal"
VERSION = 1
PREFIX = ".resnet-desktop-journal-"
SUFFIX = ".jsonl"


def journal_folder(dest: Path) -> Path:
    """Next to ``dest`` (its parent folder), or inside it when the parent may not be written."""
    parent = dest.parent
    if parent != dest and os.access(parent, os.W_OK | os.X_OK):
        return parent
    return dest


class JournalWriter:
    """Appends records; each ``append`` reaches the disk (fsync) before it returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise OutputError(f"Cannot write the journal {path}: {reason(exc)}") from exc
        self._unsynced = False
        self._drop_torn_tail()

    def _drop_torn_tail(self) -> None:
        """A line a crash cut short never counted (its fsync did not return): cut it before appending."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        with open(self.path, "rb") as fh:
            fh.seek(max(0, size - 65536))
            tail = fh.read()
        if tail.endswith(b"\n"):
            return
        if b"\n" not in tail:
            raise SettingsError(f"{self.path}: the last journal line is damaged beyond repair")
        keep = size - len(tail) + tail.rfind(b"\n") + 1
        os.ftruncate(self._fd, keep)
        os.fsync(self._fd)

    def append(self, record: JournalRecord, *, sync: bool = True) -> None:
        """Append one line; with ``sync`` it is on disk when this returns.

        ``sync=False`` is for records that only save work after a crash (``done``, ``undone``): losing
        one means that operation is looked at on disk again, never that it is done twice. The next
        synced line (or ``close``) carries them to the disk too.
        """
        if self._fd is None:
            raise OutputError(f"The journal {self.path} is closed")
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            if sync:
                os.fsync(self._fd)
            self._unsynced = self._unsynced or not sync
            if sync:
                self._unsynced = False
        except OSError as exc:
            raise OutputError(f"Cannot write the journal {self.path}: {reason(exc)}") from exc

    def sync(self) -> None:
        """Everything appended so far reaches the disk (one fsync for a batch of ``sync=False`` lines)."""
        if self._fd is None:
            raise OutputError(f"The journal {self.path} is closed")
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise OutputError(f"Cannot write the journal {self.path}: {reason(exc)}") from exc
        self._unsynced = False

    def close(self) -> None:
        if self._fd is not None:
            try:
                if self._unsynced:
                    os.fsync(self._fd)
            except OSError:
                pass  # only records that save work after a crash can be lost here
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def create(
    dest: Path,
    header: HeaderRecord,
    ops: Iterable[JournalRecord],
    *,
    now: datetime | None = None,
    folder: Path | None = None,
) -> Path:
    """Write a new journal (header + plan) next to ``dest`` (or in ``folder``), under a name no other
    journal has."""
    folder = folder if folder is not None else journal_folder(dest)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [{"type": "header", **header}, *ops])
    for n in range(1, 1000):
        path = folder / f"{PREFIX}{stamp}{'' if n == 1 else f'-{n}'}{SUFFIX}"
        if os.path.lexists(path):
            continue
        try:
            return write_text(path, text)
        except OutputError:
            if os.path.lexists(path):
                continue  # another organize started in the same second
            raise
    raise OutputError(f"Cannot create a journal in {folder}: too many journals from the same second")


@dataclass
class JournalState:
    """A journal read back: the plan and what has happened to each operation."""

    path: Path
    header: HeaderRecord
    ops: list[JournalRecord] = field(default_factory=list)
    #: The latest ``start`` record of each operation id (its destination is the real one).
    started: dict[int, JournalRecord] = field(default_factory=dict)
    done: dict[int, JournalRecord] = field(default_factory=dict)
    failed: dict[int, JournalRecord] = field(default_factory=dict)
    undone: dict[int, JournalRecord] = field(default_factory=dict)
    refused: dict[int, JournalRecord] = field(default_factory=dict)
    events: list[JournalRecord] = field(default_factory=list)

    @property
    def dest(self) -> Path:
        return Path(self.header["dest"])

    @property
    def complete(self) -> bool:
        """Every operation was done or failed for good (nothing left for ``--resume``)."""
        return all(op["id"] in self.done or op["id"] in self.failed for op in self.ops)


def read(path: Path) -> JournalState:
    """Read a journal; ``SettingsError`` if it is not one of ours."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SettingsError(f"Cannot read the journal {path}: {reason(exc)}") from exc
    lines = raw.split(b"\n")
    # The last element is what followed the final newline: empty, or a line a crash cut short.
    records: list[dict[str, object]] = []
    for number, line in enumerate(lines[:-1], start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise SettingsError(f"{path}, line {number}: not a journal line; the journal is damaged") from None
        if not isinstance(record, dict):
            raise SettingsError(f"{path}, line {number}: not a journal line; the journal is damaged")
        records.append(record)
    if not records or records[0].get("type") != "header" or records[0].get("format") != FORMAT:
        raise SettingsError(f"{path} is not a ResNet Desktop organize journal")
    version = records[0].get("version", 0)
    if not isinstance(version, int) or version > VERSION:
        raise SettingsError(f"{path} was written by a newer ResNet Desktop; update the app to use it")
    # Checked above: ours. What each line holds is trusted as written by apply/undo (JournalRecord).
    state = JournalState(Path(path), cast(HeaderRecord, records[0]))
    tables = {
        "start": state.started,
        "done": state.done,
        "failed": state.failed,
        "undone": state.undone,
        "refused": state.refused,
    }
    for raw_record in records[1:]:
        record = cast(JournalRecord, raw_record)
        kind = record.get("type")
        if kind == "op":
            state.ops.append(record)
        elif kind in tables:
            table = tables[kind]
            table[int(record["id"])] = record
            if kind == "start":
                state.failed.pop(int(record["id"]), None)  # a resumed retry
        else:
            state.events.append(record)
    return state


def find_journals(folder: Path) -> list[Path]:
    """Journals in ``folder``, newest first (the names sort by time)."""
    try:
        return sorted(folder.glob(f"{PREFIX}*{SUFFIX}"), reverse=True)
    except OSError:
        return []


@dataclass(frozen=True)
class OperationProgress:
    """How far an organize (or its undo) has got: operations done of ``total``, and the one at hand."""

    done: int
    total: int
    failed: int
    current: Path | None


@dataclass
class Outcome:
    journal: Path
    total: int = 0
    done: int = 0
    #: (path, reason) for each operation that failed (apply) or was refused (undo).
    problems: list[tuple[Path, str]] = field(default_factory=list)
    #: Why the run stopped before the end (disk full, read-only); ``None`` when it reached the end.
    stopped: str | None = None
    cancelled: bool = False

    @property
    def finished(self) -> bool:
        return self.stopped is None and not self.cancelled


#: ``JournalSummary.mode`` of a journal that only added keywords to sidecars.
KEYWORDS_MODE = "keywords"


@dataclass(frozen=True)
class JournalSummary:
    """One past organize as a history list shows it."""

    path: Path
    created: str
    dest: Path
    mode: str
    done: int
    undone: int

    @property
    def fully_undone(self) -> bool:
        return self.done > 0 and self.undone >= self.done

    def describe(self) -> str:
        """``2026-05-01 14:03  12 photos copied into /x/sorted (undone)``."""
        when = self.created.replace("T", " ")[:16] or self.path.stem
        state = " (undone)" if self.fully_undone else (f" ({self.undone} undone)" if self.undone else "")
        if self.mode == KEYWORDS_MODE:
            sidecars = f"{self.done} XMP sidecar{'s' if self.done != 1 else ''}"
            return f"{when}  keywords written to {sidecars} in {self.dest}{state}"
        verb = {"copy": "copied", "move": "moved", "hardlink": "linked", "symlink": "linked"}.get(self.mode, self.mode)
        return f"{when}  {self.done} photo{'s' if self.done != 1 else ''} {verb} into {self.dest}{state}"


def summary(path: Path) -> JournalSummary:
    """What a journal did, for the history of organizes (``SettingsError`` if it is not one)."""
    state = read(path)
    mode = str(state.header.get("options", {}).get("mode", ""))
    if state.ops and all(op.get("action") == "xmp" for op in state.ops):
        mode = KEYWORDS_MODE  # a keywords-only journal (Write Keywords…, a folder's XMP rule)
    undone = sum(1 for op_id in state.done if op_id in state.undone)
    return JournalSummary(Path(path), str(state.header.get("created", "")), state.dest, mode, len(state.done), undone)
