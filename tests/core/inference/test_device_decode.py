"""Decoding on the engine's device: the same files, order, pixels (within resampling rounding) and
reasons as the CPU pool. Runs on the CPU (torchvision's libjpeg-turbo); the CUDA tests are marked
``gpu`` and skipped without a GPU."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.io
from PIL import Image, ImageOps

from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference.decode import DecodedBatch, decode_batches
from resnet_desktop.core.inference.device_decode import (
    DeviceDecoder,
    Probe,
    _chunks,
    device_decode_batches,
    orient,
    probe,
)
from resnet_desktop.core.inference.engine import Engine, reference_predict
from resnet_desktop.core.models import zoo
from tests.badfiles import make_bad_files, make_good_images

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def loaded(resnet18_weights: Path) -> zoo.LoadedModel:
    return zoo.load_model("resnet18", resnet18_weights)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, sample_photos: list[Path]) -> dict[str, Path]:
    """Plain JPEGs the device takes: a drafted big one, a sideways one, a grey one, a long thin one."""
    folder = tmp_path_factory.mktemp("device-photos")
    cat = Image.open(next(p for p in sample_photos if p.stem == "cat")).convert("RGB")
    made = {}
    made["big"] = folder / "big.jpg"
    cat.resize((1600, 1200), Image.BICUBIC).save(made["big"], quality=92)
    made["sideways"] = folder / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    cat.save(made["sideways"], quality=92, exif=exif.tobytes())
    made["grey"] = folder / "grey.jpg"
    cat.convert("L").save(made["grey"], quality=92)
    made["thin"] = folder / "thin.jpg"
    cat.resize((2400, 90), Image.BICUBIC).save(made["thin"], quality=92)
    return made


def _decode(paths: list[Path], loaded: zoo.LoadedModel, **kwargs: object) -> tuple[list[DecodedBatch], DeviceDecoder]:
    decoder = DeviceDecoder(loaded.preprocessing, CPU, **kwargs)  # type: ignore[arg-type]
    return list(device_decode_batches(paths, decoder, batch_size=4, workers=2)), decoder


def _pool(paths: list[Path], loaded: zoo.LoadedModel) -> list[DecodedBatch]:
    return list(decode_batches(paths, loaded.preprocessing, batch_size=4, workers=2))


def _diff(a: torch.Tensor, b: torch.Tensor) -> tuple[float, int]:
    d = (a.int() - b.int()).abs()
    return float(d.float().mean()), int(d.max())


def test_orient_turns_like_pillows_exif_transpose() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)  # not square: sides matter
    for orientation in range(1, 9):
        image = Image.fromarray(pixels)
        exif = image.getexif()
        exif[0x0112] = orientation
        expected = np.asarray(ImageOps.exif_transpose(image))
        got = orient(torch.from_numpy(pixels).permute(2, 0, 1), orientation).permute(1, 2, 0).numpy()
        assert np.array_equal(got, expected), f"orientation {orientation}"


def test_device_pixels_match_the_pool(loaded: zoo.LoadedModel, sample_photos: list[Path], photos: dict) -> None:
    paths = [*sample_photos, *photos.values()]
    device_batches, decoder = _decode(paths, loaded)
    pool = [t for b in _pool(paths, loaded) for t in b.pixels]
    got = [t for b in device_batches for t in b.pixels]
    assert [p for b in device_batches for p in b.paths] == paths
    assert decoder.on_device == len(paths) and decoder.on_cpu == 0  # every one a plain JPEG
    for path, a, b in zip(paths, got, pool, strict=True):
        mean, worst = _diff(a, b)
        if path == photos["big"]:  # the pool drafts it (DCT-scaled decode): a little further apart
            assert mean < 1.5 and worst <= 16, (path.name, mean, worst)
        else:  # same decode, the same antialiased resize in torch instead of Pillow: rounding only
            assert mean < 0.5 and worst <= 3, (path.name, mean, worst)


def test_bad_and_awkward_files_get_the_pools_reasons_and_pixels(loaded: zoo.LoadedModel, tmp_path: Path) -> None:
    expected = make_bad_files(tmp_path / "bad")
    good = make_good_images(tmp_path / "good")
    paths = [*(tmp_path / "bad" / name for name in sorted(expected)), *good]
    device_batches, decoder = _decode(paths, loaded)
    pool_batches = _pool(paths, loaded)
    device_errors = [e for b in device_batches for e in b.errors]
    assert device_errors == [e for b in pool_batches for e in b.errors]
    for name, error in zip(sorted(expected), device_errors, strict=False):
        assert error is not None and expected[name] in error, name
    assert all(e is None for e in device_errors[len(expected) :])
    device_pixels = [t for x in device_batches for t in x.pixels]
    for a, b in zip(device_pixels, [t for x in pool_batches for t in x.pixels], strict=True):
        assert _diff(a, b)[0] < 1.5
    # Plain JPEGs on the device (sideways, large, two with odd EXIF); CMYK, PNG, GIF and WebP on
    # the CPU path, with the bad files whose header reads: the truncated JPEG (no end-of-image
    # marker), the truncated and the corrupt PNG. The other bad files fail at their header.
    jpegs = [p for p in good if p.suffix == ".jpg" and "cmyk" not in p.name]
    assert decoder.on_device == len(jpegs)
    assert decoder.on_cpu == len(good) - len(jpegs) + 3


def test_probe_sends_truncated_and_non_jpeg_files_to_the_cpu_path(tmp_path: Path, sample_photos: list[Path]) -> None:
    whole = sample_photos[0].read_bytes()
    (tmp_path / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    Image.open(sample_photos[0]).save(tmp_path / "photo.png")
    assert probe(tmp_path / "cut.jpg") == Probe()
    assert probe(tmp_path / "photo.png") == Probe()
    taken = probe(sample_photos[0])
    assert taken.data is not None and taken.data.numel() == len(whole) and taken.pixels > 0
    assert probe(tmp_path / "missing.jpg").error == "file not found"


def test_a_file_the_device_refuses_is_decoded_on_the_cpu(
    loaded: zoo.LoadedModel, sample_photos: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = sample_photos[1].read_bytes()
    real = torchvision.io.decode_jpeg

    def picky(data: list[torch.Tensor], **kwargs: object) -> list[torch.Tensor]:
        if any(bytes(t.numpy()) == refused for t in data):
            raise RuntimeError("Error while decoding JPEG images: simulated nvJPEG failure")
        return real(data, **kwargs)  # type: ignore[arg-type, return-value]

    monkeypatch.setattr(torchvision.io, "decode_jpeg", picky)
    batches, decoder = _decode(sample_photos, loaded)
    assert all(e is None for b in batches for e in b.errors)
    assert decoder.on_cpu == 1 and decoder.on_device == len(sample_photos) - 1  # only that file left the device
    pool = [t for b in _pool(sample_photos, loaded) for t in b.pixels]
    for a, b in zip([t for x in batches for t in x.pixels], pool, strict=True):
        assert _diff(a, b)[0] < 0.5


def test_chunks_keep_each_call_within_its_pixel_budget() -> None:
    probes = [Probe(pixels=n) for n in (5, 5, 5, 20, 1)]
    assert list(_chunks([0, 1, 2, 3, 4], probes, budget=10)) == [[0, 1], [2], [3], [4]]  # a lone big one still goes


def test_a_tiny_pixel_budget_gives_the_same_pixels(loaded: zoo.LoadedModel, sample_photos: list[Path]) -> None:
    one_at_a_time, _ = _decode(sample_photos, loaded, max_pixels_per_call=1)
    together, _ = _decode(sample_photos, loaded)
    assert all(torch.equal(a.pixels, b.pixels) for a, b in zip(one_at_a_time, together, strict=True))


def test_cancel_stops_device_decoding(loaded: zoo.LoadedModel, sample_photos: list[Path]) -> None:
    cancel = threading.Event()
    decoder = DeviceDecoder(loaded.preprocessing, CPU)
    seen = []
    for batch in device_decode_batches(sample_photos * 4, decoder, batch_size=2, workers=2, cancel=cancel):
        seen.append(batch)
        cancel.set()
    assert len(seen) == 1


def test_engine_with_the_device_decoder_classifies_like_the_pool(
    loaded: zoo.LoadedModel, sample_photos: list[Path], photos: dict, tmp_path: Path
) -> None:
    (tmp_path / "notes.jpg").write_text("not a photo", encoding="utf-8")
    paths = [sample_photos[0], tmp_path / "notes.jpg", *sample_photos[1:], photos["sideways"]]
    device = Engine(loaded, "cpu", batch_size=4, workers=2, decoder="device")
    pool = Engine(loaded, "cpu", batch_size=4, workers=2)
    got, want = list(device.classify(paths)), list(pool.classify(paths))
    assert [r.path for r in got] == paths
    assert [r.error for r in got] == [r.error for r in want] and got[1].error is not None
    for a, b in zip(got, want, strict=True):
        if a.ok:
            assert a.top1 == b.top1 or abs(a.top1.probability - b.top1.probability) < 1e-3
    assert device.device_decoder is not None and device.device_decoder.on_device == len(paths) - 1
    timings = device.last_run
    assert timings is not None and timings.images == len(paths) and timings.elapsed_s > 0
    assert 0 <= timings.decode_wait_share <= 1


def test_an_unknown_decoder_is_refused(loaded: zoo.LoadedModel) -> None:
    with pytest.raises(SettingsError, match="unknown decoder 'gpu'; choose one of pool, device"):
        Engine(loaded, "cpu", decoder="gpu")


# -- CUDA ---------------------------------------------------------------------------------------


@pytest.mark.gpu
def test_cuda_device_decode_matches_the_pool(loaded: zoo.LoadedModel, sample_photos: list[Path], photos: dict) -> None:
    paths = [*sample_photos, *photos.values()]
    decoder = DeviceDecoder(loaded.preprocessing, torch.device("cuda"))
    batches = list(device_decode_batches(paths, decoder, batch_size=4, workers=2))
    assert all(b.pixels.is_cuda for b in batches) and decoder.on_device == len(paths)
    pool = [t for b in _pool(paths, loaded) for t in b.pixels]
    for path, a, b in zip(paths, [t.cpu() for x in batches for t in x.pixels], pool, strict=True):
        mean, worst = _diff(a, b)
        assert mean < 2.0 and worst <= 32, (path.name, mean, worst)  # nvJPEG's IDCT and upsampling differ a little


@pytest.mark.gpu
def test_cuda_engine_with_device_decoding_agrees_with_reference(
    loaded: zoo.LoadedModel, sample_photos: list[Path], photos: dict
) -> None:
    engine = Engine(loaded, "cuda", decoder="device")
    results = list(engine.classify([*sample_photos, photos["big"]]))
    for fast in results:
        ref = reference_predict(loaded, fast.path)
        assert fast.ok and len({s.index for s in fast.scores} & {s.index for s in ref.scores}) >= 4


@pytest.mark.gpu
def test_cuda_out_of_memory_falls_back_to_the_cpu_pool(loaded: zoo.LoadedModel, sample_photos: list[Path]) -> None:
    class OOMOnCuda(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.is_cuda:
                raise torch.cuda.OutOfMemoryError("fake")
            return self.inner(x)

    engine = Engine(replace(loaded, model=OOMOnCuda(loaded.model)), "cuda", batch_size=4, decoder="device")
    first = list(engine.classify(sample_photos))
    assert engine.device.type == "cpu" and engine.decoder == "pool" and engine.device_decoder is None
    assert all(r.ok for r in first) and engine.notices
    assert all(r.ok for r in engine.classify(sample_photos))  # later runs decode on the CPU pool
