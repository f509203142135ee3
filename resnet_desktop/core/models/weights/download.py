"""Download weights into torch's hub cache, with progress, cancel, hash check and atomic landing.

Downloads go to torch's own hub cache (so weights fetched by torchvision elsewhere are reused),
are checked against the sha256 prefix torchvision puts in its file names, and land atomically:
a temp file in the same folder is renamed into place only when complete and verified.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import queue
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import torch.hub

from resnet_desktop.core.atomic import AtomicFile
from resnet_desktop.core.errors import CancelledError, OutputError, WeightsError, WeightsMissingError

# The package's logger name, as before the split, so log filters keep matching.
logger = logging.getLogger("resnet_desktop.core.models.weights")

ProgressFn = Callable[[int, "int | None"], None]

OFFLINE_ENV = "RESNET_DESKTOP_OFFLINE"
CHUNK_SIZE = 256 * 1024
TIMEOUT_S = 30.0
#: How often a download waiting for the network looks at its cancel flag (seconds).
CANCEL_POLL_S = 0.1
# Same idea as torch.hub's check_hash: torchvision names files "<name>-<sha256 prefix>.<ext>".
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")


class DownloadCancelledError(CancelledError, WeightsError):
    """The person cancelled a download; nothing was left in the cache."""


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def cache_path_for(url: str) -> Path:
    """Where torch hub keeps (or would keep) the file behind ``url``."""
    name = Path(urllib.parse.urlparse(url).path).name
    if not name:
        raise WeightsError(f"{url}: the address does not name a file")
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _missing_message(url: str, dest: Path, why: str) -> str:
    return (
        f"Weights file {dest.name} is not available: {why}. It is expected at {dest} "
        f"(downloaded from {url}). Copy the file there, or use a weights file you have: "
        f"'resnet-desktop --weights FILE' (starts the app with it), 'resnet-desktop classify --weights FILE', "
        f"or in the app Model > Open Model File… or the 'Choose weights file…' button."
    )


def expected_hash_prefix(filename: str) -> str | None:
    """The sha256 prefix embedded in a torchvision-style file name, if there is one."""
    match = _HASH_IN_NAME.search(filename)
    return match.group(1) if match else None


def fetch(
    url: str,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Return the cached file for ``url``, downloading it first if needed.

    Raises ``WeightsError`` when offline, unreachable, incomplete or failing the hash check, and
    ``DownloadCancelledError`` (a ``WeightsError`` and ``CancelledError``) when cancelled. In every
    failure case nothing is left in the cache folder.
    """
    dest = cache_path_for(url)
    if dest.is_file():
        logger.debug("cache hit: %s", dest)
        return dest
    if _offline():
        raise WeightsMissingError(_missing_message(url, dest, f"downloads are disabled ({OFFLINE_ENV}=1)"))
    if cancel is not None and cancel.is_set():
        raise DownloadCancelledError(f"Download of {dest.name} cancelled before it started.")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        out = AtomicFile(dest, overwrite=True)
    except (OSError, OutputError) as exc:
        raise WeightsMissingError(_missing_message(url, dest, f"the cache folder is not writable ({exc})")) from exc
    with out:
        digest = _download(url, dest, out.stream, progress, cancel)
        prefix = expected_hash_prefix(dest.name)
        if prefix and not digest.startswith(prefix):
            raise WeightsMissingError(
                f"Downloaded {dest.name} is corrupt: its sha256 starts with {digest[: len(prefix)]}, "
                f"expected {prefix}. Nothing was saved; try again or supply the file with --weights FILE."
            )
    logger.info("downloaded %s -> %s", url, dest)
    return dest


def _download(
    url: str,
    dest: Path,
    out: IO[bytes],
    progress: ProgressFn | None,
    cancel: threading.Event | None,
) -> str:
    """Stream ``url`` into ``out`` in chunks; return the sha256 hex digest of what was written.

    The network is read on a daemon thread and handed over through a small queue, so this call
    notices ``cancel`` within ``CANCEL_POLL_S`` even while a read (or a DNS lookup, which has no
    timeout at all) is stalled, and a stalled thread never keeps the process alive at exit.
    """
    sha = hashlib.sha256()
    done = 0
    total: int | None = None
    try:
        for kind, value in _network_chunks(url, cancel):
            if cancel is not None and cancel.is_set():
                raise DownloadCancelledError(f"Download of {dest.name} cancelled; nothing was saved.")
            if kind == "length":
                total = value if isinstance(value, int) else None
                if progress:
                    progress(0, total)
                continue
            assert isinstance(value, bytes)
            out.write(value)
            sha.update(value)
            done += len(value)
            if progress:
                progress(done, total)
        if cancel is not None and cancel.is_set():
            raise DownloadCancelledError(f"Download of {dest.name} cancelled; nothing was saved.")
    except DownloadCancelledError:
        raise
    except urllib.error.HTTPError as exc:
        raise WeightsMissingError(_missing_message(url, dest, f"the server answered {exc.code} {exc.reason}")) from exc
    except urllib.error.URLError as exc:
        raise WeightsMissingError(_missing_message(url, dest, f"the network is unreachable ({exc.reason})")) from exc
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, short reads
        raise WeightsMissingError(_missing_message(url, dest, f"the download failed ({exc})")) from exc
    if total is not None and done != total:
        raise WeightsMissingError(_missing_message(url, dest, f"the download stopped after {done} of {total} bytes"))
    return sha.hexdigest()


def _network_chunks(url: str, cancel: threading.Event | None) -> Iterator[tuple[str, int | bytes | None]]:
    """``("length", n)`` then ``("data", chunk)``... read on a daemon thread; errors re-raised here.

    Waits for the next item in ``CANCEL_POLL_S`` steps, looking at ``cancel`` in between; gives up
    with ``TimeoutError`` when nothing arrives for ``TIMEOUT_S``.
    """
    items: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=8)
    stop = threading.Event()

    def put(item: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=CANCEL_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        request = urllib.request.Request(url, headers={"User-Agent": "resnet-desktop"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                length = response.headers.get("Content-Length")
                if not put(("length", int(length) if length and length.isdigit() else None)):
                    return
                while not stop.is_set():
                    chunk = response.read1(CHUNK_SIZE)  # what has arrived, up to a chunk
                    if not chunk or not put(("data", chunk)):
                        break
            put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, raised there
            put(("error", exc))

    thread = threading.Thread(target=reader, name="weights-download", daemon=True)
    thread.start()
    waited = 0.0
    try:
        while True:
            if cancel is not None and cancel.is_set():
                return
            try:
                kind, value = items.get(timeout=CANCEL_POLL_S)
            except queue.Empty:
                waited += CANCEL_POLL_S
                if waited >= TIMEOUT_S:
                    raise TimeoutError(f"no data for {TIMEOUT_S:.0f} s") from None
                continue
            waited = 0.0
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            if kind == "end":
                return
            yield kind, value  # type: ignore[misc]
    finally:
        stop.set()  # the reader stops at its next chunk; a stalled one dies with the process
