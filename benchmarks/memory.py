"""Memory: the app's resident size through a working session, and classify's peak on large and odd images.

``app``: one process per backend, driven in-process (offscreen Qt): start with resnet50 (seeded random
weights), classify N generated photos, browse the feature maps of 20 of them, open the model lab and
evaluate the model on a small labeled folder; the resident size (RSS) after each step, and what holds
it (the torch model copies, the feature-map cache, thumbnails). ``cli``: the peak RSS of
``resnet-desktop classify FOLDER --model resnet18`` over a folder of very large and odd images, at two
file counts (1x, 3x, 9x: the peak must not grow with the count), per backend.

    .venv/bin/python benchmarks/memory.py                 # both parts
    .venv/bin/python benchmarks/memory.py app --photos 500
    .venv/bin/python benchmarks/memory.py cli --count 40
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

MB = 1024 * 1024
#: Two ImageNet classes: the model lab's labeled folder must match the model's classes to evaluate.
LABELED_CLASSES = ("tabby", "golden retriever")
#: Idle time after each step: the app hands freed memory back a second after its work ends.
IDLE_S = 1.6


def heavy_modules() -> str:
    """Which optional heavy stacks are imported (torch's compiler stack is not needed for eager models)."""
    names = ("torch", "torch._dynamo", "sympy", "onnxruntime")
    return " ".join(f"{name}={int(name in sys.modules)}" for name in names)


def rss_mb() -> float:
    """This process's resident set size now (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def malloc_trim() -> bool:
    """Give freed heap memory back to the system (glibc); what is left is really in use."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        return bool(ctypes.CDLL(name).malloc_trim(0))
    except (OSError, AttributeError):
        return False


# -- inputs ----------------------------------------------------------------------------------


def photos(folder: Path, count: int, size: tuple[int, int] = (500, 375)) -> list[Path]:
    """``count`` ImageNet-sized JPEGs (sample photos resized, with noise), generated once."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    samples = sorted((REPO_ROOT / "assets" / "samples").glob("*.jpg"))
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        path = folder / f"photo-{i:04d}.jpg"
        if not path.exists():
            base = np.asarray(Image.open(samples[i % len(samples)]).convert("RGB").resize(size), dtype=np.int16)
            noisy = (base + rng.normal(0, 8, base.shape)).clip(0, 255).astype(np.uint8)
            Image.fromarray(noisy).save(path, quality=88)
        paths.append(path)
    return paths


def odd_images(folder: Path, count: int) -> Path:
    """Very large and odd files: 24-MP JPEGs, a 16-bit 20-MP PNG, a 100000x20 strip, a CMYK TIFF,
    a truncated JPEG, text named .jpg; repeated to ``count`` files (hard links, no extra disk)."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    made = sorted(folder.glob("base-*"))
    if not made:
        big = Image.fromarray(rng.integers(0, 255, (4000, 6000, 3), dtype=np.uint8))
        big.save(folder / "base-24mp.jpg", quality=90)
        Image.fromarray(rng.integers(0, 65535, (4000, 5000), dtype=np.uint16)).save(folder / "base-16bit.png")
        Image.fromarray(rng.integers(0, 255, (20, 100_000, 3), dtype=np.uint8)).save(folder / "base-strip.png")
        Image.new("CMYK", (3000, 2000), (10, 200, 30, 5)).save(folder / "base-cmyk.tif")
        data = (folder / "base-24mp.jpg").read_bytes()
        (folder / "base-truncated.jpg").write_bytes(data[: len(data) // 3])
        (folder / "base-text.jpg").write_text("not an image\n" * 100)
        made = sorted(folder.glob("base-*"))
    for i in range(count - len(made)):
        link = folder / f"copy-{i:04d}{made[i % len(made)].suffix}"
        if not link.exists():
            os.link(made[i % len(made)], link)
    return folder


# -- the app ---------------------------------------------------------------------------------


def _wait(app: object, signal: object, timeout_s: float = 1800) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)  # type: ignore[attr-defined]


def _pump(seconds: float) -> None:
    from PySide6.QtCore import QCoreApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.01)


def app_session(args: argparse.Namespace) -> int:
    """The working session, in this process; prints ``RSS <step> <MB>`` lines."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.gui.main_window import MainWindow
    from resnet_desktop.gui.settings import AppSettings

    app = QApplication.instance() or QApplication([])
    root = Path(args.workdir)
    settings = AppSettings(QSettings(str(root / f"settings-{args.backend}.ini"), QSettings.Format.IniFormat))
    settings.set_backend(args.backend)
    print(f"RSS start {rss_mb():.0f}", flush=True)
    window = MainWindow(settings, model_ref=ModelRef.parse(args.arch, "random"), device="cpu")
    window.show()
    window.start()
    _wait(app, window.modelReady)
    print(f"RSS model_ready {rss_mb():.0f} {heavy_modules()}", flush=True)
    window.classify([root / "photos"])
    while window.service.busy:
        _wait(app, window.service.busyChanged, 60)
    _pump(IDLE_S)
    print(f"RSS classified_{window.results.rowCount()} {rss_mb():.0f} {heavy_modules()}", flush=True)
    window.side_tabs.setCurrentIndex(1)  # Features
    for row in range(20):
        window.results_panel.select_row(row)
        _wait(app, window.feature_panel.captured, 600)
    _pump(IDLE_S)
    cache = getattr(window.feature_panel, "_image", None)
    print(f"RSS features_20 {rss_mb():.0f} {heavy_modules()}", flush=True)
    lab = window.tools.open_model_lab(0)
    panel = lab.evaluate
    panel.folder_edit.setText(str(root / "labeled"))
    panel.run_button.click()
    _wait(app, panel.finished, 1800)
    _pump(IDLE_S)
    if not panel.rows:
        print(f"FAILED the model lab evaluated nothing: {panel.status.text()}", flush=True)
        return 1
    row = panel.rows[0]
    print(
        f"RSS model_lab {rss_mb():.0f} (evaluated {row.label} on {panel.reports[0].scored} photos) {heavy_modules()}",
        flush=True,
    )
    feature_bytes = 0 if cache is None or cache.cache is None else cache.cache.cached_bytes
    print(f"INFO feature_cache_mb {feature_bytes / MB:.0f}", flush=True)
    print(f"INFO thumbnail_cache_mb {window.thumbnails.cache.bytes / MB:.0f}", flush=True)
    trimmed = malloc_trim()
    print(f"RSS after_malloc_trim {rss_mb():.0f} ({'trimmed' if trimmed else 'no glibc'})", flush=True)
    del cache
    window.close()
    return 0


def run_app(args: argparse.Namespace) -> None:
    root = Path(args.workdir)
    photos(root / "photos", args.photos)
    for name in LABELED_CLASSES:  # folders named after the model's classes, so the lab evaluates
        photos(root / "labeled" / name, 10)
    for backend in args.backends.split(","):
        env = {**os.environ, "XDG_CACHE_HOME": str(root / "cache"), "XDG_DATA_HOME": str(root / f"data-{backend}")}
        env["XDG_CONFIG_HOME"] = str(root / f"config-{backend}")
        if backend == "onnxruntime":  # the graph cached beforehand (untimed), as after the app's first run
            warm = [sys.executable, "-m", "resnet_desktop", "classify", str(REPO_ROOT / "assets" / "samples")]
            warm += ["--model", args.arch, "--weights", "random", "--backend", backend, "--no-index", "--device", "cpu"]
            subprocess.run(warm, capture_output=True, env=env, cwd=REPO_ROOT, check=False)
        command = [sys.executable, __file__, "app-session", "--backend", backend, "--workdir", str(root)]
        command += ["--arch", args.arch]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=7200)
        lines = [line for line in done.stdout.splitlines() if line.startswith(("RSS", "INFO", "FAILED"))]
        print(f"\napp, {args.arch}, backend {backend} ({time.perf_counter() - started:.0f} s):")
        for line in lines:
            print("  " + line)
        if done.returncode != 0:
            print(done.stderr[-3000:])


# -- the CLI ---------------------------------------------------------------------------------


def run_cli(args: argparse.Namespace) -> None:
    root = Path(args.workdir)
    env = {**os.environ, "XDG_CACHE_HOME": str(root / "cache"), "PYTHONPATH": str(REPO_ROOT)}
    folders = [odd_images(root / f"odd-x{scale}", args.count * scale) for scale in (1, 3, 9)]
    for backend in args.backends.split(","):
        subprocess.run(  # warm the graph cache, untimed
            [sys.executable, "-m", "resnet_desktop", "classify", str(REPO_ROOT / "assets" / "samples"), "--model"]
            + ["resnet18", "--weights", "random", "--backend", backend, "--no-index", "--device", "cpu"],
            capture_output=True,
            env=env,
            cwd=REPO_ROOT,
        )
        # A fresh interpreter per measurement: getrusage's children figure is a running maximum.
        for folder in folders:
            probe = (
                "import resource, subprocess, sys, json;"
                "subprocess.run(sys.argv[1:], capture_output=True);"
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
            )
            command = [sys.executable, "-c", probe, sys.executable, "-m", "resnet_desktop", "classify", str(folder)]
            command += ["--model", "resnet18", "--weights", "random", "--backend", backend, "--format", "json"]
            command += ["--no-index", "--device", "cpu"]
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=7200)
            peak = int(done.stdout.strip().splitlines()[-1]) / 1024
            files = len(list(folder.iterdir()))
            print(
                f"  classify {files:4d} odd files, --backend {backend:<12} peak RSS {peak:7.0f} MB "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", nargs="?", default="all", choices=("all", "app", "cli", "app-session"))
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--count", type=int, default=30, help="odd files in the smallest folder (then 3x, 9x)")
    parser.add_argument("--backends", default="torch,onnxruntime")
    parser.add_argument("--backend", default="torch", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "resnet-desktop-memory-bench"))
    args = parser.parse_args(argv)
    if args.part == "app-session":
        return app_session(args)
    print(f"load average {os.getloadavg()[0]:.2f} before the run", flush=True)
    if args.part in ("all", "app"):
        run_app(args)
    if args.part in ("all", "cli"):
        print("\nclassify, resnet18, a folder of very large and odd images:")
        run_cli(args)
    print(f"\nload average {os.getloadavg()[0]:.2f} after the run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
