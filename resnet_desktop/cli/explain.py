"""``resnet-desktop explain IMAGE --output cam.png``: a Grad-CAM overlay showing where the model looked.

The heatmap is computed at one stage (default ``layer4``) for one class (default the top-1, or
``--class N|LABEL``) and blended over the part of the photo the network sees (the centre crop), at
the photo's own resolution up to 1024 pixels. Exit codes: 0 written, 1 the image could not be read,
2 usage or model errors (bad option, unknown class or layer, missing weights, output exists).
"""

from __future__ import annotations

import argparse
import difflib
import logging
import sys
from pathlib import Path
from typing import Any

from resnet_desktop.cli.common import add_model_options, load_cli_model, output_problem

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
MAX_OUTPUT_SIDE = 1024


def _opacity(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``explain`` on the main parser's sub-commands."""
    parser = subparsers.add_parser(
        "explain",
        help="write a Grad-CAM overlay PNG showing which part of an image drove a class",
        description="Grad-CAM: colour the regions of IMAGE that raise the score of one class.",
        epilog="exit codes: 0 written, 1 the image could not be read, 2 usage or model errors "
        "(bad option, unknown class or layer, missing weights, output exists)",
    )
    parser.add_argument("image", type=Path, metavar="IMAGE", help="the photo to explain")
    parser.add_argument("--output", "-o", type=Path, required=True, metavar="PNG", help="overlay image to write")
    add_model_options(parser)
    parser.add_argument(
        "--class",
        dest="target",
        default=None,
        metavar="N|LABEL",
        help="class index or label to explain (default: the top-1 prediction)",
    )
    parser.add_argument(
        "--layer", default="layer4", help="layer whose output is explained, e.g. layer3, layer4.1 (default: layer4)"
    )
    parser.add_argument("--opacity", type=_opacity, default=0.5, help="heatmap opacity 0..1 (default: 0.5)")
    parser.add_argument("--colormap", default="inferno", help="inferno, viridis, magma, plasma or cividis")
    parser.add_argument("--force", action="store_true", help="replace --output if it already exists")
    parser.set_defaults(func=run)
    return parser


def resolve_class(target: str | None, categories: list[str]) -> int | None:
    """``None`` (top-1), an index, or a label (case-insensitive); ValueError with close labels otherwise."""
    if target is None:
        return None
    text = target.strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(categories):
            raise ValueError(f"class {index} is out of range: this model has classes 0..{len(categories) - 1}")
        return index
    lowered = [c.lower() for c in categories]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    close = difflib.get_close_matches(text.lower(), lowered, n=3)
    hint = f"; did you mean {', '.join(repr(categories[lowered.index(c)]) for c in close)}?" if close else ""
    raise ValueError(f"unknown class label {text!r}{hint}")


def _error(message: str, code: int) -> int:
    print(f"resnet-desktop explain: error: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    """Load the model, compute Grad-CAM, write the overlay; print what was explained."""
    from resnet_desktop.core.devices import resolve_device
    from resnet_desktop.core.errors import ImageError, ResNetDesktopError
    from resnet_desktop.core.explain.heatmaps import COLORMAPS, network_view, overlay, save_png
    from resnet_desktop.core.explain.hooks import grad_cam, image_tensor

    output: Path = args.output
    problem = output_problem(output, args.force, suffix=".png")
    if problem:
        return _error(problem, EXIT_USAGE)
    if args.colormap not in COLORMAPS:
        return _error(f"unknown colormap {args.colormap!r}; choose one of {', '.join(COLORMAPS)}", EXIT_USAGE)
    try:
        device = resolve_device(args.device)
        loaded = load_cli_model(args)
    except ResNetDesktopError as exc:
        return _error(str(exc), EXIT_USAGE)
    loaded.model.to(device)
    try:
        target = resolve_class(args.target, loaded.categories)
    except ValueError as exc:
        return _error(str(exc), EXIT_USAGE)

    from resnet_desktop.core.images import open_image

    try:
        photo = open_image(args.image)
    except ImageError as exc:
        return _error(str(exc), EXIT_SOME_FAILED)
    try:
        result = grad_cam(loaded.model, image_tensor(photo, loaded.preprocessing), target, args.layer)
    except ValueError as exc:
        return _error(str(exc), EXIT_USAGE)

    prep = loaded.preprocessing
    view = network_view(photo, prep.resize_size, prep.crop_size)
    if max(view.size) > MAX_OUTPUT_SIDE:
        view = view.resize((MAX_OUTPUT_SIDE, MAX_OUTPUT_SIDE))
    picture = overlay(view, result.heatmap, args.opacity, colormap=args.colormap)
    try:
        save_png(picture, output, overwrite=args.force)
    except FileExistsError:
        return _error(f"{output} already exists; use --force to replace it", EXIT_USAGE)
    except OSError as exc:
        return _error(f"{output}: cannot write ({exc.strerror or exc})", EXIT_USAGE)

    label = loaded.categories[result.class_index]
    print(
        f"{output}: Grad-CAM at {result.layer} for class {result.class_index} '{label}' "
        f"(probability {result.probability:.1%}) of {args.image}"
    )
    print(f"model: {loaded.source}")
    return EXIT_OK
