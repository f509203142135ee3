"""Issue 27 item 12: HEIC is read out of the box (a default dependency, bundled, self-tested), the four
raster formats Pillow reads but the app refused (IM Tools, SPIDER, McIdas area, XV thumbnails) are
read, and a format that stays refused is named, never called "not an image".
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import tomllib
from PIL import Image

from resnet_desktop.cli import main
from resnet_desktop.core.images import open_image
from tests.helpers import REPO_ROOT

RAMP = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (24, 1))  # 24 x 32, a left-to-right ramp


def write_heic(path: Path) -> Path:
    import pillow_heif

    pillow_heif.from_pillow(Image.fromarray(np.dstack([RAMP] * 3))).save(str(path), quality=95)
    return path


def write_imt(path: Path) -> Path:
    """IM Tools: a text header (width, height, pixel n8), a form feed, then 8-bit rows."""
    height, width = RAMP.shape
    path.write_bytes(f"width {width}\nheight {height}\npixel n8\n".encode() + b"\x0c" + RAMP.tobytes())
    return path


def write_spider(path: Path) -> Path:
    Image.fromarray(RAMP.astype(np.float32), "F").save(path, format="SPIDER")
    return path


def write_mcidas(path: Path) -> Path:
    """A McIdas area file: a 64-word big-endian directory, then 1-byte, 1-band lines."""
    height, width = RAMP.shape
    words = [0] * 64
    words[1] = 4  # the area-file signature (the second word)
    words[8], words[9], words[10], words[13], words[14], words[33] = height, width, 1, 1, 0, 256
    path.write_bytes(struct.pack("!64i", *words) + RAMP.tobytes())
    return path


def write_xvthumb(path: Path) -> Path:
    """An XV thumbnail (".xvpics/NAME"): "P7 332", comments, size, then 3-3-2 palette indices."""
    height, width = RAMP.shape
    header = f"P7 332\n#XVVERSION:Version 2.28\n#END_OF_COMMENTS\n{width} {height} 255\n".encode()
    path.write_bytes(header + RAMP.tobytes())
    return path


def test_each_formerly_refused_raster_opens_as_the_picture_it_holds(tmp_path: Path) -> None:
    for write, name in ((write_imt, "scan.imt"), (write_spider, "cryo.spi"), (write_mcidas, "AREA0001")):
        image = open_image(write(tmp_path / name))
        assert image.size == (32, 24), name
        row = np.asarray(image.convert("L"))[12]
        assert row[0] < 20 and row[-1] > 230 and np.all(np.diff(row.astype(int)) >= 0), (name, row)
    thumb = open_image(write_xvthumb(tmp_path / "photo.jpg.xv"))
    assert thumb.size == (32, 24)  # 3-3-2 colour indices: a picture, whatever its palette makes of them
    heic = open_image(write_heic(tmp_path / "IMG_0001.HEIC"))
    assert heic.size == (32, 24) and np.asarray(heic.convert("L"))[12, -1] > 200


def test_cli_classifies_heic_and_the_four_rasters_and_names_what_it_refuses(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    readable = [
        write_heic(folder / "IMG_0001.HEIC"),
        write_imt(folder / "scan.imt"),
        write_spider(folder / "cryo.spi"),
        write_mcidas(folder / "AREA0001"),
        write_xvthumb(folder / "thumb.xv"),
    ]
    eps = folder / "drawing.eps"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    wmf = folder / "clipart.wmf"
    wmf.write_bytes(b"\xd7\xcd\xc6\x9a" + b"\x00" * 60)
    out = tmp_path / "out.json"
    args = ["--weights", str(resnet18_weights), "--device", "cpu", "--format", "json", "--output", str(out)]
    main(["classify", *map(str, readable), str(eps), str(wmf), *args])
    capsys.readouterr()
    results = {Path(item["path"]).name: item for item in json.loads(out.read_text(encoding="utf-8"))}
    for path in readable:
        assert "predictions" in results[path.name], results[path.name]
    assert results["drawing.eps"]["error"] == "unsupported format (EPS): only raster image formats are read"
    assert results["clipart.wmf"]["error"] == "unsupported format (WMF): only raster image formats are read"


def test_pillow_heif_is_a_default_dependency_and_in_the_installer() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(re.match(r"pillow-heif\b", dep) for dep in project["dependencies"])
    spec = (REPO_ROOT / "packaging" / "resnet_desktop.spec").read_text(encoding="utf-8")
    assert 'hiddenimports += ["pillow_heif"]' in spec and 'collect_dynamic_libs("pillow_heif")' in spec
    import sys

    sys.path.insert(0, str(REPO_ROOT / "packaging"))
    try:
        from bundle_rules import EXCLUDED_MODULES
    finally:
        sys.path.remove(str(REPO_ROOT / "packaging"))
    assert not any(name.startswith("pillow_heif") for name in EXCLUDED_MODULES)
    from resnet_desktop import selftest

    assert "heic" in [name for name, _ in selftest.STEPS]
