"""Grad-CAM in the feature panel: the class / layer choices, and computing each choice once per image.

``GradCamControl`` reacts to the Grad-CAM check box and combos of the detail side; it runs
``compute_cam`` through the panel's task runner and hands each result to the panel to show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtWidgets import QComboBox

from resnet_desktop.core.explain.api import compute_cam
from resnet_desktop.gui.common.tasks import TaskContext
from resnet_desktop.gui.explain.detail import DetailSide

if TYPE_CHECKING:
    from resnet_desktop.core.explain.api import ActivationCache, CamResult, LayerInfo
    from resnet_desktop.core.models.ref import LoadedModel

DEFAULT_CAM_LAYER = "layer4"
#: (class index or -1 for the top-1 class, layer) -> its Grad-CAM.
CamPayload = tuple[tuple[int, str], "CamResult"]
#: The panel's ``_submit``: run the work on its runner, hand the result to the callback.
Submit = Callable[[str, Callable[[TaskContext], CamPayload], Callable[[CamPayload], object]], None]


class GradCamControl:
    """The Grad-CAMs of the current image, keyed by (class index or -1 for top-1, layer name).

    ``show`` gets each result that matches the current choice; ``off`` is called when Grad-CAM
    is unchecked (or nothing is captured), so the panel shows the channel again.
    """

    def __init__(
        self,
        side: DetailSide,
        submit: Submit,
        status: Callable[[str], None],
        show: Callable[[CamResult], None],
        off: Callable[[], None],
    ) -> None:
        self._side, self._submit, self._status, self._show, self._off = side, submit, status, show, off
        self.reset()
        side.cam_check.toggled.connect(self._on_toggled)
        side.class_combo.activated.connect(self.request)
        side.cam_layer_combo.activated.connect(self.request)

    def reset(self, loaded: LoadedModel | None = None, cache: ActivationCache | None = None) -> None:
        """Forget the results; new ones are computed from ``loaded`` and ``cache`` (None: none)."""
        self._loaded, self._cache = loaded, cache
        self.results: dict[tuple[int, str], CamResult] = {}
        self.current: CamResult | None = None

    def label(self, index: int) -> str:
        """How to name class ``index`` of the loaded model."""
        return class_label(getattr(self._loaded, "categories", None), index)

    def fill_choices(self, probabilities: np.ndarray | None, layers: Iterable[LayerInfo]) -> None:
        """Offer the image's top-5 classes and the layers Grad-CAM can weigh."""
        categories = getattr(self._loaded, "categories", None)
        fill_cam_choices(self._side.class_combo, self._side.cam_layer_combo, probabilities, categories, layers)

    def _on_toggled(self, checked: bool) -> None:
        if checked:
            self._side.overlay_check.setChecked(True)  # a heatmap means most over the photo
        self.request()

    def request(self, *args: object) -> None:
        """Show the chosen Grad-CAM: at once if computed, else in the background."""
        side = self._side
        if not side.cam_check.isChecked() or self._cache is None:
            self._off()
            return
        target = side.class_combo.currentData()
        layer = side.cam_layer_combo.currentData() or DEFAULT_CAM_LAYER
        key = (-1 if target is None else int(target), layer)
        if key in self.results:
            self._set_current(self.results[key])
            return
        loaded, cache = self._loaded, self._cache
        if loaded is None or cache is None:
            return
        self._status(f"Computing Grad-CAM at {layer}…")
        wanted = None if key[0] < 0 else key[0]
        self._submit("cam", lambda ctx: (key, compute_cam(loaded, cache, wanted, layer, ctx.cancel)), self._on_cam)

    def _on_cam(self, payload: CamPayload) -> None:
        key, result = payload
        self.results[key] = result
        if key == (self._side.class_combo.currentData(), self._side.cam_layer_combo.currentData()) or key[0] < 0:
            self._set_current(result)

    def _set_current(self, result: CamResult) -> None:
        self.current = result
        self._show(result)


def class_label(categories: Sequence[str] | None, index: int) -> str:
    """``'tabby'`` for a known class, ``class 281`` for a head without matching labels."""
    categories = categories or []
    return f"'{categories[index]}'" if index < len(categories) else f"class {index}"


def fill_cam_choices(
    class_combo: QComboBox,
    layer_combo: QComboBox,
    probabilities: np.ndarray | None,
    categories: Sequence[str] | None,
    layers: Iterable[LayerInfo],
) -> None:
    """The image's top-5 classes (or "Top-1 class"), and the top-level spatial layers (keeping the choice)."""
    class_combo.clear()
    if probabilities is not None:
        for index in np.argsort(-probabilities, kind="stable")[:5]:
            class_combo.addItem(f"{class_label(categories, int(index))}  {probabilities[index]:.1%}", int(index))
    else:
        class_combo.addItem("Top-1 class", -1)
    current = layer_combo.currentData() or DEFAULT_CAM_LAYER
    layer_combo.clear()
    for layer in layers:
        if layer.is_spatial and "." not in layer.module and layer.call == 0:
            layer_combo.addItem(f"at {layer.name}", layer.name)
    found = layer_combo.findData(current)
    layer_combo.setCurrentIndex(found if found >= 0 else layer_combo.count() - 1)
