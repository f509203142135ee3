"""modelfile.py: our .safetensors + JSON sidecar format, written atomically, read back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from resnet_desktop.core.errors import OutputError, WeightsError
from resnet_desktop.core.models import modelfile, zoo

CLASSES = ["cat", "dog", "ferret"]


def _model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return zoo.build_model("resnet18", len(CLASSES)).eval()


def _meta(**changes: object) -> modelfile.ModelFileMeta:
    pre = zoo.Preprocessing(resize_size=160, crop_size=128, mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.2))
    meta = modelfile.ModelFileMeta(
        arch="resnet18",
        class_names=list(CLASSES),
        preprocessing=pre.to_dict(),
        base_weights="IMAGENET1K_V1",
        metrics={"val_accuracy": 0.9},
    )
    for key, value in changes.items():
        setattr(meta, key, value)
    return meta


def _outputs(model: torch.nn.Module) -> torch.Tensor:
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return model(x)


def test_round_trip_keeps_outputs_class_names_and_preprocessing(tmp_path: Path) -> None:
    model = _model()
    path = tmp_path / "pets.safetensors"

    modelfile.save_model_file(path, model, _meta())

    assert modelfile.is_model_file(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pets.json", "pets.safetensors"]
    side = json.loads(modelfile.sidecar_path(path).read_text())
    assert side["format"] == "resnet-desktop-model" and side["format_version"] == 1
    assert side["class_names"] == CLASSES and side["created"] and side["app_version"]

    # The file's own architecture wins over the one passed in.
    loaded = zoo.load_model("resnet50", path)
    assert loaded.arch == "resnet18"
    assert loaded.categories == CLASSES
    assert loaded.preprocessing == zoo.Preprocessing.from_dict(_meta().preprocessing)
    assert loaded.custom_file == path and loaded.weights_name == "IMAGENET1K_V1"
    assert loaded.meta["metrics"] == {"val_accuracy": 0.9}
    assert not loaded.model.training
    assert torch.equal(_outputs(loaded.model), _outputs(model))
    # The sidecar path works as well as the weights path.
    assert zoo.load_model("resnet18", modelfile.sidecar_path(path)).categories == CLASSES


def test_save_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    modelfile.save_model_file(path, _model(0), _meta())
    before = path.read_bytes(), modelfile.sidecar_path(path).read_bytes()

    with pytest.raises(OutputError, match="already exists"):
        modelfile.save_model_file(path, _model(1), _meta(class_names=["a", "b", "c"]))
    assert (path.read_bytes(), modelfile.sidecar_path(path).read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]

    modelfile.save_model_file(path, _model(1), _meta(class_names=["a", "b", "c"]), overwrite=True)
    assert modelfile.read_meta(path).class_names == ["a", "b", "c"]
    assert path.read_bytes() != before[0]


def test_an_existing_sidecar_alone_also_blocks_saving(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    modelfile.sidecar_path(path).write_text("my notes")
    with pytest.raises(OutputError, match="m.json already exists"):
        modelfile.save_model_file(path, _model(), _meta())
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    assert modelfile.sidecar_path(path).read_text() == "my notes"


def test_failure_while_writing_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    # A set is not JSON: the weights temp file is already written when the sidecar fails.
    with pytest.raises(TypeError):
        modelfile.save_model_file(path, _model(), _meta(metrics={"bad": {1, 2}}))
    assert list(tmp_path.iterdir()) == []


def test_save_checks_class_names_and_suffix(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="3 outputs but m.json lists 2 class names"):
        modelfile.save_model_file(tmp_path / "m.safetensors", _model(), _meta(class_names=["a", "b"]))
    with pytest.raises(WeightsError, match="must end in .safetensors"):
        modelfile.save_model_file(tmp_path / "m.pth", _model(), _meta())
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "m.safetensors"
    modelfile.save_model_file(path, _model(), _meta())
    return path


def _edit_sidecar(path: Path, **changes: object) -> None:
    side = modelfile.sidecar_path(path)
    data = json.loads(side.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    side.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"format": "something-else"}, "not a ResNet Desktop model description"),
        ({"format_version": 99}, "newer ResNet Desktop"),
        ({"class_names": None}, "lacks class_names"),
        ({"class_names": ["a", "a", "b"]}, "duplicates"),
        ({"class_names": []}, "non-empty list"),
        ({"arch": "vgg16"}, "unknown architecture 'vgg16'"),
        ({"preprocessing": {"crop_size": 1}}, "preprocessing lacks"),
    ],
)
def test_bad_sidecar_gets_a_clear_message_naming_it(saved: Path, changes: dict, words: str) -> None:
    _edit_sidecar(saved, **changes)
    with pytest.raises(WeightsError) as err:
        zoo.load_model("resnet18", saved)
    assert str(modelfile.sidecar_path(saved)) in str(err.value)
    assert words in str(err.value)


def test_class_count_must_match_the_classifier(saved: Path) -> None:
    _edit_sidecar(saved, class_names=["a", "b", "c", "d"])
    assert modelfile.read_meta(saved).class_names == ["a", "b", "c", "d"]  # the sidecar alone is fine
    with pytest.raises(WeightsError, match="3 outputs but m.json lists 4 class names"):
        zoo.load_model("resnet18", saved)


def test_sidecar_that_is_not_json(saved: Path) -> None:
    modelfile.sidecar_path(saved).write_text("{oops")
    with pytest.raises(WeightsError, match="not valid JSON"):
        modelfile.read_meta(saved)


def test_plain_state_dict_without_sidecar_is_not_a_model_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.safetensors"
    assert not modelfile.is_model_file(path)
    with pytest.raises(WeightsError, match="model description missing"):
        modelfile.read_meta(path)
