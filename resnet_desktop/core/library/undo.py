"""Undo an organize: every operation reversed, last first, from what its journal says was done.

Each reversal is checked against the disk first and refused, with a message, where that would lose
or clobber something: a copy or link is removed only while it is still exactly what we made *and*
the original is still there; a moved photo goes back only while it is unchanged and its old place
is free; a sidecar loses exactly the keywords we added (and is deleted only if we created it and
nothing else was added since). The journal records the intent before each removal, then the result,
so an interrupted undo can be run again. Folders we created are removed when they end up empty.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

from resnet_desktop.core.atomic import reason, write_bytes
from resnet_desktop.core.errors import ResNetDesktopError, describe
from resnet_desktop.core.library import fileops, journal, xmp
from resnet_desktop.core.library.fileops import Fingerprint
from resnet_desktop.core.library.journal import OperationProgress, Outcome
from resnet_desktop.core.library.journal_records import JournalRecord
from resnet_desktop.core.work import drive


class Refused(Exception):
    """This operation is left as it is; the message says why."""


#: What undoing one operation does once its intent is on disk; ``None``: nothing to do.
Action = Callable[[], None]
#: Files this undo rewrote itself (a sidecar that was moved, then given keywords), as they are now.
Fingerprints = dict[Path, Fingerprint]
#: Operations checked, then their intents written with one fsync, then done (group commit).
BATCH = 64


def _unlink(path: Path) -> Action:
    return lambda: os.unlink(path)


def _check_file(
    op: JournalRecord, started: JournalRecord, done: JournalRecord | None, ours: Fingerprints
) -> Action | None:
    """Check one file operation against the disk: what undoing it takes, or ``Refused``."""
    action, source, dest = op["action"], Path(op["source"]), Path(started["dest"])
    if done is None:
        fileops.remove_partials(dest)  # a copy a kill interrupted may have left its temp file
    if not os.path.lexists(dest):
        if action == "move" and not os.path.lexists(source):
            raise Refused(f"{source}: neither it nor {dest} exists any more; nothing to move back")
        return None  # never got there: nothing to undo
    if action == "copy":
        if done is not None:
            if not fileops.unchanged(dest, Fingerprint.from_dict(done["fp"])):
                raise Refused(f"{dest}: changed since it was copied, so it was kept")
        elif not (source.is_file() and fileops.sha256_file(dest) == fileops.sha256_file(source)):
            raise Refused(f"{dest}: not known to be our copy, so it was kept")
        if not source.is_file():
            raise Refused(f"{dest}: the original {source} is gone, so this copy was kept")
        return _unlink(dest)
    if action == "move":
        if os.path.lexists(source):
            if fileops.same_file(source, dest) or (
                done is None and fileops.sha256_file(source) == fileops.sha256_file(dest)
            ):
                return _unlink(dest)  # the move stopped halfway: the original is still in place
            raise Refused(f"{source}: another file is there now, so {dest} was not moved back")
        expected = Fingerprint.from_dict(done["fp"] if done is not None else started["source_fp"])
        if not fileops.unchanged(dest, Fingerprint(expected.size, expected.mtime_ns)) and not (
            dest in ours and fileops.unchanged(dest, ours[dest])  # a sidecar our own undo just rewrote
        ):
            raise Refused(f"{dest}: changed since it was moved, so it was left where it is")

        def move_back() -> None:
            source.parent.mkdir(parents=True, exist_ok=True)
            fileops.move_file(dest, source)

        return move_back
    if action == "link":
        if not source.exists():
            raise Refused(f"{dest}: the original {source} is gone, so this link (its last name) was kept")
        if not fileops.same_file(source, dest):
            raise Refused(f"{dest}: no longer the link we made, so it was kept")
        return _unlink(dest)
    if action == "symlink":
        if not (os.path.islink(dest) and os.readlink(dest) == str(source)):
            raise Refused(f"{dest}: no longer the symbolic link we made, so it was kept")
        return _unlink(dest)
    raise Refused(f"{dest}: unknown operation {action!r} in the journal")


def _check_sidecar(started: JournalRecord, done: JournalRecord | None, ours: Fingerprints) -> Action | None:
    sidecar = Path(started["sidecar"])
    if not sidecar.is_file():
        return None
    try:
        data = sidecar.read_bytes()
    except OSError as exc:
        raise Refused(f"{sidecar}: {reason(exc)}") from exc
    created = not started.get("existed", True)
    if created and done is not None and done.get("sha256") == hashlib.sha256(data).hexdigest():
        return _unlink(sidecar)  # exactly the file we wrote
    added = started["added"]
    keywords = xmp.Keywords(tuple(added.get("subject", ())), tuple(added.get("hierarchical", ())))
    new, removed = xmp.remove_keywords(data, keywords, sidecar)
    if not removed:
        return None  # someone removed our keywords already
    if created and xmp.is_only_ours(new, sidecar):
        return _unlink(sidecar)

    def rewrite() -> None:
        write_bytes(sidecar, new, overwrite=True)
        before_mtime = started.get("before_mtime_ns")
        if before_mtime is not None and hashlib.sha256(new).hexdigest() == started.get("before_sha256"):
            # The very bytes it had: give back its timestamp too (so a move of it can be undone next).
            os.utime(sidecar, ns=(os.stat(sidecar).st_atime_ns, int(before_mtime)))
        ours[sidecar] = fileops.fingerprint(sidecar)

    return rewrite


def undo(path: Path, *, cancel: threading.Event | None = None) -> Generator[OperationProgress, None, Outcome]:
    """Reverse every operation of the journal that was started, last first; yields after each one."""
    state = journal.read(path)
    todo = [op for op in reversed(state.ops) if int(op["id"]) in state.started and int(op["id"]) not in state.undone]
    outcome = Outcome(Path(path), total=len(todo))
    ours: Fingerprints = {}
    pending: list[tuple[int, Path, Action]] = []

    with journal.JournalWriter(Path(path)) as writer:

        def progress(where: Path) -> OperationProgress:
            return OperationProgress(outcome.done, outcome.total, len(outcome.problems), where)

        def problem(op_id: int, where: Path, exc: BaseException) -> None:
            """Note a refusal or failure; a full disk or a journal we cannot write stops the undo."""
            if isinstance(exc, ResNetDesktopError):
                message = describe(exc)
            elif isinstance(exc, OSError):
                message = f"{where}: {reason(exc)}"
            else:
                message = str(exc)
            outcome.problems.append((where, message))
            try:
                writer.append({"type": "refused", "id": op_id, "reason": message}, sync=False)
            except ResNetDesktopError:
                outcome.stopped = message
            if fileops.fatal(exc):
                outcome.stopped = message

        def halted() -> bool:
            return outcome.stopped is not None or outcome.cancelled

        def flush() -> Iterator[OperationProgress]:
            """The intents of the checked operations, with one fsync; then the operations themselves."""
            if not pending:
                return
            batch = list(pending)
            pending.clear()
            try:
                for op_id, _where, _action in batch:
                    writer.append({"type": "undo", "id": op_id}, sync=False)
                writer.sync()
            except ResNetDesktopError as exc:
                outcome.stopped = str(exc)
                return
            for op_id, where, action in batch:
                if cancel is not None and cancel.is_set():
                    outcome.cancelled = True  # intents without their undo are harmless: checked again next time
                    return
                try:
                    action()
                except (ResNetDesktopError, OSError) as exc:
                    problem(op_id, where, exc)
                    if outcome.stopped:
                        return
                else:
                    writer.append({"type": "undone", "id": op_id}, sync=False)
                    outcome.done += 1
                yield progress(where)

        for op in todo:
            if cancel is not None and cancel.is_set():
                outcome.cancelled = True
                break
            op_id = int(op["id"])
            started, done = state.started[op_id], state.done.get(op_id)
            where = Path(started.get("dest") or started.get("sidecar") or "?")
            sidecar = op["action"] == "xmp"
            if sidecar:  # it may rewrite a file a later check looks at: everything before it is done first
                yield from flush()
            if halted():
                break
            try:
                action = _check_sidecar(started, done, ours) if sidecar else _check_file(op, started, done, ours)
            except (Refused, ResNetDesktopError, OSError) as exc:
                problem(op_id, where, exc)
                if outcome.stopped:
                    break
                yield progress(where)
                continue
            if action is None:
                writer.append({"type": "undone", "id": op_id}, sync=False)
                outcome.done += 1
                yield progress(where)
                continue
            pending.append((op_id, where, action))
            if sidecar or len(pending) >= BATCH:
                yield from flush()
        if not halted():
            yield from flush()
    if outcome.finished:
        _remove_empty_folders(state)
    return outcome


def _remove_empty_folders(state: journal.JournalState) -> None:
    folders = [Path(e["path"]) for e in state.events if e.get("type") == "mkdir"]
    if state.header.get("dest_created"):
        folders.insert(0, state.dest)
    for folder in sorted(set(folders), key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()  # only ever succeeds on an empty folder
        except OSError:
            pass


def run(path: Path, *, cancel: threading.Event | None = None) -> Outcome:
    return drive(undo(path, cancel=cancel))
