"""The work the model lab hands to its task runner: core's evaluate, bench and Grad-CAM use cases.

Thin adapters (no Qt) from a task's context to ``core.evaluate.api`` and ``core.explain.api``: the
window runs them with ``gui.common.tasks`` and only paints what they yield. Torch never runs on the
GUI thread.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resnet_desktop.core.evaluate.api import BenchProgress, EvaluateEvent, SpeedResult
    from resnet_desktop.core.explain.api import CamPair
    from resnet_desktop.core.models.ref import LoadedModel, ModelRef
    from resnet_desktop.gui.common.tasks import TaskContext


def evaluate_models(
    ctx: TaskContext,
    choices: Sequence[ModelRef],
    folder: Path,
    *,
    device: str,
    mapping_file: Path | None,
    preloaded: Mapping[ModelRef, LoadedModel],
) -> Generator[EvaluateEvent, None, dict[str, LoadedModel]]:
    """Core's events (``ModelProgress``, ``EvaluationReport``, ``ComparisonRow``); returns label -> model."""
    from resnet_desktop.core.evaluate.api import evaluate_models as core_evaluate

    loaded: dict[str, LoadedModel] = {}
    yield from core_evaluate(
        choices,
        folder,
        device=device,
        mapping_file=mapping_file,
        latency_repeats=5 if len(choices) > 1 else 1,
        preloaded=preloaded,
        on_loaded=loaded.__setitem__,
        cancel=ctx.cancel,
    )
    return loaded


def cam_pair(ctx: TaskContext, loaded: LoadedModel, path: Path, true_index: int, pred_index: int) -> CamPair:
    """Grad-CAM of the true and the predicted class (core's ``cam_pair``: the photo pre-cropped as in classify)."""
    from resnet_desktop.core.explain.api import cam_pair as core_cam_pair

    return core_cam_pair(loaded, path, true_index, pred_index, cancel=ctx.cancel)


def run_bench(
    ctx: TaskContext, choices: Sequence[ModelRef], device: str, batches: int, repeats: int
) -> Generator[BenchProgress | SpeedResult, None, None]:
    """Core's ``bench`` (``BenchProgress``, then a ``SpeedResult`` per model)."""
    from resnet_desktop.core.evaluate.api import bench

    yield from bench(choices, device, batches=batches, repeats=repeats, cancel=ctx.cancel)
