"""``resnet-desktop export``: write a model as ONNX (or TorchScript), verified before it is kept.

The model is named with ``--model``/``--weights`` like every other command (a weights or model
file's architecture is detected); a bare MODEL argument is kept as an alias of ``--model``. The file
is written only when running it agrees with PyTorch on the bundled sample photos and a few random
images; otherwise nothing is written and the figures are printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from resnet_desktop.cli.common import (
    EXIT_CODES_HELP,
    Exit,
    add_model_options,
    check_output,
    load_cli_model,
)

EPILOG = """\
the file: one input "input" (float32 NCHW RGB in [0, 1], resized, centre-cropped and normalised
with the mean/std in the metadata), two outputs "logits" and "embedding" (the pooled features),
dynamic batch axis. metadata_props carry preprocessing (JSON), class_names (JSON), arch, precision.

verification: fp32 must keep every top-1 and stay within 1e-3 of PyTorch's logits; fp16 must keep
a mean top-5 overlap of at least 4 of 5 on the sample photos. int8 is calibrated (int8-static) and
verified on your photos, --calibration FOLDER (FOLDER/<class name>/... counts as labeled): its
top-1 must equal PyTorch's on at least 98% of at least 100 photos not used for calibration, and no
class may lose more than 2% of its photos; otherwise nothing is written.

"""

PRECISIONS = ("fp32", "fp16", "int8-dynamic", "int8-static")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "export",
        help="export a model to ONNX or TorchScript (verified against PyTorch)",
        description="Export a ResNet or a fine-tuned model file to ONNX or TorchScript.",
        epilog=EPILOG + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "model_alias",
        nargs="?",
        default=None,
        metavar="MODEL",
        help="the same as --model MODEL (kept for older scripts)",
    )
    add_model_options(parser, device=False)
    parser.add_argument("--format", choices=("onnx", "torchscript"), default="onnx", help="(default: onnx)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="ONNX only (default: fp32)")
    parser.add_argument(
        "--calibration",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="your photos to calibrate and verify int8 on (needed for int8)",
    )
    parser.add_argument("--output", type=Path, required=True, metavar="FILE", help="the file to write (atomically)")
    parser.add_argument("--force", action="store_true", help="allow --output to replace an existing file")
    parser.add_argument("--json", action="store_true", help="print the export's figures as JSON on stdout")
    parser.set_defaults(func=run)
    return parser


def _merge_alias(args: argparse.Namespace) -> None:
    """The positional MODEL is ``--model`` by another name; giving both is ambiguous."""
    if args.model_alias is not None:
        if args.model is not None:
            from resnet_desktop.core.errors import SettingsError

            raise SettingsError(f"give the model once: either MODEL ({args.model_alias}) or --model ({args.model})")
        args.model = args.model_alias


def run(args: argparse.Namespace) -> int:
    _merge_alias(args)
    suffix = ".onnx" if args.format == "onnx" else ".pt"
    check_output(args.output, args.force, suffix=suffix)
    from resnet_desktop.core.models.api import check_int8_photos, export_model, info_dict

    check_int8_photos(args.precision, args.calibration)  # before loading the model

    loaded = load_cli_model(args)
    result = export_model(
        loaded,
        args.output,
        format=args.format,
        precision=args.precision,
        calibration=args.calibration,
        overwrite=args.force,
        progress=lambda message: print(message, file=sys.stderr),
    )
    if args.json:
        print(json.dumps(info_dict(result), indent=2))
    print(
        f"Wrote {result.path} ({result.size_bytes / 2**20:.1f} MB, {result.format} {result.precision}); "
        f"verified: {result.verified()}",
        file=sys.stderr,
    )
    return Exit.OK
