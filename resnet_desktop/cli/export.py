"""``resnet-desktop export``: write a model as ONNX (or TorchScript), verified before it is kept.

MODEL is an architecture name (with ``--weights``) or one of our fine-tuned model files. The file
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
    WEIGHTS_HELP,
    Exit,
    check_output,
    load_cli_model,
)

EPILOG = """\
the file: one input "input" (float32 NCHW RGB in [0, 1], resized, centre-cropped and normalised
with the mean/std in the metadata), two outputs "logits" and "embedding" (the pooled features),
dynamic batch axis. metadata_props carry preprocessing (JSON), class_names (JSON), arch, precision.

verification: fp32 must keep every top-1 and stay within 1e-3 of PyTorch's logits; fp16 and int8
must keep a mean top-5 overlap of at least 4 of 5. int8-static calibrates on --calibration (a
folder of images; default: the bundled sample photos).

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
        "model",
        nargs="?",
        default=None,
        metavar="MODEL",
        help="architecture (resnet18 ... resnet152, default resnet50) or a fine-tuned model file (.safetensors)",
    )
    parser.add_argument("--weights", default=None, metavar="NAME|FILE", help=WEIGHTS_HELP)
    parser.add_argument("--format", choices=("onnx", "torchscript"), default="onnx", help="(default: onnx)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="ONNX only (default: fp32)")
    parser.add_argument(
        "--calibration", type=Path, default=None, metavar="FOLDER", help="images to calibrate int8-static on"
    )
    parser.add_argument("--output", type=Path, required=True, metavar="FILE", help="the file to write (atomically)")
    parser.add_argument("--force", action="store_true", help="allow --output to replace an existing file")
    parser.add_argument("--json", action="store_true", help="print the export's figures as JSON on stdout")
    parser.set_defaults(func=run)
    return parser


def _model_args(args: argparse.Namespace) -> argparse.Namespace:
    """MODEL may be a file: our model file (its sidecar names the architecture) or a plain state
    dict (the architecture is read off its layers)."""
    from resnet_desktop.core.models import modelfile, spec
    from resnet_desktop.core.models import weights as weights_io

    model = args.model
    if model is not None and model not in spec.ARCHITECTURES and (Path(model).suffix or Path(model).exists()):
        path = Path(model).expanduser()
        arch = None
        if path.is_file() and not modelfile.is_model_file(path) and path.suffix.lower() != ".json":
            arch = weights_io.guess_resnet_arch(weights_io.load_state_dict(path))
        return argparse.Namespace(model=arch, weights=model)
    return argparse.Namespace(model=model, weights=args.weights)


def run(args: argparse.Namespace) -> int:
    suffix = ".onnx" if args.format == "onnx" else ".pt"
    check_output(args.output, args.force, suffix=suffix)
    if args.calibration is not None and args.precision != "int8-static":
        from resnet_desktop.core.errors import SettingsError

        raise SettingsError("--calibration is for --precision int8-static only")

    from resnet_desktop.core.models import export, quantize

    loaded = load_cli_model(_model_args(args))
    calibration = quantize.calibration_images(args.calibration) if args.precision == "int8-static" else None
    result = export.export_model(
        loaded,
        args.output,
        format=args.format,
        precision=args.precision,
        calibration=calibration,
        overwrite=args.force,
        progress=lambda message: print(message, file=sys.stderr),
    )
    if args.json:
        print(json.dumps(export.info_dict(result), indent=2))
    print(
        f"Wrote {result.path} ({result.size_bytes / 2**20:.1f} MB, {result.format} {result.precision}); "
        f"verified: {result.agreement.summary()}",
        file=sys.stderr,
    )
    return Exit.OK
