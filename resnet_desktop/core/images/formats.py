"""Which files count as images: suffix tables, the decoder allow-list, signatures, optional HEIF.

Discovery uses the suffix tables to decide what to yield from a folder; opening uses the allow-list
(``RASTER_FORMATS``) so Pillow never runs a format that executes programs or reads OLE, and the
signatures to tell "corrupt" from "not an image". Pillow's plugins are registered once, here.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PIL import Image

from resnet_desktop.core.images.reasons import one_line

# The package's logger name, as before the split, so log filters keep matching.
logger = logging.getLogger("resnet_desktop.core.images")

#: Suffixes (lower case, with the dot) of formats Pillow reads; HEIC/HEIF through pillow-heif.
IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".jif", ".mpo",
        ".png", ".apng", ".gif", ".bmp", ".dib", ".tif", ".tiff", ".webp",
        ".ppm", ".pgm", ".pbm", ".pnm", ".pfm", ".ico", ".cur", ".icns", ".tga", ".icb", ".vda", ".vst",
        ".heic", ".heif", ".hif", ".heics", ".heifs", ".avif", ".avifs",
        ".jp2", ".j2k", ".jpc", ".j2c", ".jpx", ".jpf",
        ".pcx", ".psd", ".dds", ".sgi", ".rgb", ".rgba", ".bw", ".qoi", ".xbm", ".xpm",
        ".im", ".msp", ".blp", ".ftc", ".ftu", ".fli", ".flc", ".gbr", ".dcx", ".ras", ".sun",
        ".fit", ".fits", ".pcd", ".pxr", ".iim",
        ".imt", ".spi", ".spider",  # IM Tools, SPIDER (McIdas areas and XV thumbnails have no suffix of their own)
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

HEIF_SUFFIXES = frozenset({".heic", ".heif", ".hif", ".heics", ".heifs"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
#: Start-of-file signatures: a file that starts like one of these but cannot be opened is "corrupt",
#: anything else is "not an image".
MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)

#: The formats we decode, in the order they are tried: raster formats Pillow (or pillow-heif) decodes
#: itself (McIdas areas, XV thumbnails, SPIDER and IM Tools are plain raw rasters too). Never EPS/PS/PDF
#: (Ghostscript runs), WMF/EMF (a system handler), MIC/FPX (OLE), nor the identify-only stubs (BUFR,
#: GRIB, HDF5, MPEG). Formats with a weak signature check (TGA) or none (SPIDER, IMT: their openers
#: parse a header) come last, so they cannot claim a file another format recognises.
RASTER_FORMATS: tuple[str, ...] = (
    "JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "BMP", "DIB", "ICO", "CUR", "PPM",
    "JPEG2000", "HEIF", "AVIF", "ICNS", "PCX", "DCX", "PSD", "DDS", "SGI", "QOI", "XBM", "XPM",
    "IM", "MSP", "BLP", "FTEX", "FLI", "GBR", "SUN", "FITS", "PIXAR", "IPTC", "PCD", "MCIDAS", "XVTHUMB",
    "TGA", "SPIDER", "IMT",
)  # fmt: skip

# Register every plugin once, up front: which formats Pillow knows (and in which order it would try
# them) must not depend on which files happened to be opened earlier in the process.
Image.init()

_heif_lock = threading.Lock()
_heif_state: bool | None = None  # None: not tried yet; True: registered; False: not installed


def allowed_formats() -> list[str]:
    """The allow-list as Pillow knows it now (the ``formats=`` argument of ``Image.open``)."""
    # HEIF/AVIF appear only once pillow-heif (or Pillow's AVIF plugin) is registered.
    return [name for name in RASTER_FORMATS if name in Image.OPEN]


def refused_format(head: bytes) -> str | None:
    """The name of a format Pillow knows but we refuse, judged by signature checks only.

    Only the plugins' ``accept`` functions run (a look at the first bytes), never their openers. (Every
    format we refuse has one: a refused file is named, never called "not an image".)
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


def signature_kind(head: bytes) -> str | None:
    """The format a file's first bytes claim (``"JPEG"``...), among the common ones; else None."""
    return next((name for magic, name in MAGIC if head.startswith(magic)), None)


# --------------------------------------------------------------------------------------------
# HEIF (optional)


def ensure_heif() -> bool:
    """Register pillow-heif's opener once, on first need. Returns whether HEIF can be read."""
    global _heif_state
    with _heif_lock:
        if _heif_state is None:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
                _heif_state = True
            except Exception as exc:  # noqa: BLE001 - missing or broken optional package
                logger.info("HEIC/HEIF support unavailable: %s", one_line(exc))
                _heif_state = False
        return _heif_state


def read_head(path: Path, size: int = 32) -> bytes:
    """The first ``size`` bytes of a file (empty when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def looks_like_heif(head: bytes) -> bool:
    """Whether the first bytes are an ISO-BMFF ``ftyp`` box with a HEIF brand."""
    return len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS
