"""``resnet-desktop --self-test``: prove that this build works, headless, in a few seconds.

Made for the frozen app first: a bundle that imports, but lacks a Qt plugin, a compiled
torchvision op or a data file, fails here with the reason instead of on a user's desktop. Every
step prints PASS or FAIL with what it saw; any FAIL makes the exit code 1. A step that needs a
module which is not there (not built yet, or left out of the bundle) fails naming the module.

Steps: imports, devices, torchvision compiled ops, model (bundled weights, else seeded random
weights), classify a bundled sample photo, read a HEIC, record a feature map, one fine-tuning step on
a tiny generated folder, a head file (a label set's version) saved and loaded back through its
backbone, Qt offscreen (platform plugin, a widget, the JPEG plugin, the app icon).
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from resnet_desktop import __version__

logger = logging.getLogger(__name__)

SELFTEST_ARCH = "resnet18"  # the smallest ResNet: the self-test proves plumbing, not accuracy
FINETUNE_CLASSES = ("red", "blue")
FINETUNE_IMAGES_PER_CLASS = 4


class StepFailed(Exception):
    """A check inside a step did not hold; the message says what was expected and what was seen."""


@dataclass
class StepResult:
    """One line of the report."""

    name: str
    passed: bool
    detail: str
    seconds: float


@dataclass
class SelfTestContext:
    """What earlier steps hand to later ones (the model, the engine) and the scratch folder."""

    workdir: Path
    values: dict[str, Any] = field(default_factory=dict)

    def need(self, key: str, step: str) -> Any:
        """The value a previous step produced, or a failure saying which step it depends on."""
        if key not in self.values:
            raise StepFailed(f"not run: needs the {step!r} step, which failed")
        return self.values[key]


Step = Callable[[SelfTestContext], str]


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


def _import(module: str) -> Any:
    """Import a module of the app; a missing one is a clear failure, not a traceback."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise StepFailed(f"module {exc.name!r} is missing from this build") from exc


# --- steps ---------------------------------------------------------------------------------


def step_imports(ctx: SelfTestContext) -> str:
    """torch, torchvision, Pillow, numpy and PySide6 import, and their versions."""
    import numpy
    import PIL
    import PySide6
    import torch
    import torchvision

    return (
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"PySide6 {PySide6.__version__}, Pillow {PIL.__version__}, numpy {numpy.__version__}"
    )


def step_devices(ctx: SelfTestContext) -> str:
    """The device list is non-empty and ends with the CPU, as the device menu expects."""
    devices = _import("resnet_desktop.core.devices")
    found = devices.available_devices()
    _check(bool(found), "available_devices() returned no device")
    _check(found[-1].id == "cpu", f"the last device is {found[-1].id!r}, expected 'cpu'")
    return "; ".join(f"{d.id}: {d.name}" for d in found)


def step_torchvision_ops(ctx: SelfTestContext) -> str:
    """``torchvision.ops.nms`` runs: the compiled ``torchvision._C`` extension was bundled."""
    import torch
    from torchvision.ops import nms

    boxes = torch.tensor(
        [[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]], dtype=torch.float32
    )
    scores = torch.tensor([0.9, 0.8, 0.7])
    kept = nms(boxes, scores, iou_threshold=0.5).tolist()
    _check(kept == [0, 2], f"nms kept {kept}, expected [0, 2] (box 1 overlaps box 0 by IoU 0.68)")
    return f"nms kept boxes {kept} of 3"


def _bundled_torchvision_entry(zoo: Any, files: list[Path]) -> tuple[str, str] | None:
    """(arch, weights name) of the first bundled file that is a known torchvision ResNet file."""
    by_file = {Path(info.url).name: info for info in zoo.list_weights()}
    for path in files:
        info = by_file.get(path.name)
        if info is not None:
            return info.arch, info.name
    return None


def step_model(ctx: SelfTestContext) -> str:
    """Load the bundled weights offline if this build has any, else build seeded random weights."""
    from resnet_desktop import bundle

    zoo = _import("resnet_desktop.core.models.zoo")
    weights_mod = _import("resnet_desktop.core.models.weights")
    model_files = bundle.bundled_model_files()
    torchvision_files = bundle.bundled_torchvision_files()
    entry = _bundled_torchvision_entry(zoo, torchvision_files)
    if model_files:
        loaded = zoo.load_model(SELFTEST_ARCH, model_files[0])
    elif entry is not None:
        bundle.seed_torch_hub_cache(torchvision_files)
        previous = os.environ.get(weights_mod.OFFLINE_ENV)
        os.environ[weights_mod.OFFLINE_ENV] = "1"  # bundled means offline: never download here
        try:
            loaded = zoo.load_model(*entry)
        finally:
            if previous is None:
                del os.environ[weights_mod.OFFLINE_ENV]
            else:
                os.environ[weights_mod.OFFLINE_ENV] = previous
    else:
        if torchvision_files:
            names = ", ".join(p.name for p in torchvision_files)
            raise StepFailed(f"bundled weights {names} match no torchvision ResNet file name")
        loaded = zoo.load_model(SELFTEST_ARCH, zoo.RANDOM_WEIGHTS)
    _check(len(loaded.categories) >= 2, f"the model has {len(loaded.categories)} categories")
    num_params = sum(p.numel() for p in loaded.model.parameters())
    ctx.values["loaded"] = loaded
    origin = "bundled" if (model_files or entry) else "generated"
    return f"{loaded.source} [{origin}], {len(loaded.categories)} classes, {num_params / 1e6:.1f} M parameters"


def _sample_photo() -> Path:
    from resnet_desktop.resources import sample_images

    samples = sample_images()
    _check(bool(samples), "no sample photos found in the bundle's assets/samples")
    return samples[0]


def step_classify(ctx: SelfTestContext) -> str:
    """Classify one bundled sample photo through the real engine (decode, batch, model, top-k)."""
    loaded = ctx.need("loaded", "model")
    engine_mod = _import("resnet_desktop.core.inference.engine")
    photo = _sample_photo()
    engine = engine_mod.Engine(loaded, "auto", workers=1)  # on a GPU machine: proves the CUDA libraries
    predictions = list(engine.classify([photo], topk=5))
    _check(len(predictions) == 1, f"expected 1 prediction for 1 photo, got {len(predictions)}")
    prediction = predictions[0]
    _check(prediction.ok, f"{photo.name}: {prediction.error}")
    probabilities = [score.probability for score in prediction.scores]
    _check(len(probabilities) == min(5, len(loaded.categories)), f"got {len(probabilities)} scores, expected 5")
    _check(all(0.0 <= p <= 1.0 for p in probabilities), f"probabilities out of [0, 1]: {probabilities}")
    _check(probabilities == sorted(probabilities, reverse=True), "scores are not sorted best first")
    _check(
        all(score.label == loaded.categories[score.index] for score in prediction.scores),
        "a label does not match its class index",
    )
    ctx.values["photo"] = photo
    top = prediction.top1
    return f"{photo.name}: top-1 {top.label!r} ({top.probability:.1%}) on {engine.device_name}"


def step_onnxruntime(ctx: SelfTestContext) -> str:
    """Export the model to ONNX in memory and run it on ONNX Runtime: the build carries onnx and
    onnxruntime's native libraries, and the export agrees with PyTorch on a sample photo."""
    loaded = ctx.need("loaded", "model")
    export = _import("resnet_desktop.core.models.export")
    quantize = _import("resnet_desktop.core.models.quantize")
    ort = _import("onnxruntime")
    data = export.build_onnx(loaded)
    inputs = quantize.verification_inputs(loaded.preprocessing, [_sample_photo()], random_count=1)
    agreement = quantize.agreement(loaded, data, inputs, precision="fp32")
    _check(agreement.passed, f"the ONNX export does not match PyTorch: {agreement.summary()}")
    return f"onnxruntime {ort.__version__}, {len(data) / 2**20:.0f} MB graph: {agreement.summary()}"


def step_feature_map(ctx: SelfTestContext) -> str:
    """Record layer1's output with forward hooks; its shape must match what list_layers announces."""
    import torch

    loaded = ctx.need("loaded", "model")
    photo = ctx.need("photo", "classify")
    features = _import("resnet_desktop.core.explain.hooks")
    images = _import("resnet_desktop.core.images")
    layer = "layer1"
    announced = {info.name: info.shape for info in features.list_layers(loaded.model)}
    _check(layer in announced, f"list_layers() does not list {layer!r}")
    pixels = loaded.preprocessing.reference_transforms()(images.open_image(photo)).unsqueeze(0)
    device = next(loaded.model.parameters()).device  # the engine may have moved it to a GPU
    with torch.no_grad(), features.FeatureRecorder(loaded.model, [layer]) as recorder:
        loaded.model(pixels.to(device))
    _check(layer in recorder.outputs, f"nothing was recorded for {layer!r}")
    output = recorder.outputs[layer]
    _check(
        tuple(output.shape[1:]) == tuple(announced[layer]),
        f"{layer} is {tuple(output.shape)}, list_layers said {announced[layer]}",
    )
    _check(bool(torch.isfinite(output).all()), f"{layer} has non-finite values")
    hooks_left = sum(len(m._forward_hooks) for m in loaded.model.modules())
    _check(hooks_left == 0, f"{hooks_left} forward hooks left on the model after the recorder closed")
    # Paint the channel grid as the Feature Maps panel does: proves the colormap tables are bundled.
    heatmaps = _import("resnet_desktop.core.explain.heatmaps")
    grid, _, _ = heatmaps.render_grid(output[0].numpy())
    height, width = grid.shape[:2]
    return f"{layer} {tuple(output.shape[1:])} recorded, hooks removed, grid painted {width}x{height}"


def make_tiny_dataset(
    root: Path, classes: tuple[str, ...] = FINETUNE_CLASSES, per_class: int = FINETUNE_IMAGES_PER_CLASS
) -> Path:
    """A labeled folder of small generated JPEGs (one colour family per class) for the fine-tune step."""
    import random

    from PIL import Image

    rng = random.Random(0)
    base_colours = [(200, 40, 40), (40, 60, 200), (40, 180, 60), (200, 200, 40)]
    for class_index, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        base = base_colours[class_index % len(base_colours)]
        for i in range(per_class):
            colour = tuple(max(0, min(255, c + rng.randint(-30, 30))) for c in base)
            image = Image.new("RGB", (64, 48), colour)
            image.putpixel((rng.randrange(64), rng.randrange(48)), (255, 255, 255))
            image.save(folder / f"{name}_{i}.jpg", quality=90)
    return root


def step_finetune(ctx: SelfTestContext) -> str:
    """Fine-tune a new head for one epoch on a generated two-class folder, save it, load it back."""
    loaded = ctx.need("loaded", "model")
    finetune = _import("resnet_desktop.core.finetune.run")
    zoo = _import("resnet_desktop.core.models.zoo")
    folder = make_tiny_dataset(ctx.workdir / "dataset")
    scan = finetune.scan_dataset(folder)
    _check(
        sorted(scan.classes) == sorted(FINETUNE_CLASSES),
        f"scan found classes {scan.classes}, expected {list(FINETUNE_CLASSES)}",
    )
    settings = finetune.FineTuneSettings(
        arch=loaded.arch,
        weights=loaded.weights_name or zoo.RANDOM_WEIGHTS,
        mode="head",
        val_split=0.25,
        epochs=1,
        optimizer="adamw",
        weight_decay=1e-4,  # fixed: no cross-validated search, one epoch is all we prove
        batch_size=8,
        patience=1,
        device="cpu",
        workers=1,
    )
    phases: list[str] = []
    result = finetune.run_fine_tune(scan, settings, loaded=loaded, progress=lambda event: phases.append(event.phase))
    _check("train" in phases, f"no training progress was reported (phases: {sorted(set(phases))})")
    fc = result.model.fc
    _check(
        fc.out_features == len(FINETUNE_CLASSES),
        f"the new head has {fc.out_features} outputs, expected {len(FINETUNE_CLASSES)}",
    )
    _check(0.0 <= result.val_accuracy <= 1.0, f"validation accuracy {result.val_accuracy} is not in [0, 1]")
    saved = result.save(ctx.workdir / "finetuned.safetensors")
    reloaded = zoo.load_model(loaded.arch, saved)
    _check(
        list(reloaded.categories) == list(result.class_names),
        f"the saved model reloads with classes {reloaded.categories}",
    )
    return (
        f"{len(scan.classes)} classes x {FINETUNE_IMAGES_PER_CLASS} generated images, 1 epoch, "
        f"val accuracy {result.val_accuracy:.0%}, saved and reloaded {saved.name}"
    )


def step_head_file(ctx: SelfTestContext) -> str:
    """A head file (model-file format 2: what a label set's version is) on this build's model: saved,
    loaded back through its backbone reference, and answering as backbone features x head."""
    import torch

    loaded = ctx.need("loaded", "model")
    headfile = _import("resnet_desktop.core.models.headfile")
    zoo = _import("resnet_desktop.core.models.zoo")
    features = int(loaded.model.fc.in_features)
    generator = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(2, features, generator=generator), torch.randn(2, generator=generator)
    path = headfile.save_head_file(
        ctx.workdir / "version.safetensors",
        weight,
        bias,
        base=loaded,
        arch=loaded.arch,
        class_names=list(FINETUNE_CLASSES),
        preprocessing=loaded.preprocessing.to_dict(),
    )
    reloaded = zoo.load_model(None, path)
    _check(list(reloaded.categories) == list(FINETUNE_CLASSES), f"it reloads with classes {reloaded.categories}")
    crop = loaded.preprocessing.crop_size
    x = torch.randn(1, 3, crop, crop, generator=generator)
    with torch.no_grad():
        loaded.model.eval()
        pooled = torch.nn.Sequential(*list(loaded.model.children())[:-1])(x).flatten(1)
        expected = pooled @ weight.T + bias
        got = reloaded.model(x)
    _check(torch.allclose(got, expected, atol=1e-3), "its answer is not the backbone's features times the head")
    backbone = reloaded.meta["base_weights"]
    return f"{path.name} ({path.stat().st_size:,} bytes), backbone {backbone}: reloaded, same answers"


def step_qt(ctx: SelfTestContext) -> str:
    """Qt starts offscreen, paints a widget, decodes a JPEG (imageformats plugin) and the app icon."""
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QGuiApplication, QIcon, QImage
    from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

    from resnet_desktop.resources import assets_dir

    program = sys.argv[0] if sys.argv else "resnet-desktop"
    app = QApplication.instance() or QApplication([program, "-platform", "offscreen"])
    ctx.values["qt_app"] = app  # keep it alive until the report is printed
    widget = QWidget()
    layout = QVBoxLayout(widget)
    layout.addWidget(QLabel("ResNet Desktop self-test"))
    widget.resize(320, 120)
    pixmap = widget.grab()  # renders without show(): no window, no offscreen-plugin warnings
    _check(not pixmap.isNull() and pixmap.width() > 0, "grabbing a widget gave an empty picture")
    photo = _sample_photo()
    image = QImage(str(photo))
    _check(not image.isNull(), f"Qt could not decode {photo.name} (the imageformats/qjpeg plugin is missing?)")
    icon_file = assets_dir() / "icons" / "resnet-desktop-256.png"
    icon = QIcon(str(icon_file))
    _check(not icon.isNull() and not icon.pixmap(QSize(64, 64)).isNull(), f"app icon {icon_file} did not load")
    return (
        f"platform {QGuiApplication.platformName()!r}, widget painted {pixmap.width()}x{pixmap.height()}, "
        f"{photo.name} decoded {image.width()}x{image.height()}, icon ok"
    )


def step_heic(ctx: SelfTestContext) -> str:
    """Write a HEIC (an iPhone's photo format) with pillow-heif and read it back through the app's own
    opener: the build carries pillow-heif and its libheif/HEVC libraries."""
    from PIL import Image

    pillow_heif = _import("pillow_heif")
    images = _import("resnet_desktop.core.images")
    path = ctx.workdir / "iphone.heic"
    pillow_heif.from_pillow(Image.new("RGB", (96, 64), (200, 40, 30))).save(str(path), quality=90)
    image = images.open_image(path)
    _check(image.size == (96, 64), f"{path.name} decoded as {image.size}, expected (96, 64)")
    red, green, blue = image.getpixel((48, 32))
    _check(red > 150 and green < 100 and blue < 100, f"{path.name} decoded as colour {(red, green, blue)}")
    return f"pillow-heif {pillow_heif.__version__}: wrote and read {path.name} ({image.width}x{image.height})"


STEPS: tuple[tuple[str, Step], ...] = (
    ("imports", step_imports),
    ("qt", step_qt),
    ("devices", step_devices),
    ("torchvision ops", step_torchvision_ops),
    ("model", step_model),
    ("classify", step_classify),
    ("heic", step_heic),
    ("onnx runtime", step_onnxruntime),
    ("feature map", step_feature_map),
    ("fine-tune", step_finetune),
    ("head file", step_head_file),
)


# --- running and reporting -------------------------------------------------------------------


def run_steps(steps: tuple[tuple[str, Step], ...], ctx: SelfTestContext, out: TextIO) -> list[StepResult]:
    """Run every step (a failure does not stop the others) and print one line per step as it ends."""
    results = []
    width = max(len(name) for name, _ in steps)
    for name, step in steps:
        start = time.perf_counter()
        try:
            detail = step(ctx)
            passed = True
        except StepFailed as exc:
            detail, passed = str(exc), False
        except Exception as exc:  # noqa: BLE001 - the report must name any failure, whatever raised it
            detail, passed = f"{type(exc).__name__}: {exc}", False
            logger.debug("self-test step %s failed:\n%s", name, traceback.format_exc())
        seconds = time.perf_counter() - start
        result = StepResult(name, passed, detail, seconds)
        results.append(result)
        print(f"{'PASS' if passed else 'FAIL'}  {name:<{width}}  {detail} ({seconds:.1f} s)", file=out, flush=True)
    return results


def _build_description() -> str:
    from resnet_desktop import bundle

    root = bundle.bundle_root()
    edition = ", CPU-only edition" if bundle.is_cpu_only() else ""
    where = f"frozen build at {root}{edition}" if root else f"from source at {Path(__file__).resolve().parent}"
    return (
        f"ResNet Desktop {__version__} self-test ({where})\n"
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}"
    )


def run_self_test(out: TextIO | None = None) -> bool:
    """Run every step, print the report to ``out`` (stdout); True when every step passed."""
    out = out if out is not None else sys.stdout
    # Headless whatever the session: set before anything imports Qt.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    print(_build_description(), file=out, flush=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="resnet-desktop-selftest-") as tmp:
        ctx = SelfTestContext(workdir=Path(tmp))
        results = run_steps(STEPS, ctx, out)
    failed = [r.name for r in results if not r.passed]
    total = time.perf_counter() - start
    if failed:
        summary = f"{len(failed)} of {len(results)} steps ({', '.join(failed)}) in {total:.1f} s"
        print(f"Self-test FAILED: {summary}.", file=out)
        return False
    print(f"Self-test passed: {len(results)} of {len(results)} steps in {total:.1f} s.", file=out)
    return True
