"""Issue 27 item 11: what the terminal shows while the app runs.

The app is started as a person starts it (``python -m resnet_desktop``, its own process, its real
stderr), with the default model's weights missing (an expected situation, shown in the banner) and a
broken JPEG previewed. An expected error is one line without a traceback; libjpeg's "Corrupt JPEG
data" is never printed anonymously: it is logged with the file's name (shown with ``-v``, and in the
log file). Also: installing the project gives no setuptools deprecation warning (pip printed one).
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers import REPO_ROOT

DRIVER = r"""
import sys, time
from PySide6.QtWidgets import QApplication
from resnet_desktop.gui import app as gui_app
from resnet_desktop.gui.main_window import MainWindow

def until(condition):
    end = time.time() + 120
    while time.time() < end and not condition():
        QApplication.processEvents()
        time.sleep(0.02)

def person():
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
    until(window.banner.isVisible)
    print("BANNER:", window.banner.title.text(), flush=True)
    shown = window.thumbnails
    for size in (48, 600):  # the table's thumbnail, then the preview
        until(lambda: shown.pixmap(sys.argv[1], size) is not None or shown.failed(sys.argv[1], size))
    print("PREVIEWED", flush=True)
    window.close()
    return 0

QApplication.exec = staticmethod(person)
sys.exit(gui_app.main(["resnet-desktop"]))
"""


def broken_jpeg(folder: Path) -> Path:
    """A photo whose scan data ends early: libjpeg decodes it and complains ("Corrupt JPEG data")."""
    pixels = (np.random.default_rng(0).random((256, 256, 3)) * 255).astype("uint8")
    good = folder / "good.jpg"
    Image.fromarray(pixels).save(good, quality=90)
    data = good.read_bytes()
    broken = folder / "holiday-042.jpg"
    broken.write_bytes(data[: len(data) // 2] + data[-2:])
    return broken


def run_app(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "RESNET_DESKTOP_OFFLINE": "1",  # the default weights are not there: the expected banner
        "TORCH_HOME": str(tmp_path / "torch"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    return subprocess.run(
        [sys.executable, "-c", DRIVER, *args], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300
    )


def test_expected_errors_are_one_line_and_decoder_warnings_name_the_file(tmp_path: Path) -> None:
    photo = broken_jpeg(tmp_path)
    done = run_app(tmp_path, str(photo))
    assert done.returncode == 0, done.stderr
    assert "BANNER:" in done.stdout and "PREVIEWED" in done.stdout, done.stdout + done.stderr
    err = done.stderr
    assert "Traceback" not in err, err
    weights = [line for line in err.splitlines() if "is not available" in line]
    assert len(weights) == 1, err  # the missing-weights situation: one line
    assert "Corrupt JPEG data" not in err, f"printed without the file's name:\n{err}"
    logs = list((tmp_path / "state").rglob("*.log"))
    assert logs, "no log file"
    log = logs[0].read_text(encoding="utf-8")
    assert f"{photo}: decoder warning: Corrupt JPEG data" in log, log


def test_the_project_metadata_gives_setuptools_no_deprecation_warning() -> None:
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), REPO_ROOT / "pyproject.toml")
    assert [str(w.message).splitlines()[0] for w in caught] == []
    assert "MIT" in (getattr(dist.metadata, "license_expression", None) or dist.metadata.license or "")
