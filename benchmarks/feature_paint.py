"""How long the Feature Maps panel takes to build and paint a channel grid, against naive ways.

Run: ``.venv/bin/python benchmarks/feature_paint.py [--arch resnet50] [--image assets/samples/cat.jpg]``
(offscreen Qt; random weights are enough: the cost depends on shapes, not on values).

For conv1 (64 x 112 x 112), layer1 (256 x 56 x 56) and layer4 (2048 x 7 x 7) of one photo it prints
the median of several runs of:
  * build  - what the panel does on a layer switch: numpy scaling + sorting + vectorised tiling +
             colormap into one array, then one QImage;
  * +paint - build plus one real paint of the 800 x 800 canvas (widget grab), i.e. grid on screen;
  * loop   - naive baseline: a Python loop colouring each channel into its own QImage and drawing
             each with QPainter;
  * widgets - naive baseline (layer4 only, once): one QLabel per channel in a QGridLayout.
and the end-to-end panel figures: capture of all layers after ``set_image``, and a cached layer switch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from PySide6.QtCore import QRectF  # noqa: E402
from PySide6.QtGui import QImage, QPainter, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication, QGridLayout, QLabel, QWidget  # noqa: E402

LAYERS = ("conv1", "layer1", "layer4")


def median_ms(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def build_grid(maps: np.ndarray, canvas: object) -> None:
    from resnet_desktop.core.explain.heatmaps import render_grid

    rgb, _, _ = render_grid(maps, normalization="channel", sort="mean")
    canvas.set_rgb(rgb)  # numpy -> one QImage


def paint_vectorised(maps: np.ndarray, canvas: object) -> None:
    build_grid(maps, canvas)
    canvas.grab()  # forces a real paint of the 800 x 800 canvas


def paint_loop(maps: np.ndarray, size: int) -> QImage:
    from resnet_desktop.core.explain.heatmaps import colormap_lut

    lut = colormap_lut()
    count, height, width = maps.shape
    columns = int(np.ceil(np.sqrt(count)))
    rows = -(-count // columns)
    target = QImage(size, size, QImage.Format.Format_RGB32)
    painter = QPainter(target)
    cell = size / max(columns, rows)
    order = np.argsort(-maps.reshape(count, -1).mean(axis=1))
    for position, channel in enumerate(order):
        tile = maps[channel]
        low, high = float(tile.min()), float(tile.max())
        scaled = (tile - low) / (high - low) if high > low else np.zeros_like(tile)
        rgb = np.ascontiguousarray(lut[(scaled * 255).astype(np.uint8)])
        image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
        row, col = divmod(position, columns)
        painter.drawImage(QRectF(col * cell, row * cell, cell - 1, cell - 1), image)
    painter.end()
    return target


def paint_widgets(maps: np.ndarray) -> None:
    from resnet_desktop.core.explain.heatmaps import apply_colormap, normalize_maps

    scaled = normalize_maps(maps, "channel")
    window = QWidget()
    grid = QGridLayout(window)
    grid.setSpacing(1)
    columns = int(np.ceil(np.sqrt(len(maps))))
    for index, channel in enumerate(scaled):
        rgb = np.ascontiguousarray(apply_colormap(channel))
        image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], 3 * rgb.shape[1], QImage.Format.Format_RGB888)
        label = QLabel()
        label.setPixmap(QPixmap.fromImage(image))
        grid.addWidget(label, *divmod(index, columns))
    window.resize(800, 800)
    window.grab()
    window.deleteLater()


def panel_figures(app: QApplication, loaded: object, image: Path) -> tuple[float, float, str]:
    from resnet_desktop.gui.explain.panel import FeaturePanel

    panel = FeaturePanel()
    panel.resize(1280, 760)
    panel.set_model(loaded)
    panel.set_image(image)
    start = time.perf_counter()
    panel.show()
    while panel.busy:
        app.processEvents()
        time.sleep(0.002)
    app.processEvents()
    capture_ms = (time.perf_counter() - start) * 1000.0
    captured = panel.status.text()
    passes = panel.forward_passes
    start = time.perf_counter()
    panel.select_layer("layer4")
    while panel.busy:  # only when layer4 was not cached (deep nets over the memory budget)
        app.processEvents()
        time.sleep(0.002)
    app.processEvents()
    panel.grab()
    switch_ms = (time.perf_counter() - start) * 1000.0
    captured += f"; layer4 {'needed a forward' if panel.forward_passes > passes else 'was cached'}"
    panel.shutdown()
    panel.deleteLater()
    return capture_ms, switch_ms, captured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--image", type=Path, default=REPO / "assets" / "samples" / "cat.jpg")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    app = QApplication([])
    import torch

    from resnet_desktop.core.explain.hooks import capture, image_tensor
    from resnet_desktop.core.images import open_image
    from resnet_desktop.core.models import zoo
    from resnet_desktop.gui.explain.canvas import ImageCanvas

    loaded = zoo.load_model(args.arch, "random")
    inputs = image_tensor(open_image(args.image), loaded.preprocessing)
    maps = {name: t[0].numpy() for name, t in capture(loaded.model, inputs, LAYERS).items()}
    canvas = ImageCanvas()
    canvas.resize(800, 800)
    print(
        f"{args.arch} (random weights), {args.image.name}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; median of {args.repeats} runs"
    )
    print(f"{'layer':8} {'maps':>14} {'build ms':>9} {'+paint ms':>9} {'loop ms':>9} {'loop/grid':>9}")
    for name in LAYERS:
        array = maps[name]
        build_ms = median_ms(lambda array=array: build_grid(array, canvas), args.repeats)
        grid_ms = median_ms(lambda array=array: paint_vectorised(array, canvas), args.repeats)
        loop_ms = median_ms(lambda array=array: paint_loop(array, 800), args.repeats)
        shape = "x".join(map(str, array.shape))
        print(f"{name:8} {shape:>14} {build_ms:9.1f} {grid_ms:9.1f} {loop_ms:9.1f} {loop_ms / grid_ms:8.1f}x")
    widgets_ms = median_ms(lambda: paint_widgets(maps["layer4"]), 1)
    grid_ms = median_ms(lambda: paint_vectorised(maps["layer4"], canvas), args.repeats)
    print(
        f"layer4 as {len(maps['layer4'])} QLabel widgets: {widgets_ms:.0f} ms "
        f"({widgets_ms / grid_ms:.0f}x the one-image grid)"
    )
    capture_ms, switch_ms, captured = panel_figures(app, loaded, args.image)
    print(f"panel: set_image -> captured and layer1 shown: {capture_ms:.0f} ms (worker thread) [{captured}]")
    print(f"panel: switch to layer4 until painted: {switch_ms:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
