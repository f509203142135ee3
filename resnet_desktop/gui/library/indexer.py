"""Background indexing of the library folders: ``resnet-desktop library watch`` in a child process.

Why a process and not a thread: it runs at low priority (``nice``) with one model thread without
touching the app's own model threads, a crash in it never takes the window down, and it is the very
command the systemd unit runs, so one code path is tested. Its cost is a second copy of the model in
memory. It speaks JSON lines on stdout (``--format json``) and listens to ``pause``/``resume``/``stop``
lines on stdin (``--control``); everything it indexes is committed batch by batch, so stopping or
killing it at any moment loses nothing.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

import resnet_desktop
from resnet_desktop.core.library.api import FolderStatus

logger = logging.getLogger(__name__)

#: How long closing waits for the child to stop by itself before killing it (the app ends within 2 s).
STOP_BUDGET_MS = 700


def watch_command(priority: str = "low", device: str = "auto") -> list[str]:
    """The command line of the child: the frozen app's own executable, or this Python with this package."""
    tail = ["library", "watch", "--format", "json", "--control", "--priority", priority, "--device", device]
    if getattr(sys, "frozen", False):
        return [sys.executable, *tail]
    return [sys.executable, "-m", "resnet_desktop", *tail]


class BackgroundIndexer(QObject):
    """Owns the ``library watch`` child; its JSON events become typed signals on the GUI thread."""

    #: state ("watching", "indexing", "paused", "stopped"), folder ("" for none)
    stateChanged = Signal(str, str)
    #: folder, phase ("scanning", "indexing", "dates", "rules"), done, total (-1: not known yet)
    progressed = Signal(str, str, int, int)
    #: a folder's status after a pass over it
    synced = Signal(FolderStatus)
    #: something to tell the person (a folder scanned periodically because it cannot be watched)
    noticed = Signal(str)
    #: the child ended: "" when asked to, else why (its last error line)
    ended = Signal(str)

    def __init__(self, parent: QObject | None = None, *, priority: str = "low", device: str = "auto") -> None:
        super().__init__(parent)
        self.command = watch_command(priority, device)
        self.paused = False
        self.state = "stopped"
        self._process: QProcess | None = None
        self._stopping = False
        self._buffer = b""
        self._errors: deque[str] = deque(maxlen=5)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning

    def start(self) -> None:
        """Start the child (once); it indexes what changed since it last ran, then watches."""
        if self.running:
            return
        process = QProcess(self)
        environment = QProcessEnvironment.systemEnvironment()
        if not getattr(sys, "frozen", False):  # the child imports this very package, wherever it lives
            here = str(Path(resnet_desktop.__file__).resolve().parent.parent)
            rest = environment.value("PYTHONPATH", "")
            environment.insert("PYTHONPATH", here + (os.pathsep + rest if rest else ""))
        process.setProcessEnvironment(environment)
        process.readyReadStandardOutput.connect(self._read)
        process.readyReadStandardError.connect(self._read_errors)
        process.finished.connect(self._finished)
        self._process, self._stopping, self._buffer = process, False, b""
        self._errors.clear()
        process.start(self.command[0], self.command[1:])
        if self.paused:
            self._send("pause")
        self._set_state("starting", "")

    def pause(self) -> None:
        """Stop after the current batch (it is kept) until ``resume``."""
        self.paused = True
        self._send("pause")

    def resume(self) -> None:
        self.paused = False
        self._send("resume")

    def stop(self, budget_ms: int = STOP_BUDGET_MS) -> None:
        """Ask the child to stop; kill it when it has not ended within ``budget_ms`` (nothing is lost:
        every batch is committed as it finishes)."""
        process = self._process
        if process is None or process.state() == QProcess.ProcessState.NotRunning:
            return
        self._stopping = True
        self._send("stop")
        process.closeWriteChannel()
        if not process.waitForFinished(budget_ms):
            process.kill()
            process.waitForFinished(1000)

    def _send(self, word: str) -> None:
        if self.running and self._process is not None:
            self._process.write(f"{word}\n".encode())

    def _set_state(self, state: str, folder: str) -> None:
        self.state = state
        self.stateChanged.emit(state, folder)

    # -- what the child says -----------------------------------------------------------------

    def _read(self) -> None:
        if self._process is None:
            return
        self._buffer += bytes(self._process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if line.strip():
                self._handle(line)

    def _handle(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            logger.warning("library watch said: %s", line[:200])
            return
        kind = event.get("event")
        if kind == "state":
            self._set_state(str(event["state"]), str(event.get("folder") or ""))
        elif kind == "progress":
            total = event.get("total")
            self.progressed.emit(
                str(event["folder"]), str(event["phase"]), int(event["done"]), -1 if total is None else int(total)
            )
        elif kind == "synced":
            self.synced.emit(FolderStatus.from_dict(event["status"]))
            for notice in event.get("notices") or []:
                self.noticed.emit(str(notice))
        elif kind == "notice":
            self.noticed.emit(str(event["message"]))

    def _read_errors(self) -> None:
        if self._process is None:
            return
        text = bytes(self._process.readAllStandardError().data()).decode(errors="replace")
        for line in text.splitlines():
            if line.strip():
                logger.info("library watch: %s", line)
                self._errors.append(line.strip())

    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._read()
        self._read_errors()
        why = ""
        if not self._stopping and code != 0:
            last = next(
                (e for e in reversed(self._errors) if "error" in e.lower()), self._errors[-1] if self._errors else ""
            )
            why = last or f"it ended with exit code {code}"
        self._set_state("stopped", "")
        self.ended.emit(why)
