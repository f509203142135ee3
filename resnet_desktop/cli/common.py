"""What the sub-commands share: exit codes, the one error format, model options, --output checks,
and live progress lines.

Kept free of heavy imports at module level so that ``resnet-desktop --help`` stays instant.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Iterable, Sequence
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from resnet_desktop.core.inference.api import Engine, Opened, PhotoSet, Progress
    from resnet_desktop.core.library.api import Indexing
    from resnet_desktop.core.models.ref import LoadedModel, ModelRef

PROG = "resnet-desktop"


class Exit(IntEnum):
    """Exit codes of every command (documented in the README and each ``--help``)."""

    OK = 0
    #: Some inputs failed (each is listed with its reason); the rest were done.
    SOME_FAILED = 1
    #: Usage, settings or model errors: nothing useful was done.
    USAGE = 2
    #: Interrupted (Ctrl+C) or cancelled.
    INTERRUPTED = 130


EXIT_CODES_HELP = (
    "exit codes: 0 success, 1 some inputs failed (listed on stderr), 2 usage, settings or model errors, 130 interrupted"
)

ARCH_HELP = (
    "resnet18, resnet34, resnet50, resnet101 or resnet152, ARCH:WEIGHTS, or a model file "
    "(default: resnet50; a weights or model file brings its own architecture)"
)
WEIGHTS_HELP = (
    "torchvision weights name (default: DEFAULT, the architecture's best ImageNet weights, "
    "IMAGENET1K_V2 for resnet50), 'random', or a .pth/.pt/.safetensors file (its architecture is detected)"
)
DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps (default: auto)"


# C0/C1 controls, DEL, line/paragraph separators and lone surrogates (undecodable file-name bytes).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte of a non-UTF-8 name
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` safe for a terminal: control characters (ESC, BEL, CR, newlines) and undecodable
    bytes become visible escapes (``\\x1b``), so a file name cannot move the cursor, set the
    window title or break a table, and never fails to print."""
    return _UNPRINTABLE.sub(_escape, str(text))


def error(command: str | None, message: object, stream: TextIO | None = None) -> None:
    """The one error format: ``resnet-desktop COMMAND: error: MESSAGE`` (argparse's own shape)."""
    where = f"{PROG} {command}" if command else PROG
    print(f"{where}: error: {printable(message)}", file=stream or sys.stderr)


def warning(command: str | None, message: object, stream: TextIO | None = None) -> None:
    where = f"{PROG} {command}" if command else PROG
    print(f"{where}: warning: {printable(message)}", file=stream or sys.stderr)


def stdout_closed() -> Exit:
    """The reader of our stdout went away (``classify ... | head``): stop quietly.

    stdout is pointed at the null device so that Python's own flush at exit cannot fail again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout replaced (tests) or already closed
        pass
    return Exit.OK


def exit_code_for(exc: BaseException) -> Exit:
    """The exit code for an error a command did not handle itself."""
    from resnet_desktop.core.errors import CancelledError, ImageError

    if isinstance(exc, (CancelledError, KeyboardInterrupt)):
        return Exit.INTERRUPTED
    if isinstance(exc, ImageError):
        return Exit.SOME_FAILED
    return Exit.USAGE


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _number_between(text: str, low: float, high: float, *, low_open: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (low < value <= high if low_open else low <= value <= high):
        raise argparse.ArgumentTypeError(f"expected a number between {low:g} and {high:g}, got {text!r}")
    return value


def fraction(text: str) -> float:
    """argparse type: a number from 0 to 1 (a probability, an opacity)."""
    return _number_between(text, 0.0, 1.0, low_open=False)


def positive_fraction(text: str) -> float:
    """argparse type: a number above 0 and at most 1 (a similarity, an accuracy to aim for)."""
    return _number_between(text, 0.0, 1.0, low_open=True)


#: The most images per batch any command accepts: more only costs memory (a batch of 1,000,000
#: photos is ~150 GB of pixels), never speed (see docs/PERFORMANCE.md).
MAX_BATCH_SIZE = 1024


def batch_size(text: str) -> int:
    """argparse type for ``--batch-size``: a whole number from 1 to ``MAX_BATCH_SIZE``."""
    value = positive_int(text)
    if value > MAX_BATCH_SIZE:
        raise argparse.ArgumentTypeError(f"at most {MAX_BATCH_SIZE} images per batch, got {value}")
    return value


def add_model_options(parser: argparse.ArgumentParser, *, device: bool = True) -> None:
    """``--model``, ``--weights`` (and ``--device``), the same for every command; read with :func:`model_ref`."""
    parser.add_argument("--model", default=None, metavar="MODEL", help=ARCH_HELP)
    parser.add_argument("--weights", default=None, metavar="NAME|FILE", help=WEIGHTS_HELP)
    if device:
        parser.add_argument("--device", default="auto", help=DEVICE_HELP)


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """How the model runs: ``--batch-size``, ``--threads``, ``--backend``, ``--precision``, ``--calibration``
    (the same for every command that classifies); read with :func:`open_cli_engine`."""
    parser.add_argument("--batch-size", type=batch_size, default=None, help="images per batch (default: per device)")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="CPU threads for the model (default: one per core; 1 can be faster on a busy machine)",
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "torch", "onnxruntime"),
        default="auto",
        help="what runs the model; auto: PyTorch on a GPU, on the CPU whichever a short run measured faster "
        "for this architecture on this machine (measured once, remembered) (default: auto)",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "fast"),
        default="fp32",
        help="fast: the int8 model on ONNX Runtime, calibrated on your photos and used only if it gives the same "
        "top-1 as fp32 on >= 98%% of at least 100 other photos of yours, no class losing more than 2%% "
        "(default: fp32)",
    )
    parser.add_argument(
        "--calibration",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="your photos to calibrate and verify --precision fast on (FOLDER/<class name>/... counts as "
        "labeled); default: the model's last verified fast model, else the photos being classified",
    )


def open_cli_engine(args: argparse.Namespace, loaded: LoadedModel) -> Engine:
    """The engine the engine options ask for (``core.inference.api.open_engine``), announced on stderr."""
    from resnet_desktop.core.inference.api import open_engine

    engine = open_engine(
        loaded,
        args.device,
        backend=args.backend,
        precision=args.precision,
        photos=fast_photos(args),
        batch_size=args.batch_size,
        threads=args.threads,
        ref=model_ref(args),
        say=lambda message: print(message, file=sys.stderr),
    )
    print(f"Model: {loaded.source} on {engine.device_name} ({engine.backend}, {engine.precision})", file=sys.stderr)
    return engine


def fp32_only(args: argparse.Namespace, command: str) -> None:
    """Commands that compare embeddings use fp32 ones (int8 embeddings would not match the stored ones)."""
    if args.precision == "fast" or args.calibration is not None:
        from resnet_desktop.core.errors import SettingsError

        raise SettingsError(f"{command} compares fp32 embeddings; --precision fast is for classify and organize")


def fast_photos(args: argparse.Namespace) -> PhotoSet | None:
    """The photos fast mode calibrates and verifies on: ``--calibration FOLDER`` (labeled when its
    subfolders are class names); else None when the model has a verified fast model, else the inputs."""
    from resnet_desktop.core.inference.api import fast_photos as photos_for

    inputs = getattr(args, "paths", None) or getattr(args, "folders", None) or []
    return photos_for(model_ref(args), args.precision, args.calibration, [Path(p) for p in inputs])


def open_cli_classifier(args: argparse.Namespace) -> Opened:
    """What the engine options ask for, torch-free when the graph cache allows it
    (``core.inference.api.open_classifier``), announced on stderr."""
    from resnet_desktop.core.inference.api import open_classifier

    progress = DownloadProgress()
    try:
        opened = open_classifier(
            model_ref(args),
            backend=args.backend,
            precision=args.precision,
            device=args.device,
            threads=args.threads,
            batch_size=args.batch_size,
            photos=fast_photos(args),
            progress=progress,
            say=lambda message: print(message, file=sys.stderr),
        )
    finally:
        progress.finish()
    runner = opened.classifier
    print(f"Model: {opened.source} on {runner.device_name} ({runner.backend}, {runner.precision})", file=sys.stderr)
    return opened


def add_index_options(parser: argparse.ArgumentParser) -> None:
    """The options of the commands that ask the library index (``similar``, ``duplicates``)."""
    add_model_options(parser)
    add_engine_options(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")


def report_indexing(command: str, indexing: Indexing, source: str) -> None:
    """What bringing the inputs into the library index did: notices, new photos, unreadable files."""
    for notice in indexing.summary.notices:
        warning(command, notice)
    if indexing.indexed:
        print(f"Indexed {indexing.indexed} new photo(s) with {source}.", file=sys.stderr)


def report_unreadable(indexing: Indexing) -> None:
    if indexing.errors:
        print(f"{len(indexing.errors)} file(s) could not be read:", file=sys.stderr)
        for path, reason in indexing.errors.items():
            print(f"  {printable(path)}: {printable(reason)}", file=sys.stderr)


def model_ref(args: argparse.Namespace) -> ModelRef:
    """The one model a command's ``--model``/``--weights`` name (``WeightsError`` if they cannot)."""
    from resnet_desktop.core.models.ref import ModelRef

    return ModelRef.parse(args.model, args.weights)


def model_refs(args: argparse.Namespace, default: Sequence[str] = ()) -> list[ModelRef]:
    """Every model of a repeated ``--model`` (``evaluate``, ``bench``); ``--weights`` applies to each
    one that does not name its own (``ARCH:WEIGHTS`` or a file)."""
    from resnet_desktop.core.models.ref import ModelRef, looks_like_file

    texts: Sequence[str] = args.model or default
    if not texts:
        return [ModelRef.parse(None, args.weights)]
    refs = []
    for text in texts:
        own = ":" in text or looks_like_file(text)
        refs.append(ModelRef.parse(text, None if own else args.weights))
    return refs


def check_output(
    output: Path, force: bool, *, suffix: str | None = None, inputs: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """Refuse an ``--output`` we may not or cannot write (never replaced without --force), or that
    is one of the ``inputs`` or inside an input folder (even with --force: it would destroy input).

    Raises ``OutputError``; returns the file that will really be written (symbolic links followed).
    """
    from resnet_desktop.core.atomic import check_not_input, check_writable
    from resnet_desktop.core.errors import OutputError

    check_not_input(output, inputs)
    if suffix is not None and output.suffix.lower() != suffix and _regular_or_new(output):
        raise OutputError(f"{output}: give a file name ending in {suffix}")
    try:
        return check_writable(output, overwrite=force)
    except OutputError as exc:
        if output.exists() and not force and not output.is_dir():
            raise OutputError(f"{output} already exists; use --force to replace it") from exc
        raise


def _regular_or_new(output: Path) -> bool:
    """False for an existing device or FIFO (``/dev/stdout``), which needs no file-name suffix."""
    import stat

    try:
        return stat.S_ISREG(output.stat().st_mode)
    except OSError:
        return True


class LiveLine:
    """One self-updating line on a terminal (progress); silent when the stream is not a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.shown = False

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        self.stream.write(f"\r{text}")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


class ClassifyProgressLine(LiveLine):
    """Classification progress on a terminal; silent otherwise (a summary follows at the end)."""

    def __call__(self, progress: Progress) -> None:
        if progress.total:
            filled = int(30 * progress.done / progress.total)
            head = f"[{'#' * filled}{'.' * (30 - filled)}] {progress.done}/{progress.total}"
        else:
            head = f"{progress.done} images"
        self.show(f"{head}  {progress.failed} failed  {progress.images_per_second:.1f} images/s")


class DownloadProgress(LiveLine):
    """Weights download progress, as ``zoo.load_model``'s ``progress`` callback."""

    def __call__(self, done: int, total: int | None) -> None:
        size = f"{done / 2**20:.1f}/{total / 2**20:.1f} MB" if total else f"{done / 2**20:.1f} MB"
        self.show(f"Downloading weights: {size}")

    def finish(self) -> None:
        self.clear()


def load_cli_model(args: argparse.Namespace) -> LoadedModel:
    """Load the model named by ``--model``/``--weights``, downloading with progress if needed.

    Raises ``ResNetDesktopError`` (exit code 2 in every command) with a message for a person.
    """
    from resnet_desktop.core.models.ref import load

    ref = model_ref(args)
    progress = DownloadProgress()
    try:
        return load(ref, progress=progress)
    finally:
        progress.finish()
