"""User-facing error types.

Every message says what went wrong, with which file, and what the person can do about it.
The GUI shows ``str(error)`` inline (a row, a banner); the CLI prints it without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class ResNetDesktopError(Exception):
    """Base class for errors whose message is meant for a person, not a developer."""


class ImageError(ResNetDesktopError):
    """One image could not be read. The batch it belongs to goes on."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class WeightsError(ResNetDesktopError):
    """Model weights are missing, unsafe, corrupt or do not fit the architecture."""


class DatasetError(ResNetDesktopError):
    """A labeled folder cannot be used for fine-tuning (see the message for why)."""


class DeviceError(ResNetDesktopError):
    """The requested compute device does not exist on this machine."""


class CancelledError(ResNetDesktopError):
    """Work was cancelled by the user; whatever was finished is kept."""
