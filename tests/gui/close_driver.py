"""Run the real app in this process, bring it into one working state, close its window: what a
person does. ``python -m tests.gui.close_driver STATE WORKDIR WEIGHTS``; prints ``CLOSING`` (flushed)
right before the window is closed. Used by ``test_closing.py`` and ``benchmarks/close_states.py``.

States: loading (torch is being imported), fast-mode (the int8 model is being prepared), exporting
(Model > Export Model…), organizing (copying photos into class folders), fine-tuning (the wizard
trains). Nothing is mocked but the save dialog's answer.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication, QFileDialog

STATES = ("loading", "fast-mode", "exporting", "organizing", "fine-tuning")


def until(condition: Callable[[], object], timeout_s: float = 240.0) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {condition}")
        QApplication.processEvents()
        time.sleep(0.01)


def settle(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def make_photos(folder: Path, count: int, size: tuple[int, int] = (800, 600)) -> Path:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype("uint8")).save(folder / f"p{i:03d}.png")
    return folder


def reach(state: str, window: object, workdir: Path) -> None:
    from resnet_desktop.gui.main_window import MainWindow

    assert isinstance(window, MainWindow)
    if state == "loading":
        until(lambda: window.service.is_loading)
        return
    until(lambda: window.model_info is not None)
    if state == "idle":  # nothing running: the baseline of benchmarks/close_states.py
        until(lambda: not window.service.busy)
        return
    if state == "fast-mode":
        # Fast Mode calibrates and verifies on the person's photos in the index (100 or more)
        window.classify([make_photos(workdir / "photos", 150, (160, 120))])
        until(lambda: window.results.rowCount() == 150 and not window.service.busy)
        window.model_export.backend.fast_action.trigger()
        until(lambda: window.service.is_loading)
        settle(1.0)  # the int8 model is being calibrated and quantized
    elif state == "exporting":
        target = workdir / "exported" / "model.onnx"
        target.parent.mkdir()
        QFileDialog.getSaveFileName = staticmethod(lambda *a, **k: (str(target), "ONNX model (*.onnx)"))  # type: ignore[method-assign]
        window.model_export.actions[0].trigger()
        until(lambda: window.model_export.task is not None)
        settle(0.5)
    elif state == "organizing":
        window.classify([make_photos(workdir / "photos", 120)])
        until(lambda: window.results.rowCount() == 120 and not window.service.busy)
        dialog = window.organize.open_dialog()
        assert dialog is not None
        dialog.options.dest_edit.setText(str(workdir / "sorted"))
        dialog.plan_now()
        until(lambda: dialog.plan is not None)
        dialog.start_apply()
        until(lambda: dialog.busy)
        settle(0.3)
    elif state == "fine-tuning":
        from resnet_desktop.core.finetune.synthetic import make_labeled_folder

        folder = make_labeled_folder(workdir / "labeled", classes=3, per_class=12, size=(64, 48), seed=3)
        wizard = window.open_finetune()
        wizard.folder_page.set_folder(folder)
        wizard.next()
        until(wizard.scan_page.isComplete)
        wizard.next()
        wizard.next()
        until(lambda: wizard.training_page.is_running())
        settle(1.0)
    else:
        raise SystemExit(f"unknown state {state!r}")


def main() -> None:
    state, workdir, weights = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    from resnet_desktop.gui import app as gui_app
    from resnet_desktop.gui.main_window import MainWindow

    def person() -> int:
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
        reach(state, window, workdir)
        print("CLOSING", flush=True)
        window.close()  # as the window manager's close button does
        return 0

    QApplication.exec = staticmethod(person)  # type: ignore[method-assign]
    from resnet_desktop.gui.common.closing import end_process_when_closed

    end_process_when_closed()  # as every process entry point does (python -m resnet_desktop, the scripts)
    code = gui_app.main(["resnet-desktop", "--weights", weights, "--model", "resnet18", "--device", "cpu"])
    print("RETURNED", flush=True)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
