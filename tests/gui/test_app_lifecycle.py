"""Start-up and shutdown of the real app in a child process (exit code and stderr are what matter)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers import REPO_ROOT

CHILD_TIMEOUT_S = 240


def run_child(code: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        RESNET_DESKTOP_OFFLINE="1",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        TORCH_HOME=str(tmp_path / "torch"),
        PYTHONPATH=str(REPO_ROOT),
    )
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        env=env,
        cwd=REPO_ROOT,
    )


def test_window_is_shown_before_torch_is_imported(tmp_path: Path) -> None:
    result = run_child(
        """
        import sys
        from resnet_desktop.gui.app import main
        sys.exit(main(["resnet-desktop", "--startup-trace", "--arch", "resnet18", "--weights", "random"]))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith("STARTUP")]
    events = [parts[1] for parts in lines]
    assert events == ["window_shown", "model_ready"], result.stdout
    assert lines[0][3] == "torch_imported=0", "the window must be on screen before torch is imported"
    assert float(lines[1][2]) >= float(lines[0][2])
    assert "QThread" not in result.stderr
    log = tmp_path / "state" / "resnet-desktop" / "log" / "resnet-desktop.log"
    assert "Model ready: resnet18" in log.read_text(encoding="utf-8"), "the app keeps a log file in the user's log dir"


def test_closing_mid_job_cancels_and_exits_cleanly(tmp_path: Path, resnet18_weights: Path) -> None:
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(120):
        Image.new("RGB", (40, 30), (i, 255 - i, 90)).save(folder / f"p{i:03d}.jpg")
    result = run_child(
        """
        import sys
        from PySide6.QtCore import QSettings, QTimer
        from PySide6.QtWidgets import QApplication
        app = QApplication(sys.argv[:1])
        from resnet_desktop.gui.main_window import MainWindow
        from resnet_desktop.core.models.ref import ModelRef
        from resnet_desktop.gui.settings import AppSettings
        settings = AppSettings(QSettings(sys.argv[3], QSettings.Format.IniFormat))
        window = MainWindow(settings, model_ref=ModelRef.parse("resnet18", sys.argv[1]), device="cpu")
        window.show()
        window.modelReady.connect(lambda _info: window.classify([sys.argv[2]]))
        def first_rows(job, rows):
            if window.isVisible():
                print("rows before close", window.results.rowCount() + len(rows), flush=True)
                QTimer.singleShot(0, window.close)
        window.service.predictions.connect(first_rows)
        window.start()
        code = app.exec()
        print("busy after close", window.service.busy, "thread running", window.service.running, flush=True)
        sys.exit(code)
        """,
        tmp_path,
        str(resnet18_weights),
        str(folder),
        str(tmp_path / "settings.ini"),
    )
    assert result.returncode == 0, result.stderr
    assert "rows before close" in result.stdout
    assert "busy after close False thread running False" in result.stdout
    assert "QThread" not in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_model_whose_onnx_runtime_graph_is_cached_starts_and_classifies_without_torch(
    tmp_path: Path, sample_photos: list[Path]
) -> None:
    """The issue's proof for the app: with ONNX Runtime chosen and the graph cached by an earlier
    start, the model is ready and the first photo's row is in the table with torch never imported."""
    settings = tmp_path / "config" / "ResNet Desktop" / "ResNet Desktop.conf"
    settings.parent.mkdir(parents=True)
    settings.write_text("[model]\nbackend=onnxruntime\n")
    code = """
        import sys
        from resnet_desktop.gui.app import main
        sys.exit(main(["resnet-desktop", "--startup-trace", "--arch", "resnet18", "--weights", "random", sys.argv[1]]))
        """
    first = run_child(code, tmp_path, str(sample_photos[0]))  # exports and remembers the graph (torch)
    assert first.returncode == 0, first.stderr
    again = run_child(code, tmp_path, str(sample_photos[1]))
    assert again.returncode == 0, again.stderr
    lines = {
        parts[1]: parts[3] for parts in (line.split() for line in again.stdout.splitlines()) if parts[0] == "STARTUP"
    }
    assert lines == {
        "window_shown": "torch_imported=0",
        "model_ready": "torch_imported=0",
        "first_row": "torch_imported=0",
    }, again.stdout
