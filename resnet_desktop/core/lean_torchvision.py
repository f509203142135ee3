"""Import torchvision without the compiler stack it does not need for eager models.

torchvision's ``ops/roi_align.py`` does ``from torch._dynamo.utils import is_compile_supported`` at
import time, although it only calls that function inside ``roi_align`` on deterministic GPU runs (its
own ``lazy_compile`` says it means to avoid "eagerly importing dynamo"). Importing ``torch._dynamo``
drags in sympy, triton and the fx/inductor machinery: on this CUDA wheel +147 MB resident and +1 s,
which is most of what separates the app from its 1.2 GB memory goal (docs/PERFORMANCE.md).

While torchvision's own package body runs, ``torch._dynamo`` and ``torch._dynamo.utils`` are stand-ins
holding a ``is_compile_supported`` that imports the real one on its first call; both are removed as
soon as torchvision is imported, so anything that really needs dynamo later (``torch.compile``, the
dynamo ONNX exporter) imports the real package as usual. When dynamo is already imported, or
torchvision is, nothing is done. ``install`` runs once when ``resnet_desktop.core`` is imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

_DYNAMO = "torch._dynamo"
_DYNAMO_UTILS = "torch._dynamo.utils"
_install_lock = threading.Lock()


def _is_compile_supported(device_type: str) -> bool:
    """torch._dynamo.utils.is_compile_supported, imported on the first call (roi_align's only use)."""
    from torch._dynamo.utils import is_compile_supported

    return bool(is_compile_supported(device_type))


@contextmanager
def _dynamo_stand_in() -> Iterator[None]:
    if _DYNAMO in sys.modules:
        yield
        return
    package = types.ModuleType(_DYNAMO, "Stand-in while torchvision imports (resnet_desktop.core.lean_torchvision).")
    package.__path__ = []
    utils = types.ModuleType(_DYNAMO_UTILS)
    utils.is_compile_supported = _is_compile_supported  # type: ignore[attr-defined]
    package.utils = utils  # type: ignore[attr-defined]
    stand_ins = {_DYNAMO: package, _DYNAMO_UTILS: utils}
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
        torch = sys.modules.get("torch")
        if torch is not None and torch.__dict__.get("_dynamo") is package:
            delattr(torch, "_dynamo")


class _LeanLoader(importlib.abc.Loader):
    """Runs torchvision's package body with the stand-ins in place, then hands the module its own loader."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        import torch  # noqa: F401  the real torch first: the stand-ins are only for torchvision's body

        module.__loader__ = self._inner
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        with _dynamo_stand_in():
            self._inner.exec_module(module)


class _TorchvisionFinder(importlib.abc.MetaPathFinder):
    """Finds ``torchvision`` the usual way, once, and wraps its loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "torchvision":
            return None
        uninstall()
        spec = importlib.util.find_spec("torchvision")
        if spec is None or spec.loader is None or _DYNAMO in sys.modules:
            return spec
        spec.loader = _LeanLoader(spec.loader)
        return spec


def install() -> None:
    """Import torchvision lean from now on (a no-op once torchvision is imported)."""
    with _install_lock:
        if "torchvision" in sys.modules or any(isinstance(f, _TorchvisionFinder) for f in sys.meta_path):
            return
        sys.meta_path.insert(0, _TorchvisionFinder())


def uninstall() -> None:
    with _install_lock:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _TorchvisionFinder)]
