"""``resnet-desktop labels import|export|list``: a person's label sets from the shell.

Labels are user data in their own store (``library-user.sqlite3`` beside the library index), never
cleared with the index. ``import`` takes a folder tree (one subfolder per class, as ``finetune``
does) or a CSV of ``path,label`` rows; ``export`` writes such a CSV; ``list`` shows the sets.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_desktop.cli.common import EXIT_CODES_HELP, Exit, LiveLine, check_output, printable, warning

if TYPE_CHECKING:
    from resnet_desktop.core.teach.api import LabelSetInfo
    from resnet_desktop.core.work import Step


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "labels",
        help="import, export and list your own labels (label sets for teach)",
        description="Your own categories: label sets of photos, kept in their own store beside the library "
        "index (clearing the index never loses a label).",
        epilog=EXIT_CODES_HELP,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    importing = actions.add_parser(
        "import",
        help="label photos from a folder tree (one subfolder per class) or a CSV of path,label rows",
        epilog="Photos are known by their content: re-importing changes nothing; a photo moved or renamed keeps "
        "its label. " + EXIT_CODES_HELP,
    )
    importing.add_argument("source", type=Path, metavar="SRC", help="folder with one subfolder per class, or a .csv")
    importing.add_argument(
        "--set", dest="set_name", metavar="NAME", help="label set (created if new; default: the only set)"
    )
    importing.set_defaults(func=run_import)
    exporting = actions.add_parser("export", help="write a label set's labels as a CSV of path,label rows")
    exporting.add_argument("csv", type=Path, metavar="CSV", help="file to write")
    exporting.add_argument("--set", dest="set_name", metavar="NAME", help="label set (default: the only set)")
    exporting.add_argument("--force", action="store_true", help="replace CSV if it exists")
    exporting.set_defaults(func=run_export)
    listing = actions.add_parser("list", help="the label sets, their classes and labels")
    listing.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    listing.set_defaults(func=run_list)
    return parser


def _progress(line: LiveLine) -> Any:
    def show(event: Step) -> None:
        total = f"/{event.total}" if event.total else ""
        line.show(f"{event.message}: {event.done}{total}")

    return show


def run_import(args: argparse.Namespace) -> int:
    from resnet_desktop.core.teach.api import import_labels, library_if_available, open_store
    from resnet_desktop.core.work import drive

    line = LiveLine(sys.stderr)
    index = library_if_available()  # photos it knows unchanged need no hashing
    with open_store() as store:
        for notice in store.notices:
            warning("labels", notice)
        try:
            report = drive(import_labels(store, args.source, args.set_name, index=index), _progress(line))
        finally:
            line.clear()
            if index is not None:
                index.close()
    for path, reason in report.skipped:
        warning("labels", f"{path}: {reason}")
    print(
        f"Label set {report.set_name!r}: {report.added} labeled, {report.changed} changed, "
        f"{report.unchanged} already so ({len(report.classes)} classes: {', '.join(report.classes)}) "
        f"in {report.seconds:.1f} s.",
        file=sys.stderr,
    )
    return Exit.SOME_FAILED if report.skipped else Exit.OK


def run_export(args: argparse.Namespace) -> int:
    from resnet_desktop.core.teach.api import export_labels, open_store

    target = check_output(args.csv, args.force, suffix=".csv")
    with open_store() as store:
        count = export_labels(store, target, args.set_name, force=args.force)
    print(f"Wrote {count} labels to {printable(args.csv)}.", file=sys.stderr)
    return Exit.OK


def _as_dict(info: LabelSetInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "labels": info.labels,
        "classes": [{"name": c.name, "key": c.position + 1, "labeled": c.labeled} for c in info.classes],
        "base_model": info.base_model,
        "scope": [str(p) for p in info.scope],
        "taught": info.taught,
        "versions": info.versions,
        "active_version": info.active_version,
    }


def run_list(args: argparse.Namespace) -> int:
    from resnet_desktop.core.teach.api import list_sets, open_store

    with open_store() as store:
        sets = list_sets(store)
    if args.format == "json":
        print(json.dumps([_as_dict(s) for s in sets], indent=2, ensure_ascii=False))
        return Exit.OK
    if not sets:
        print("No label sets yet: resnet-desktop labels import FOLDER", file=sys.stderr)
        return Exit.OK
    for info in sets:
        version = f", version {info.active_version} active" if info.active_version else ""
        print(f"{printable(info.name)}: {info.labels} labels in {len(info.classes)} classes{version}")
        for c in info.classes:
            print(f"  {printable(c.name)}: {c.labeled}")
    return Exit.OK
