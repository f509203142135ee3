"""The quantiser's own prints are dropped only on the thread that quantises: the app quantises on a
worker while the GUI thread (and a driver's or the CLI's output) goes on printing. Before, stdout was
swapped for every thread, and a closing app's last line vanished."""

from __future__ import annotations

import threading

import pytest

from resnet_desktop.core.models.int8 import quiet_quantizer


def test_only_the_quantising_threads_prints_are_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    inside, printed = threading.Event(), threading.Event()

    def quantise() -> None:
        with quiet_quantizer():
            print("Collecting tensor data and making histogram ...")  # what ORT prints
            inside.set()
            assert printed.wait(5)

    worker = threading.Thread(target=quantise)
    worker.start()
    assert inside.wait(5)
    print("CLOSING")  # another thread, meanwhile
    printed.set()
    worker.join(5)
    print("after")
    assert capsys.readouterr().out == "CLOSING\nafter\n"
