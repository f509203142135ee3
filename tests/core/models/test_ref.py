"""ModelRef: text becomes "which model" in one place, with one file rule and one guessing rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnet_desktop.core.errors import WeightsError, WrongArchitectureError
from resnet_desktop.core.models import ref as model_ref
from resnet_desktop.core.models.ref import ModelRef, looks_like_file, resolve
from tests.helpers import save_random_weights


def test_parse_names_weights_and_files() -> None:
    assert ModelRef.parse("resnet50-v1") == ModelRef("resnet50-v1")
    assert ModelRef.parse("resnet50:IMAGENET1K_V1") == ModelRef("resnet50", "IMAGENET1K_V1")
    assert ModelRef.parse("resnet50", "IMAGENET1K_V1") == ModelRef("resnet50", "IMAGENET1K_V1")
    assert ModelRef.parse("resnet18:/x/w.pth") == ModelRef("resnet18", file=Path("/x/w.pth"))
    assert ModelRef.parse("resnet18:/x/w.pth").label() == "resnet18:w.pth"
    assert ModelRef.parse("models/pets.safetensors") == ModelRef(file=Path("models/pets.safetensors"))
    assert ModelRef.parse(None, "models/pets.safetensors") == ModelRef(file=Path("models/pets.safetensors"))
    assert ModelRef.parse("resnet34", "RANDOM") == ModelRef("resnet34", "random")
    assert ModelRef.parse(None, None) == ModelRef()
    assert ModelRef.parse("  ", "") == ModelRef()


@pytest.mark.parametrize(
    "ref",
    [
        ModelRef(),
        ModelRef("resnet18"),
        ModelRef("resnet50", "IMAGENET1K_V1"),
        ModelRef("resnet50-v1", "random"),
        ModelRef(file=Path("/models/pets.safetensors")),
        ModelRef("resnet34", file=Path("/w/resnet34 ft.pth")),
    ],
)
def test_text_reads_back_to_an_equal_reference(ref: ModelRef) -> None:
    again = ModelRef.parse(ref.text())
    assert again.file == ref.file and again.weights == ref.weights
    assert again.default_arch == ref.default_arch


def test_defaults_follow_the_architecture() -> None:
    assert ModelRef().default_arch == "resnet50"
    assert ModelRef().weights_text() == "DEFAULT"
    assert ModelRef("resnet101-v1").weights_text() == "random"  # no ImageNet weights exist for v1
    assert ModelRef().describe() == "default model"
    assert ModelRef("resnet18", "random").describe() == "resnet18 random"


@pytest.mark.parametrize(
    ("model", "weights", "message"),
    [
        ("vgg16", None, "unknown model 'vgg16'; choose one of resnet18"),
        ("resnet18:random", "DEFAULT", "already names its weights; leave out --weights DEFAULT"),
        ("pets.safetensors", "random", "is a model file; give --weights only with an architecture name"),
        ("resnet18:", None, "unknown model 'resnet18:'"),
    ],
)
def test_parse_refuses_what_cannot_name_a_model(model: str, weights: str | None, message: str) -> None:
    with pytest.raises(WeightsError, match=message.replace(".", r"\.")):
        ModelRef.parse(model, weights)


def test_one_file_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert looks_like_file("w.pth") and looks_like_file("a/b") and looks_like_file("x.json")
    assert not looks_like_file("random") and not looks_like_file("IMAGENET1K_V1")
    assert not looks_like_file("ResNet50_Weights.IMAGENET1K_V2")
    (tmp_path / "myweights").write_bytes(b"x")
    (tmp_path / "DEFAULT").write_bytes(b"x")
    assert looks_like_file("myweights")  # an existing file without a suffix
    assert not looks_like_file("DEFAULT")  # a weights name, whatever lies in the folder


def test_a_plain_weights_file_brings_its_own_architecture(tmp_path: Path) -> None:
    path = save_random_weights(tmp_path / "mine.pth", "resnet34")
    assert resolve(ModelRef(file=path)) == ModelRef("resnet34", file=path)
    loaded = model_ref.load(ModelRef(file=path))
    assert loaded.arch == "resnet34" and loaded.custom_file == path
    assert model_ref.ref_of(loaded) == ModelRef("resnet34", file=path)


def test_an_architecture_that_contradicts_the_file_is_refused_saying_which_it_is(tmp_path: Path) -> None:
    path = save_random_weights(tmp_path / "mine.safetensors", "resnet34")
    expected = "these are resnet34 weights, but the chosen architecture is resnet18; leave out --model"
    with pytest.raises(WrongArchitectureError, match=expected):
        resolve(ModelRef("resnet18", file=path))
    with pytest.raises(WrongArchitectureError, match=expected):
        model_ref.load(ModelRef("resnet18", file=path))


def test_a_file_of_another_network_is_refused_by_name(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "mobilenet.pth"
    torch.save({"features.0.0.weight": torch.zeros(16, 3, 3, 3), "classifier.3.weight": torch.zeros(10, 16)}, path)
    assert resolve(ModelRef(file=path)) == ModelRef(file=path)  # nothing to detect
    with pytest.raises(WrongArchitectureError, match=r"this file is for another architecture \(VGG/AlexNet\?\)"):
        model_ref.load(ModelRef(file=path))
