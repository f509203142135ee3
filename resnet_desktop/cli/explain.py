"""``resnet-desktop explain IMAGE --output cam.png``: a Grad-CAM overlay showing where the model looked.

The heatmap is computed at one stage (default ``layer4``) for one class (default the top-1, or
``--class N|LABEL``) and blended over the part of the photo the network sees (the centre crop,
outlined), on the whole photo at its own resolution up to 1024 pixels (``--crop-only``: the crop).
"""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path
from typing import Any

from resnet_desktop.cli.common import (
    EXIT_CODES_HELP,
    Exit,
    add_model_options,
    check_output,
    load_cli_model,
    printable,
)
from resnet_desktop.core.errors import SettingsError

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
    parser.add_argument("--opacity", type=_opacity, default=0.5, help="heatmap opacity 0..1 (default: 0.5)")
    parser.add_argument("--colormap", default="inferno", help="inferno, viridis, magma, plasma or cividis")
    parser.add_argument(
        "--crop-only",
        action="store_true",
        help="write only the square the network sees (default: the whole photo, that square outlined)",
    )
    parser.add_argument("--force", action="store_true", help="replace --output if it already exists")
    parser.set_defaults(func=run)
    return parser


def resolve_class(target: str | None, categories: list[str]) -> int | None:
    """``None`` (top-1), an index, or a label (case-insensitive); SettingsError with close labels otherwise."""
    if target is None:
        return None
    text = target.strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(categories):
            raise SettingsError(f"class {index} is out of range: this model has classes 0..{len(categories) - 1}")
        return index
    lowered = [c.lower() for c in categories]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    close = difflib.get_close_matches(text.lower(), lowered, n=3)
    hint = f"; did you mean {', '.join(repr(categories[lowered.index(c)]) for c in close)}?" if close else ""
    raise SettingsError(f"unknown class label {text!r}{hint}")


def run(args: argparse.Namespace) -> int:
    """Load the model, compute Grad-CAM, write the overlay; print what was explained."""
    from resnet_desktop.core.devices import resolve_device
    from resnet_desktop.core.explain.gradcam import grad_cam
    from resnet_desktop.core.explain.heatmaps import COLORMAPS, network_view, overlay, overlay_on_photo, save_png
    from resnet_desktop.core.explain.hooks import image_tensor
    from resnet_desktop.core.images import open_image
    from resnet_desktop.core.inference.decode import precrop_long_side

    output: Path = args.output
    check_output(output, args.force, suffix=".png", inputs=[args.image])
    if args.colormap not in COLORMAPS:
        raise SettingsError(f"unknown colormap {args.colormap!r}; choose one of {', '.join(COLORMAPS)}")
    device = resolve_device(args.device)
    loaded = load_cli_model(args)
    loaded.model.to(device)
    target = resolve_class(args.target, loaded.categories)
    prep = loaded.preprocessing
    # A 10000x1 strip is cut to what the crop can see first, as in classify (bounded memory).
    photo = open_image(args.image)
    seen = precrop_long_side(photo, prep.resize_size, prep.crop_size)
    result = grad_cam(loaded.model, image_tensor(seen, prep), target, args.layer)

    if args.crop_only:
        view = network_view(seen, prep.resize_size, prep.crop_size)
        if max(view.size) > MAX_OUTPUT_SIDE:
            view = view.resize((MAX_OUTPUT_SIDE, MAX_OUTPUT_SIDE))
        picture = overlay(view, result.heatmap, args.opacity, colormap=args.colormap)
    else:
        picture = overlay_on_photo(
            photo,
            result.heatmap,
            prep.resize_size,
            prep.crop_size,
            opacity=args.opacity,
            colormap=args.colormap,
            max_side=MAX_OUTPUT_SIDE,
        )
    save_png(picture, output, overwrite=args.force)

    label = loaded.categories[result.class_index]
    print(
        printable(
            f"{output}: Grad-CAM at {result.layer} for class {result.class_index} '{label}' "
            f"(probability {result.probability:.1%}) of {args.image}"
        )
    )
    print(f"model: {loaded.source}")
    return Exit.OK
