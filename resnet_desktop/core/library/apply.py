"""Carry out an organize plan with its journal, finish one that was interrupted, or undo one.

``begin(plan)`` creates the destination and the journal (the whole plan, before anything moves).
``apply(journal)`` is a generator of ``OperationProgress`` that returns an ``Outcome``; run on a journal that
is partly done (a crash, a kill, a full disk, a cancel) it finishes the plan: an operation whose
``start`` is on disk but not its ``done`` is looked at on disk (is the copy complete? did the rename
happen?) and finished or redone, never done twice. ``undo(journal)`` reverses every operation, last
first, refusing per file where the file was changed since, and never deleting a file that is not a
copy or link we made. Both check ``cancel`` between operations.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from collections.abc import Generator
from datetime import datetime, timezone
from pathlib import Path

from resnet_desktop import __version__
from resnet_desktop.core.atomic import reason, write_bytes
from resnet_desktop.core.errors import OutputError, ResNetDesktopError, SettingsError, describe
from resnet_desktop.core.library import fileops, journal, xmp
from resnet_desktop.core.library.fileops import Fingerprint
from resnet_desktop.core.library.journal import OperationProgress, Outcome
from resnet_desktop.core.library.journal_records import HeaderRecord, JournalRecord, KeywordsRecord
from resnet_desktop.core.library.organize import Plan, SidecarOp, operation_to_dict
from resnet_desktop.core.library.safe_names import numbered
from resnet_desktop.core.work import drive

#: File operations whose ``start`` lines share one fsync.
BATCH = 64


class _CrossDevice(OutputError):
    """Hard links asked for across disks: no photo of the plan can be linked."""


#: Test hook: ``started:N`` or ``done:N`` makes the applier stop still (until killed) at that point.
PAUSE_ENV = "RESNET_DESKTOP_ORGANIZE_PAUSE"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- begin ---------------------------------------------------------------------------------------


def begin(plan: Plan, *, journal_folder: Path | None = None) -> Path:
    """Create the destination folder and the journal (header + every planned operation); return its path.

    The journal goes next to the destination, or into ``journal_folder`` (a library folder's rules keep
    theirs with the folder list, not among the photos)."""
    dest = plan.dest
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"Cannot organize into {dest}: it is a file, not a folder")
    created = not dest.exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Cannot organize into {dest}: {reason(exc)}") from exc
    if not os.access(dest, os.W_OK | os.X_OK):
        why = "the folder is on a read-only file system" if _read_only(dest) else "permission denied"
        raise OutputError(f"Cannot organize into {dest}: {why}")
    header: HeaderRecord = {
        "format": journal.FORMAT,
        "version": journal.VERSION,
        "app_version": __version__,
        "created": _now(),
        "dest": str(dest),
        "dest_created": created,
        "options": plan.options.to_dict(),
        "folders": plan.folders,
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in plan.skipped],
    }
    ops: list[JournalRecord] = []
    for index, op in enumerate(plan.operations):
        record: JournalRecord = {"type": "op", "id": index, **operation_to_dict(op)}
        if isinstance(op, SidecarOp):
            record["style"] = "full" if op.sidecar == Path(f"{op.photo}.xmp") else "base"
        ops.append(record)
    if journal_folder is not None:
        journal_folder.mkdir(parents=True, exist_ok=True)
    return journal.create(dest, header, ops, folder=journal_folder)


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _pause_point() -> tuple[str, int] | None:
    value = os.environ.get(PAUSE_ENV, "")
    name, _, count = value.partition(":")
    return (name, int(count)) if name and count.isdigit() else None


def _maybe_pause(pause: tuple[str, int] | None, name: str, count: int) -> None:
    if pause is not None and pause == (name, count):
        print(f"organize paused at {name} {count}", file=sys.stderr, flush=True)
        while True:  # the test kills us here
            time.sleep(60)


# -- apply ---------------------------------------------------------------------------------------


class _Applier:
    def __init__(self, state: journal.JournalState, writer: journal.JournalWriter) -> None:
        self.state = state
        self.writer = writer
        self.ops = {int(op["id"]): op for op in state.ops}
        self.final: dict[int, Path] = {i: Path(r["dest"]) for i, r in state.done.items() if "dest" in r}
        self.made_folders: set[Path] = set()
        self.pause = _pause_point()
        self.starts = 0
        #: op id -> (destination, source fingerprint) whose ``start`` is on disk but which is not done yet.
        self.prepared: dict[int, tuple[Path, Fingerprint]] = {}

    # folders -------------------------------------------------------------------------------

    def make_folders(self, folder: Path) -> None:
        missing = []
        current = folder
        while not current.exists():
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            try:
                path.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise OutputError(f"Cannot create the folder {path}: {reason(exc)}") from exc
            self.writer.append({"type": "mkdir", "path": str(path)}, sync=False)  # synced with the next start

    def start(self, op_id: int, record: JournalRecord, *, sync: bool = True) -> None:
        self.writer.append({"type": "start", "id": op_id, **record}, sync=sync)
        self.starts += 1
        _maybe_pause(self.pause, "started", self.starts)

    def prepare(self, ops: list[JournalRecord]) -> None:
        """Write the ``start`` lines of the next file operations with one fsync (group commit).

        Only plain file operations whose destination is known now; the rest start one by one. An
        operation prepared but never done (a cancel, a kill) is looked at on disk by resume and undo.
        """
        taken: set[str] = set()
        for op in ops:
            op_id = int(op["id"])
            if op["action"] == "xmp" or op.get("companion_of") is not None or op_id in self.prepared:
                continue
            if op_id in self.state.done or op_id in self.state.started:
                continue
            try:
                source_fp = fileops.fingerprint(Path(op["source"]))
                dest = self.free_name(Path(op["dest"]), taken)
                self.make_folders(dest.parent)
            except (OSError, OutputError):
                continue  # do_file meets it again and reports it
            taken.add(str(dest))
            self.start(op_id, {"dest": str(dest), "source_fp": source_fp.to_dict()}, sync=False)
            self.prepared[op_id] = (dest, source_fp)
        if taken:
            self.writer.sync()

    # file operations -----------------------------------------------------------------------

    def planned_dest(self, op: JournalRecord) -> Path | None:
        """Where the op should go now; ``None`` when it depends on a photo that did not get there."""
        dest = Path(op["dest"])
        parent_id = op.get("companion_of")
        if parent_id is None:
            return dest
        parent = self.ops[int(parent_id)]
        if int(parent_id) not in self.final:
            return None
        suffix = str(dest)[len(str(parent["dest"])) :]
        return Path(f"{self.final[int(parent_id)]}{suffix}")

    def free_name(self, wanted: Path, taken: set[str] | frozenset[str] = frozenset()) -> Path:
        candidate, n = wanted, 1
        while os.path.lexists(candidate) or str(candidate) in taken:
            n += 1
            candidate = wanted.with_name(numbered(wanted.name, n))
        return candidate

    def do_file(self, op_id: int, op: JournalRecord) -> None:
        source = Path(op["source"])
        started = self.state.started.get(op_id)
        wanted = self.planned_dest(op)
        if wanted is None:
            raise OutputError(f"{source}: not moved, because its photo could not be moved")
        prepared = self.prepared.pop(op_id, None)
        if prepared is not None:
            self.attempt(op_id, op, *prepared, started=True)
            return
        if started is not None:
            finished = self.finish_started(op, started)
            if finished is not None:
                self.writer.append({"type": "done", "id": op_id, **finished}, sync=False)
                self.final[op_id] = Path(finished["dest"])
                return
            wanted = Path(started["dest"])
        try:
            source_fp = fileops.fingerprint(source)
        except OSError as exc:
            raise OutputError(f"{source}: {reason(exc)}") from exc
        dest = self.free_name(wanted)
        self.make_folders(dest.parent)
        self.attempt(op_id, op, dest, source_fp, started=False)

    def attempt(self, op_id: int, op: JournalRecord, dest: Path, source_fp: Fingerprint, *, started: bool) -> None:
        """Do the operation (its ``start`` on disk first); a name taken meanwhile means the next number."""
        source = Path(op["source"])
        for _attempt in range(20):
            if not started:
                self.start(op_id, {"dest": str(dest), "source_fp": source_fp.to_dict()})
            started = False
            try:
                done = self.perform(op["action"], source, dest)
            except FileExistsError:
                dest = self.free_name(dest)  # a file appeared under that name a moment ago
                continue
            self.writer.append({"type": "done", "id": op_id, "dest": str(dest), **done}, sync=False)
            self.final[op_id] = dest
            return
        raise OutputError(f"{source}: no free name next to {dest}")

    def perform(self, action: str, source: Path, dest: Path) -> JournalRecord:
        if action == "copy":
            return {"fp": fileops.copy_file(source, dest).to_dict()}
        if action == "move":
            how = fileops.move_file(source, dest)
            return {"fp": fileops.fingerprint(dest).to_dict(), "how": how}
        if action == "link":
            try:
                os.link(source, dest, follow_symlinks=False)
            except OSError as exc:
                if exc.errno == errno.EXDEV:  # true of every photo on that disk: stop, say what works
                    raise _CrossDevice(
                        f"hard links only work within one disk, and {source} is on another disk than {dest}; "
                        "choose copy or symbolic link"
                    ) from exc
                raise
            return {"fp": fileops.fingerprint(dest).to_dict()}
        if action == "symlink":
            os.symlink(source, dest)
            return {"target": str(source)}
        raise OutputError(f"unknown operation {action!r} in the journal")

    def finish_started(self, op: JournalRecord, started: JournalRecord) -> JournalRecord | None:
        """An op a crash interrupted: the ``done`` fields if it had in fact finished (finishing it), else None."""
        action, source, dest = op["action"], Path(op["source"]), Path(started["dest"])
        fileops.remove_partials(dest)
        has_dest, has_source = os.path.lexists(dest), os.path.lexists(source)
        if action == "copy" and has_dest and has_source:
            if fileops.sha256_file(dest) == fileops.sha256_file(source):
                return {"dest": str(dest), "fp": fileops.fingerprint(dest, with_hash=True).to_dict()}
        elif action == "move":
            if has_dest and not has_source:
                return {"dest": str(dest), "fp": fileops.fingerprint(dest).to_dict(), "how": "renamed"}
            if has_dest and has_source:
                if fileops.same_file(source, dest):  # the link + unlink fallback stopped halfway
                    os.unlink(source)
                    return {"dest": str(dest), "fp": fileops.fingerprint(dest).to_dict(), "how": "renamed"}
                if fileops.sha256_file(dest) == fileops.sha256_file(source):  # copied, source not yet removed
                    os.unlink(source)
                    return {"dest": str(dest), "fp": fileops.fingerprint(dest).to_dict(), "how": "copied"}
            if not has_dest and not has_source:
                raise OutputError(f"{source}: neither it nor {dest} exists; it was moved or deleted by something else")
        elif action == "link" and has_dest and fileops.same_file(source, dest):
            return {"dest": str(dest), "fp": fileops.fingerprint(dest).to_dict()}
        elif action == "symlink" and os.path.islink(dest) and os.readlink(dest) == str(source):
            return {"dest": str(dest), "target": str(source)}
        return None

    # sidecars ------------------------------------------------------------------------------

    def sidecar_path(self, op: JournalRecord) -> Path | None:
        after = op.get("after")
        if after is None:
            return Path(op["sidecar"])
        if int(after) not in self.final:
            return None
        photo = self.final[int(after)]
        return Path(f"{photo}.xmp") if op.get("style") == "full" else photo.with_suffix(".xmp")

    def do_sidecar(self, op_id: int, op: JournalRecord) -> None:
        sidecar = self.sidecar_path(op)
        if sidecar is None:
            raise OutputError(f"{op['photo']}: no keywords written, because the photo could not be moved")
        started = self.state.started.get(op_id)
        if started is not None:
            sidecar = Path(started["sidecar"])
        for _attempt in range(5):
            existed = sidecar.is_file()
            data = _read(sidecar) if existed else None
            new, added = xmp.add_keywords(data, op["subject"], op["hierarchical"], sidecar)
            if started is not None:  # resumed: undo must remove what the first start said we add
                existed, added = bool(started["existed"]), _keywords(started["added"])
            if not added:
                self.writer.append({"type": "done", "id": op_id, "sidecar": str(sidecar), "noop": True}, sync=False)
                return
            if data is not None and new == data:
                self.writer.append(
                    {"type": "done", "id": op_id, "sidecar": str(sidecar), "sha256": _sha(new)}, sync=False
                )
                return
            if started is None:
                record: JournalRecord = {"sidecar": str(sidecar), "existed": existed, "added": _dict(added)}
                if data is not None:  # undo puts back these bytes *and* this timestamp
                    record["before_sha256"] = _sha(data)
                    record["before_mtime_ns"] = os.stat(sidecar).st_mtime_ns
                self.start(op_id, record)
                started = {"type": "start", "id": op_id, **record}
            try:
                write_bytes(sidecar, new, overwrite=data is not None)
            except OutputError:
                if data is None and sidecar.exists():
                    continue  # another program created it meanwhile: merge into theirs
                raise
            self.writer.append({"type": "done", "id": op_id, "sidecar": str(sidecar), "sha256": _sha(new)}, sync=False)
            return
        raise OutputError(f"{sidecar}: changed again and again while we tried to add keywords")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise OutputError(f"Cannot read the sidecar {path}: {reason(exc)}") from exc


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _dict(keywords: xmp.Keywords) -> KeywordsRecord:
    return {"subject": list(keywords.subject), "hierarchical": list(keywords.hierarchical)}


def _keywords(data: KeywordsRecord) -> xmp.Keywords:
    return xmp.Keywords(tuple(data.get("subject", ())), tuple(data.get("hierarchical", ())))


def _where(op: JournalRecord) -> Path:
    return Path(op.get("source") or op.get("sidecar") or op.get("photo") or "?")


def apply(path: Path, *, cancel: threading.Event | None = None) -> Generator[OperationProgress, None, Outcome]:
    """Do (or finish) every operation of the journal's plan; yields after each one."""
    state = journal.read(path)
    if state.undone or any(e.get("type") == "undo" for e in state.events):
        raise SettingsError(f"{path}: this organize was undone; plan it again to redo it")
    outcome = Outcome(Path(path), total=len(state.ops))
    with journal.JournalWriter(Path(path)) as writer:
        applier = _Applier(state, writer)
        done_count = 0
        for position, op in enumerate(state.ops):
            op_id = int(op["id"])
            if cancel is not None and cancel.is_set():
                outcome.cancelled = True
                break
            if op_id in state.done:
                outcome.done += 1
                continue
            try:
                plain = op["action"] != "xmp" and op.get("companion_of") is None
                if plain and op_id not in applier.prepared and op_id not in state.started:
                    applier.prepare(state.ops[position : position + BATCH])
                if op["action"] == "xmp":
                    applier.do_sidecar(op_id, op)
                else:
                    applier.do_file(op_id, op)
                outcome.done += 1
                done_count += 1
                _maybe_pause(applier.pause, "done", done_count)
            except (ResNetDesktopError, OSError) as exc:
                message = describe(exc) if isinstance(exc, ResNetDesktopError) else f"{_where(op)}: {reason(exc)}"
                outcome.problems.append((_where(op), message))
                # A full or read-only disk (or a journal we cannot write) ends the run: nothing more can succeed.
                fatal = fileops.fatal(exc) or isinstance(exc, _CrossDevice)
                if not _try_append(writer, {"type": "failed", "id": op_id, "reason": message}) or fatal:
                    outcome.stopped = message
                    break
            yield OperationProgress(outcome.done, outcome.total, len(outcome.problems), _where(op))
    return outcome


def _try_append(writer: journal.JournalWriter, record: JournalRecord) -> bool:
    try:
        writer.append(record)
    except OutputError:
        return False
    return True


def run(path: Path, *, cancel: threading.Event | None = None) -> Outcome:
    """``apply`` to the end without progress (tests, scripts)."""
    return drive(apply(path, cancel=cancel))


def organize(plan: Plan, *, cancel: threading.Event | None = None) -> Outcome:
    """``begin`` + ``apply`` in one call."""
    return run(begin(plan), cancel=cancel)
