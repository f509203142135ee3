"""Options and steps the sub-commands share: choosing and loading a model, checking --output.

Kept free of heavy imports at module level so that ``resnet-desktop --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from resnet_desktop.core.models.zoo import LoadedModel

ARCH_HELP = (
    "resnet18, resnet34, resnet50, resnet101 or resnet152 (default: resnet50; a fine-tuned model file brings its own)"
)
WEIGHTS_HELP = (
    "torchvision weights name (default: DEFAULT, the architecture's best ImageNet weights, "
    "IMAGENET1K_V2 for resnet50), 'random', or a .pth/.pt/.safetensors file"
)
DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps (default: auto)"


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``--model``, ``--weights`` and ``--device``, the same for every command."""
    parser.add_argument("--model", default=None, metavar="ARCH", help=ARCH_HELP)
    parser.add_argument("--weights", default=None, metavar="NAME|FILE", help=WEIGHTS_HELP)
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)


def output_problem(output: Path, force: bool, *, suffix: str | None = None) -> str | None:
    """Why ``output`` cannot be written (we never replace a file without --force), or None."""
    if suffix is not None and output.suffix.lower() != suffix:
        return f"{output}: give a file name ending in {suffix}"
    if output.is_dir():
        return f"{output} is a folder; give a file name"
    if output.exists() and not force:
        return f"{output} already exists; use --force to replace it"
    if not output.parent.is_dir():
        return f"the folder for {output} does not exist"
    return None


class DownloadProgress:
    """Weights download progress on stderr: a live line on a terminal, nothing otherwise."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.enabled = bool(getattr(stream, "isatty", lambda: False)())
        self.shown = False

    def __call__(self, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        size = f"{done / 2**20:.1f}/{total / 2**20:.1f} MB" if total else f"{done / 2**20:.1f} MB"
        self.stream.write(f"\rDownloading weights: {size}")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def load_cli_model(args: argparse.Namespace) -> LoadedModel:
    """Load the model named by ``--model``/``--weights``, downloading with progress if needed.

    Raises ``ResNetDesktopError`` (exit code 2 in every command) with a message for a person.
    """
    from resnet_desktop.core.errors import WeightsError
    from resnet_desktop.core.models import zoo

    arch = args.model or zoo.DEFAULT_ARCH
    if arch not in zoo.ARCHITECTURES:
        raise WeightsError(f"unknown model {arch!r}; choose one of {', '.join(zoo.ARCHITECTURES)}")
    progress = DownloadProgress()
    try:
        return zoo.load_model(arch, args.weights or "DEFAULT", progress=progress)
    finally:
        progress.finish()
