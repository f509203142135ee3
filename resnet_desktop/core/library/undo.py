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
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from resnet_desktop.core.atomic import reason, write_bytes
from resnet_desktop.core.errors import ResNetDesktopError, describe
from resnet_desktop.core.library import fileops, journal, xmp
from resnet_desktop.core.library.fileops import Fingerprint
from resnet_desktop.core.library.journal import Outcome, Progress


class Refused(Exception):
    """This operation is left as it is; the message says why."""


Intent = Callable[[], None]
#: Files this undo rewrote itself (a sidecar that was moved, then given keywords), as they are now.
Fingerprints = dict[Path, Fingerprint]


def _undo_file(
    op: dict[str, Any], started: dict[str, Any], done: dict[str, Any] | None, intent: Intent, ours: Fingerprints
) -> None:
    action, source, dest = op["action"], Path(op["source"]), Path(started["dest"])
    fileops.remove_partials(dest)
    if not os.path.lexists(dest):
        if action == "move" and not os.path.lexists(source):
            raise Refused(f"{source}: neither it nor {dest} exists any more; nothing to move back")
        return  # never got there: nothing to undo
    if action == "copy":
        if done is not None:
            if not fileops.unchanged(dest, Fingerprint.from_dict(done["fp"])):
                raise Refused(f"{dest}: changed since it was copied, so it was kept")
        elif not (source.is_file() and fileops.sha256_file(dest) == fileops.sha256_file(source)):
            raise Refused(f"{dest}: not known to be our copy, so it was kept")
        if not source.is_file():
            raise Refused(f"{dest}: the original {source} is gone, so this copy was kept")
        intent()
        os.unlink(dest)
    elif action == "move":
        if os.path.lexists(source):
            if fileops.same_file(source, dest) or (
                done is None and fileops.sha256_file(source) == fileops.sha256_file(dest)
            ):
                intent()  # the move stopped halfway: the original is still in place
                os.unlink(dest)
                return
            raise Refused(f"{source}: another file is there now, so {dest} was not moved back")
        expected = Fingerprint.from_dict(done["fp"] if done is not None else started["source_fp"])
        if not fileops.unchanged(dest, Fingerprint(expected.size, expected.mtime_ns)) and not (
            dest in ours and fileops.unchanged(dest, ours[dest])  # a sidecar our own undo just rewrote
        ):
            raise Refused(f"{dest}: changed since it was moved, so it was left where it is")
        intent()
        source.parent.mkdir(parents=True, exist_ok=True)
        fileops.move_file(dest, source)
    elif action == "link":
        if not source.exists():
            raise Refused(f"{dest}: the original {source} is gone, so this link (its last name) was kept")
        if not fileops.same_file(source, dest):
            raise Refused(f"{dest}: no longer the link we made, so it was kept")
        intent()
        os.unlink(dest)
    elif action == "symlink":
        if not (os.path.islink(dest) and os.readlink(dest) == str(source)):
            raise Refused(f"{dest}: no longer the symbolic link we made, so it was kept")
        intent()
        os.unlink(dest)


def _undo_sidecar(started: dict[str, Any], done: dict[str, Any] | None, intent: Intent, ours: Fingerprints) -> None:
    sidecar = Path(started["sidecar"])
    if not sidecar.is_file():
        return
    try:
        data = sidecar.read_bytes()
    except OSError as exc:
        raise Refused(f"{sidecar}: {reason(exc)}") from exc
    created = not started.get("existed", True)
    if created and done is not None and done.get("sha256") == hashlib.sha256(data).hexdigest():
        intent()  # exactly the file we wrote
        os.unlink(sidecar)
        return
    added = started["added"]
    keywords = xmp.Keywords(tuple(added.get("subject", ())), tuple(added.get("hierarchical", ())))
    new, removed = xmp.remove_keywords(data, keywords, sidecar)
    if not removed:
        return  # someone removed our keywords already
    intent()
    if created and xmp.is_only_ours(new, sidecar):
        os.unlink(sidecar)
        return
    write_bytes(sidecar, new, overwrite=True)
    before_mtime = started.get("before_mtime_ns")
    if before_mtime is not None and hashlib.sha256(new).hexdigest() == started.get("before_sha256"):
        # The very bytes it had: give back its timestamp too (so a move of it can be undone next).
        os.utime(sidecar, ns=(os.stat(sidecar).st_atime_ns, int(before_mtime)))
    ours[sidecar] = fileops.fingerprint(sidecar)


def undo(path: Path, *, cancel: threading.Event | None = None) -> Generator[Progress, None, Outcome]:
    """Reverse every operation of the journal that was started, last first; yields after each one."""
    state = journal.read(path)
    todo = [op for op in reversed(state.ops) if int(op["id"]) in state.started and int(op["id"]) not in state.undone]
    outcome = Outcome(Path(path), total=len(todo))
    ours: Fingerprints = {}
    with journal.JournalWriter(Path(path)) as writer:
        for op in todo:
            if cancel is not None and cancel.is_set():
                outcome.cancelled = True
                break
            op_id = int(op["id"])
            started, done = state.started[op_id], state.done.get(op_id)
            where = Path(started.get("dest") or started.get("sidecar") or "?")

            def intent(op_id: int = op_id) -> None:
                writer.append({"type": "undo", "id": op_id})

            try:
                if op["action"] == "xmp":
                    _undo_sidecar(started, done, intent, ours)
                else:
                    _undo_file(op, started, done, intent, ours)
            except Refused as exc:
                writer.append({"type": "refused", "id": op_id, "reason": str(exc)})
                outcome.problems.append((where, str(exc)))
            except (ResNetDesktopError, OSError) as exc:
                message = describe(exc) if isinstance(exc, ResNetDesktopError) else f"{where}: {reason(exc)}"
                outcome.problems.append((where, message))
                try:
                    writer.append({"type": "refused", "id": op_id, "reason": message})
                except ResNetDesktopError:
                    outcome.stopped = message
                    break
                if fileops.fatal(exc):
                    outcome.stopped = message
                    break
            else:
                writer.append({"type": "undone", "id": op_id}, sync=False)
                outcome.done += 1
            yield Progress(outcome.done, outcome.total, len(outcome.problems), where)
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
    return journal.drain(undo(path, cancel=cancel))
