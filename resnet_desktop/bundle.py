"""Facts about a frozen (PyInstaller) build: where it lives and which weights it ships.

``make package WEIGHTS=FILE`` puts weights in ``<bundle>/weights/``. Two kinds are accepted:
torchvision's own files under their published names (``resnet50-11ad3fa6.pth``, exactly what
the torch hub cache holds), and our fine-tuned model files (``.safetensors`` + ``.json``
sidecar). At start-up the frozen app links the torchvision files into the user's torch hub
cache (:func:`seed_torch_hub_cache`), so the ordinary "cache hit, else download" path finds
them and the installed app classifies offline, without the core knowing about bundles.

Importing this module is cheap: no torch, no Qt.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

WEIGHTS_DIRNAME = "weights"
CPU_ONLY_MARKER = "CPU_ONLY"  # written by packaging/cuda_stubs.py into a CPU-only bundle
TORCHVISION_SUFFIXES = (".pth", ".pt")
MODEL_FILE_SUFFIX = ".safetensors"


def is_frozen() -> bool:
    """True inside a PyInstaller build (``sys.frozen`` and ``sys._MEIPASS`` are set)."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def bundle_root() -> Path | None:
    """The folder holding the frozen app's data files (``_internal/``), or None in a checkout."""
    root = getattr(sys, "_MEIPASS", None)
    return Path(root) if root else None


def is_cpu_only(root: Path | None = None) -> bool:
    """True for the CPU-only edition, whose NVIDIA libraries are stubs (it never sees a GPU)."""
    root = root if root is not None else bundle_root()
    return root is not None and (root / CPU_ONLY_MARKER).is_file()


def bundled_weights_dir(root: Path | None = None) -> Path | None:
    """``<bundle>/weights`` when it exists, else None (no weights were bundled)."""
    root = root if root is not None else bundle_root()
    if root is None:
        return None
    folder = root / WEIGHTS_DIRNAME
    return folder if folder.is_dir() else None


def bundled_torchvision_files(root: Path | None = None) -> list[Path]:
    """torchvision weight files shipped in the bundle, by name."""
    folder = bundled_weights_dir(root)
    if folder is None:
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in TORCHVISION_SUFFIXES and p.is_file())


def bundled_model_files(root: Path | None = None) -> list[Path]:
    """Our own fine-tuned model files shipped in the bundle (``.safetensors`` with a sidecar)."""
    folder = bundled_weights_dir(root)
    if folder is None:
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == MODEL_FILE_SUFFIX and p.with_suffix(".json").is_file())


def torch_hub_checkpoints_dir() -> Path:
    """``torch.hub.get_dir()/checkpoints`` computed without importing torch (same rules as torch).

    torch: ``$TORCH_HOME`` else ``$XDG_CACHE_HOME/torch`` else ``~/.cache/torch``; hub is ``<that>/hub``.
    Start-up must not wait for torch, hence the copy of those three lines.
    """
    cache_home = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    torch_home = os.environ.get("TORCH_HOME", os.path.join(cache_home, "torch"))
    return Path(os.path.expanduser(torch_home)) / "hub" / "checkpoints"


def seed_torch_hub_cache(files: list[Path] | None = None, checkpoints: Path | None = None) -> list[Path]:
    """Link bundled torchvision weights into the torch hub cache where no file of that name is.

    A symlink, not a copy: no start-up cost and no duplicate 100 MB. Existing entries (a real
    download, the user's own file, any link) are never touched. A dangling link left by an
    uninstalled app reads as missing to the downloader, which replaces it atomically. Failures (read-only
    home, no symlinks) are logged and ignored: the app then simply downloads as usual.
    Returns the links created.
    """
    files = bundled_torchvision_files() if files is None else files
    if not files:
        return []
    checkpoints = checkpoints if checkpoints is not None else torch_hub_checkpoints_dir()
    created = []
    for source in files:
        target = checkpoints / source.name
        if target.exists() or target.is_symlink():  # a real file, or a link we leave alone
            continue
        try:
            checkpoints.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source)
        except OSError as exc:
            logger.warning("Could not link bundled weights %s into %s: %s", source, checkpoints, exc)
            continue
        created.append(target)
        logger.info("Linked bundled weights %s -> %s", target, source)
    return created
