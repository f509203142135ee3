"""Fuzzing ``open_image`` and the engine: every case is a prediction or one clear error.

The bundled bad-file generator (``tests.badfiles``) plus a seeded mutation fuzzer: bit flips,
truncations, random overwrites and header splices of valid PNG, JPEG, GIF, TIFF, WebP and BMP
files. Never an exception other than ``ImageError``, never a hang (pytest-timeout), never memory
growth beyond a bound.
"""

from __future__ import annotations

import dataclasses
import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnet_desktop.core.errors import ImageError
from resnet_desktop.core.images import open_image
from resnet_desktop.core.inference.engine import Engine
from resnet_desktop.core.models import zoo
from tests.badfiles import make_bad_files

SEED = 20261202
CASES_PER_FORMAT = 50
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".bmp"}
RSS_GROWTH_LIMIT_MB = 150


def _valid(fmt: str, rng: np.random.Generator) -> bytes:
    pixels = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    pixels[::4] = 255  # some structure, so compressors have runs to encode
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


def _mutate(data: bytes, others: list[bytes], rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    kind = int(rng.integers(0, 5))
    if kind == 0:  # bit flips, mostly in the header where parsers make decisions
        for _ in range(int(rng.integers(1, 9))):
            at = int(rng.integers(0, min(len(out), 96) if rng.random() < 0.7 else len(out)))
            out[at] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:  # truncation
        del out[int(rng.integers(1, len(out))) :]
    elif kind == 2:  # a run of random bytes
        at = int(rng.integers(0, len(out)))
        size = int(rng.integers(1, 64))
        out[at : at + size] = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    elif kind == 3:  # header of one format, body of another
        other = others[int(rng.integers(0, len(others)))]
        cut = int(rng.integers(4, 64))
        out = bytearray(data[:cut] + other[cut:])
    else:  # extreme numbers in a size-like field
        at = int(rng.integers(0, min(len(out) - 4, 48)))
        out[at : at + 4] = bytes(rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"]))
    return bytes(out)


def _corpus(folder: Path) -> list[Path]:
    rng = np.random.default_rng(SEED)
    make_bad_files(folder / "bad")
    valid = {fmt: _valid(fmt, rng) for fmt in FORMATS}
    others = list(valid.values())
    for fmt, suffix in FORMATS.items():
        for i in range(CASES_PER_FORMAT):
            (folder / f"{fmt.lower()}-{i:03}{suffix}").write_bytes(_mutate(valid[fmt], others, rng))
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _corpus(tmp_path_factory.mktemp("fuzz"))


@pytest.mark.timeout(120)
def test_open_image_gives_an_image_or_one_clear_error(corpus: list[Path]) -> None:
    assert len(corpus) >= 300
    outcomes = {"ok": 0, "error": 0}
    for path in corpus:
        try:
            image = open_image(path, draft_size=(64, 64))
        except ImageError as exc:
            assert exc.reason and "\n" not in exc.reason and "Traceback" not in exc.reason
            outcomes["error"] += 1
        else:
            assert image.mode == "RGB" and image.width >= 1 and image.height >= 1
            outcomes["ok"] += 1
    assert outcomes["ok"] > 0 and outcomes["error"] > 0  # the fuzzer reaches both sides


@pytest.mark.timeout(180)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS read from /proc")
def test_engine_gives_one_row_per_case_and_memory_stays_flat(corpus: list[Path]) -> None:
    loaded = zoo.load_model("resnet18", "random")
    small = dataclasses.replace(loaded.preprocessing, resize_size=72, crop_size=64)  # fast, same code path
    engine = Engine(dataclasses.replace(loaded, preprocessing=small), "cpu", batch_size=16, workers=2)
    first = list(engine.classify(corpus, topk=3))  # warm-up pass: allocator pools, thread pools
    before = _rss_mb()
    for _ in range(2):
        again = list(engine.classify(corpus, topk=3))
    growth = _rss_mb() - before
    assert [p.path for p in first] == corpus
    assert [(p.path, p.error) for p in again] == [(p.path, p.error) for p in first]  # deterministic
    for prediction in again:
        if prediction.ok:
            assert len(prediction.scores) == 3
            assert all(np.isfinite(s.probability) for s in prediction.scores)
        else:
            assert prediction.error and not prediction.error.startswith("could not be prepared")  # no bug path
    assert growth < RSS_GROWTH_LIMIT_MB, f"RSS grew by {growth:.0f} MB over two passes"
