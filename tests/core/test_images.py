"""core.images: discovering files lazily and safely, and opening every kind of image right."""

from __future__ import annotations

import io
import itertools
import os
import subprocess
import sys
import textwrap
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnet_desktop.core.errors import ImageError
from resnet_desktop.core.images import (
    HEIF_HINT,
    IMAGE_SUFFIXES,
    NON_IMAGE_SUFFIXES,
    discover,
    open_image,
)
from tests import badfiles
from tests.badfiles import make_bad_files, make_good_images, malformed_exif, permissions_enforced

REPO_ROOT = Path(__file__).resolve().parents[2]


def _touch_jpeg(path: Path, color: tuple[int, int, int] = (90, 120, 150), size: tuple[int, int] = (8, 8)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, "JPEG")
    return path


def _rel(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


# --------------------------------------------------------------------------------------------
# suffix tables


def test_suffix_tables_cover_what_pillow_reads_and_do_not_overlap() -> None:
    registered = Image.registered_extensions()
    readable = {ext for ext, fmt in registered.items() if fmt in Image.OPEN}
    # Pillow registers these for identification only, or they need external programs / are not photos.
    not_photos = {".bufr", ".grib", ".h5", ".hdf", ".mpeg", ".mpg", ".eps", ".ps", ".emf", ".wmf"}
    assert readable - not_photos <= IMAGE_SUFFIXES
    assert not IMAGE_SUFFIXES & NON_IMAGE_SUFFIXES
    assert {".jpg", ".jpeg", ".png", ".heic", ".heif", ".avif", ".webp", ".tif"} <= IMAGE_SUFFIXES
    assert all(s.startswith(".") and s == s.lower() for s in IMAGE_SUFFIXES | NON_IMAGE_SUFFIXES)


# --------------------------------------------------------------------------------------------
# discover


def test_discover_orders_files_then_subfolders_case_insensitively(tmp_path: Path) -> None:
    for name in ["b.jpg", "A.jpg", "c.PNG", "sub/z.jpg", "sub/Y.jpg", "Sub2/x.png", "a-dir/deep/q.jpg"]:
        _touch_jpeg(tmp_path / name)
    found = list(discover([tmp_path]))
    assert _rel(found, tmp_path) == [
        "A.jpg",
        "b.jpg",
        "c.PNG",
        "a-dir/deep/q.jpg",
        "sub/Y.jpg",
        "sub/z.jpg",
        "Sub2/x.png",
    ]
    assert list(discover([tmp_path])) == found  # stable


def test_discover_keeps_explicit_order_and_accepts_a_single_path(tmp_path: Path) -> None:
    one = _touch_jpeg(tmp_path / "one.jpg")
    two = _touch_jpeg(tmp_path / "two.jpg")
    folder = tmp_path / "folder"
    inner = _touch_jpeg(folder / "inner.jpg")
    assert list(discover([two, str(folder), one])) == [two, inner, one]
    assert list(discover(str(folder))) == [inner]
    assert list(discover(folder)) == [inner]


def test_discover_skips_clear_non_images_silently_but_not_explicit_ones(tmp_path: Path) -> None:
    good = _touch_jpeg(tmp_path / "photo.jpg")
    for name in ["notes.txt", "archive.tar.gz", "song.mp3", "clip.MP4", "data.json", "script.py",
                 ".DS_Store", "Thumbs.db", "desktop.ini", ".hidden.jpg", "IMG_1.xmp"]:  # fmt: skip
        (tmp_path / name).write_bytes(b"not a picture")
    _touch_jpeg(tmp_path / ".thumbnails" / "cached.jpg")
    unknown = tmp_path / "scan.xyz"  # not clearly a non-image: attempted, and reported if it fails
    unknown.write_bytes(b"???")
    no_suffix = tmp_path / "IMG_0001"
    no_suffix.write_bytes(b"???")
    assert list(discover([tmp_path])) == [no_suffix, good, unknown]

    explicit = tmp_path / "notes.txt"
    assert list(discover([explicit])) == [explicit]
    with pytest.raises(ImageError) as info:
        open_image(explicit)
    assert "not an image file" in info.value.reason


def test_discover_yields_missing_paths_for_open_image_to_report(tmp_path: Path) -> None:
    missing = tmp_path / "gone.jpg"
    good = _touch_jpeg(tmp_path / "here.jpg")
    assert list(discover([missing, good])) == [missing, good]
    with pytest.raises(ImageError) as info:
        open_image(missing)
    assert info.value.reason == "file not found"
    assert info.value.path == missing


def test_a_directory_named_like_an_image_is_reported_inside_a_walk_but_walked_when_given(tmp_path: Path) -> None:
    inside = _touch_jpeg(tmp_path / "album.jpg" / "inside.jpg")
    assert list(discover([tmp_path])) == [tmp_path / "album.jpg"]  # open_image: "is a folder ..."
    assert list(discover([tmp_path / "album.jpg"])) == [inside]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_discover_follows_directory_symlinks_without_looping(tmp_path: Path) -> None:
    root = tmp_path / "root"
    first = _touch_jpeg(root / "a" / "1.jpg")
    second = _touch_jpeg(root / "b" / "2.jpg")
    outside = _touch_jpeg(tmp_path / "elsewhere" / "3.jpg")
    os.symlink(root, root / "a" / "loop-to-root")  # cycle
    os.symlink(root / "a", root / "b" / "loop-to-a")  # another cycle, via a sibling
    os.symlink(tmp_path / "elsewhere", root / "c-link")  # a real folder reached only via a link
    found = list(itertools.islice(discover([root]), 100))
    assert found == [first, second, root / "c-link" / outside.name]


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


def test_discover_does_not_recurse_per_folder_level(tmp_path: Path) -> None:
    # A tree deeper than the headroom we leave on the call stack: a recursive walk would hit
    # RecursionError. (Kept shallow enough for shutil.rmtree to clean up afterwards.)
    deep = tmp_path
    for _ in range(150):
        deep = deep / "d"
    deep.mkdir(parents=True)
    target = _touch_jpeg(deep / "bottom.jpg")
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 60)
    try:
        found = list(discover([tmp_path]))
    finally:
        sys.setrecursionlimit(old_limit)
    assert found == [target]


def test_discover_is_lazy(tmp_path: Path) -> None:
    _touch_jpeg(tmp_path / "a" / "first.jpg")
    _touch_jpeg(tmp_path / "m" / "middle.jpg")
    doomed = tmp_path / "y"
    _touch_jpeg(doomed / "never.jpg")
    stream = discover([tmp_path])
    assert next(stream) == tmp_path / "a" / "first.jpg"
    # Later folders have not been listed yet: a file added now is found, and a folder removed now
    # is reported once as missing (an eager walk would have yielded never.jpg instead).
    late = _touch_jpeg(tmp_path / "m" / "late.jpg")
    (doomed / "never.jpg").unlink()
    doomed.rmdir()
    rest = list(stream)
    assert rest == [late, tmp_path / "m" / "middle.jpg", doomed]
    with pytest.raises(ImageError) as info:
        open_image(doomed)
    assert info.value.reason == "file not found"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_special_files_are_skipped_in_folders_and_refused_explicitly(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    good = _touch_jpeg(tmp_path / "ok.jpg")
    assert list(discover([tmp_path])) == [good]
    with pytest.raises(ImageError) as info:
        open_image(fifo)  # must not block waiting for a writer
    assert "not a regular file" in info.value.reason


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_broken_links_in_folders_are_reported(tmp_path: Path) -> None:
    link = tmp_path / "lost.jpg"
    os.symlink(tmp_path / "nowhere.jpg", link)
    os.symlink(tmp_path / "nowhere.txt", tmp_path / "lost.txt")
    assert list(discover([tmp_path])) == [link]
    with pytest.raises(ImageError) as info:
        open_image(link)
    assert info.value.reason == "file not found (broken symbolic link)"


def test_unreadable_subfolder_becomes_one_error_and_the_walk_goes_on(tmp_path: Path) -> None:
    if not permissions_enforced(tmp_path):
        pytest.skip("running with permissions that ignore chmod (root); cannot make a folder unreadable")
    locked = tmp_path / "b-locked"
    _touch_jpeg(locked / "secret.jpg")
    later = _touch_jpeg(tmp_path / "c" / "later.jpg")
    first = _touch_jpeg(tmp_path / "a.jpg")
    locked.chmod(0)
    try:
        assert list(discover([tmp_path])) == [first, locked, later]
        with pytest.raises(ImageError) as info:
            open_image(locked)
        assert "permission denied" in info.value.reason
    finally:
        locked.chmod(0o700)


# --------------------------------------------------------------------------------------------
# open_image: modes


def _save(img: Image.Image, path: Path, fmt: str, **kwargs: object) -> Path:
    img.save(path, fmt, **kwargs)
    return path


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    img = Image.new("RGBA", (4, 1), (0, 0, 0, 0))
    img.putpixel((1, 0), (200, 40, 40, 255))
    img.putpixel((2, 0), (0, 0, 0, 128))
    img.putpixel((3, 0), (10, 20, 30, 0))  # colour hidden under zero alpha must not leak
    out = open_image(_save(img, tmp_path / "a.png", "PNG"))
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 0)) == (200, 40, 40)
    assert all(abs(v - 127) <= 1 for v in out.getpixel((2, 0)))
    assert out.getpixel((3, 0)) == (255, 255, 255)


def test_la_is_composited_on_white(tmp_path: Path) -> None:
    img = Image.new("LA", (2, 1), (0, 0))
    img.putpixel((1, 0), (60, 255))
    out = open_image(_save(img, tmp_path / "la.png", "PNG"))
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 0)) == (60, 60, 60)


def test_palette_transparency_index_and_partial_alpha_become_white(tmp_path: Path) -> None:
    img = Image.new("P", (3, 1))
    img.putpalette([0, 0, 0, 250, 10, 10, 10, 250, 10] + [0] * (253 * 3))
    img.putdata([0, 1, 2])
    out = open_image(_save(img, tmp_path / "p.png", "PNG", transparency=0))
    assert out.getpixel((0, 0)) == (255, 255, 255)  # the transparent index, black in the palette
    assert out.getpixel((1, 0)) == (250, 10, 10)
    # tRNS with one alpha per palette entry: entry 2 half transparent.
    out = open_image(_save(img, tmp_path / "p2.png", "PNG", transparency=bytes([255, 255, 128])))
    assert out.getpixel((0, 0)) == (0, 0, 0)
    r, g, b = out.getpixel((2, 0))
    assert abs(r - 132) <= 2 and g >= 250 and abs(b - 132) <= 2


def test_rgb_colour_key_transparency_becomes_white(tmp_path: Path) -> None:
    img = Image.new("RGB", (2, 1), (0, 255, 0))
    img.putpixel((1, 0), (30, 40, 50))
    out = open_image(_save(img, tmp_path / "key.png", "PNG", transparency=(0, 255, 0)))
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 0)) == (30, 40, 50)


def test_16bit_gradient_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 512).round().astype(np.uint16).reshape(1, 512).repeat(4, axis=0)
    path = _save(Image.fromarray(ramp), tmp_path / "ramp16.png", "PNG")
    assert Image.open(path).mode.startswith("I")
    out = np.asarray(open_image(path))
    assert out.shape == (4, 512, 3)
    row = out[0, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255
    assert np.all(np.diff(row) >= 0)
    assert len(np.unique(row)) == 256  # every 8-bit level used: scaled, not clipped to white
    expected = np.round(ramp[0] / 257.0)
    assert np.abs(row - expected).max() <= 1
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


def test_16bit_big_endian_tiff_is_scaled(tmp_path: Path) -> None:
    ramp = (np.arange(256) * 257).astype(">u2").reshape(16, 16)
    path = _save(Image.fromarray(ramp), tmp_path / "be.tif", "TIFF")
    assert Image.open(path).mode == "I;16B"
    out = np.asarray(open_image(path))[..., 0]
    assert (out.ravel() == np.arange(256)).all()


def test_32bit_int_and_float_images_use_their_real_range(tmp_path: Path) -> None:
    ints = (np.arange(256, dtype=np.int32) * 257).reshape(16, 16)  # 16-bit data in an "I" image
    out = np.asarray(open_image(_save(Image.fromarray(ints), tmp_path / "i.tif", "TIFF")))[..., 0]
    assert (out.ravel() == np.arange(256)).all()

    unit = np.linspace(0.0, 1.0, 256, dtype=np.float32).reshape(16, 16)
    out = np.asarray(open_image(_save(Image.fromarray(unit), tmp_path / "f.tif", "TIFF")))[..., 0]
    assert out.min() == 0 and out.max() == 255 and len(np.unique(out)) > 200

    odd = np.linspace(-5.0, 3.0, 256, dtype=np.float32).reshape(16, 16)  # no standard range
    out = np.asarray(open_image(_save(Image.fromarray(odd), tmp_path / "g.tif", "TIFF")))[..., 0]
    assert out.min() == 0 and out.max() == 255 and np.all(np.diff(out.ravel().astype(int)) >= 0)


def test_bilevel_and_grayscale_become_rgb(tmp_path: Path) -> None:
    bits = Image.new("1", (2, 1), 0)
    bits.putpixel((1, 0), 1)
    out = open_image(_save(bits, tmp_path / "b.png", "PNG"))
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (0, 0, 0) and out.getpixel((1, 0)) == (255, 255, 255)
    gray = Image.new("L", (1, 1), 77)
    assert open_image(_save(gray, tmp_path / "g.png", "PNG")).getpixel((0, 0)) == (77, 77, 77)


@pytest.mark.parametrize(
    ("cmyk", "rgb"),
    [((0, 255, 255, 0), (255, 0, 0)), ((255, 0, 255, 0), (0, 255, 0)), ((0, 0, 0, 0), (255, 255, 255))],
)
def test_cmyk_jpeg_colours_are_right(
    tmp_path: Path, cmyk: tuple[int, int, int, int], rgb: tuple[int, int, int]
) -> None:
    path = _save(Image.new("CMYK", (16, 16), cmyk), tmp_path / "c.jpg", "JPEG", quality=95)
    out = open_image(path)
    assert out.mode == "RGB"
    assert all(abs(a - b) <= 12 for a, b in zip(out.getpixel((8, 8)), rgb, strict=True)), out.getpixel((8, 8))


# Where the stored top-left corner ends up for each EXIF orientation.
_CORNER = {1: "tl", 2: "tr", 3: "br", 4: "bl", 5: "tl", 6: "tr", 7: "br", 8: "bl"}


def _marked_jpeg(path: Path, exif: bytes | None, size: tuple[int, int] = (60, 40)) -> Path:
    img = Image.new("RGB", size, (40, 90, 200))
    img.paste((255, 0, 0), (0, 0, 15, 10))
    kwargs = {"exif": exif} if exif is not None else {}
    return _save(img, path, "JPEG", quality=95, **kwargs)


def _red_corner(img: Image.Image) -> str:
    w, h = img.size
    corners = {"tl": (2, 2), "tr": (w - 3, 2), "bl": (2, h - 3), "br": (w - 3, h - 3)}
    red = [name for name, xy in corners.items() if img.getpixel(xy)[0] > 200 and img.getpixel(xy)[2] < 80]
    assert len(red) == 1, red
    return red[0]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = open_image(_marked_jpeg(tmp_path / "o.jpg", exif.tobytes()))
    assert out.size == ((40, 60) if orientation >= 5 else (60, 40))
    assert _red_corner(out) == _CORNER[orientation]


def test_malformed_exif_with_a_readable_orientation_still_rotates(tmp_path: Path) -> None:
    path = _marked_jpeg(tmp_path / "bad-exif.jpg", malformed_exif(6))
    out = open_image(path)
    assert out.size == (40, 60)
    assert _red_corner(out) == "tr"


@pytest.mark.parametrize(
    "exif",
    [badfiles.garbage_exif(), b"Exif\x00\x00MM\x00*\xff\xff\xff\xff", b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff"],
    ids=["not-tiff", "bad-offset", "huge-entry-count"],
)
def test_unreadable_exif_keeps_the_image_unrotated(tmp_path: Path, exif: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about corrupt EXIF; that is the point here
        out = open_image(_marked_jpeg(tmp_path / "junk-exif.jpg", exif))
    assert out.size == (60, 40)
    assert _red_corner(out) == "tl"


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_files_give_their_first_frame(tmp_path: Path, fmt: str) -> None:
    colours = [(220, 30, 30), (30, 220, 30), (30, 30, 220)]
    frames = [Image.new("RGB", (32, 32), c) for c in colours]
    path = tmp_path / f"anim.{fmt.lower()}"
    extra = {"lossless": True} if fmt == "WEBP" else {}
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=50, loop=0, **extra)
    with Image.open(path) as check:
        assert getattr(check, "n_frames", 1) == 3
    out = open_image(path)
    assert out.mode == "RGB" and out.size == (32, 32)
    assert all(abs(a - b) <= 6 for a, b in zip(out.getpixel((16, 16)), colours[0], strict=True))


def test_good_images_of_every_kind_open(tmp_path: Path) -> None:
    paths = make_good_images(tmp_path, len(badfiles.GOOD_KINDS))
    assert len(paths) == len(badfiles.GOOD_KINDS)
    for path in paths:
        with Image.open(path) as raw:
            stored = raw.size
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = open_image(path)
        assert out.mode == "RGB", path.name
        rotated = "orientation-6" in path.name or "malformed-exif" in path.name
        assert out.size == (stored[::-1] if rotated else stored), path.name
        assert out.getbbox() is not None  # not all black


def test_draft_decodes_big_jpegs_at_reduced_scale_but_not_below_the_request(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    big = Image.fromarray(small).resize((4000, 3000), Image.Resampling.BILINEAR)
    path = _save(big, tmp_path / "big.jpg", "JPEG", quality=85)
    full = open_image(path)
    assert full.size == (4000, 3000)
    drafted = open_image(path, draft_size=(256, 256))
    assert min(drafted.size) >= 256
    assert drafted.size[0] <= 4000 // 4 and drafted.size[1] <= 3000 // 4
    # Same picture: compare the draft against the full decode shrunk to the same size.
    reference = np.asarray(full.resize(drafted.size, Image.Resampling.BOX), dtype=np.float32)
    assert np.abs(np.asarray(drafted, dtype=np.float32) - reference).mean() < 8
    # A draft size larger than the image decodes at full size.
    assert open_image(path, draft_size=(5000, 5000)).size == (4000, 3000)


def test_draft_size_is_upright_for_rotated_photos(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(Image.new("RGB", (3000, 2000), (50, 100, 150)), tmp_path / "r.jpg", "JPEG", exif=exif.tobytes())
    out = open_image(path, draft_size=(700, 250))  # upright width >= 700, height >= 250
    assert out.size[0] >= 700 and out.size[1] >= 250
    assert out.size[0] * out.size[1] < 2000 * 3000 // 3


# --------------------------------------------------------------------------------------------
# open_image: bad files


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("bad")
    return folder, make_bad_files(folder)


def test_bad_files_cover_every_kind(bad_folder: tuple[Path, dict[str, str]]) -> None:
    _, expected = bad_folder
    must_have = {"zero-byte.jpg", "truncated.jpg", "corrupt.png", "text-named.jpg", "bomb.png",
                 "bomb-warning.png", "dir.jpg"}  # fmt: skip
    assert must_have <= expected.keys()


@pytest.mark.parametrize(
    "name",
    ["zero-byte.jpg", "truncated.jpg", "truncated.png", "corrupt.png", "corrupt-header.jpg", "text-named.jpg",
     "bomb.png", "bomb-warning.png", "dir.jpg", "unreadable.jpg", "broken-link.jpg", "fake.heic"],
)  # fmt: skip
def test_each_bad_file_gives_one_clear_error(bad_folder: tuple[Path, dict[str, str]], name: str) -> None:
    folder, expected = bad_folder
    if name not in expected:
        if name == "unreadable.jpg":
            pytest.skip("running as root: chmod 000 does not stop reading")
        pytest.skip(f"{name} cannot be made on this system")
    path = folder / name
    with pytest.raises(ImageError) as info:
        open_image(path)
    error = info.value
    assert expected[name] in error.reason
    assert error.path == path
    assert str(path) in str(error)
    assert "\n" not in error.reason and "Traceback" not in error.reason and "<" not in error.reason
    # The engine asks for draft decoding: the same file must fail the same way there.
    with pytest.raises(ImageError) as drafted:
        open_image(path, draft_size=(232, 232))
    assert drafted.value.reason == error.reason


def test_exact_reasons_for_the_common_cases(bad_folder: tuple[Path, dict[str, str]]) -> None:
    folder, _ = bad_folder

    def reason(name: str) -> str:
        with pytest.raises(ImageError) as info:
            open_image(folder / name)
        return info.value.reason

    assert reason("zero-byte.jpg") == "empty file (0 bytes)"
    assert reason("truncated.jpg") == "truncated or incomplete image data"
    assert reason("text-named.jpg") == "not an image file (content is not a recognised image format)"
    assert reason("dir.jpg") == "is a folder, not an image file (open it as a folder to classify what is inside)"
    assert reason("bomb.png").endswith("possible decompression bomb")
    if (folder / "fake.heic").exists():
        assert reason("fake.heic") == HEIF_HINT


def test_a_walked_bad_folder_gives_one_result_per_file(bad_folder: tuple[Path, dict[str, str]]) -> None:
    folder, expected = bad_folder
    results: dict[str, str | None] = {}
    for path in discover([folder]):
        try:
            open_image(path)
            results[path.relative_to(folder).as_posix()] = None
        except ImageError as exc:
            results[path.relative_to(folder).as_posix()] = exc.reason
    assert {k: v for k, v in results.items() if v is not None}.keys() == expected.keys()
    assert all(expected[name] in results[name] for name in expected)
    assert "dir.jpg/inside.jpg" not in results  # a folder named like an image is reported, not read
    # Given explicitly, the same folder is walked: the person asked for what is inside.
    assert [p.name for p in discover([folder / "dir.jpg"])] == ["inside.jpg"]


def test_bombs_are_refused_from_threads_without_touching_global_state(
    bad_folder: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    folder, _ = bad_folder
    good = _touch_jpeg(tmp_path / "ok.jpg")
    limit_before = Image.MAX_IMAGE_PIXELS
    filters_before = list(warnings.filters)

    def attempt(path: Path) -> str:
        try:
            open_image(path)
            return "ok"
        except ImageError as exc:
            return exc.reason

    jobs = [folder / "bomb-warning.png", folder / "bomb.png", good] * 8
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(attempt, jobs))
    for path, outcome in zip(jobs, outcomes, strict=True):
        assert (outcome == "ok") if path == good else ("decompression bomb" in outcome), (path, outcome)
    assert Image.MAX_IMAGE_PIXELS == limit_before
    assert list(warnings.filters) == filters_before


def test_bomb_check_does_not_allocate_the_declared_pixels(bad_folder: tuple[Path, dict[str, str]]) -> None:
    """Measured in a fresh process so the peak memory belongs to this check alone."""
    folder, _ = bad_folder
    script = textwrap.dedent(
        """
        import resource, sys
        from resnet_desktop.core.errors import ImageError
        from resnet_desktop.core.images import open_image
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for name in ("bomb.png", "bomb-warning.png"):
            try:
                open_image(sys.argv[1] + "/" + name)
                raise SystemExit("opened a bomb")
            except ImageError:
                pass
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) // 1024)
        """
    )
    pytest.importorskip("resource")
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    grown_mb = int(done.stdout.strip())
    assert grown_mb < 40  # decoding either bomb would need ~90-180 MB


def test_heic_without_the_plugin_says_how_to_install_it(tmp_path: Path) -> None:
    try:
        import pillow_heif  # noqa: F401

        pytest.skip("pillow-heif is installed")
    except ImportError:
        pass
    # Named .jpg: the content decides, not the suffix.
    path = tmp_path / "from-phone.jpg"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(32))
    with pytest.raises(ImageError) as info:
        open_image(path)
    assert info.value.reason == HEIF_HINT


def test_open_image_accepts_str_paths_and_returns_an_independent_image(tmp_path: Path) -> None:
    path = _touch_jpeg(tmp_path / "s.jpg", (10, 200, 30), (20, 10))
    out = open_image(str(path))
    path.unlink()  # the file is not needed any more: everything was decoded
    assert out.size == (20, 10)
    assert all(abs(a - b) <= 4 for a, b in zip(out.getpixel((5, 5)), (10, 200, 30), strict=True))
    buf = io.BytesIO()
    out.save(buf, "PNG")


def test_cmyk_with_an_unusable_colour_profile_falls_back_to_plain_conversion(tmp_path: Path) -> None:
    from PIL import ImageCms

    wrong = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # an RGB profile on CMYK data
    img = Image.new("CMYK", (16, 16), (0, 255, 255, 0))
    path = _save(img, tmp_path / "c.jpg", "JPEG", quality=95, icc_profile=wrong)
    with Image.open(path) as raw:
        assert raw.mode == "CMYK" and raw.info.get("icc_profile")
    out = open_image(path)
    assert all(abs(a - b) <= 12 for a, b in zip(out.getpixel((8, 8)), (255, 0, 0), strict=True)), out.getpixel((8, 8))
