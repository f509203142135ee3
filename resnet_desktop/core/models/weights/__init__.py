"""Find, download and load model weights without ever executing code from a file.

This package's front door; the work is split by job:

- ``download``: the torch hub cache, ``fetch`` (progress, cancel, sha256 check, atomic landing).
- ``loading``: ``load_state_dict`` from .safetensors or .pth/.pt, refusing anything unsafe.
- ``checks``: value and size bounds, architecture guesses, mismatch wording, ``apply_state_dict``.

The tunables re-exported here (``MAX_UNPACKED_BYTES``, ``TIMEOUT_S``...) are read from the module
that defines them: to change one (in a test, say), set it there, not on this package.
"""

from __future__ import annotations

from resnet_desktop.core.models.weights.checks import (
    MAX_CLASSES,
    MAX_PARAMETERS,
    apply_state_dict,
    check_is_resnet,
    check_values,
    describe_mismatch,
    guess_resnet_arch,
    other_architecture,
)
from resnet_desktop.core.models.weights.download import (
    CANCEL_POLL_S,
    CHUNK_SIZE,
    OFFLINE_ENV,
    TIMEOUT_S,
    DownloadCancelledError,
    ProgressFn,
    cache_path_for,
    expected_hash_prefix,
    fetch,
)
from resnet_desktop.core.models.weights.loading import MAX_UNPACKED_BYTES, load_state_dict

__all__ = [
    "CANCEL_POLL_S",
    "CHUNK_SIZE",
    "MAX_CLASSES",
    "MAX_PARAMETERS",
    "MAX_UNPACKED_BYTES",
    "OFFLINE_ENV",
    "TIMEOUT_S",
    "DownloadCancelledError",
    "ProgressFn",
    "apply_state_dict",
    "check_is_resnet",
    "cache_path_for",
    "check_values",
    "describe_mismatch",
    "expected_hash_prefix",
    "fetch",
    "guess_resnet_arch",
    "load_state_dict",
    "other_architecture",
]
