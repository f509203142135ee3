"""The work the model lab hands to its task runner: evaluate/compare, Grad-CAM pairs, benchmarks.

Plain functions over core generators (no Qt): the window runs them with ``gui.common.tasks`` and
only paints what they yield. Torch never runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from resnet_desktop.core.models.ref import ModelRef
    from resnet_desktop.core.models.zoo import LoadedModel
    from resnet_desktop.gui.common.tasks import TaskContext

#: Side of the photo crops shown in the Grad-CAM comparison.
CAM_VIEW = 320


def evaluate_models(
    ctx: TaskContext,
    choices: Sequence[ModelRef],
    folder: Path,
    *,
    device: str,
    mapping_file: Path | None,
    preloaded: Mapping[ModelRef, LoadedModel],
) -> Generator[Any, None, dict[str, LoadedModel]]:
    """Yield core's ``ModelProgress``/``EvaluationReport``/``ComparisonRow``; return label -> LoadedModel."""
    from resnet_desktop.core.evaluate import labels
    from resnet_desktop.core.evaluate.compare import compare_models
    from resnet_desktop.core.models import ref as model_ref

    mapping = labels.read_mapping(mapping_file) if mapping_file is not None else None
    loaded: dict[str, LoadedModel] = {}

    def load(choice: ModelRef) -> LoadedModel:
        model = preloaded.get(choice) or model_ref.load(choice, cancel=ctx.cancel)
        loaded[choice.label()] = model
        return model

    yield from compare_models(
        choices,
        folder,
        device=device,
        mapping=mapping,
        cancel=ctx.cancel,
        loader=load,
        latency_repeats=5 if len(choices) > 1 else 1,
    )
    return loaded


@dataclass(frozen=True)
class CamPair:
    """Grad-CAM overlays for the true and the predicted class of one photo."""

    path: Path
    true_overlay: np.ndarray
    pred_overlay: np.ndarray
    true_index: int
    pred_index: int
    true_probability: float
    pred_probability: float


def cam_pair(ctx: TaskContext, loaded: LoadedModel, path: Path, true_index: int, pred_index: int) -> CamPair:
    """Open the photo and explain both classes at layer4 (two backward passes, the model unchanged)."""
    from resnet_desktop.core.explain.gradcam import grad_cam
    from resnet_desktop.core.explain.heatmaps import network_view, overlay
    from resnet_desktop.core.explain.hooks import image_tensor
    from resnet_desktop.core.images import open_image

    photo = open_image(path)
    prep = loaded.preprocessing
    inputs = image_tensor(photo, prep)
    view = network_view(photo, prep.resize_size, prep.crop_size, output_size=CAM_VIEW)
    true_cam = grad_cam(loaded.model, inputs, true_index, cancel=ctx.cancel)
    ctx.check()
    pred_cam = grad_cam(loaded.model, inputs, pred_index, cancel=ctx.cancel)
    return CamPair(
        path=path,
        true_overlay=np.asarray(overlay(view, true_cam.heatmap)),
        pred_overlay=np.asarray(overlay(view, pred_cam.heatmap)),
        true_index=true_index,
        pred_index=pred_index,
        true_probability=true_cam.probability,
        pred_probability=pred_cam.probability,
    )


def run_bench(ctx: TaskContext, choices: Sequence[ModelRef], device: str, batches: int, repeats: int) -> Iterator[Any]:
    """Core's ``bench`` generator (``BenchProgress``, then a ``SpeedResult`` per model)."""
    from resnet_desktop.core.evaluate.speed import bench

    yield from bench(choices, device, batches=batches, repeats=repeats, cancel=ctx.cancel)
