"""ResNet v1 built from torchvision's v1.5: the stride moves from conv2 to conv1, nothing else changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from resnet_desktop.core.errors import WeightsError
from resnet_desktop.core.models import spec, zoo
from resnet_desktop.core.models.variants import strides, to_v1


@pytest.mark.parametrize("depth", [50, 101, 152])
def test_v1_differs_from_v1_5_exactly_where_the_stride_sits(depth: int) -> None:
    v15 = zoo.build_model(f"resnet{depth}")
    v1 = zoo.build_model(f"resnet{depth}-v1")
    before, after = strides(v15), strides(v1)
    changed = {name for name in before if before[name] != after[name]}
    expected = {f"layer{stage}.0.conv{i}" for stage in (2, 3, 4) for i in (1, 2)}
    assert changed == expected
    for stage in (2, 3, 4):
        assert before[f"layer{stage}.0.conv1"] == (1, 1) and before[f"layer{stage}.0.conv2"] == (2, 2)
        assert after[f"layer{stage}.0.conv1"] == (2, 2) and after[f"layer{stage}.0.conv2"] == (1, 1)
        assert after[f"layer{stage}.0.downsample.0"] == (2, 2)  # the shortcut is the same in both
    assert sum(p.numel() for p in v1.parameters()) == sum(p.numel() for p in v15.parameters())
    assert list(v1.state_dict()) == list(v15.state_dict())


def test_v1_runs_and_gives_the_same_output_shape() -> None:
    model = zoo.build_model("resnet50-v1", num_classes=7).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 7)


def test_to_v1_refuses_basic_block_resnets() -> None:
    with pytest.raises(TypeError, match="Bottleneck"):
        to_v1(zoo.build_model("resnet18"))


def test_the_v1_names_are_separate_from_the_zoo_architectures() -> None:
    assert spec.ARCHITECTURES == ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
    assert spec.V1_ARCHITECTURES == ("resnet50-v1", "resnet101-v1", "resnet152-v1")
    assert spec.base_arch("resnet101-v1") == "resnet101" and spec.base_arch("resnet18") == "resnet18"
    with pytest.raises(WeightsError):
        spec.check_arch("resnet50-v1")  # the zoo's own check is unchanged
    spec.check_arch("resnet50-v1", variants=True)


def test_load_model_takes_random_and_user_weights_but_no_imagenet_entry(tmp_path: Path) -> None:
    loaded = zoo.load_model("resnet50-v1", "random")
    assert loaded.arch == "resnet50-v1" and len(loaded.categories) == 1000
    assert strides(loaded.model)["layer2.0.conv1"] == (2, 2)
    path = tmp_path / "v1.pth"
    torch.save(loaded.model.state_dict(), path)  # "weights a person supplies" have v1.5's keys
    again = zoo.load_model("resnet50-v1", path)
    assert strides(again.model)["layer3.0.conv1"] == (2, 2)
    assert torch.equal(again.model.state_dict()["fc.weight"], loaded.model.state_dict()["fc.weight"])
    with pytest.raises(WeightsError, match="no ImageNet weights for resnet50-v1"):
        zoo.load_model("resnet50-v1", "IMAGENET1K_V2")
    with pytest.raises(WeightsError, match="these are resnet50 weights"):
        zoo.load_model("resnet101-v1", path)
