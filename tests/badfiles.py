"""Generators of bad and awkward image files, shared by the image, engine and CLI tests.

``make_bad_files(folder)`` writes one file per kind of failure and returns
``{file name: substring expected in the ImageError reason}``. ``make_good_images(folder, n)``
writes images that are valid but exercise every mode conversion. Everything is generated in
milliseconds and a few MB of memory (the "bombs" only *declare* a huge size).

Inside a walked folder, ``dir.jpg/`` (a folder named like an image) is one error row and its
contents are not read; given explicitly, a folder is always walked.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

#: Reason substrings, shared with the tests that check them.
EMPTY = "empty file (0 bytes)"
TRUNCATED = "truncated or incomplete image data"
CORRUPT = "corrupt image data"
NOT_IMAGE = "not an image file"
BOMB = "decompression bomb"
FOLDER = "is a folder"
PERMISSION = "permission denied"
NOT_FOUND = "file not found"
HEIF_MISSING = "pillow-heif"


def permissions_enforced(folder: Path) -> bool:
    """Whether ``chmod 000`` stops this process from reading (false as root and on Windows)."""
    probe = folder / ".permission-probe"
    probe.write_bytes(b"x")
    try:
        probe.chmod(0)
        try:
            probe.read_bytes()
        except PermissionError:
            return True
        return False
    finally:
        probe.chmod(0o600)
        probe.unlink()


def _pattern(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A colourful RGB test picture: gradients plus seeded noise, so JPEG has detail to encode."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack(
        [255 * x / max(1, width - 1), 255 * y / max(1, height - 1), 128 + 100 * np.sin(x / 7.0 + y / 11.0)],
        axis=-1,
    )
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _jpeg_bytes(width: int, height: int, seed: int = 0, **save: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_pattern(width, height, seed)).save(buf, "JPEG", quality=90, **save)
    return buf.getvalue()


def _png_bytes(width: int, height: int, seed: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_pattern(width, height, seed)).save(buf, "PNG")
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_bomb_png(path: Path, width: int, height: int) -> Path:
    """A valid, all-black 1-bit PNG of ``width`` x ``height``, compressed row by row (a few KB)."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    rows_per_chunk = max(1, (1 << 20) // len(row))
    parts = []
    done = 0
    while done < height:
        n = min(rows_per_chunk, height - done)
        parts.append(compressor.compress(row * n))
        done += n
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", b"".join(parts))
    path.write_bytes(data + _png_chunk(b"IEND", b""))
    return path


def _corrupt_png_bytes() -> bytes:
    """A PNG whose compressed pixel data is scrambled (headers and CRCs left intact)."""
    data = bytearray(_png_bytes(64, 64, seed=3))
    start = data.index(b"IDAT") + 4
    length = struct.unpack(">I", data[start - 8 : start - 4])[0]
    for i in range(start + 2, start + min(length, 200)):  # keep the 2-byte zlib header
        data[i] ^= 0xA5
    crc = zlib.crc32(bytes(data[start - 4 : start + length])) & 0xFFFFFFFF
    data[start + length : start + length + 4] = struct.pack(">I", crc)
    return bytes(data)


def make_bad_files(folder: Path) -> dict[str, str]:
    """Write one file per kind of bad input into ``folder``; map file name -> expected reason part.

    ``unreadable.jpg`` is only made (and listed) where permissions are enforced (not as root);
    ``broken-link.jpg`` only where symlinks can be created; ``fake.heic`` only while pillow-heif is
    not installed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}

    (folder / "zero-byte.jpg").write_bytes(b"")
    expected["zero-byte.jpg"] = EMPTY

    jpeg = _jpeg_bytes(200, 150, seed=1)
    (folder / "truncated.jpg").write_bytes(jpeg[: int(len(jpeg) * 0.6)])
    expected["truncated.jpg"] = TRUNCATED

    png = _png_bytes(64, 64, seed=2)
    (folder / "truncated.png").write_bytes(png[: int(len(png) * 0.5)])
    expected["truncated.png"] = TRUNCATED

    (folder / "corrupt.png").write_bytes(_corrupt_png_bytes())
    expected["corrupt.png"] = CORRUPT

    (folder / "corrupt-header.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    expected["corrupt-header.jpg"] = CORRUPT

    (folder / "text-named.jpg").write_text("These are my holiday notes, not a photo.\n", encoding="utf-8")
    expected["text-named.jpg"] = NOT_IMAGE

    # Over 2x MAX_IMAGE_PIXELS: Pillow raises DecompressionBombError.
    limit = Image.MAX_IMAGE_PIXELS or 89_478_485
    side = int((2 * limit) ** 0.5) + 64
    write_bomb_png(folder / "bomb.png", side, side)
    expected["bomb.png"] = BOMB
    # Between MAX_IMAGE_PIXELS and twice that: Pillow only warns; we refuse it too.
    write_bomb_png(folder / "bomb-warning.png", int(limit**0.5) + 64, int(limit**0.5) + 64)
    expected["bomb-warning.png"] = BOMB

    inner = folder / "dir.jpg"
    inner.mkdir(exist_ok=True)
    (inner / "inside.jpg").write_bytes(_jpeg_bytes(64, 48, seed=4))
    expected["dir.jpg"] = FOLDER

    if permissions_enforced(folder):
        locked = folder / "unreadable.jpg"
        locked.write_bytes(_jpeg_bytes(64, 48, seed=5))
        locked.chmod(0)
        expected["unreadable.jpg"] = PERMISSION

    try:
        os.symlink(folder / "no-such-target.jpg", folder / "broken-link.jpg")
        expected["broken-link.jpg"] = NOT_FOUND
    except (OSError, NotImplementedError):
        pass

    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        # An ISO-BMFF 'ftyp' box with the HEIC brand, then junk: only pillow-heif could read it.
        ftyp = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
        (folder / "fake.heic").write_bytes(ftyp + bytes(64))
        expected["fake.heic"] = HEIF_MISSING
    return expected


# --------------------------------------------------------------------------------------------
# good images in awkward modes


def _exif_with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "ResNet Desktop tests"
    exif[0x011A] = 72.0
    return exif.tobytes()


def malformed_exif(orientation: int = 6) -> bytes:
    """EXIF that Pillow reads (orientation included) but cannot write back: a RATIONAL value stored
    under PageName, an ASCII tag. ``ImageOps.exif_transpose`` raises on it in Pillow 10-13."""
    good = _exif_with_orientation(orientation)
    bad = good.replace(b"\x01\x1a\x00\x05", b"\x01\x1d\x00\x05")  # XResolution -> PageName (big endian)
    if bad == good:
        bad = good.replace(b"\x1a\x01\x05\x00", b"\x1d\x01\x05\x00")  # little endian
    return bad


def garbage_exif() -> bytes:
    """An EXIF block that is not TIFF data at all."""
    return b"Exif\x00\x00" + b"this is not TIFF data" * 3


def _marked(width: int, height: int, seed: int) -> Image.Image:
    """RGB pattern with a pure red block in the top-left corner (to check rotations)."""
    arr = _pattern(width, height, seed)
    arr[: height // 4, : width // 4] = (255, 0, 0)
    return Image.fromarray(arr)


def _save_kind(kind: str, path_base: Path, seed: int) -> Path:
    w, h = 160, 120
    if kind == "exif-orientation-6":
        path = path_base.with_suffix(".jpg")
        _marked(w, h, seed).save(path, "JPEG", quality=92, exif=_exif_with_orientation(6))
    elif kind == "cmyk":
        path = path_base.with_suffix(".jpg")
        Image.fromarray(_pattern(w, h, seed)).convert("CMYK").save(path, "JPEG", quality=92)
    elif kind == "palette-transparent":
        path = path_base.with_suffix(".png")
        pal = Image.fromarray(_pattern(w, h, seed)).quantize(colors=64)
        pal.paste(0, (0, 0, w // 4, h // 4))
        pal.save(path, "PNG", transparency=0)
    elif kind == "rgba":
        path = path_base.with_suffix(".png")
        rgba = Image.fromarray(_pattern(w, h, seed)).convert("RGBA")
        alpha = Image.linear_gradient("L").resize((w, h))
        rgba.putalpha(alpha)
        rgba.save(path, "PNG")
    elif kind == "la":
        path = path_base.with_suffix(".png")
        gray = Image.fromarray(_pattern(w, h, seed)).convert("L")
        Image.merge("LA", (gray, Image.linear_gradient("L").resize((w, h)))).save(path, "PNG")
    elif kind == "16bit":
        path = path_base.with_suffix(".png")
        ramp = np.linspace(0, 65535, w * h).reshape(h, w).astype(np.uint16)
        Image.fromarray(ramp).save(path, "PNG")
    elif kind == "animated":
        path = path_base.with_suffix(".gif")
        frames = [Image.fromarray(_pattern(w, h, seed + i)).quantize(colors=32) for i in range(3)]
        frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    elif kind == "animated-webp":
        path = path_base.with_suffix(".webp")
        frames = [Image.fromarray(_pattern(w, h, seed + i)) for i in range(3)]
        frames[0].save(path, "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=False)
    elif kind == "grayscale":
        path = path_base.with_suffix(".png")
        Image.fromarray(_pattern(w, h, seed)).convert("L").save(path, "PNG")
    elif kind == "bilevel":
        path = path_base.with_suffix(".png")
        Image.fromarray(_pattern(w, h, seed)).convert("1").save(path, "PNG")
    elif kind == "malformed-exif":
        path = path_base.with_suffix(".jpg")
        _marked(w, h, seed).save(path, "JPEG", quality=92, exif=malformed_exif(6))
    elif kind == "garbage-exif":
        path = path_base.with_suffix(".jpg")
        _marked(w, h, seed).save(path, "JPEG", quality=92, exif=garbage_exif())
    elif kind == "large":
        path = path_base.with_suffix(".jpg")
        path.write_bytes(_jpeg_bytes(1600, 1200, seed))
    else:  # pragma: no cover - guarded by GOOD_KINDS
        raise ValueError(kind)
    return path


#: The kinds ``make_good_images`` cycles through, in order.
GOOD_KINDS: tuple[str, ...] = (
    "exif-orientation-6",
    "cmyk",
    "palette-transparent",
    "rgba",
    "la",
    "16bit",
    "animated",
    "large",
    "animated-webp",
    "grayscale",
    "bilevel",
    "malformed-exif",
    "garbage-exif",
)


def make_good_images(folder: Path, n: int = len(GOOD_KINDS)) -> list[Path]:
    """Write ``n`` valid images cycling through ``GOOD_KINDS``; names sort in creation order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        kind = GOOD_KINDS[i % len(GOOD_KINDS)]
        paths.append(_save_kind(kind, folder / f"{i:03d}-{kind}", seed=i))
    return paths
