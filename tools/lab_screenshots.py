"""Screenshots of the model lab (Evaluate, Grad-CAM pair, Comparison, Speed) for the README.

    .venv/bin/python tools/lab_screenshots.py docs/screenshots
    DISPLAY=:1 .venv/bin/python tools/lab_screenshots.py docs/screenshots   # on a real X server

A seeded random resnet18 is fine-tuned (head only) on a generated labeled folder and evaluated on
a held-out one generated with another seed, so nothing is downloaded. The window is 1366x768 like
``screenshots.py``'s. Settings and caches go to a temporary folder, never the user's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tools"))

from screenshots import WINDOW_SIZE, settle, wait_until  # noqa: E402


def make_model(work: Path) -> tuple[Path, Path]:
    from resnet_desktop.core.finetune.run import FineTuneSettings, run_fine_tune
    from resnet_desktop.core.finetune.synthetic import make_labeled_folder

    train = make_labeled_folder(work / "train", classes=4, per_class=30, seed=1, size=(160, 120), any_colour=0.2)
    held = make_labeled_folder(
        work / "holiday-photos", classes=4, per_class=15, seed=7, size=(160, 120), any_colour=0.3
    )
    settings = FineTuneSettings(arch="resnet18", weights="random", epochs=30, seed=3, device="cpu", head_threads=1)
    model = run_fine_tune(train, settings).save(work / "shapes.safetensors")
    return model, held


def shoot(out: Path, work: Path) -> None:
    """Every lab screen, written to ``out``; ``work`` is the temporary folder (settings, data, models)."""
    # nothing read from or written to the person's folders, nothing downloaded
    for name, folder in (
        ("TORCH_HOME", "torch"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
    ):
        os.environ[name] = str(work / folder)
    os.environ["RESNET_DESKTOP_OFFLINE"] = "1"
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QSplitter

    app = QApplication.instance() or QApplication([])
    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.gui.evaluate.window import ModelLabWindow
    from resnet_desktop.gui.settings import AppSettings

    model, held = make_model(work)
    settings = AppSettings(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    lab = ModelLabWindow(settings)
    lab.resize(*WINDOW_SIZE)
    lab.show()
    panel = lab.evaluate
    panel.folder_edit.setText(str(held))
    panel.models.add_choice(ModelRef(file=model))
    task = panel.start()
    assert task is not None
    wait_until(lambda: task.done and not panel.running)
    settle(1.0)
    view = panel.view
    view.tabs.setCurrentIndex(1)
    report = panel.current_report()
    assert report is not None
    row, column = max(
        ((r, c) for r in range(len(report.rows)) for c in range(len(report.columns)) if r != c),
        key=lambda rc: report.confusion[rc],
    )
    view.matrix.click_at(column + 0.5, row + 0.5)
    settle(1.5)
    lab.grab().save(str(out / "evaluate-confusion.png"))
    view.tabs.setCurrentIndex(3)
    settle(0.5)
    lab.grab().save(str(out / "evaluate-calibration.png"))
    wrong = report.cell(row, column)[0]
    dialog = lab.show_cam(report, wrong)
    assert dialog is not None
    wait_until(lambda: dialog.pair is not None)
    settle(0.5)
    dialog.grab().save(str(out / "evaluate-gradcam.png"))
    dialog.close()

    lab.tabs.setCurrentWidget(lab.speed)
    lab.speed.set_checked(["resnet18", "resnet34", "resnet50", "resnet50-v1"])
    lab.speed.batches.setValue(2)
    lab.speed.repeats.setValue(5)
    bench = lab.speed.start()
    assert bench is not None
    wait_until(lambda: bench.done and not lab.speed.running)
    settle(0.5)
    # the table/chart splitter dragged down so every model's row shows (768 px high: 3 rows otherwise)
    split = lab.speed.findChild(QSplitter)
    assert split is not None
    table = lab.speed.table
    rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
    wanted = rows + table.horizontalHeader().height() + 2 * table.frameWidth() + 2
    split.setSizes([wanted, max(200, sum(split.sizes()) - wanted)])
    settle(0.5)
    lab.grab().save(str(out / "speed.png"))
    lab.close()
    app.processEvents()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="resnet-desktop-lab-"))
    try:
        shoot(args.out, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote screenshots to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
