"""Look inside a network: record intermediate outputs with forward hooks, and Grad-CAM.

Everything here is Qt-free and works on any ``nn.Module`` (every ResNet depth, fine-tuned heads).

Layer names are torchvision's own module names from ``model.named_modules()`` (``conv1``,
``layer1.0.conv1``, ``layer4``, ``fc``). A module that is *called more than once* in one forward
(torchvision's blocks reuse one ``relu`` two or three times) gets one name per call, following
torchvision's feature-extraction naming (``get_graph_node_names``): the first call is
``layer1.0.relu``, the second ``layer1.0.relu_1``, the third ``layer1.0.relu_2``. So every recorded
value is exactly the output of one call, nothing is silently overwritten, and the last ReLU of a
block (after the residual add) is still reachable.

Concurrency: hooks only act in the thread that installed them, so another thread classifying with
the same model (the GUI's engine) neither triggers nor disturbs a recording. ``model_lock(model)``
is a per-model lock that capture and Grad-CAM take; other code running the model may take it too.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from math import prod
from typing import Any

import torch
from PIL import Image
from torch import nn

from resnet_desktop.core.errors import CancelledError, SettingsError

logger = logging.getLogger(__name__)

_CALL_SUFFIX = re.compile(r"^(?P<module>.+)_(?P<call>[1-9][0-9]*)$")

_locks: weakref.WeakKeyDictionary[nn.Module, threading.RLock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def model_lock(model: nn.Module) -> threading.RLock:
    """The lock shared by everyone who runs ``model`` and wants exclusive use (hooks, Grad-CAM)."""
    with _locks_guard:
        lock = _locks.get(model)
        if lock is None:
            lock = _locks[model] = threading.RLock()
        return lock


@dataclass(frozen=True)
class LayerInfo:
    """One recordable output: ``shape`` is per sample (no batch dimension), e.g. ``(64, 56, 56)``."""

    name: str
    type: str
    shape: tuple[int, ...]
    module: str
    call: int = 0

    @property
    def parent(self) -> str:
        """The enclosing module's name ('' for top-level ones), for building a tree."""
        return self.module.rpartition(".")[0]

    @property
    def num_bytes(self) -> int:
        """Size of one sample's float32 output."""
        return 4 * prod(self.shape)

    @property
    def is_spatial(self) -> bool:
        """True for (C, H, W) maps, the ones that can be shown as a channel grid or used for Grad-CAM."""
        return len(self.shape) == 3


def call_name(module: str, call: int) -> str:
    """The recorded name of the ``call``-th call (0-based) of ``module``."""
    return module if call == 0 else f"{module}_{call}"


def parse_layer_name(model: nn.Module, name: str, *, modules: dict[str, nn.Module] | None = None) -> tuple[str, int]:
    """``'layer1.0.relu_1'`` -> ``('layer1.0.relu', 1)``; SettingsError listing the top-level layers if unknown."""
    if modules is None:
        modules = dict(model.named_modules())
    if name and name in modules:
        return name, 0
    match = _CALL_SUFFIX.match(name)
    if match and match["module"] in modules:
        return match["module"], int(match["call"])
    known = [n for n in modules if n and "." not in n]
    raise SettingsError(f"Unknown layer {name!r}; top-level layers of this model are: {', '.join(known)}")


def to_model_input(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Inputs on the model's device and in its floating dtype (a model may live on a GPU or in bf16)."""
    for tensor in model.parameters():
        return inputs.to(device=tensor.device, dtype=tensor.dtype if tensor.is_floating_point() else None)
    return inputs


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Run in eval mode (BatchNorm uses, never updates, its running stats) and restore the flags."""
    flags = [(m, m.training) for m in model.modules()]
    changed = any(training for _, training in flags)
    if changed:
        model.eval()
    try:
        yield
    finally:
        if changed:  # a model that was already in eval mode is never written to
            for module, training in flags:
                module.training = training


class CallHooks:
    """Pre/forward hooks on named modules that name each call and ignore other threads.

    ``on_output(key, module, output)`` is called for every call of a hooked module in the
    installing thread; it may return a replacement output. Handles are kept and always removed.
    """

    def __init__(
        self,
        model: nn.Module,
        module_names: Iterable[str],
        on_output: Callable[[str, nn.Module, object], object],
        *,
        on_start: Callable[[str, nn.Module], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.model = model
        self.module_names = list(dict.fromkeys(module_names))
        self.on_output = on_output
        self.on_start = on_start
        self.cancel = cancel
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._counts: dict[str, int] = {}
        self._stack: dict[str, list[str]] = {}
        self._thread = threading.get_ident()

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise CancelledError("Feature capture was cancelled.")

    def install(self) -> None:
        modules = dict(self.model.named_modules())
        self._thread = threading.get_ident()
        try:
            self._handles.append(self.model.register_forward_pre_hook(self._root_pre_hook))
            for name in self.module_names:
                module = modules[name]
                self._handles.append(module.register_forward_pre_hook(self._make_pre_hook(name)))
                self._handles.append(module.register_forward_hook(self._make_hook(name)))
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        while self._handles:
            self._handles.pop().remove()

    def _root_pre_hook(self, module: nn.Module, args: object) -> None:
        if threading.get_ident() != self._thread:
            return
        # A new forward: call numbering restarts, so the last forward in a block wins.
        self._counts.clear()
        self._stack.clear()
        self._check_cancel()

    def _make_pre_hook(self, name: str) -> Callable[[nn.Module, object], None]:
        def pre_hook(module: nn.Module, args: object) -> None:
            if threading.get_ident() != self._thread:
                return
            self._check_cancel()
            call = self._counts.get(name, 0)
            self._counts[name] = call + 1
            key = call_name(name, call)
            self._stack.setdefault(name, []).append(key)
            if self.on_start is not None:
                self.on_start(key, module)

        return pre_hook

    def _make_hook(self, name: str) -> Callable[[nn.Module, object, object], object]:
        def hook(module: nn.Module, args: object, output: object) -> object:
            if threading.get_ident() != self._thread:
                return None
            stack = self._stack.get(name)
            key = stack.pop() if stack else name
            return self.on_output(key, module, output)

        return hook


def _to_cpu(tensor: torch.Tensor) -> torch.Tensor:
    # Always copy: torchvision's in-place ReLU and `out += identity` would otherwise rewrite the
    # recorded output of bn1/bn2 after the fact (on the CPU `.cpu()` returns the same storage).
    # Floating outputs become float32 so that numpy and the GUI never meet bf16/fp16.
    dtype = torch.float32 if tensor.is_floating_point() else tensor.dtype
    return tensor.detach().to("cpu", dtype, copy=True)


class StopForward(Exception):
    """Raised by a recorder with ``stop_early`` once it has every requested output."""


class FeatureRecorder:
    """Context manager recording ``detach().cpu()`` copies of chosen layers' outputs.

    ``names``: layer names as in ``list_layers`` (``None``: every module). After a forward inside the
    block, ``outputs[name]`` holds a batch-first tensor. Hooks are removed on exit, on an exception,
    and on cancel (a set ``cancel`` event makes the next hooked module raise ``CancelledError``).
    With ``stop_early`` the forward is cut short (``StopForward``) once every requested name is
    recorded: looking at layer1 of a deep net then costs only the stem and layer1.
    """

    def __init__(
        self,
        model: nn.Module,
        names: Iterable[str] | None = None,
        *,
        cancel: threading.Event | None = None,
        stop_early: bool = False,
    ) -> None:
        self.model = model
        self.stop_early = stop_early and names is not None
        if names is None:
            wanted = [name for name, _ in model.named_modules() if name]
            self._all_calls = True
        else:
            wanted = list(names)
            self._all_calls = False
        self.names = wanted
        modules = dict(model.named_modules())
        parsed = [parse_layer_name(model, name, modules=modules) for name in wanted]
        self._keys = {call_name(module, call) for module, call in parsed}
        self.outputs: dict[str, torch.Tensor] = {}
        self._modules = [module for module, _ in parsed]
        self._cancel = cancel
        self._hooks: CallHooks | None = None

    def _record(self, key: str, module: nn.Module, output: object) -> None:
        if not (self._all_calls or key in self._keys):
            return
        if isinstance(output, torch.Tensor):
            self.outputs[key] = _to_cpu(output)
        else:
            logger.debug("Not recording %s: output is %s, not a tensor", key, type(output).__name__)
        if self.stop_early and len(self.outputs) == len(self._keys):
            raise StopForward

    @property
    def missing(self) -> list[str]:
        """Requested names that the last forward never produced."""
        return [name for name in self.names if name not in self.outputs] if not self._all_calls else []

    def __enter__(self) -> FeatureRecorder:
        self.outputs = {}
        self._hooks = CallHooks(self.model, self._modules, self._record, cancel=self._cancel)
        self._hooks.install()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._hooks is not None:
            self._hooks.remove()
        # The hooks hold self._record (and so self): dropping them ends that cycle, so the recorded
        # outputs are freed as soon as the caller lets go of them, not at the next garbage collection
        # (a resnet50's layers are ~150 MB per photo).
        self._hooks = None


def capture(
    model: nn.Module,
    inputs: torch.Tensor,
    names: Iterable[str] | None = None,
    *,
    cancel: threading.Event | None = None,
) -> dict[str, torch.Tensor]:
    """One forward of ``inputs`` (batch-first, preprocessed) recording ``names``; tensors on the CPU.

    The forward stops as soon as every named output is recorded (the rest of the net is not run).
    """
    with model_lock(model), eval_mode(model), torch.no_grad():
        with FeatureRecorder(model, names, cancel=cancel, stop_early=True) as recorder:
            try:
                model(to_model_input(model, inputs))
            except StopForward:
                pass
    if recorder.missing:
        raise SettingsError(f"Layers not used by this model's forward: {', '.join(recorder.missing)}")
    return recorder.outputs


#: Layer lists already worked out, per model, its structure and the input size (see ``list_layers``).
_layer_lists: weakref.WeakKeyDictionary[nn.Module, dict[tuple[object, ...], list[LayerInfo]]] = (
    weakref.WeakKeyDictionary()
)


def _structure(model: nn.Module) -> tuple[object, ...]:
    """What the layer list depends on: each module's name and type and each parameter's shape."""
    modules = tuple((name, type(module).__name__) for name, module in model.named_modules())
    shapes = tuple((name, tuple(param.shape)) for name, param in model.named_parameters())
    return modules, shapes


def list_layers(model: nn.Module, input_size: int | tuple[int, int] = 224) -> list[LayerInfo]:
    """Every module call in execution order (a container before its children) with its output shape.

    Shapes come from one forward of a zero image of ``input_size`` through the model itself (no
    autograd; each output is dropped as soon as its shape is read), under the model's lock; hooks
    ignore other threads, so a classification running meanwhile is not disturbed. The list is kept
    per model, structure and size, so browsing photos costs that forward once. (A meta-device copy
    would skip the arithmetic, but PyTorch runs meta kernels through its compiler's decompositions,
    which imports ``torch._dynamo``: +147 MB resident for good.) Modules the forward never calls
    are left out.
    """
    height, width = (input_size, input_size) if isinstance(input_size, int) else input_size
    key = (_structure(model), height, width)
    with _locks_guard:
        known = _layer_lists.get(model, {}).get(key)
    if known is not None:
        return list(known)
    order: list[tuple[str, str]] = []
    shapes: dict[str, tuple[int, ...]] = {}

    def on_start(key: str, module: nn.Module) -> None:
        order.append((key, type(module).__name__))

    def on_output(key: str, module: nn.Module, output: object) -> None:
        if isinstance(output, torch.Tensor):
            shapes[key] = tuple(output.shape[1:])

    modules = dict(model.named_modules())
    hooks = CallHooks(model, [name for name in modules if name], on_output, on_start=on_start)
    with model_lock(model), eval_mode(model), torch.no_grad():
        hooks.install()
        try:
            model(to_model_input(model, torch.zeros(1, 3, height, width)))
        finally:
            hooks.remove()
    layers = []
    for name, type_name in order:
        if name not in shapes:
            continue
        module, call = parse_layer_name(model, name, modules=modules)
        layers.append(LayerInfo(name, type_name, shapes[name], module, call))
    with _locks_guard:
        _layer_lists.setdefault(model, {})[key] = layers
    return list(layers)


def image_tensor(image: Image.Image, preprocessing: Any) -> torch.Tensor:
    """A (1, 3, H, W) input for one RGB image, using the model's own preprocessing recipe.

    ``preprocessing`` is ``LoadedModel.preprocessing`` (anything with ``reference_transforms()``,
    torchvision's ImageClassification preset for those values).
    """
    return preprocessing.reference_transforms()(image.convert("RGB")).unsqueeze(0)
