"""Model-file format 2 (a head file): only ``fc`` in the weights, a reference to the backbone in the
sidecar; it loads wherever a model file loads, finds its backbone or says which one is missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from resnet_desktop.core.errors import WeightsError, WeightsMissingError
from resnet_desktop.core.models import modelfile, zoo
from resnet_desktop.core.models.headfile import backbone_ref_of, save_head_file
from resnet_desktop.core.models.ref import ModelRef, detect_arch, load
from tests.helpers import save_random_weights

CLASSES = ["receipts", "whiteboards", "none of these"]


def _head(features: int = 512, seed: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(len(CLASSES), features, generator=generator), torch.randn(len(CLASSES), generator=generator)


def _save(path: Path, base: zoo.LoadedModel, features: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    weight, bias = _head(features)
    save_head_file(
        path,
        weight,
        bias,
        base=base,
        arch=base.arch,
        class_names=CLASSES,
        preprocessing=base.preprocessing.to_dict(),
        metrics={"held_out_accuracy": 0.9},
    )
    return weight, bias


def _expected(base: zoo.LoadedModel, weight: torch.Tensor, bias: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    from resnet_desktop.core.finetune.features import pooled_backbone

    with torch.no_grad():
        return pooled_backbone(base.model)(x) @ weight.T + bias


def test_a_head_on_random_weights_loads_as_the_backbone_plus_the_head(tmp_path: Path) -> None:
    base = zoo.load_model("resnet18", "random")
    path = tmp_path / "v1.safetensors"
    weight, bias = _save(path, base)
    side = json.loads(modelfile.sidecar_path(path).read_text())
    assert side["format_version"] == 2 and side["backbone"] == {"weights": "random", "file": None, "sha256": None}
    from safetensors.torch import load_file

    assert sorted(load_file(str(path))) == ["fc.bias", "fc.weight"]  # the head only: a few KB
    assert path.stat().st_size < 10_000
    loaded = load(ModelRef.parse(None, str(path)))
    assert detect_arch(path) == "resnet18" and loaded.categories == CLASSES
    assert "taught on random" in loaded.source
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = loaded.model(x)
    assert torch.allclose(got, _expected(base, weight, bias, x), atol=1e-4)


def test_a_head_on_a_weights_file_finds_it_there_or_next_to_itself_and_refuses_a_changed_one(tmp_path: Path) -> None:
    weights = save_random_weights(tmp_path / "resnet18-mine.pth", seed=5)
    base = zoo.load_model(None, weights)
    ref = backbone_ref_of(base)
    assert ref.file == str(Path(weights).absolute()) and ref.sha256 and len(ref.sha256) == 64
    path = tmp_path / "out" / "pets.safetensors"
    path.parent.mkdir()
    _save(path, base)
    assert load(ModelRef(file=path)).categories == CLASSES

    # on another machine: the base file is elsewhere; without it the head cannot classify
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for name in ("pets.safetensors", "pets.json"):
        shutil.move(path.parent / name, moved / name)
    shutil.move(weights, tmp_path / "gone.pth")
    with pytest.raises(WeightsMissingError) as missing:
        load(ModelRef(file=moved / "pets.safetensors"))
    message = str(missing.value)
    assert "its backbone weights resnet18-mine.pth (sha256 " in message
    assert f"copy resnet18-mine.pth into {moved}" in message
    shutil.copy(tmp_path / "gone.pth", moved / "resnet18-mine.pth")  # copied next to it: found
    assert load(ModelRef(file=moved / "pets.safetensors")).categories == CLASSES

    save_random_weights(moved / "resnet18-mine.pth", seed=6)  # other weights under the same name
    with pytest.raises(WeightsError, match="have changed since the model was saved"):
        load(ModelRef(file=moved / "pets.safetensors"))


def test_a_head_taught_on_a_head_file_refers_to_the_real_backbone(tmp_path: Path) -> None:
    base = zoo.load_model("resnet18", "random")
    first = tmp_path / "first.safetensors"
    _save(first, base)
    again = zoo.load_model(None, first)
    assert backbone_ref_of(again) == modelfile.BackboneRef(weights="random")


def test_a_head_of_the_wrong_width_or_with_other_weights_is_refused(tmp_path: Path) -> None:
    base = zoo.load_model("resnet18", "random")
    wide = tmp_path / "wide.safetensors"
    _save(wide, base, features=2048)
    with pytest.raises(WeightsError, match="the head reads 2048 features but its backbone random gives 512"):
        zoo.load_model(None, wide)
    meta = modelfile.read_meta(wide)
    with pytest.raises(WeightsError, match="a head file holds only fc.weight and fc.bias"):
        modelfile.save_model_file(tmp_path / "fat.safetensors", zoo.build_model("resnet18", 3), meta)


def test_a_head_on_torchvision_weights_uses_the_download_cache(tmp_path: Path) -> None:
    path = tmp_path / "tv.safetensors"
    weight, bias = _head()
    save_head_file(
        path,
        weight,
        bias,
        base=modelfile.BackboneRef(weights="IMAGENET1K_V1"),
        arch="resnet18",
        class_names=CLASSES,
        preprocessing=zoo.load_model("resnet18", "random").preprocessing.to_dict(),
    )
    with pytest.raises(WeightsMissingError):  # tests run offline: the cache is empty, nothing is fetched
        zoo.load_model(None, path)
