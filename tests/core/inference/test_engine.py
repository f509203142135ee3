"""The engine: agreement with the reference pipeline, order, laziness, cancel, progress, OOM."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from PIL import Image

from resnet_desktop.core.images import open_image
from resnet_desktop.core.inference.decode import PREFETCH_BATCHES, decode_batches, draft_size_for, normalize
from resnet_desktop.core.inference.engine import (
    Engine,
    Prediction,
    Progress,
    reference_logits,
    reference_predict,
)
from resnet_desktop.core.models import zoo
from tests.badfiles import make_bad_files, make_good_images

BATCH = 4
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

#: Max |logit| difference fast path vs reference. Undrafted photos go through the same Pillow/
#: torchvision resampling, so only float summation order differs (measured ~1e-6). Drafted JPEGs
#: (DCT-scaled decode) differ more: measured <= 0.037 on 3000-4000 px photos, logits std ~0.5.
UNDRAFTED_LOGIT_TOL = 1e-3
DRAFTED_LOGIT_TOL = 0.1


def _calibrate_batchnorm(loaded: zoo.LoadedModel, photos: list[Path]) -> None:
    """Give the random network BatchNorm statistics from real photos.

    With untouched random-init statistics every photo lands on the same class, which would make
    "top-1 agrees" vacuous; with calibrated statistics different photos get different classes.
    """
    transform = loaded.preprocessing.reference_transforms()
    batch = torch.stack([transform(Image.open(p).convert("RGB")) for p in photos])
    model = loaded.model
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration batch
    model.train()
    with torch.no_grad():
        model(batch)
    model.eval()


@pytest.fixture(scope="module")
def loaded(resnet18_weights: Path, sample_photos: list[Path]) -> zoo.LoadedModel:
    model = zoo.load_model("resnet18", resnet18_weights)
    _calibrate_batchnorm(model, sample_photos)
    return model


@pytest.fixture(scope="module")
def engine(loaded: zoo.LoadedModel) -> Engine:
    return Engine(loaded, "cpu", batch_size=BATCH, workers=2)


@pytest.fixture(scope="module")
def big_photo(tmp_path_factory: pytest.TempPathFactory, sample_photos: list[Path]) -> Path:
    """A 3000x2000 JPEG made from a real photo: big enough for draft-mode decoding."""
    source = next(p for p in sample_photos if p.stem == "cat")
    path = tmp_path_factory.mktemp("big") / "cat-3000x2000.jpg"
    Image.open(source).convert("RGB").resize((3000, 2000), Image.BICUBIC).save(path, quality=92)
    return path


def _top5(prediction: Prediction) -> set[int]:
    return {s.index for s in prediction.scores}


def test_fast_path_agrees_with_reference(
    engine: Engine, loaded: zoo.LoadedModel, sample_photos: list[Path], big_photo: Path
) -> None:
    # The big photo really goes through draft mode (decoded far below its stored size).
    drafted = open_image(big_photo, draft_size=draft_size_for(loaded.preprocessing))
    assert drafted.width < 3000 and min(drafted.size) >= loaded.preprocessing.resize_size

    photos = [*sample_photos, big_photo]
    predictions = list(engine.classify(photos, topk=5))
    assert [p.path for p in predictions] == photos
    fast_logits = torch.cat([engine.logits(b.pixels) for b in engine.decode(photos)])
    ref_logits = torch.stack([reference_logits(loaded, p) for p in photos])
    ref_top5 = ref_logits.topk(5, dim=1).indices
    assert len(set(ref_top5[:, 0].tolist())) >= 2, "the model must tell the photos apart"

    for i, (fast, path) in enumerate(zip(predictions, photos, strict=True)):
        assert fast.ok, fast.error
        assert fast.top1.index == ref_top5[i, 0].item(), path.name
        assert len(_top5(fast) & set(ref_top5[i].tolist())) >= 4, path.name
        diff = (fast_logits[i] - ref_logits[i]).abs().max().item()
        tolerance = DRAFTED_LOGIT_TOL if path == big_photo else UNDRAFTED_LOGIT_TOL
        assert diff <= tolerance, (path.name, diff)


def test_scores_are_sorted_probabilities_with_labels(engine: Engine, sample_photos: list[Path]) -> None:
    prediction = next(engine.classify(sample_photos[:1], topk=3))
    assert len(prediction.scores) == 3
    probabilities = [s.probability for s in prediction.scores]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0.0 < p <= 1.0 for p in probabilities) and sum(probabilities) <= 1.0 + 1e-6
    assert all(s.label == engine.categories[s.index] for s in prediction.scores)
    assert prediction.top1 == prediction.scores[0]


def test_order_preserved_with_errors_interleaved(engine: Engine, tmp_path: Path, sample_photos: list[Path]) -> None:
    expected = make_bad_files(tmp_path / "bad")
    bad = [tmp_path / "bad" / name for name in sorted(expected)]
    good = make_good_images(tmp_path / "good")
    inputs: list[Path] = []
    for i in range(max(len(bad), len(good))):  # alternate so errors land inside batches
        inputs.extend(x[i] for x in (good, bad) if i < len(x))

    results = list(engine.classify(inputs, topk=5))

    assert [r.path for r in results] == inputs
    for result in results:
        if result.path in bad:
            assert not result.ok and result.scores == ()
            assert expected[result.path.name] in result.error
        else:
            assert result.ok, (result.path, result.error)
            assert len(result.scores) == 5


def test_input_is_consumed_lazily(engine: Engine, sample_photos: list[Path]) -> None:
    pulled = 0

    def ten_thousand() -> Iterator[Path]:
        nonlocal pulled
        for i in range(10_000):
            pulled += 1
            yield sample_photos[i % len(sample_photos)]

    stream = engine.classify(ten_thousand())
    first = next(stream)
    assert first.ok
    # One batch being consumed plus the read-ahead window, nowhere near 10,000.
    assert pulled <= BATCH * (PREFETCH_BATCHES + 1)
    stream.close()
    assert pulled <= BATCH * (PREFETCH_BATCHES + 1)

    pulled = 0  # without overlap, exactly one batch is read before it is handed over
    batches = decode_batches(ten_thousand(), engine.preprocessing, batch_size=BATCH, workers=2, overlap=False)
    assert len(next(batches)) == BATCH and pulled == BATCH
    batches.close()


def test_cancel_from_progress_keeps_results_so_far(engine: Engine, sample_photos: list[Path]) -> None:
    cancel = threading.Event()
    seen: list[Progress] = []

    def on_progress(progress: Progress) -> None:
        seen.append(progress)
        cancel.set()

    paths = sample_photos * 8
    results = list(engine.classify(paths, cancel=cancel, progress=on_progress))

    assert len(seen) == 1
    assert [r.path for r in results] == paths[:BATCH]
    assert all(r.ok for r in results)


def test_cancel_does_not_wait_for_running_decodes(loaded: zoo.LoadedModel, sample_photos: list[Path]) -> None:
    """Cancelling while a decode is stuck ends the stream while that decode is still running."""
    release = threading.Event()
    started = threading.Event()

    def stuck(image: Image.Image) -> Image.Image:
        started.set()
        release.wait(timeout=30)
        return image

    cancel = threading.Event()
    stream = decode_batches(
        sample_photos * 4, loaded.preprocessing, batch_size=2, workers=2, cancel=cancel, augment=stuck
    )
    finished = threading.Event()
    batches: list[object] = []

    def consume() -> None:
        batches.extend(stream)
        finished.set()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    try:
        assert started.wait(timeout=30)
        cancel.set()
        assert finished.wait(timeout=30)
        assert not release.is_set()  # the decodes were still blocked when the stream ended
        assert batches == []
    finally:
        release.set()
        consumer.join(timeout=30)


def test_progress_reports_counts_total_and_rate(engine: Engine, tmp_path: Path, sample_photos: list[Path]) -> None:
    missing = tmp_path / "missing.jpg"
    paths = [*sample_photos[:4], missing]
    seen: list[Progress] = []
    list(engine.classify(paths, progress=seen.append))

    assert len(seen) == -(-len(paths) // BATCH)  # one per batch
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    last = seen[-1]
    assert (last.done, last.failed, last.total) == (len(paths), 1, len(paths))
    assert last.images_per_second > 0 and last.elapsed_s > 0

    seen.clear()
    list(engine.classify(iter(paths), progress=seen.append))
    assert seen[-1].total is None  # unknown length stays unknown ...
    seen.clear()
    list(engine.classify(iter(paths), progress=seen.append, total=len(paths)))
    assert seen[-1].total == len(paths)  # ... unless the caller says


def test_decode_batches_augment_and_transform(loaded: zoo.LoadedModel, sample_photos: list[Path]) -> None:
    def grey(image: Image.Image) -> Image.Image:
        return image.convert("L").convert("RGB")

    (batch,) = decode_batches(sample_photos[:3], loaded.preprocessing, batch_size=3, workers=2, augment=grey)
    crop = loaded.preprocessing.crop_size
    assert batch.pixels.shape == (3, 3, crop, crop) and batch.pixels.dtype == torch.uint8
    assert torch.equal(batch.pixels[:, 0], batch.pixels[:, 1])

    def tiny(image: Image.Image) -> torch.Tensor:
        return torch.full((3, 8, 8), image.width % 256, dtype=torch.uint8)

    (batch,) = decode_batches(sample_photos[:2], loaded.preprocessing, batch_size=2, workers=1, transform=tiny)
    assert batch.pixels.shape == (2, 3, 8, 8)
    assert batch.pixels[0, 0, 0, 0].item() == Image.open(sample_photos[0]).width % 256


class _OOMAbove(torch.nn.Module):
    """Wraps a model and raises the real CUDA out-of-memory error for batches above ``limit``."""

    def __init__(self, inner: torch.nn.Module, limit: int) -> None:
        super().__init__()
        self.inner = inner
        self.limit = limit
        self.sizes: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.limit:
            raise torch.cuda.OutOfMemoryError(f"fake: batch {x.shape[0]} > {self.limit}")
        self.sizes.append(x.shape[0])
        return self.inner(x)


def test_out_of_memory_halves_batch_and_keeps_every_result(
    loaded: zoo.LoadedModel, engine: Engine, sample_photos: list[Path]
) -> None:
    from dataclasses import replace

    wrapper = _OOMAbove(loaded.model, limit=2)
    oom_engine = Engine(replace(loaded, model=wrapper), "cpu", batch_size=8, workers=2)
    paths = sample_photos
    results = list(oom_engine.classify(paths))
    normal = list(engine.classify(paths))

    assert oom_engine.forward_batch_size == 2  # 8 -> 4 -> 2
    ran = oom_engine.model  # the engine's own inference copy of the wrapper
    assert isinstance(ran, _OOMAbove) and max(ran.sizes) == 2
    assert [r.path for r in results] == paths
    for got, want in zip(results, normal, strict=True):
        assert got.top1.index == want.top1.index
        assert got.top1.probability == pytest.approx(want.top1.probability, abs=1e-4)


def test_out_of_memory_at_batch_one_on_cpu_is_an_error(loaded: zoo.LoadedModel, sample_photos: list[Path]) -> None:
    from dataclasses import replace

    engine = Engine(replace(loaded, model=_OOMAbove(loaded.model, limit=0)), "cpu", batch_size=2)
    with pytest.raises(MemoryError):
        list(engine.classify(sample_photos[:1]))


def test_reference_predict_is_the_naive_pipeline(loaded: zoo.LoadedModel, sample_photos: list[Path]) -> None:
    path = sample_photos[0]
    x = loaded.preprocessing.reference_transforms()(Image.open(path).convert("RGB"))
    with torch.inference_mode():
        probs = loaded.model(x[None])[0].softmax(0)
    prediction = reference_predict(loaded, path, topk=5)
    assert [s.index for s in prediction.scores] == probs.topk(5).indices.tolist()
    assert prediction.scores[0].probability == pytest.approx(probs.max().item(), rel=1e-5)


def test_engine_reports_device(engine: Engine) -> None:
    assert engine.device == torch.device("cpu")
    assert "CPU" in engine.device_name
    assert engine.autocast_dtype is None  # fp32 on CPU by default


@needs_cuda
def test_cuda_path_agrees_with_reference(loaded: zoo.LoadedModel, sample_photos: list[Path], big_photo: Path) -> None:
    gpu = Engine(loaded, "cuda")
    assert gpu.autocast_dtype in (torch.bfloat16, torch.float16)
    photos = [*sample_photos, big_photo]
    for fast in gpu.classify(photos):
        ref = reference_predict(loaded, fast.path)
        assert fast.ok and fast.top1.index == ref.top1.index
        assert len(_top5(fast) & _top5(ref)) >= 4
    assert next(loaded.model.parameters()).device.type == "cpu"  # the caller's model stays put
    assert all(b.pixels.is_pinned() for b in gpu.decode(photos))


@needs_cuda
def test_cuda_out_of_memory_falls_back_to_cpu(loaded: zoo.LoadedModel, sample_photos: list[Path]) -> None:
    from dataclasses import replace

    class OOMOnCuda(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.is_cuda:
                raise torch.cuda.OutOfMemoryError("fake")
            return self.inner(x)

    gpu = Engine(replace(loaded, model=OOMOnCuda(loaded.model)), "cuda", batch_size=4)
    results = list(gpu.classify(sample_photos))
    assert gpu.device.type == "cpu" and gpu.notices
    assert [r.path for r in results] == sample_photos and all(r.ok for r in results)


def test_engine_runs_a_folded_copy_and_leaves_the_loaded_model_alone(loaded: zoo.LoadedModel, engine: Engine) -> None:
    """BatchNorm is folded into the convolutions of the engine's copy; the original keeps its layers."""
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in loaded.model.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in engine.model.modules())
    pixels = torch.randint(0, 256, (2, 3, 224, 224), dtype=torch.uint8)
    folded = engine.logits(pixels)
    with torch.inference_mode():
        reference = loaded.model(normalize(pixels, loaded.preprocessing, device=torch.device("cpu")))
    assert torch.allclose(folded, reference, atol=1e-3)


def test_building_an_engine_does_not_disturb_forwards_in_other_threads(loaded: zoo.LoadedModel) -> None:
    """The GUI builds engines (model switch, fine-tuning) while other threads run models."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def forwards() -> None:
        x = torch.zeros(1, 3, 64, 64)
        while not stop.is_set():
            try:
                with torch.inference_mode():
                    loaded.model(x)
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
                return

    runner = threading.Thread(target=forwards)
    runner.start()
    try:
        for _ in range(3):
            Engine(loaded, "cpu", batch_size=2, workers=1)
    finally:
        stop.set()
        runner.join()
    assert errors == []


def test_embeddings_come_from_the_same_forward_as_the_logits(
    loaded: zoo.LoadedModel, sample_photos: list[Path]
) -> None:
    engine = Engine(loaded, "cpu", batch_size=BATCH)
    forwards: list[int] = []
    hook = engine.model.register_forward_pre_hook(lambda _m, args: forwards.append(args[0].shape[0]))
    try:
        predictions = list(engine.classify(sample_photos, topk=3, embeddings=True))
    finally:
        hook.remove()
    assert sum(forwards) == len(sample_photos), "one forward per image, embeddings included"
    fc = loaded.model.fc
    for prediction in predictions:
        vector = torch.from_numpy(prediction.embedding)
        assert vector.shape == (fc.in_features,)
        # The embedding is fc's input: fc(embedding) gives back the top class of the prediction.
        with torch.no_grad():
            probs = fc(vector[None]).softmax(dim=1)[0]
        assert int(probs.argmax()) == prediction.top1.index
        assert abs(float(probs.max()) - prediction.top1.probability) < 1e-4
    plain = list(engine.classify(sample_photos, topk=3))
    assert all(p.embedding is None for p in plain) and plain == predictions


def test_a_finished_engine_and_its_model_copy_are_freed_at_once(
    loaded: zoo.LoadedModel, sample_photos: list[Path]
) -> None:
    # Its pooled-output hook used to hold the engine, which holds the model: a cycle that kept every
    # finished engine's copy of the model (~100 MB for resnet50) until a full garbage collection.
    gc.collect()
    gc.disable()
    try:
        engine = Engine(loaded, "cpu", batch_size=BATCH, backend="torch")
        predictions = list(engine.classify(sample_photos[:2], embeddings=True))
        assert all(p.embedding is not None for p in predictions)
        engine_ref, model_ref = weakref.ref(engine), weakref.ref(engine.model)
        del engine
        assert engine_ref() is None and model_ref() is None
    finally:
        gc.enable()
