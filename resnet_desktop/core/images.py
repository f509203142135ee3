"""Discover image files and open one image robustly.

``discover`` turns what a person dropped or typed (files and folders) into a lazy, stable stream
of file paths; ``open_image`` turns one path into an 8-bit RGB ``PIL.Image`` or raises exactly one
``ImageError`` whose reason a person can act on. Both are used from worker threads: nothing here
changes global Pillow settings (``MAX_IMAGE_PIXELS``, ``LOAD_TRUNCATED_IMAGES``).
"""

from __future__ import annotations

import errno
import io
import logging
import os
import re
import stat
import threading
import warnings
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TextIO, Union

import numpy as np
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

from resnet_desktop.core.errors import ImageError

__all__ = [
    "HEIF_HINT",
    "IMAGE_SUFFIXES",
    "NON_IMAGE_SUFFIXES",
    "RASTER_FORMATS",
    "SKIPPED_NAMES",
    "discover",
    "open_image",
]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: Suffixes (lower case, with the dot) of formats Pillow reads; HEIC/HEIF need pillow-heif.
IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".jif", ".mpo",
        ".png", ".apng", ".gif", ".bmp", ".dib", ".tif", ".tiff", ".webp",
        ".ppm", ".pgm", ".pbm", ".pnm", ".pfm", ".ico", ".cur", ".icns", ".tga", ".icb", ".vda", ".vst",
        ".heic", ".heif", ".hif", ".avif", ".avifs",
        ".jp2", ".j2k", ".jpc", ".j2c", ".jpx", ".jpf",
        ".pcx", ".psd", ".dds", ".sgi", ".rgb", ".rgba", ".bw", ".qoi", ".xbm", ".xpm",
        ".im", ".msp", ".blp", ".ftc", ".ftu", ".fli", ".flc", ".gbr", ".dcx", ".ras", ".sun",
        ".fit", ".fits", ".pcd", ".pxr", ".iim",
    }
)  # fmt: skip

#: Suffixes that are clearly not images: skipped silently inside folders (never when given explicitly).
NON_IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {
        # text and documents
        ".txt", ".text", ".md", ".rst", ".log", ".nfo", ".rtf", ".pdf", ".doc", ".docx", ".odt",
        ".xls", ".xlsx", ".ods", ".ppt", ".pptx", ".odp", ".pages", ".numbers", ".key", ".epub",
        ".tex", ".srt", ".vtt", ".sub",
        # data and config
        ".json", ".jsonl", ".xml", ".csv", ".tsv", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf",
        ".db", ".sqlite", ".sqlite3", ".parquet", ".npy", ".npz", ".pkl", ".pickle", ".h5", ".hdf5",
        ".pth", ".pt", ".ckpt", ".safetensors", ".onnx", ".bin", ".dat", ".lock", ".tmp", ".bak",
        ".part", ".crdownload", ".torrent", ".url", ".lnk", ".webloc", ".desktop",
        # photo sidecars and catalogues (metadata, not pixels)
        ".xmp", ".aae", ".thm", ".lrcat", ".lrdata", ".pp3", ".dop", ".on1", ".cos",
        # code and markup
        ".py", ".pyc", ".pyo", ".ipynb", ".c", ".h", ".cc", ".cpp", ".hpp", ".java", ".js", ".mjs",
        ".ts", ".css", ".scss", ".html", ".htm", ".php", ".rb", ".go", ".rs", ".sh", ".bash",
        ".bat", ".cmd", ".ps1", ".pl", ".lua", ".r", ".m", ".swift", ".kt", ".sql",
        # archives and installers
        ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".lz", ".lzma", ".cab",
        ".iso", ".dmg", ".img", ".deb", ".rpm", ".apk", ".msi", ".exe", ".dll", ".so", ".dylib",
        ".whl", ".jar",
        # audio
        ".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma", ".aiff", ".aif",
        ".mid", ".midi", ".amr",
        # video
        ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".wmv", ".flv", ".mpg", ".mpeg", ".3gp",
        ".mts", ".m2ts", ".vob", ".ogv", ".lrv",
        # fonts
        ".ttf", ".otf", ".woff", ".woff2",
    }
)  # fmt: skip

#: File names (compared case-insensitively) that operating systems scatter into photo folders.
SKIPPED_NAMES: frozenset[str] = frozenset({".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini"})

HEIF_HINT = "HEIC needs the optional pillow-heif package: pip install 'resnet-desktop[heif]'"

_HEIF_SUFFIXES = frozenset({".heic", ".heif", ".hif"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
# Start-of-file signatures: a file that starts like one of these but cannot be opened is "corrupt",
# anything else is "not an image".
_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)
_ORIENTATION = ExifTags.Base.Orientation
# Used only when ImageOps.exif_transpose fails while rewriting malformed EXIF after reading a
# valid orientation: the pixels are still rotated as the camera meant.
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

#: The formats we decode, in the order they are tried: raster formats Pillow (or pillow-heif) decodes
#: itself. Never EPS/PS/PDF (Ghostscript runs), WMF/EMF (a system handler), MIC/FPX (OLE), nor the
#: identify-only stubs (BUFR, GRIB, HDF5, MPEG). Formats without a signature check (TGA) come last,
#: so they cannot claim a file that another format recognises (an ICO can pass for a TGA).
RASTER_FORMATS: tuple[str, ...] = (
    "JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "BMP", "DIB", "ICO", "CUR", "PPM",
    "JPEG2000", "HEIF", "AVIF", "ICNS", "PCX", "DCX", "PSD", "DDS", "SGI", "QOI", "XBM", "XPM",
    "IM", "MSP", "BLP", "FTEX", "FLI", "GBR", "SUN", "FITS", "PIXAR", "IPTC", "PCD", "TGA",
)  # fmt: skip

TRUNCATED = "truncated or incomplete image data"
NOT_AN_IMAGE = "not an image file (content is not a recognised image format)"
TOO_BIG_FOR_MEMORY = "too large to decode in memory"
FOLDER_REASON = "is a folder, not an image file (open it as a folder to classify what is inside)"

# Register every plugin once, up front: which formats Pillow knows (and in which order it would try
# them) must not depend on which files happened to be opened earlier in the process.
Image.init()

_open_lock = threading.Lock()
# The file this thread is opening, so that warnings raised meanwhile (Pillow's "Corrupt EXIF
# data", from any decoder) are logged with that file's name instead of printed anonymously.
_decoding = threading.local()
_previous_showwarning = warnings.showwarning


def _showwarning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    path = getattr(_decoding, "path", None)
    if path is None:
        _previous_showwarning(message, category, filename, lineno, file, line)
        return
    text = _one_line(Exception(str(message)))
    if text not in _decoding.seen:  # the same complaint twice about one file is said once
        _decoding.seen.add(text)
        logger.info("%s: decoder warning: %s", path, text)


# warnings.showwarning is documented as replaceable; others' warnings pass through unchanged.
warnings.showwarning = _showwarning
_heif_lock = threading.Lock()
_heif_state: bool | None = None  # None: not tried yet; True: registered; False: not installed


# --------------------------------------------------------------------------------------------
# discover


def discover(paths: PathLike | Iterable[PathLike]) -> Iterator[Path]:
    """Expand files and folders into a lazy, stable stream of files to open.

    - Explicit arguments come out in the order given. An explicit file is always yielded, whatever
      its suffix (so ``notes.txt`` becomes an error row rather than vanishing). A path that does
      not exist (or cannot be looked at) is yielded too: ``open_image`` then reports why, and the
      batch goes on.
    - A directory given explicitly is always walked. Inside a folder, a subfolder named like an
      image (``x.jpg/``) is yielded, not walked, so ``open_image`` reports it as one error row.
      Inside a folder: files first, then subfolders, each sorted case-insensitively, depth first.
      Hidden entries (dot names), OS litter (``.DS_Store``, ``Thumbs.db``), files with a clearly
      non-image suffix (``NON_IMAGE_SUFFIXES``) and special files (FIFOs, sockets, devices, which
      would block or make no sense to read) are skipped silently. Every other file is yielded and
      reported by ``open_image`` if it fails, including broken symbolic links.
    - Directory symlinks are followed; each real directory (``st_dev``, ``st_ino``) is walked at
      most once per explicit argument, so symlink cycles terminate.
    - A folder that cannot be listed (permission denied, I/O error, removed while the walk was
      under way) is yielded itself, so that ``open_image`` turns it into one error row
      ("permission denied", "file not found") instead of the walk crashing or the folder silently
      disappearing. The walk goes on with the next folder.
    - Lazy: a folder is listed only when the walk reaches it, so the first file of a huge tree
      comes out before the rest of the tree has been read.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for raw in paths:
        path = Path(raw)
        try:
            st = path.stat()
        except (OSError, ValueError):
            yield path
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(path, (st.st_dev, st.st_ino))
        else:
            yield path


def _walk(root: Path, root_key: tuple[int, int]) -> Iterator[Path]:
    """Depth-first walk with an explicit stack of pending subfolders (no recursion limit)."""
    visited: set[tuple[int, int]] = set()
    stack: list[Iterator[tuple[Path, tuple[int, int]]]] = [iter([(root, root_key)])]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        folder, key = item
        if key in visited:
            logger.debug("Skipping %s: this folder was already walked (symlink loop or alias)", folder)
            continue
        visited.add(key)
        listed = _list_folder(folder)
        if listed is None:
            yield folder  # open_image reports why the folder cannot be read
            continue
        files, subfolders = listed
        yield from files
        stack.append(iter(subfolders))


def _sort_key(entry: os.DirEntry[str]) -> tuple[str, str]:
    return (entry.name.casefold(), entry.name)


def _list_folder(folder: Path) -> tuple[list[Path], list[tuple[Path, tuple[int, int]]]] | None:
    """One folder's image candidates and subfolders, sorted; ``None`` when it cannot be listed."""
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=_sort_key)
    except OSError as exc:
        logger.warning("Cannot list folder %s: %s", folder, exc.strerror or exc)
        return None
    files: list[Path] = []
    subfolders: list[tuple[Path, tuple[int, int]]] = []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or name.casefold() in SKIPPED_NAMES:
            continue
        path = folder / name
        try:
            is_dir = entry.is_dir()  # follows symlinks
        except OSError:
            is_dir = False
        if is_dir and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
            # A folder named like a photo ("x.jpg") is almost always a mistake: report it as one
            # error row rather than silently reading what is inside (given explicitly, it is walked).
            files.append(path)
            continue
        if is_dir:
            try:
                st = entry.stat()  # of the target, for cycle detection
            except OSError:
                files.append(path)  # vanished or unreadable: let open_image say so
                continue
            subfolders.append((path, (st.st_dev, st.st_ino)))
            continue
        if os.path.splitext(name)[1].lower() in NON_IMAGE_SUFFIXES:
            continue
        try:
            regular = entry.is_file()
            broken_link = not regular and entry.is_symlink() and not os.path.exists(path)
        except OSError:
            regular, broken_link = True, False
        if regular or broken_link:
            files.append(path)
        else:
            logger.debug("Skipping %s: not a regular file", path)
    return files, subfolders


# --------------------------------------------------------------------------------------------
# open_image


def open_image(path: PathLike, *, draft_size: tuple[int, int] | None = None) -> Image.Image:
    """Open one image fully decoded as 8-bit RGB, upright, or raise one ``ImageError``.

    - EXIF orientation is applied (``ImageOps.exif_transpose``); malformed EXIF never fails the
      image: it is logged and the image is kept as stored (or rotated, if the orientation itself
      was readable).
    - Modes: CMYK via its embedded ICC profile when there is one; alpha and palette/colour-key
      transparency composited on white; 16-bit integer data scaled from 0..65535 (``I;16*``, and
      ``I`` whose values fit 16 bits), float data from 0..1 (or 0..255); data outside those ranges
      is stretched from its own min..max. Never clipped. Multi-frame files give their first frame.
    - ``draft_size=(w, h)``: JPEGs are decoded at 1/2, 1/4 or 1/8 scale when that still leaves at
      least ``w`` x ``h`` pixels (upright, after EXIF rotation), which is several times faster.
    - Decompression bombs (over ``Image.MAX_IMAGE_PIXELS``, Pillow's warning range included) are
      refused before any pixel is decoded; the global limit is only read, never changed.
    - HEIC/HEIF are read when ``pillow_heif`` is installed (registered on first use).
    """
    p = Path(path)
    _decoding.path, _decoding.seen = p, set()
    try:
        return _open_image(p, draft_size)
    finally:
        _decoding.path = None


def _open_image(p: Path, draft_size: tuple[int, int] | None) -> Image.Image:
    _check_file(p)
    try:
        img = _open_checked(p)
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(p, _reason_for(exc, p)) from exc
    try:
        if draft_size is not None:
            _apply_draft(img, draft_size, p)
        img.load()
        upright = _exif_transpose_safely(img, p)
        rgb = _to_rgb(upright)
        if rgb is img and getattr(img, "fp", None) is not None:
            rgb = img.copy()  # multi-frame files keep their file open; hand back a detached copy
        return rgb
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(p, _reason_for(exc, p)) from exc
    finally:
        if getattr(img, "fp", None) is not None:
            img.close()  # the returned image never shares this file handle


def _check_file(path: Path) -> None:
    """Reasons we can give from the file system alone, before Pillow sees the file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise ImageError(path, "file not found (broken symbolic link)") from None
        raise ImageError(path, "file not found") from None
    except PermissionError:
        raise ImageError(path, "permission denied (cannot reach the file)") from None
    except (OSError, ValueError) as exc:
        raise ImageError(path, _os_reason(exc)) from None
    if stat.S_ISDIR(st.st_mode):
        try:
            with os.scandir(path):
                pass
        except PermissionError:
            raise ImageError(path, "permission denied (cannot read the folder)") from None
        except OSError as exc:
            raise ImageError(path, f"cannot read the folder ({_os_reason(exc)})") from None
        raise ImageError(path, FOLDER_REASON)
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(path, "not a regular file (a device, pipe or socket)")
    if st.st_size == 0:
        raise ImageError(path, "empty file (0 bytes)")


def _open_checked(path: Path) -> Image.Image:
    """``Image.open`` with Pillow's bomb warning as an error, our own size check, HEIF fallback."""
    if path.suffix.lower() in _HEIF_SUFFIXES:
        _ensure_heif()
    try:
        img = _open_refusing_bombs(path)
    except UnidentifiedImageError:
        head = _read_head(path)
        if _looks_like_heif(head):
            if not _ensure_heif():
                raise ImageError(path, HEIF_HINT) from None
            img = _open_refusing_bombs(path)
        else:
            refused = _refused_format(head)
            if refused is not None:
                raise ImageError(path, unsupported_reason(refused)) from None
            kind = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
            if kind is not None:
                raise ImageError(
                    path, f"corrupt image data (starts like a {kind} file but its header cannot be read)"
                ) from None
            raise ImageError(path, NOT_AN_IMAGE) from None
    limit = Image.MAX_IMAGE_PIXELS
    width, height = img.size
    if limit and width * height > limit:
        img.close()
        raise ImageError(path, _bomb_reason(width * height, limit))
    return img


def _open_refusing_bombs(path: Path) -> Image.Image:
    # catch_warnings mutates process-wide state; the lock keeps our decoder threads from
    # interleaving it. Image.open only parses headers, so the lock is held briefly.
    with _open_lock, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(path, formats=_allowed_formats())


def _allowed_formats() -> list[str]:
    # HEIF/AVIF appear only once pillow-heif (or Pillow's AVIF plugin) is registered.
    return [name for name in RASTER_FORMATS if name in Image.OPEN]


def _refused_format(head: bytes) -> str | None:
    """The name of a format Pillow knows but we refuse, judged by signature checks only.

    Only the plugins' ``accept`` functions run (a look at the first bytes), never their openers.
    """
    allowed = set(RASTER_FORMATS)
    for name, (_factory, accept) in list(Image.OPEN.items()):
        if name in allowed or accept is None:
            continue
        try:
            verdict = accept(head[:16])
        except Exception:  # noqa: BLE001 - a plugin's check failing just means "not this one"
            continue
        if verdict and not isinstance(verdict, str):  # a str is Pillow's "maybe, with a warning"
            return name
    return None


def _apply_draft(img: Image.Image, draft_size: tuple[int, int], path: Path) -> None:
    # Only JPEG decoders can draft. Reading EXIF from other formats (PNG keeps it after the
    # pixel data) would decode the pixels here, where a failure is taken for bad EXIF.
    if img.format not in ("JPEG", "MPO"):  # MPO (multi-picture JPEG from cameras) drafts too
        return
    width, height = (max(1, int(v)) for v in draft_size)
    if _orientation(img, path) in (5, 6, 7, 8):
        width, height = height, width  # the stored image is sideways
    img.draft("RGB", (width, height))


def _orientation(img: Image.Image, path: Path) -> int:
    try:
        value = img.getexif().get(_ORIENTATION, 1)
        return int(value) if int(value) in range(1, 9) else 1
    except Exception as exc:  # noqa: BLE001 - malformed EXIF must not fail the image
        logger.warning("%s: ignoring unreadable EXIF data (%s)", path, _one_line(exc))
        return 1


def _exif_transpose_safely(img: Image.Image, path: Path) -> Image.Image:
    orientation = _orientation(img, path)
    if orientation == 1:
        return img
    try:
        upright = ImageOps.exif_transpose(img)
    except Exception as exc:  # noqa: BLE001
        logger.warning("%s: malformed EXIF (%s); rotating by orientation %d only", path, _one_line(exc), orientation)
        return img.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation])
    return upright if upright is not None else img


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img
    if mode.startswith("I") or mode == "F":
        return _high_bit_to_l(img).convert("RGB")
    if mode == "CMYK":
        return _cmyk_to_rgb(img)
    if mode == "LAB":
        converted = ImageCms.applyTransform(img, _lab_to_srgb())
        return converted if converted is not None else img.convert("RGB")
    if mode == "La":  # premultiplied; Pillow converts it only to LA
        img, mode = img.convert("LA"), "LA"
    has_alpha = mode in ("RGBA", "RGBa", "LA", "PA") or "transparency" in img.info
    if mode == "P" and img.palette is not None and img.palette.mode == "RGBA":
        has_alpha = True
    if has_alpha:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _high_bit_to_l(img: Image.Image) -> Image.Image:
    """Scale 16/32-bit integer or float data to 8 bits by the range the data is stored in."""
    arr = np.asarray(img)
    if img.mode.startswith("I;16"):
        out = (arr.astype(np.uint32) * 255 + 32767) // 65535
        return Image.fromarray(out.astype(np.uint8))
    data = arr.astype(np.float64)
    finite = np.isfinite(data)
    if not finite.any():
        return Image.new("L", img.size, 0)
    lo, hi = float(data[finite].min()), float(data[finite].max())
    if img.mode == "F" and lo >= 0.0 and hi <= 1.0:
        scaled = data * 255.0
    elif lo >= 0.0 and hi <= 255.0:
        scaled = data
    elif lo >= 0.0 and hi <= 65535.0:
        scaled = data * (255.0 / 65535.0)
    else:
        scaled = (data - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(data)
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))


def _cmyk_to_rgb(img: Image.Image) -> Image.Image:
    icc = img.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out = ImageCms.profileToProfile(img, source, _srgb_profile(), outputMode="RGB")
            if out is not None:
                return out
        except Exception as exc:  # noqa: BLE001 - a bad profile falls back to the plain formula
            logger.info("Ignoring unusable CMYK colour profile: %s", _one_line(exc))
    return img.convert("RGB")


@lru_cache(maxsize=1)
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@lru_cache(maxsize=1)
def _lab_to_srgb() -> ImageCms.ImageCmsTransform:
    return ImageCms.buildTransform(ImageCms.createProfile("LAB"), _srgb_profile(), "LAB", "RGB")


# --------------------------------------------------------------------------------------------
# HEIF (optional)


def _ensure_heif() -> bool:
    """Register pillow-heif's opener once, on first need. Returns whether HEIF can be read."""
    global _heif_state
    with _heif_lock:
        if _heif_state is None:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
                _heif_state = True
            except Exception as exc:  # noqa: BLE001 - missing or broken optional package
                logger.info("HEIC/HEIF support unavailable: %s", _one_line(exc))
                _heif_state = False
        return _heif_state


def _read_head(path: Path, size: int = 32) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def _looks_like_heif(head: bytes) -> bool:
    return len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


# --------------------------------------------------------------------------------------------
# reasons


def _reason_for(exc: BaseException, path: Path) -> str:
    """One human line for any failure while opening or decoding (never a traceback)."""
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        match = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(match.group(1)) if match else 0
        return _bomb_reason(pixels, Image.MAX_IMAGE_PIXELS)
    if isinstance(exc, MemoryError):
        return TOO_BIG_FOR_MEMORY
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied (cannot read the file)"
    if isinstance(exc, IsADirectoryError):
        return FOLDER_REASON
    if isinstance(exc, UnidentifiedImageError):
        return NOT_AN_IMAGE
    message = _one_line(exc)
    lowered = message.lower()
    if isinstance(exc, EOFError) or "truncated" in lowered or "incomplete" in lowered:
        return TRUNCATED
    if isinstance(exc, OSError) and exc.errno is not None:
        return _os_reason(exc)
    if "decoder" in lowered and "not available" in lowered:
        return f"unsupported image format on this installation ({message})"
    if "cannot find loader" in lowered:
        return f"unsupported format ({getattr(exc, 'format', None) or 'no decoder for this file'})"
    code = re.search(r"(?:decoder|decoding) error(?: (-?\d+))?", lowered)
    if code is not None:
        detail = f", code {code.group(1)}" if code.group(1) else ""
        return f"corrupt image data (the decoder rejected the pixel data{detail})"
    logger.debug("%s: decoding failed", path, exc_info=exc)
    return f"corrupt image data ({message})" if message else "corrupt image data"


def unsupported_reason(name: str) -> str:
    """'unsupported format (EPS)': a format we recognise but deliberately do not open."""
    return f"unsupported format ({name}): only raster image formats are read"


def _bomb_reason(pixels: int, limit: int | None) -> str:
    size = f"{pixels / 1e6:.0f} megapixels" if pixels else "too many pixels"
    cap = f"{(limit or 0) / 1e6:.0f} megapixels"
    return f"image too large to open safely ({size}, limit {cap}): possible decompression bomb"


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.EACCES:
        return "permission denied (cannot read the file)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"could not read the file ({exc.strerror})"
    return f"could not read the file ({_one_line(exc)})"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
