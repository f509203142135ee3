"""``resnet-desktop explain IMAGE --output cam.png``: a Grad-CAM overlay showing where the model looked.

The heatmap is computed at one stage (default ``layer4``) for one class (default the top-1, or
``--class N|LABEL``) and blended over the part of the photo the network sees (the centre crop,
outlined), on the whole photo at its own resolution up to 1024 pixels (``--crop-only``: the crop).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from resnet_desktop.cli.common import (
    EXIT_CODES_HELP,
    Exit,
    add_model_options,
    check_output,
    fraction,
    load_cli_model,
    printable,
)
from resnet_desktop.core.errors import SettingsError


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``explain`` on the main parser's sub-commands."""
    parser = subparsers.add_parser(
        "explain",
        help="write a Grad-CAM overlay PNG showing which part of an image drove a class",
        description="Grad-CAM: colour the regions of IMAGE that raise the score of one class.",
        epilog=EXIT_CODES_HELP + " (1: the image could not be read)",
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
    parser.add_argument("--opacity", type=fraction, default=0.5, help="heatmap opacity 0..1 (default: 0.5)")
    parser.add_argument("--colormap", default="inferno", help="inferno, viridis, magma, plasma or cividis")
    parser.add_argument(
        "--crop-only",
        action="store_true",
        help="write only the square the network sees (default: the whole photo, that square outlined)",
    )
    parser.add_argument("--force", action="store_true", help="replace --output if it already exists")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Load the model, compute Grad-CAM, write the overlay; print what was explained."""
    from resnet_desktop.core.explain.api import COLORMAPS, explain_photo, render, save_png

    output: Path = args.output
    check_output(output, args.force, suffix=".png", inputs=[args.image])
    if args.colormap not in COLORMAPS:
        raise SettingsError(f"unknown colormap {args.colormap!r}; choose one of {', '.join(COLORMAPS)}")
    loaded = load_cli_model(args)
    explanation = explain_photo(loaded, args.image, target=args.target, layer=args.layer, device=args.device)
    picture = render(
        explanation, loaded.preprocessing, opacity=args.opacity, colormap=args.colormap, crop_only=args.crop_only
    )
    save_png(picture, output, overwrite=args.force)
    result = explanation.cam
    print(
        printable(
            f"{output}: Grad-CAM at {result.layer} for class {result.class_index} '{explanation.label}' "
            f"(probability {result.probability:.1%}) of {args.image}"
        )
    )
    print(f"model: {loaded.source}")
    return Exit.OK
