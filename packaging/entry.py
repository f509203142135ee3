"""Entry script of the frozen app (PyInstaller runs this as ``__main__``).

Order matters:
1. Replace missing standard streams. A windowed build (Windows/macOS) starts with
   ``sys.stdout``/``sys.stderr`` set to None, and the first ``print`` or log line (ours, torch's,
   a multiprocessing worker's) would crash. This only swaps two attributes: it imports and
   prints nothing, so ``freeze_support()`` is still the first thing that does any work.
2. ``multiprocessing.freeze_support()``: in a worker process spawned by multiprocessing (e.g. a
   DataLoader worker) it runs the worker and exits instead of starting a second app.
3. Link bundled weights into the torch hub cache, then hand over to the normal CLI/GUI front door.
"""

from __future__ import annotations

import os
import sys


def _ensure_streams() -> None:
    """Point None standard streams at os.devnull so writes are silently dropped, not fatal."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))
    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")


_ensure_streams()

import multiprocessing  # noqa: E402

multiprocessing.freeze_support()


def _main() -> int:
    from resnet_desktop.__main__ import run
    from resnet_desktop.bundle import seed_torch_hub_cache

    seed_torch_hub_cache()
    return run()  # the GUI's window closed: the process ends at once (gui.common.closing)


if __name__ == "__main__":
    raise SystemExit(_main())
