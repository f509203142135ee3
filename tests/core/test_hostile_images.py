"""Hostile image files: no external program runs, formats are named, reasons say what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from resnet_desktop.core.errors import ImageError
from resnet_desktop.core.images import open_image

REPO_ROOT = Path(__file__).resolve().parents[2]


def _eps_bytes() -> bytes:
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\n"
        b"newpath 0 0 moveto 16 16 lineto stroke\nshowpage\n%%EOF\n"
    )


def _fake_gs(folder: Path, marker: Path) -> Path:
    """A ``gs`` that only leaves a marker file: proof that something tried to run Ghostscript."""
    folder.mkdir()
    gs = folder / "gs"
    gs.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    gs.chmod(0o755)
    return folder


@pytest.mark.skipif(sys.platform == "win32", reason="a shell-script gs needs a POSIX shell")
def test_postscript_named_jpg_never_runs_ghostscript(tmp_path: Path) -> None:
    marker = tmp_path / "gs-was-run"
    bin_dir = _fake_gs(tmp_path / "bin", marker)
    photo = tmp_path / "holiday.jpg"
    photo.write_bytes(_eps_bytes())
    # A fresh interpreter, so Pillow looks for gs on this PATH (it caches the lookup per process).
    code = textwrap.dedent(
        f"""
        from resnet_desktop.core.errors import ImageError
        from resnet_desktop.core.images import open_image
        try:
            open_image({str(photo)!r})
        except ImageError as exc:
            print("REASON:", exc.reason)
        else:
            print("OPENED")
        """
    )
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert not marker.exists(), "Ghostscript was run for a file named .jpg"
    assert "REASON: unsupported format (EPS)" in done.stdout, done.stdout + done.stderr


def test_postscript_reason_names_the_format(tmp_path: Path) -> None:
    photo = tmp_path / "scan.png"
    photo.write_bytes(_eps_bytes())
    with pytest.raises(ImageError) as info:
        open_image(photo)
    assert info.value.reason.startswith("unsupported format (EPS)")
    assert "corrupt" not in info.value.reason


def test_windows_metafile_is_unsupported_not_corrupt(tmp_path: Path) -> None:
    # A placeable WMF header (magic 0x9AC6CDD7, bounding box, 1440 units per inch) plus a tiny body.
    header = bytes.fromhex("d7cdc69a0000000000002000200a0500000000009a66")
    path = tmp_path / "clipart.wmf"
    path.write_bytes(header + bytes.fromhex("010009000003") + b"\x00" * 40)
    with pytest.raises(ImageError) as info:
        open_image(path)
    assert info.value.reason.startswith("unsupported format (WMF)")


def test_format_detection_does_not_depend_on_what_was_opened_before(tmp_path: Path) -> None:
    """An ICO whose header also passes TGA's (signature-less) check must open as an ICO,
    even after a TGA was opened earlier in the same process."""
    tga = tmp_path / "a.tga"
    Image.new("RGB", (32, 32), "blue").save(tga)
    ico = tmp_path / "icon.ico"
    Image.new("RGBA", (128, 128), "blue").save(ico, bitmap_format="bmp", sizes=[(128, 128)])
    code = textwrap.dedent(
        f"""
        from resnet_desktop.core.images import open_image
        open_image({str(tga)!r})
        print("SIZE", open_image({str(ico)!r}).size)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert "SIZE (128, 128)" in done.stdout, done.stdout + done.stderr


def test_memory_error_reason_is_plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (16, 16), "red").save(path)

    def out_of_memory(self: ImageFile.ImageFile) -> None:  # the OS refusing the pixel buffer
        raise MemoryError

    monkeypatch.setattr(ImageFile.ImageFile, "load", out_of_memory)
    with pytest.raises(ImageError) as info:
        open_image(path)
    assert info.value.reason == "too large to decode in memory"


def test_decoder_warnings_are_logged_with_the_file_name_not_printed(tmp_path: Path) -> None:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buffer, "TIFF")
    data = bytearray(buffer.getvalue())
    data[8] = 0xFF  # Pillow: "Corrupt EXIF data. Expecting to read 12 bytes but only got 10."
    path = tmp_path / "scan.tif"
    path.write_bytes(bytes(data))
    # A fresh interpreter with the default warning set-up (pytest records warnings its own way).
    code = textwrap.dedent(
        f"""
        import logging, sys
        logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="LOG %(message)s")
        from resnet_desktop.core.images import open_image
        for _ in range(2):
            print("SIZE", open_image({str(path)!r}).size)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.count("SIZE (16, 16)") == 2, done.stdout + done.stderr
    assert done.stderr == ""  # stderr stays for our own messages
    assert done.stdout.count(f"LOG {path}: decoder warning: Corrupt EXIF data") == 2  # per file, every time
