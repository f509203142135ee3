"""Import torchvision without the compiler stack it does not need for eager models.

torchvision's ``ops/roi_align.py`` does ``from torch._dynamo.utils import is_compile_supported`` at
import time, although it only calls that function inside ``roi_align`` on deterministic GPU runs (its
own ``lazy_compile`` says it means to avoid "eagerly importing dynamo"). Importing ``torch._dynamo``
drags in sympy, triton and the fx/inductor machinery: on this CUDA wheel +147 MB resident and +1 s,
which is most of what separated the app from its 1.2 GB memory goal (docs/PERFORMANCE.md).

While that one module's body runs, its own ``__import__`` (a module's import statements call the
``__import__`` of its ``__builtins__``) answers that single import with a function that imports the
real one on its first call; every other import goes through as usual, and nothing is put in
``sys.modules``, so another thread importing ``torch._dynamo`` at the same moment gets the real
package. Afterwards the module's ``__import__`` only passes imports through. ``install`` runs once
when ``resnet_desktop.core`` is imported; when torchvision is already imported it does nothing.
"""

from __future__ import annotations

import builtins
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Callable, Mapping, Sequence

#: The one module that imports dynamo for nothing, and the import it makes.
ROI_ALIGN = "torchvision.ops.roi_align"
_DYNAMO_UTILS = "torch._dynamo.utils"
_install_lock = threading.Lock()


def _is_compile_supported(device_type: str) -> bool:
    """torch._dynamo.utils.is_compile_supported, imported on the first call (roi_align's only use)."""
    from torch._dynamo.utils import is_compile_supported

    return bool(is_compile_supported(device_type))


#: What roi_align's ``from torch._dynamo.utils import is_compile_supported`` receives.
_STAND_IN = types.SimpleNamespace(is_compile_supported=_is_compile_supported)

ImportFunction = Callable[..., types.ModuleType]


def _lean_import(real: ImportFunction, active: threading.Event) -> ImportFunction:
    def lean_import(
        name: str,
        globals: Mapping[str, object] | None = None,  # the signature of builtins.__import__
        locals: Mapping[str, object] | None = None,
        fromlist: Sequence[str] = (),
        level: int = 0,
    ) -> types.ModuleType:
        if active.is_set() and level == 0 and name == _DYNAMO_UTILS and _DYNAMO_UTILS not in sys.modules:
            return _STAND_IN  # type: ignore[return-value]  # only ``from … import is_compile_supported``
        return real(name, globals, locals, fromlist, level)

    return lean_import


class _LeanLoader(importlib.abc.Loader):
    """Runs roi_align's body with its own ``__import__``, then hands the module its own loader."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__loader__ = self._inner
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        active = threading.Event()
        namespace = dict(builtins.__dict__)
        namespace["__import__"] = _lean_import(builtins.__import__, active)
        module.__dict__["__builtins__"] = namespace  # exec keeps a __builtins__ that is already there
        active.set()
        try:
            self._inner.exec_module(module)
        finally:
            active.clear()  # from now on the module's imports (inside its functions) are everyone's


class _RoiAlignFinder(importlib.abc.MetaPathFinder):
    """Finds roi_align the usual way, once, and wraps its loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != ROI_ALIGN:
            return None
        uninstall()
        for finder in sys.meta_path:  # the finders after this one, as the import system would ask them
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or _DYNAMO_UTILS in sys.modules:
            return spec
        spec.loader = _LeanLoader(spec.loader)
        return spec


def install() -> None:
    """Import torchvision lean from now on (a no-op once its roi_align is imported)."""
    with _install_lock:
        if ROI_ALIGN in sys.modules or any(isinstance(f, _RoiAlignFinder) for f in sys.meta_path):
            return
        sys.meta_path.insert(0, _RoiAlignFinder())


def uninstall() -> None:
    with _install_lock:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _RoiAlignFinder)]
