"""Hostile model files: each refused with its own plain message, before memory or NaN can spread."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
import torch
import torchvision

from resnet_desktop.cli import main
from resnet_desktop.core.errors import (
    NotAModelFileError,
    PickledModelError,
    ResNetDesktopError,
    WeightsError,
    WrongArchitectureError,
)
from resnet_desktop.core.models import modelfile, zoo
from resnet_desktop.core.models.weights import loading as weights_loading
from tests.helpers import random_state_dict


@pytest.fixture(scope="module")
def r18_state() -> dict[str, torch.Tensor]:
    return random_state_dict("resnet18", num_classes=3)


def _load(path: Path) -> ResNetDesktopError:
    with pytest.raises(ResNetDesktopError) as info:
        zoo.load_model("resnet18", path)
    assert "weights_only" not in str(info.value)  # never torch's advice to turn safety off
    return info.value


def test_text_and_random_bytes_are_not_model_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("these are my notes\n" * 20)
    noise = tmp_path / "noise.pt"
    noise.write_bytes(b"\x80" + os.urandom(4095))  # looks like a pickle for one byte
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(os.urandom(4096))
    for path in (text, noise, junk):
        error = _load(path)
        assert isinstance(error, NotAModelFileError), str(error)
        assert "not a model file" in str(error)


def test_zip_that_is_not_a_torch_file_and_zip_bomb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "photos.pth"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("holiday.txt", "not weights")
    assert isinstance(_load(plain), NotAModelFileError)

    # Patched where _check_zip reads it (weights.loading), not on the package front door.
    monkeypatch.setattr(weights_loading, "MAX_UNPACKED_BYTES", 2**20)  # a real bomb would take GBs to build
    bomb = tmp_path / "bomb.pth"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\0" * (8 * 2**20))
    assert bomb.stat().st_size < 64 * 1024
    assert "too large when unpacked" in str(_load(bomb))


def test_whole_pickled_module_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "whole.pth"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), path)
    error = _load(path)
    assert isinstance(error, PickledModelError)
    assert "this is a whole pickled model" in str(error)
    assert "save `model.state_dict()`" in str(error)


def test_other_architecture_is_named(tmp_path: Path) -> None:
    path = tmp_path / "mobile.pth"
    torch.save(torchvision.models.mobilenet_v3_small(num_classes=10).state_dict(), path)
    error = _load(path)
    assert isinstance(error, WrongArchitectureError)
    assert "this file is for another architecture (MobileNet?)" in str(error)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s["fc.weight"].view(-1).__setitem__(0, float("nan")), "NaN or infinite"),
        (lambda s: s["layer1.0.bn1.running_var"].__setitem__(0, float("inf")), "NaN or infinite"),
        (lambda s: s.__setitem__("fc.weight", s["fc.weight"].to(torch.int64)), "int64 values"),
        (lambda s: s.__setitem__("fc.weight", s["fc.weight"] > 0), "bool values"),
        (lambda s: s.__setitem__("fc.weight", torch.zeros(0, 512)), "no outputs (0 classes)"),
        # 3 KB on disk, a million classes once built: a zero-stride view
        (lambda s: s.__setitem__("fc.weight", torch.zeros(1, 512).expand(10**6, 512)), "claims 1,000,000 classes"),
    ],
)
def test_bad_tensor_values_are_refused_naming_the_file(
    tmp_path: Path, r18_state: dict[str, torch.Tensor], change: object, expected: str
) -> None:
    state = {k: v.clone() for k, v in r18_state.items()}
    change(state)  # type: ignore[operator]
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    error = _load(path)
    assert isinstance(error, WeightsError)
    assert expected in str(error) and str(path) in str(error)


def test_nan_weights_fail_the_cli_instead_of_printing_nan(
    tmp_path: Path, r18_state: dict[str, torch.Tensor], capsys: pytest.CaptureFixture[str]
) -> None:
    state = {k: v.clone() for k, v in r18_state.items()}
    state["conv1.weight"].fill_(float("nan"))
    weights_file = tmp_path / "nan.pth"
    torch.save(state, weights_file)
    photo = tmp_path / "a.png"
    from PIL import Image

    Image.new("RGB", (40, 40), "green").save(photo)
    code = main(["classify", str(photo), "--model", "resnet18", "--weights", str(weights_file), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "NaN" not in out
    assert "conv1.weight contains NaN or infinite values" in err


def _sidecar_model(tmp_path: Path, r18_state: dict[str, torch.Tensor]) -> Path:
    pre = zoo.Preprocessing(resize_size=72, crop_size=64, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    meta = modelfile.ModelFileMeta(arch="resnet18", class_names=["a", "b", "c"], preprocessing=pre.to_dict())
    return modelfile.save_model_file(tmp_path / "m.safetensors", r18_state, meta)


def _edit_sidecar(path: Path, text: str) -> None:
    modelfile.sidecar_path(path).write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (lambda d: json.dumps(d).replace('"format_version": 1', '"format_version": ' + "9" * 5000), "unreadable value"),
        (lambda d: json.dumps({**d, "preprocessing": {**d["preprocessing"], "std": [1e-300] * 3}}), "std values"),
        (lambda d: json.dumps({**d, "preprocessing": {**d["preprocessing"], "crop_size": 4000}}), "from 1 to 1024"),
        (lambda d: json.dumps({**d, "preprocessing": {**d["preprocessing"], "mean": [1e308, 0, 0]}}), "mean values"),
        (lambda d: json.dumps({**d, "class_names": [f"c{i}" for i in range(100_001)]}), "at most 100,000"),
        (lambda d: json.dumps({**d, "class_names": ["x" * 10_000, "b", "c"]}), "longer than"),
        (lambda d: json.dumps({**d, "format_version": True}), "invalid format_version"),
    ],
)
def test_hostile_sidecars_are_refused_before_use(
    tmp_path: Path, r18_state: dict[str, torch.Tensor], edit: object, expected: str
) -> None:
    path = _sidecar_model(tmp_path, r18_state)
    data = json.loads(modelfile.sidecar_path(path).read_text(encoding="utf-8"))
    _edit_sidecar(path, edit(data))  # type: ignore[operator]
    error = _load(path)
    assert isinstance(error, WeightsError)
    assert expected in str(error)
    assert len(str(error)) < 600  # the value is not echoed back in full


def test_legacy_torch_format_still_loads(tmp_path: Path, r18_state: dict[str, torch.Tensor]) -> None:
    path = tmp_path / "old.pth"
    torch.save(r18_state, path, _use_new_zipfile_serialization=False)
    assert zoo.load_model("resnet18", path).categories == ["class 0", "class 1", "class 2"]
