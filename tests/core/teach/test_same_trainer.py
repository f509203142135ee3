"""Teach and fine-tune learn with one head trainer (``finetune.head``: the same objective, optimiser and
cross-validation): on the same folder their models score alike on photos neither has seen."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from resnet_desktop.core.finetune.api import FineTuneSettings, fine_tune
from resnet_desktop.core.inference.engine import Engine
from resnet_desktop.core.models.ref import ModelRef, load
from resnet_desktop.core.teach import api
from resnet_desktop.core.work import drive
from tests.core.teach.conftest import Teaching


def _accuracy(file: Path, truth: dict[Path, str]) -> float:
    engine = Engine(load(ModelRef(file=file)), "cpu", autocast=False, batch_size=32)
    answers = list(engine.classify(sorted(truth), topk=1))
    return float(np.mean([a.scores[0].label == truth[a.path] for a in answers]))


def test_teach_and_finetune_give_the_same_accuracy_on_the_same_photos(teaching: Teaching, tmp_path: Path) -> None:
    t = teaching
    settings = FineTuneSettings(arch=None, weights=str(t.world.model), device="cpu", head_threads=1)
    result = drive(fine_tune(t.world.train, settings))
    finetuned = result.save(tmp_path / "finetuned.safetensors")
    drive(api.import_labels(t.store, t.world.train, "digits", index=t.index))
    taught = tmp_path / "taught.safetensors"
    drive(api.teach(t.store, t.index, "digits", base=ModelRef(file=t.world.model), output=taught))
    unseen = {**t.world.test_labels, **t.world.pool_labels}
    a, b = _accuracy(finetuned, unseen), _accuracy(taught, unseen)
    assert min(a, b) >= 0.7
    assert abs(a - b) <= 0.01, (a, b)
