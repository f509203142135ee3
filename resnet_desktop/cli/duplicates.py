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

from resnet_desktop.cli.common import EXIT_CODES_HELP, Exit
from resnet_desktop.cli.similar import add_index_options, index_inputs


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from resnet_desktop.core.library.similar import DUPLICATE_THRESHOLD

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
        type=_threshold,
        default=DUPLICATE_THRESHOLD,
        help=f"cosine similarity that makes two photos near-duplicates (default: {DUPLICATE_THRESHOLD})",
    )
    add_index_options(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from resnet_desktop.core.library.similar import duplicate_groups, normalize

    folders = [f.absolute() for f in args.folders]
    done = index_inputs("duplicates", args, folders)
    try:
        _ids, paths, matrix = done.index.embeddings(done.model_id, folders)
    finally:
        done.run.close()
    unit = normalize(matrix)
    groups = duplicate_groups(unit, args.threshold)
    listed = [
        [{"path": str(paths[i]), "score": round(float(unit[i] @ unit[group[0]]), 6)} for i in group] for group in groups
    ]
    if args.format == "json":
        json.dump(listed, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for number, group_items in enumerate(listed, start=1):
            print(f"Group {number} ({len(group_items)} photos):")
            for item in group_items:
                print(f"  {item['score']:.4f}  {item['path']}")
    in_groups = sum(len(g) for g in groups)
    print(f"{len(groups)} group(s) of near-duplicates among {len(paths)} photos ({in_groups} photos).", file=sys.stderr)
    if done.errors:
        print(f"{len(done.errors)} file(s) could not be read:", file=sys.stderr)
        for path, reason in done.errors.items():
            print(f"  {path}: {reason}", file=sys.stderr)
        return Exit.SOME_FAILED
    return Exit.OK
