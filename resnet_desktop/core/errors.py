"""User-facing error types: the one hierarchy that core, CLI and GUI share.

Every message says what went wrong, with which file, and what the person can do about it.
The GUI shows ``str(error)`` inline (a row, a banner); the CLI prints it without a traceback.
Anything that is *not* a ``ResNetDesktopError`` is a bug: ``describe`` says so plainly.
"""

from __future__ import annotations

from pathlib import Path


class ResNetDesktopError(Exception):
    """Base class for errors whose message is meant for a person, not a developer."""

    #: A short heading for the banner or the CLI ("The model could not be loaded").
    title = "Something went wrong"


class ImageError(ResNetDesktopError):
    """One image could not be read. The batch it belongs to goes on."""

    title = "An image could not be read"

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class WeightsError(ResNetDesktopError):
    """Model weights are missing, unsafe, corrupt or do not fit the architecture."""

    title = "The model could not be loaded"


class WeightsMissingError(WeightsError):
    """Pretrained weights are not on this machine and could not be downloaded."""

    title = "The model weights are not available"


class NotAModelFileError(WeightsError):
    """The file is not model weights at all (text, random bytes, a zip bomb, an image...)."""

    title = "This is not a model file"


class IncompleteModelError(WeightsError):
    """A fine-tuned model's weights are there but its description (the .json sidecar) is not."""

    title = "The model file is incomplete"


class PickledModelError(WeightsError):
    """A whole pickled ``nn.Module`` (``torch.save(model)``): it would run code to load, so it is refused."""

    title = "The model was saved as a whole object"


class WrongArchitectureError(WeightsError):
    """The weights belong to another kind of network (not a ResNet we know)."""

    title = "The weights are for another architecture"


class DatasetError(ResNetDesktopError):
    """A labeled folder cannot be used (see the message for why)."""

    title = "The folder cannot be used"


class DeviceError(ResNetDesktopError):
    """The requested compute device does not exist on this machine."""

    title = "The device is not available"


class SettingsError(ResNetDesktopError):
    """A setting or option has a value that cannot work (a batch size of 0, an unknown layer)."""

    title = "A setting cannot be used"


class OutputError(ResNetDesktopError):
    """A file we were asked to write cannot be written (exists, read-only, disk full)."""

    title = "The file could not be written"


class TeachError(ResNetDesktopError):
    """A label set, its labels or its versions cannot be used as asked (see the message for why)."""

    title = "Teaching cannot go on"


class CancelledError(ResNetDesktopError):
    """Work was cancelled by the user; whatever was finished is kept."""

    title = "Cancelled"


def describe(exc: BaseException) -> str:
    """The message for a person: ours as is, anything else named as an unexpected error."""
    if isinstance(exc, ResNetDesktopError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Not enough memory for this task; try a smaller batch or fewer files at once."
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"Unexpected error ({detail}). This is a bug; the details are in the log."


class ExportError(ResNetDesktopError):
    """A model could not be exported, or the export did not match PyTorch and was not kept."""

    title = "The model could not be exported"
