"""``resnet-desktop bench``: how fast each model runs on this machine (images/s, latency, memory).

Every run is a measurement: the first model is the baseline the others' images/s are compared
to, and v1/v1.5 pairs of the same depth get a line of their own. Models whose weights file is not
on this machine run with seeded random weights (speed does not depend on the values).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from resnet_desktop.cli.common import (
    DEVICE_HELP,
    EXIT_CODES_HELP,
    WEIGHTS_HELP,
    Exit,
    LiveLine,
    batch_size,
    check_output,
    model_refs,
    positive_int,
)

DEFAULT_MODELS = ("resnet18", "resnet34", "resnet50", "resnet50-v1", "resnet101", "resnet152")

EPILOG = """\
models: ARCH (resnet18, resnet34, resnet50, resnet101, resnet152, or the ResNet v1 variants
resnet50-v1, resnet101-v1, resnet152-v1), ARCH:WEIGHTS, or a weights/model file. torchvision's
ResNets are v1.5 (stride 2 in the bottleneck's 3x3 conv); v1 has it in the first 1x1 conv. No
ImageNet weights exist for v1: it is here for speed comparison and for weights you supply.

measured: images/s at the engine's batch size (synthetic images, no decoding), latency p50/p95 at
batch 1, load time (weights + inference copy), peak memory above the start (CUDA allocations, or
the process's resident memory on Linux), parameters, GFLOPs (multiply-adds, as torchvision
publishes them), and the published ImageNet top-1/top-5 of the weights entry.

"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "bench",
        help="time models on this machine (images/s, latency, memory)",
        description="Measure how fast ResNets run on this machine.",
        epilog=EPILOG + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="MODEL",
        help=f"model to time; repeat for several (default: {' '.join(DEFAULT_MODELS)})",
    )
    parser.add_argument(
        "--weights", default=None, metavar="NAME|FILE", help=WEIGHTS_HELP + " for every --model without its own"
    )
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    parser.add_argument("--batch-size", type=batch_size, default=None, help="throughput batch (default: the engine's)")
    parser.add_argument("--batches", type=positive_int, default=3, help="timed batches per model (default: 3)")
    parser.add_argument("--repeats", type=positive_int, default=20, help="timed batch-1 calls per model (default: 20)")
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads for the model")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output (default: table)")
    parser.add_argument(
        "--output", type=Path, default=None, metavar="FILE", help="write the results to FILE (atomically)"
    )
    parser.add_argument("--force", action="store_true", help="allow --output to replace an existing file")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    output: Path | None = args.output
    if output is not None:
        check_output(output, args.force)
    from resnet_desktop.core.evaluate.api import BenchProgress, SpeedResult, bench, results_csv, speed_text

    choices = model_refs(args, DEFAULT_MODELS)
    line = LiveLine(sys.stderr)
    results: list[SpeedResult] = []
    try:
        for item in bench(
            choices,
            args.device,
            batch_size=args.batch_size,
            batches=args.batches,
            repeats=args.repeats,
            threads=args.threads,
        ):
            if isinstance(item, BenchProgress):
                line.show(f"Timing {item.label} ({item.index + 1} of {item.total})…")
            else:
                results.append(item)
    except KeyboardInterrupt:
        line.clear()
        print(f"Interrupted after {len(results)} model(s); nothing was written.", file=sys.stderr)
        return Exit.INTERRUPTED
    finally:
        line.clear()
    if args.format == "json":
        text = (
            json.dumps({"format": "resnet-desktop-bench", "results": [r.to_dict() for r in results]}, indent=2) + "\n"
        )
    elif args.format == "csv":
        text = results_csv(results)
    else:
        text = speed_text(results)
    if output is not None:
        from resnet_desktop.core.atomic import write_text

        write_text(output, text, overwrite=args.force)
        print(f"Wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return Exit.OK
