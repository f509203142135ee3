"""GUI entry point: the window is on screen before torch is imported.

Only PySide6 and our Qt-only modules are imported here; torch, torchvision and the model are
loaded by the inference worker after ``show()``, while the status bar says so.

``RESNET_DESKTOP_STARTUP_TRACE=1`` (or ``--startup-trace``) prints ``STARTUP <event> <unix time>
torch_imported=0|1`` lines for ``window_shown``, ``model_ready``/``model_failed`` and, when PATHs are
given, ``first_row`` (the first result in the table), and then quits: the start-up benchmark
(``benchmarks/startup.py``) reads them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QThread, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from resnet_desktop import __version__
from resnet_desktop.core.errors import WeightsError
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.gui.common import closing, gc_guard, qt_messages
from resnet_desktop.gui.settings import APPLICATION, ORGANIZATION, AppSettings
from resnet_desktop.gui.theme import apply_color_scheme

logger = logging.getLogger(__name__)

TRACE_ENV = "RESNET_DESKTOP_STARTUP_TRACE"


def _trace(event: str, extra: str = "") -> None:
    print(f"STARTUP {event} {time.time():.6f} {extra}".rstrip(), flush=True)


def _torch_flag() -> str:
    return f"torch_imported={int('torch' in sys.modules)}"


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """Our options (the same as ``resnet-desktop``'s GUI options) and the PATHs to open; everything
    else (e.g. ``-platform``) is left for Qt."""
    parser = argparse.ArgumentParser(
        prog="resnet-desktop-gui",
        description="Start the desktop app. PATHs are classified once the model is ready; options this "
        "program does not know (e.g. -platform) are passed on to Qt. The commands are in resnet-desktop --help.",
    )
    parser.add_argument("--model", "--arch", dest="arch", help="architecture, e.g. resnet50")
    parser.add_argument("--weights", help="torchvision weights name, 'random', or a weights/model file")
    parser.add_argument("--device", help="auto, cpu, cuda:N or mps")
    parser.add_argument("--color-scheme", choices=("system", "auto", "light", "dark"), default=None)
    parser.add_argument("--startup-trace", action="store_true", help="print start-up timestamps and quit")
    parser.add_argument("paths", nargs="*", help="images or folders to classify once the model is ready")
    return parser.parse_known_args(argv[1:])


def startup_ref(arch: str | None, weights: str | None, saved: ModelRef) -> ModelRef | None:
    """The model ``--model``/``--weights`` ask for, completed from the remembered one; None: the
    remembered one. A weights file brings its own architecture; a saved weights name belongs to
    the saved architecture (resnet18 has no IMAGENET1K_V2)."""
    if not arch and not weights:
        return None
    chosen = ModelRef.parse(arch, weights)  # refuses an unknown architecture, one line
    if chosen.file is not None or (chosen.arch is not None and chosen.weights is not None):
        return chosen
    if chosen.arch is None:  # only a weights name: for the remembered architecture
        return ModelRef.parse(saved.arch, chosen.weights)
    return saved if chosen.arch == saved.arch else chosen


def _icon() -> QIcon:
    from resnet_desktop.resources import assets_dir

    folder = assets_dir() / "icons"
    icon = QIcon()
    if folder.is_dir():
        for png in sorted(folder.glob("*.png")):
            icon.addFile(str(png))
    return icon


_log_path: Path | None = None


def _setup_logging() -> None:
    """Warnings to stderr, and (when the folder can be made) a small rotating log file."""
    global _log_path
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        from platformdirs import user_log_path

        folder = user_log_path("resnet-desktop", appauthor=False)
        folder.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            folder / "resnet-desktop.log", maxBytes=1_000_000, backupCount=2, encoding="utf-8"
        )
    except OSError as exc:
        logger.warning("No log file: %s", exc)
        return
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
        for existing in root.handlers:
            if existing is not handler and existing.level == logging.NOTSET:
                existing.setLevel(logging.WARNING)  # stderr stays quiet
    _log_path = Path(handler.baseFilename)


def _install_excepthook() -> None:
    """Log unexpected errors and tell the person, instead of crashing silently."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        logger.error("Unexpected error", exc_info=(kind, value, tb))
        app = QApplication.instance()
        on_gui_thread = app is not None and QThread.currentThread() is app.thread()
        if on_gui_thread and not isinstance(value, KeyboardInterrupt):
            where = f" Details are in {_log_path}." if _log_path else ""
            QMessageBox.warning(None, "Unexpected error", f"{kind.__name__}: {value}\n\n{where.strip()}")

    sys.excepthook = hook


def main(argv: list[str] | None = None) -> int:
    argv = list(argv if argv is not None else sys.argv)
    args, qt_args = parse_args(argv)
    trace = args.startup_trace or os.environ.get(TRACE_ENV, "") not in ("", "0")
    _setup_logging()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv[:1] + qt_args)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(_icon())
    settings = AppSettings()
    # --color-scheme is for this run; View > Theme is what is remembered.
    apply_color_scheme(app, args.color_scheme or settings.color_scheme())
    _install_excepthook()
    qt_messages.install()  # Qt's decoder warnings name the file, as the core's do

    try:
        ref = startup_ref(args.arch, args.weights, settings.model_ref())
    except WeightsError as exc:
        print(f"resnet-desktop: error: {exc}", file=sys.stderr)
        return 2
    with gc_guard.paused():  # the window sooner: no garbage collections while it is imported and built
        from resnet_desktop.gui.main_window import MainWindow

        window = MainWindow(settings, model_ref=ref, device=args.device)
        if args.color_scheme:
            window.theme_menu.show_scheme(args.color_scheme)
        window.show()
        app.processEvents()
    paths = [Path(p).expanduser().absolute() for p in args.paths]
    if trace:
        _trace("window_shown", _torch_flag())

        def done(event: str, quit: bool = True) -> None:
            _trace(event, _torch_flag())
            if quit:
                QTimer.singleShot(0, window.close)

        window.modelReady.connect(lambda _info: done("model_ready", quit=not paths))
        window.service.modelFailed.connect(lambda _exc: done("model_failed"))
        if paths:
            first: list[bool] = []

            def first_row(*_args: object) -> None:
                if not first:
                    first.append(True)
                    done("first_row")

            window.service.predictions.connect(first_row)
            window.service.jobFailed.connect(lambda *_a: done("job_failed"))

    def start() -> None:
        window.start()
        if paths:
            window.classify(paths)  # queued: runs as soon as the model is ready

    QTimer.singleShot(0, start)
    closing.reset()
    code = int(app.exec())
    if closing.should_end():  # closed while work that cannot stop at once ran, or a process entry point
        closing.end_now(code)
    return code


def run() -> int:
    """The ``resnet-desktop-gui`` entry point: once the window has closed, the process ends at once."""
    closing.end_process_when_closed()
    return main()


if __name__ == "__main__":
    raise SystemExit(main())
