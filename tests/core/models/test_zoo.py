"""zoo.py: the torchvision registry, preprocessing, and every way of loading a model."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from torchvision.models import get_model_weights

from resnet_desktop.core.errors import CancelledError, WeightsError
from resnet_desktop.core.models import zoo
from tests.helpers import random_state_dict, save_random_weights


def test_every_arch_and_weights_entry_is_listed_with_meta() -> None:
    infos = zoo.list_weights()
    for arch in zoo.ARCHITECTURES:
        names = {i.name for i in infos if i.arch == arch}
        assert names == {w.name for w in get_model_weights(arch)}
        assert "IMAGENET1K_V1" in names
    assert {i.name for i in zoo.list_weights("resnet50")} == {"IMAGENET1K_V1", "IMAGENET1K_V2"}
    for info in infos:
        assert len(info.categories) == 1000
        assert info.url.startswith("https://") and info.url.endswith(".pth")
        assert info.num_params > 1_000_000
        assert info.gflops > 1 and info.file_size_mb > 10
        assert 60 < info.acc1 < info.acc5 < 100
        t = info.transforms()
        pre = info.preprocessing
        assert (pre.crop_size, pre.resize_size) == (t.crop_size[0], t.resize_size[0])
        assert list(pre.mean) == list(t.mean) and list(pre.std) == list(t.std)
    # Deeper means bigger, and V2 recipes use a different resize than V1.
    params = [zoo.get_weights_info(a, "IMAGENET1K_V1").num_params for a in zoo.ARCHITECTURES]
    assert params == sorted(params)
    assert zoo.get_weights_info("resnet50", "IMAGENET1K_V2").preprocessing.resize_size != 256


def test_default_and_name_lookup() -> None:
    assert zoo.get_weights_info(zoo.DEFAULT_ARCH).name == zoo.DEFAULT_WEIGHTS
    assert zoo.get_weights_info("resnet18", "DEFAULT").name == "IMAGENET1K_V1"
    assert zoo.get_weights_info("resnet50", "ResNet50_Weights.IMAGENET1K_V1").name == "IMAGENET1K_V1"
    with pytest.raises(WeightsError, match="IMAGENET1K_V1"):
        zoo.get_weights_info("resnet18", "IMAGENET1K_V2")
    with pytest.raises(WeightsError, match="Unknown architecture 'vgg16'"):
        zoo.list_weights("vgg16")


def test_preprocessing_round_trip_and_reference_transforms_match_torchvision() -> None:
    info = zoo.get_weights_info("resnet50", "IMAGENET1K_V2")
    pre = info.preprocessing
    assert zoo.Preprocessing.from_dict(pre.to_dict()) == pre
    img = torch.randint(0, 256, (3, 300, 280), dtype=torch.uint8)
    assert torch.equal(pre.reference_transforms()(img), info.transforms()(img))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"crop_size": 0}, "crop_size"),
        ({"mean": [0.5, 0.5]}, "mean"),
        ({"std": [0.0, 1.0, 1.0]}, "std"),
        ({"interpolation": "sideways"}, "interpolation"),
    ],
)
def test_preprocessing_from_dict_rejects_bad_values(change: dict, words: str) -> None:
    data = zoo.get_weights_info("resnet18").preprocessing.to_dict() | change
    with pytest.raises(WeightsError, match=words):
        zoo.Preprocessing.from_dict(data, source="model.json")


def test_spec_knows_every_torchvision_interpolation_without_importing_it() -> None:
    from torchvision.transforms import InterpolationMode

    from resnet_desktop.core.models.spec import INTERPOLATIONS

    assert set(INTERPOLATIONS) == {mode.value for mode in InterpolationMode}


def test_random_weights_are_seeded_and_leave_the_global_rng_alone() -> None:
    rng = torch.random.get_rng_state()
    a = zoo.load_model("resnet18", zoo.RANDOM_WEIGHTS)
    b = zoo.load_model("resnet18", "random")
    assert torch.equal(torch.random.get_rng_state(), rng)
    expected = random_state_dict("resnet18", seed=zoo.RANDOM_SEED)
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key])
        assert torch.equal(value, expected[key])
    assert not a.model.training
    assert next(a.model.parameters()).device.type == "cpu"
    assert a.categories == list(zoo.get_weights_info("resnet18").categories)
    assert a.weights_name == "random"


def _outputs(model: torch.nn.Module) -> torch.Tensor:
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        return model(x)


def test_plain_pth_with_1000_classes_gets_imagenet_categories(resnet18_weights: Path) -> None:
    loaded = zoo.load_model("resnet18", resnet18_weights)
    assert loaded.custom_file == resnet18_weights
    assert loaded.categories[0] == "tench" and len(loaded.categories) == 1000
    reference = zoo.build_model("resnet18")
    reference.load_state_dict(torch.load(resnet18_weights, weights_only=True))
    assert torch.equal(_outputs(loaded.model), _outputs(reference.eval()))


def test_safetensors_with_few_classes_gets_numbered_classes(tmp_path: Path) -> None:
    path = save_random_weights(tmp_path / "three.safetensors", "resnet18", num_classes=3, seed=4)
    loaded = zoo.load_model("resnet18", str(path))
    assert loaded.categories == ["class 0", "class 1", "class 2"]
    assert _outputs(loaded.model).shape == (2, 3)
    assert not loaded.model.training


def test_wrapped_and_prefixed_pt_loads(tmp_path: Path) -> None:
    state = random_state_dict("resnet18", num_classes=7, seed=6)
    path = tmp_path / "ddp.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    loaded = zoo.load_model("resnet18", path)
    assert torch.equal(loaded.model.fc.bias, state["fc.bias"])


def test_wrong_architecture_names_the_right_one(tmp_path: Path) -> None:
    path = save_random_weights(tmp_path / "r50.pth", "resnet50", num_classes=10)
    with pytest.raises(WeightsError) as err:
        zoo.load_model("resnet18", path)
    assert str(path) in str(err.value)
    assert "resnet50" in str(err.value) and "--model resnet50" in str(err.value)


def test_key_mismatch_names_the_file(tmp_path: Path) -> None:
    state = random_state_dict("resnet18", num_classes=2)
    state["layer4.1.conv2.weight"] = torch.zeros(512, 512, 1, 1)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError) as err:
        zoo.load_model("resnet18", path)
    assert str(path) in str(err.value) and "layer4.1.conv2.weight" in str(err.value)


def test_missing_file_is_a_weights_error(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="not found"):
        zoo.load_model("resnet18", tmp_path / "absent.pth")


def test_torchvision_entry_comes_from_the_hub_cache_offline(tmp_path: Path) -> None:
    info = zoo.get_weights_info("resnet18", "IMAGENET1K_V1")
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(info.url).name
    cached.parent.mkdir(parents=True)
    save_random_weights(cached, "resnet18", seed=9)

    loaded = zoo.load_model("resnet18", "IMAGENET1K_V1")

    assert loaded.weights_name == "IMAGENET1K_V1"
    assert loaded.categories == list(info.categories)
    assert loaded.preprocessing == info.preprocessing
    assert torch.equal(loaded.model.fc.weight, random_state_dict("resnet18", seed=9)["fc.weight"])


def test_torchvision_entry_missing_offline_says_how_to_supply_it() -> None:
    with pytest.raises(WeightsError) as err:
        zoo.load_model("resnet50", "IMAGENET1K_V2")
    msg = str(err.value)
    assert Path(zoo.get_weights_info("resnet50").url).name in msg
    assert "--weights FILE" in msg


def test_cancel_is_passed_through_to_the_download(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESNET_DESKTOP_OFFLINE")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        zoo.load_model("resnet18", "IMAGENET1K_V1", cancel=cancel)
    assert not (Path(torch.hub.get_dir()) / "checkpoints").exists()
