"""``resnet-desktop duplicates FOLDER...``: groups of near-duplicate photos (library index embeddings).

Resized, recompressed or slightly cropped copies of a photo have almost the same embedding; every
pair at or above ``--threshold`` cosine is linked and linked photos form one group.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from resnet_desktop.cli.common import (
    EXIT_CODES_HELP,
    ClassifyProgressLine,
    Exit,
    add_index_options,
    fp32_only,
    load_cli_model,
    open_cli_engine,
    positive_fraction,
    printable,
    report_indexing,
    report_unreadable,
)

#: The default similarity (core.library.similar.DUPLICATE_THRESHOLD); written here so --help imports nothing heavy.
DUPLICATE_THRESHOLD = 0.95


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "duplicates",
        help="group near-duplicate photos in folders (library index)",
        description="Group photos whose embeddings (same model) have a cosine similarity at or above "
        "--threshold: resized, recompressed or slightly cropped copies of one photo.",
        epilog="Models with random weights put every photo close together: use a threshold near 1 "
        "(e.g. 0.998) with them.\n\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("folders", nargs="+", type=Path, metavar="FOLDER", help="folders (and files) to search")
    parser.add_argument(
        "--threshold",
        type=positive_fraction,
        default=DUPLICATE_THRESHOLD,
        help=f"cosine similarity that makes two photos near-duplicates (default: {DUPLICATE_THRESHOLD})",
    )
    add_index_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from resnet_desktop.core.library.api import find_duplicates
    from resnet_desktop.core.work import drive

    fp32_only(args, "duplicates")
    loaded = load_cli_model(args)
    bar = ClassifyProgressLine(sys.stderr)
    work = find_duplicates(loaded, lambda: open_cli_engine(args, loaded), args.folders, threshold=args.threshold)
    try:
        found = drive(work, bar)
    finally:
        bar.clear()
    report_indexing("duplicates", found.indexing, loaded.source)
    listed = [
        [{"path": str(path), "score": round(score, 6)} for path, score in zip(group.paths, group.scores, strict=True)]
        for group in found.groups
    ]
    if args.format == "json":
        json.dump(listed, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for number, group_items in enumerate(listed, start=1):
            print(f"Group {number} ({len(group_items)} photos):")
            for item in group_items:
                print(printable(f"  {item['score']:.4f}  {item['path']}"))
    in_groups = sum(len(g.paths) for g in found.groups)
    print(
        f"{len(found.groups)} group(s) of near-duplicates among {found.photos} photos ({in_groups} photos).",
        file=sys.stderr,
    )
    report_unreadable(found.indexing)
    return Exit.SOME_FAILED if found.indexing.errors else Exit.OK
