"""``resnet-desktop library add|remove|list|status|scan|watch|model|rules|undo``: library folders that
keep themselves current.

A library folder is indexed with the model chosen when it was added; ``scan`` brings every folder up
to date once, ``watch`` keeps doing it as photos arrive (for a machine without the app open: see the
systemd user unit in ``packaging/``). Both run at low priority with one model thread by default.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from resnet_desktop.cli.common import (
    EXIT_CODES_HELP,
    Exit,
    add_model_options,
    batch_size,
    fraction,
    model_ref,
    positive_int,
    printable,
    warning,
)

if TYPE_CHECKING:
    from resnet_desktop.core.library.api import FolderStatus, LibraryFolder, SyncResult, WatchEvent

#: Niceness of ``scan`` and ``watch`` with ``--priority low`` (the default).
LOW_PRIORITY_NICE = 10
STATUS_COLUMNS = ("FILES", "INDEXED", "PENDING", "ERRORS", "SKIPPED")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "library",
        help="library folders that keep themselves current (add, status, scan, watch)",
        description="Add folders to the library; each is indexed with its own model, and 'scan' or 'watch' "
        "keeps the index current as photos are added, changed, renamed, moved or deleted.",
        epilog="The folder list is user data: it lives in library-folders.sqlite3 beside the library index and "
        "is kept when the index is cleared.\n\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="library_command", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="add a folder (indexed with --model, default: the app's model)")
    add.add_argument("folder", type=Path, metavar="FOLDER")
    add_model_options(add, device=False)
    _format(add)
    add.set_defaults(func=run_add)

    remove = commands.add_parser("remove", help="take a folder out of the library (its photos are not touched)")
    remove.add_argument("folder", type=Path, metavar="FOLDER")
    remove.set_defaults(func=run_remove)

    listing = commands.add_parser("list", help="the library's folders, their models and rules")
    _format(listing)
    listing.set_defaults(func=run_list)

    status = commands.add_parser("status", help="files, indexed, pending, errors, skipped, offline per folder")
    status.add_argument("folders", nargs="*", type=Path, metavar="FOLDER", help="default: every library folder")
    _format(status)
    status.set_defaults(func=run_status)

    scan = commands.add_parser("scan", help="bring the library folders up to date once")
    scan.add_argument("folders", nargs="*", type=Path, metavar="FOLDER", help="default: every library folder")
    _run_options(scan)
    _format(scan)
    scan.set_defaults(func=run_scan)

    watch = commands.add_parser(
        "watch",
        help="keep the library folders up to date as they change (until stopped)",
        description="Watch every library folder and index what changes a moment later. Prints one line per "
        "folder pass; --format json prints one JSON object per event (what the app reads). With --control, "
        "lines 'pause', 'resume' and 'stop' on stdin steer it (the app does); SIGTERM stops it.",
    )
    _run_options(watch)
    watch.add_argument("--poll", type=positive_int, default=60, metavar="S", help=argparse.SUPPRESS)
    watch.add_argument("--control", action="store_true", help="read pause/resume/stop lines from stdin")
    watch.add_argument(
        "--format", choices=("text", "json"), default="text", help="text lines or JSON lines (default: text)"
    )
    watch.set_defaults(func=run_watch)

    model = commands.add_parser("model", help="index a folder with another model from now on")
    model.add_argument("folder", type=Path, metavar="FOLDER")
    add_model_options(model, device=False)
    model.set_defaults(func=run_model)

    rules = commands.add_parser(
        "rules",
        help="what to do with each new photo of a folder (off by default)",
        description="Rules act on photos classified after they are switched on, once per photo, through the "
        "organize journal: 'library undo FOLDER' reverses the last thing they did.",
    )
    rules.add_argument("folder", type=Path, metavar="FOLDER")
    rules.add_argument("--xmp", action=argparse.BooleanOptionalAction, default=None, help="write XMP keywords")
    rules.add_argument("--organize", choices=("copy", "move", "off"), default=None, help="copy or move new photos")
    rules.add_argument("--organize-into", type=Path, default=None, metavar="DEST", help="into DEST/<class>/")
    rules.add_argument("--threshold", type=fraction, default=None, help="minimum top-1 probability (default: 0.5)")
    _format(rules)
    rules.set_defaults(func=run_rules)

    undo = commands.add_parser("undo", help="undo the last thing a folder's rules did")
    undo.add_argument("folder", type=Path, metavar="FOLDER")
    undo.set_defaults(func=run_undo)
    return parser


def _format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    parser.add_argument("--threads", type=positive_int, default=1, help="CPU threads for the model (default: 1)")
    parser.add_argument("--batch-size", type=batch_size, default=8, help="images per batch (default: 8)")
    parser.add_argument(
        "--priority",
        choices=("low", "normal"),
        default="low",
        help=f"low: nice {LOW_PRIORITY_NICE}, so the computer stays usable (default: low)",
    )


def _lower_priority(args: argparse.Namespace) -> None:
    if args.priority == "low" and hasattr(os, "nice"):
        try:
            os.nice(LOW_PRIORITY_NICE)
        except OSError as exc:
            warning("library", f"could not lower the priority: {exc.strerror or exc}")


def _folder_dict(folder: LibraryFolder) -> dict[str, Any]:
    return {"path": str(folder.path), "model": folder.model, "rules": folder.rules.to_dict()}


def _dump(data: object) -> None:
    json.dump(data, sys.stdout, indent=1)
    sys.stdout.write("\n")


# -- add, remove, list, model, rules, undo -------------------------------------------------------


def run_add(args: argparse.Namespace) -> int:
    from resnet_desktop.core.library.api import add_folder

    ref = model_ref(args) if args.model or args.weights else None
    folder = add_folder(args.folder, ref)
    if args.format == "json":
        _dump(_folder_dict(folder))
    else:
        print(printable(f"Added {folder.path} (model {folder.model})."))
        print("Run 'resnet-desktop library scan' to index it, or 'library watch' to keep it current.", file=sys.stderr)
    return Exit.OK


def run_remove(args: argparse.Namespace) -> int:
    from resnet_desktop.core.library.api import remove_folder

    folder = remove_folder(args.folder)
    print(printable(f"Removed {folder.path} from the library (its photos were not touched)."))
    return Exit.OK


def run_list(args: argparse.Namespace) -> int:
    from resnet_desktop.core.library.api import list_folders

    folders = list_folders()
    if args.format == "json":
        _dump([_folder_dict(f) for f in folders])
        return Exit.OK
    if not folders:
        print("No library folders yet: 'resnet-desktop library add FOLDER'.", file=sys.stderr)
    for folder in folders:
        print(printable(f"{folder.path}  model {folder.model}  rules: {folder.rules.describe()}"))
    return Exit.OK


def run_model(args: argparse.Namespace) -> int:
    from resnet_desktop.core.library.api import set_folder_model

    folder = set_folder_model(args.folder, model_ref(args))
    print(printable(f"{folder.path} is indexed with {folder.model} from now on."))
    return Exit.OK


def run_rules(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from resnet_desktop.core.library.api import Mode, get_folder, set_folder_rules

    rules = get_folder(args.folder).rules
    if args.xmp is not None:
        rules = replace(rules, xmp=args.xmp)
    if args.organize is not None:
        rules = replace(rules, organize=None if args.organize == "off" else Mode(args.organize))
    if args.organize_into is not None:
        rules = rules.with_into(args.organize_into)
    if args.threshold is not None:
        rules = replace(rules, threshold=args.threshold)
    folder = set_folder_rules(args.folder, rules)
    if args.format == "json":
        _dump(_folder_dict(folder))
    else:
        print(printable(f"{folder.path}: {folder.rules.describe()}"))
    return Exit.OK


def run_undo(args: argparse.Namespace) -> int:
    from resnet_desktop.core.library.api import last_rule_journal, undo
    from resnet_desktop.core.work import drive

    journal = last_rule_journal(args.folder)
    outcome = drive(undo(journal))
    for path, reason in outcome.problems:
        print(printable(f"  {path}: {reason}"), file=sys.stderr)
    print(printable(f"Undid {outcome.done} of {outcome.total} operation(s) recorded in {journal}."))
    return Exit.SOME_FAILED if outcome.problems else Exit.OK


# -- status --------------------------------------------------------------------------------------


def run_status(args: argparse.Namespace) -> int:
    from resnet_desktop.core.library.api import folder_statuses

    statuses = folder_statuses(args.folders or None)
    if args.format == "json":
        _dump([s.to_dict() for s in statuses])
    else:
        print_status_table(statuses, sys.stdout)
    return Exit.OK


def print_status_table(statuses: list[FolderStatus], out: TextIO) -> None:
    if not statuses:
        print("No library folders yet: 'resnet-desktop library add FOLDER'.", file=sys.stderr)
        return
    print(f"{'FOLDER':<40} " + " ".join(f"{c:>8}" for c in STATUS_COLUMNS) + "  STATE", file=out)
    for s in statuses:
        numbers = (s.files, s.indexed, s.pending, s.errors, s.skipped_total)
        state = f"offline: {s.offline_reason}" if s.offline else ("up to date" if not s.pending else "pending")
        print(printable(f"{str(s.path):<40} ") + " ".join(f"{n:>8}" for n in numbers) + f"  {state}", file=out)
        if s.skipped:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(s.skipped.items()))
            print(f"{'':<40} skipped: {kinds}", file=out)


# -- scan and watch ------------------------------------------------------------------------------


def _models(args: argparse.Namespace) -> Any:
    from resnet_desktop.core.library.api import FolderModels

    return FolderModels(args.device, threads=args.threads, batch_size=args.batch_size)


def synced_dict(result: SyncResult) -> dict[str, Any]:
    return {
        "folder": str(result.status.path),
        "status": result.status.to_dict(),
        "new": result.new,
        "from_index": result.from_index,
        "moved": result.moved,
        "failed": result.failed,
        "pruned": result.pruned,
        "dated": result.dated,
        "rules": [
            {"rule": r.rule, "photos": r.photos, "journal": str(r.journal) if r.journal else None} for r in result.rules
        ],
        "interrupted": result.interrupted,
        "notices": result.notices,
    }


def synced_text(result: SyncResult) -> str:
    s = result.status
    if s.offline:
        return f"{s.path}: offline ({s.offline_reason}); nothing was pruned"
    moved = f" ({result.moved} moved or renamed)" if result.moved else ""
    line = (
        f"{s.path}: {result.new} newly classified, {result.from_index} from the index{moved}, "
        f"{result.pruned} deleted photo(s) pruned; now {s.files} photos, {s.indexed} indexed, "
        f"{s.pending} pending, {s.errors} errors, {s.skipped_total} skipped"
    )
    for rule in result.rules:
        line += f"; rule {rule.rule}: {rule.photos} photo(s)" + (f" (undo: {rule.journal})" if rule.journal else "")
    return line + (" (paused: the rest comes later)" if result.interrupted else "")


def run_scan(args: argparse.Namespace) -> int:
    from resnet_desktop.core.library.api import scan_folders
    from resnet_desktop.core.work import drive

    _lower_priority(args)
    results = drive(scan_folders(_models(args), args.folders or None))
    for result in results:
        for notice in result.notices:
            warning("library", notice)
    if args.format == "json":
        _dump([synced_dict(r) for r in results])
    else:
        for result in results:
            print(printable(synced_text(result)))
    return Exit.OK


def event_dict(event: WatchEvent) -> dict[str, Any] | None:
    """The JSON line of a watch event (None: not worth a line)."""
    from resnet_desktop.core.library.api import (
        FolderProgress,
        FolderRemoved,
        FolderSynced,
        WatchNotice,
        WatchState,
    )

    if isinstance(event, WatchState):
        return {"event": "state", "state": event.state, "folder": str(event.folder) if event.folder else None}
    if isinstance(event, FolderProgress):
        return {"event": "progress", "folder": str(event.folder), "phase": event.phase, "done": event.done,
                "total": event.total}  # fmt: skip
    if isinstance(event, FolderSynced):
        return {"event": "synced", **synced_dict(event.result)}
    if isinstance(event, WatchNotice):
        return {"event": "notice", "folder": str(event.folder) if event.folder else None, "message": event.message}
    if isinstance(event, FolderRemoved):
        return {"event": "removed", "folder": str(event.folder)}
    return None


def _control(pause: threading.Event, cancel: threading.Event) -> None:
    """stdin lines from the app: pause, resume, stop (end of input stops too)."""
    for line in sys.stdin:
        word = line.strip().lower()
        if word == "pause":
            pause.set()
        elif word == "resume":
            pause.clear()
        elif word == "stop":
            break
    cancel.set()


def run_watch(args: argparse.Namespace) -> int:
    from resnet_desktop.core.library.api import FolderSynced, WatchNotice, watch_library

    _lower_priority(args)
    cancel, pause = threading.Event(), threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_a: cancel.set())
    if args.control:
        threading.Thread(target=_control, args=(pause, cancel), name="control", daemon=True).start()
    work = watch_library(_models(args), cancel=cancel, pause=pause, poll_s=float(args.poll))
    for event in work:
        if args.format == "json":
            line = event_dict(event)
            if line is not None:
                print(json.dumps(line), flush=True)
        elif isinstance(event, FolderSynced):
            print(printable(synced_text(event.result)), flush=True)
        elif isinstance(event, WatchNotice):
            warning("library watch", event.message)
    return _end_now(args, Exit.OK)


def _end_now(args: argparse.Namespace, code: int) -> int:
    """Stopped cleanly (the index and the folder list are closed): end the process now. The
    interpreter's own teardown (garbage-collecting torch) takes seconds on a busy machine, and the
    app that started this process waits for it to end when it closes."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if getattr(args, "own_process", False):
        os._exit(code)
    return code
