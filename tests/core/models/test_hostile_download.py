"""A download stalled in the middle of a read still cancels at once and leaves nothing behind."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from resnet_desktop.core.models import weights


@pytest.fixture
def stalling_server() -> Iterator[str]:
    """Answers with headers promising 1 MB, sends 1 KB, then goes silent (a dead Wi-Fi)."""
    listener = socket.create_server(("127.0.0.1", 0))
    release = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1024)
            release.wait(60)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    host, port = listener.getsockname()[:2]
    yield f"http://{host}:{port}/resnet18-f37072fd.pth"
    release.set()
    listener.close()


def test_cancel_while_the_read_is_stalled_returns_at_once(
    stalling_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(weights.OFFLINE_ENV, raising=False)
    cancel = threading.Event()
    outcome: list[BaseException | Path] = []

    def progress(done: int, total: int | None) -> None:
        if done == 0:  # headers are in; the person closes the window while the body read hangs
            threading.Timer(0.3, cancel.set).start()

    def run() -> None:
        try:
            outcome.append(weights.fetch(stalling_server, progress=progress, cancel=cancel))
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=5)  # the socket timeout is 30 s: only a cancellable read gets here in time
    assert not worker.is_alive(), "fetch kept waiting on a stalled read after cancel"
    assert isinstance(outcome[0], weights.DownloadCancelledError)
    folder = weights.cache_path_for(stalling_server).parent
    assert not folder.exists() or list(folder.iterdir()) == []
