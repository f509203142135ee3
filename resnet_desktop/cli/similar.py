"""``resnet-desktop similar PHOTO [--in FOLDER] [-k 10]``: the most similar photos in the library index.

The photo and the folders are classified through the index first (known files cost nothing), so the
embeddings of the chosen model are there; similarity is the cosine of those embeddings.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_desktop.cli.common import EXIT_CODES_HELP, Exit, add_model_options, load_cli_model, positive_int, warning

if TYPE_CHECKING:
    from resnet_desktop.core.library.incremental import IndexedRun
    from resnet_desktop.core.library.index import LibraryIndex


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "similar",
        help="find the photos most similar to one photo (library index)",
        description="List the photos most similar to PHOTO by the cosine of their embeddings (same model). "
        "Without --in, every photo in the library index classified with that model is a candidate.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("photo", type=Path, metavar="PHOTO", help="the photo to start from")
    parser.add_argument(
        "--in",
        dest="folders",
        type=Path,
        action="append",
        default=[],
        metavar="FOLDER",
        help="look only in FOLDER (indexed first; repeatable)",
    )
    parser.add_argument("-k", type=positive_int, default=10, help="how many similar photos (default: 10)")
    add_index_options(parser)
    parser.set_defaults(func=run)
    return parser


def add_index_options(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser)
    parser.add_argument("--batch-size", type=positive_int, default=None, help="images per batch (default: per device)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")


@dataclass
class Indexed:
    index: LibraryIndex
    model_id: int
    run: IndexedRun
    errors: dict[str, str]


def index_inputs(command: str, args: argparse.Namespace, inputs: list[Path]) -> Indexed:
    """Open the index, load the model and bring ``inputs`` into the index (only new files are classified)."""
    from resnet_desktop.cli.classify import ProgressLine
    from resnet_desktop.core import images
    from resnet_desktop.core.inference.engine import Engine, expected_precision
    from resnet_desktop.core.library.incremental import IndexedRun
    from resnet_desktop.core.library.index import LibraryIndexError, ModelIdentity, open_index

    index = open_index()
    if index is None:
        raise LibraryIndexError("the library index is switched off (RESNET_DESKTOP_INDEX=off)")
    for notice in index.notices:
        warning(command, notice)
    loaded = load_cli_model(args)
    identity = ModelIdentity.of(loaded, expected_precision(args.device))  # the engine is made only if needed
    run_ = IndexedRun(lambda: Engine(loaded, args.device, batch_size=args.batch_size), index, identity)
    if run_.model_id is None:
        raise LibraryIndexError("; ".join(run_.counts.notices or ["the library index cannot be used"]))
    bar = ProgressLine(sys.stderr)
    errors: dict[str, str] = {}
    for item in run_.classify(images.discover(inputs), progress=bar, inputs=inputs):
        if item.prediction.error is not None:
            errors[str(Path(item.prediction.path).absolute())] = item.prediction.error
    bar.clear()
    for notice in run_.counts.notices or []:
        warning(command, notice)
    if run_.counts.new:
        print(f"Indexed {run_.counts.new} new file(s) with {loaded.source}.", file=sys.stderr)
    return Indexed(index, run_.model_id, run_, errors)


def run(args: argparse.Namespace) -> int:
    from resnet_desktop.core.errors import ImageError
    from resnet_desktop.core.library.similar import similar

    photo = args.photo.absolute()
    done = index_inputs("similar", args, [photo, *args.folders])
    try:
        if str(photo) in done.errors:
            raise ImageError(photo, done.errors[str(photo)])
        vector = done.index.embedding_of(photo, done.model_id)
        if vector is None:
            raise ImageError(photo, "this model gives no embedding for it")
        folders = [f.absolute() for f in args.folders] or None
        neighbours = similar(done.index, done.model_id, vector, k=args.k, inputs=folders, exclude=photo)
    finally:
        done.run.close()
    if args.format == "json":
        json.dump([{"path": str(n.path), "score": round(n.score, 6)} for n in neighbours], sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(f"Most similar to {photo}:")
        for rank, n in enumerate(neighbours, start=1):
            print(f"  {rank:>2}. {n.score:.4f}  {n.path}")
    if not neighbours:
        print("No other photos with embeddings of this model in the index.", file=sys.stderr)
    return Exit.OK
