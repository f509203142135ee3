"""Fast mode that cannot lie: the int8 model is used only when it gives fp32's answers on the person's photos."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnet_desktop.core.inference import fast, graph_store
from resnet_desktop.core.inference.classifier import open_classifier, open_torch_free
from resnet_desktop.core.inference.fast import FastModeRefused
from resnet_desktop.core.models import gate, int8
from resnet_desktop.core.models.gate import PhotoSet, labeled_photos, split_photos
from resnet_desktop.core.models.ref import ModelRef, load


def test_a_model_whose_int8_answers_change_is_refused_with_the_figure(
    tied_model: Path, digits: dict[str, Path]
) -> None:
    ref = ModelRef(file=tied_model)
    photos = labeled_photos(digits["gate"])
    with pytest.raises(FastModeRefused) as refused:
        open_classifier(ref, backend="auto", precision="fast", device="cpu", photos=photos)
    result = refused.value.result
    assert result.verdict == gate.REFUSED and result.photos == len(photos.verification) >= 100
    assert result.agreement < gate.MIN_AGREEMENT
    assert str(refused.value).startswith("Fast mode refused: the int8 model would change answers (refused: ")
    assert f"{result.agreement:.1%} top-1 agreement with fp32 on {result.photos} photos" in str(refused.value)
    # The refusal is remembered: asking again (torch-free now) refuses at once, nothing is rebuilt.
    stored = graph_store.find(ref)
    assert stored is not None and stored.verified_fast() is None
    with pytest.raises(FastModeRefused, match="Fast mode refused"):
        open_torch_free(ref, backend="auto", precision="fast", device="cpu")


def test_a_model_whose_int8_answers_hold_runs_int8_and_says_how_well(
    digits_model: Path, digits: dict[str, Path]
) -> None:
    ref = ModelRef(file=digits_model)
    opened = open_classifier(ref, backend="auto", precision="fast", device="cpu", photos=labeled_photos(digits["gate"]))
    assert opened.classifier.backend == "onnxruntime" and opened.classifier.precision == "fast"
    assert opened.gate is not None and opened.gate.passed and opened.gate.agreement >= gate.MIN_AGREEMENT
    assert opened.gate.worst_class_loss <= gate.MAX_CLASS_LOSS
    assert opened.precision_tag.startswith("fast:")
    assert any(
        n.startswith("Fast Mode (int8): ") and "top-1 agreement with fp32" in n for n in opened.classifier.notices
    )
    # Next time: no photos needed, the verified int8 graph is reused without torch.
    again = open_torch_free(ref, backend="auto", precision="fast", device="cpu")
    assert again is not None and again.torch_free and again.precision_tag == opened.precision_tag
    test = sorted(digits["test"].glob("*/*.png"))[:40]
    fast = list(again.classifier.classify(test))
    fp32 = list(open_classifier(ref, backend="onnxruntime", device="cpu").classifier.classify(test))
    same = sum(a.scores[0].index == b.scores[0].index for a, b in zip(fast, fp32, strict=True))
    assert same >= 39  # held-out photos: the gate's figure holds beyond the photos it was measured on


def test_fewer_than_100_photos_cannot_verify_fast_mode(digits_model: Path, digits: dict[str, Path]) -> None:
    few = split_photos(sorted(digits["gate"].glob("*/*.png"))[:120])  # 30 calibrate, 90 verify
    with pytest.raises(FastModeRefused) as refused:
        open_classifier(ModelRef(file=digits_model), precision="fast", device="cpu", photos=few)
    assert refused.value.result.verdict == gate.UNVERIFIABLE
    assert "Fast mode cannot be verified: it needs at least 100 of your photos" in str(refused.value)
    assert "90 were available" in str(refused.value)


def test_fast_mode_on_pytorch_is_refused_before_anything_loads(digits_model: Path) -> None:
    from resnet_desktop.core.errors import SettingsError

    with pytest.raises(SettingsError, match="only ONNX Runtime runs; choose the auto or onnxruntime backend"):
        open_classifier(ModelRef(file=digits_model), backend="torch", precision="fast", device="cpu")


def stored_model_and_gate_photos(model: Path, digits: dict[str, Path]) -> tuple[graph_store.StoredModel, PhotoSet]:
    """The model as the graph store keeps it, and the labeled photos the gate judges it on."""
    ref = ModelRef(file=model)
    return graph_store.remember(load(ref), [ref]), labeled_photos(digits["gate"])


def test_when_the_first_recipe_is_refused_the_next_is_tried_and_used(
    digits_model: Path, digits: dict[str, Path]
) -> None:
    # A recipe made to lose (activation ranges cut at their median: half of every layer saturates) is
    # refused, so the next recipe is built and judged by the same gate on the same photos.
    stored, photos = stored_model_and_gate_photos(digits_model, digits)
    losing = int8.DEFAULT_RECIPE.with_(percentile=50.0)
    said: list[str] = []
    stored, entry = fast.build(stored, photos, recipes=(losing, int8.DEFAULT_RECIPE), say=said.append)
    assert entry.gate.passed and entry.recipe == int8.DEFAULT_RECIPE.tag()
    first = stored.fast[fast.photo_set_id(photos, stored.preprocessing, losing)]
    assert first.gate.verdict == gate.REFUSED and first.gate.agreement < gate.MIN_AGREEMENT
    assert (
        "The int8 model with per-channel weights, activations cut at the 50th percentile would change answers; "
        "trying per-channel weights…"
    ) in said
    assert stored.verified_fast() == entry  # what Fast Mode uses from now on
    # Both verdicts are remembered: asking again builds and checks nothing.
    said.clear()
    _, again = fast.build(stored, photos, recipes=(losing, int8.DEFAULT_RECIPE), say=said.append)
    assert again == entry and not any(s.startswith(("Calibrating", "Checking")) for s in said)


def test_when_every_recipe_is_refused_the_best_refusal_is_what_a_person_reads(
    tied_model: Path, digits: dict[str, Path]
) -> None:
    stored, photos = stored_model_and_gate_photos(tied_model, digits)
    stored, entry = fast.build(stored, photos)
    tried = [stored.fast[fast.photo_set_id(photos, stored.preprocessing, r)] for r in int8.RECIPES]
    assert all(t.gate.verdict == gate.REFUSED for t in tried) and len(tried) == 2
    assert entry.gate.agreement == max(t.gate.agreement for t in tried)
    assert stored.last_fast == entry.calibration
    with pytest.raises(FastModeRefused, match=r"^Fast mode refused: the int8 model would change answers"):
        fast.require_passed(entry)
