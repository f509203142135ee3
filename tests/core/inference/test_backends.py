"""The engine on ONNX Runtime: same records as on PyTorch, cached graph and choice, ``auto`` fallbacks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from resnet_desktop.cli import main
from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference import backends, onnx_backend
from resnet_desktop.core.inference.engine import Engine
from resnet_desktop.core.models import quantize, zoo


@pytest.fixture(scope="module")
def loaded() -> zoo.LoadedModel:
    return zoo.load_model("resnet18", "random")


def test_onnxruntime_and_torch_agree_on_the_sample_photos(loaded: zoo.LoadedModel, sample_photos: list[Path]) -> None:
    on_torch = Engine(loaded, "cpu", backend="torch", workers=1)
    on_ort = Engine(loaded, "cpu", backend="onnxruntime", workers=1)
    assert (on_torch.backend, on_ort.backend) == ("torch", "onnxruntime")
    a = list(on_torch.classify(sample_photos, topk=5, embeddings=True))
    b = list(on_ort.classify(sample_photos, topk=5, embeddings=True))
    assert [p.path for p in a] == [p.path for p in b] == sample_photos
    for x, y in zip(a, b, strict=True):
        assert x.ok and y.ok
        assert x.scores[0].index == y.scores[0].index  # top-1 equal
        assert {s.index for s in x.scores} == {s.index for s in y.scores}  # top-5 sets equal
        assert [s.label for s in x.scores][:1] == [s.label for s in y.scores][:1]
        assert np.allclose([s.probability for s in x.scores], [s.probability for s in y.scores], atol=1e-5)
        assert x.embedding is not None and y.embedding is not None and y.embedding.shape == (512,)
        assert np.allclose(x.embedding, y.embedding, atol=1e-4)


def test_graph_is_cached_on_disk_and_a_damaged_cache_is_rebuilt(
    loaded: zoo.LoadedModel, sample_photos: list[Path]
) -> None:
    first = Engine(loaded, "cpu", backend="onnxruntime", workers=1)
    assert first._ort is not None and first._ort.built
    path = first._ort.graph_path
    assert path.parent == onnx_backend.cache_dir() and path.stat().st_size > 10_000_000
    second = Engine(loaded, "cpu", backend="onnxruntime", workers=1)
    assert second._ort is not None and not second._ort.built and second._ort.graph_path == path

    path.write_bytes(path.read_bytes()[:4096])  # a truncated cache file (disk full, killed mid-write)
    third = Engine(loaded, "cpu", backend="onnxruntime", workers=1)
    assert third._ort is not None and third._ort.built
    assert next(third.classify(sample_photos[:1])).ok


def test_graph_cache_key_follows_weights_and_exporter_version(
    loaded: zoo.LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = zoo.load_model("resnet18", "random")
    with torch.no_grad():
        other.model.fc.bias += 1
    assert onnx_backend.graph_path(other) != onnx_backend.graph_path(loaded)
    before, fast = onnx_backend.graph_path(loaded), onnx_backend.graph_path(loaded, "fast")
    assert fast != before
    monkeypatch.setattr(quantize, "RECIPE_VERSION", quantize.RECIPE_VERSION + 1)  # a new int8 recipe
    assert onnx_backend.graph_path(loaded) == before and onnx_backend.graph_path(loaded, "fast") != fast
    monkeypatch.setattr(torch, "__version__", "99.0")
    assert onnx_backend.graph_path(loaded) != before


def test_auto_measures_once_then_uses_the_cached_choice(
    loaded: zoo.LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Engine(loaded, "cpu", backend="auto", workers=1)
    choice = first.backend_choice
    assert choice is not None and choice.measured_now and choice.torch_ips > 0 and choice.onnxruntime_ips > 0
    assert first.backend == choice.backend == ("onnxruntime" if choice.onnxruntime_ips > choice.torch_ips else "torch")
    second = Engine(loaded, "cpu", backend="auto", workers=1)
    assert second.backend_choice is not None and not second.backend_choice.measured_now
    assert second.backend == first.backend
    monkeypatch.setattr(backends, "onnxruntime_version", lambda: "0.0-new")  # a library upgrade
    third = Engine(loaded, "cpu", backend="auto", workers=1)
    assert third.backend_choice is not None and third.backend_choice.measured_now


def test_auto_falls_back_to_torch_with_a_notice_when_onnxruntime_is_missing(
    loaded: zoo.LoadedModel, monkeypatch: pytest.MonkeyPatch, sample_photos: list[Path]
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    engine = Engine(loaded, "cpu", backend="auto", workers=1)
    assert engine.backend == "torch"
    assert any("ONNX Runtime is not installed" in n and "PyTorch" in n for n in engine.notices)
    assert next(engine.classify(sample_photos[:1])).ok
    with pytest.raises(SettingsError, match="ONNX Runtime is not installed"):
        Engine(loaded, "cpu", backend="onnxruntime", workers=1)


def test_unknown_backend_and_fast_on_torch_are_refused(loaded: zoo.LoadedModel) -> None:
    with pytest.raises(SettingsError, match="unknown backend 'tensorrt'"):
        Engine(loaded, "cpu", backend="tensorrt")
    with pytest.raises(SettingsError, match="runs on ONNX Runtime"):
        Engine(loaded, "cpu", backend="torch", precision="fast")


def test_classify_cli_backend_option(
    resnet18_weights: Path, sample_photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["classify", *map(str, sample_photos[:2]), "--model", "resnet18", "--weights", str(resnet18_weights)]
    assert main([*args, "--format", "json", "--backend", "onnxruntime"]) == 0
    ort_out = capsys.readouterr()
    assert "(onnxruntime, fp32)" in ort_out.err
    assert main([*args, "--format", "json", "--backend", "torch"]) == 0
    torch_out = capsys.readouterr()
    import json

    on_ort, on_torch = json.loads(ort_out.out), json.loads(torch_out.out)
    assert [r["predictions"][0]["index"] for r in on_ort] == [r["predictions"][0]["index"] for r in on_torch]


def test_fast_precision_runs_the_int8_graph_and_says_how_well_it_agrees(
    loaded: zoo.LoadedModel, sample_photos: list[Path]
) -> None:
    engine = Engine(loaded, "cpu", backend="onnxruntime", precision="fast", workers=1)
    assert (engine.backend, engine.precision) == ("onnxruntime", "fast")
    assert engine.onnxruntime is not None and "-fast-" in engine.onnxruntime.graph_path.name
    assert any(n.startswith("Fast (int8) model, agreement with fp32 PyTorch: top-1 equal on") for n in engine.notices)
    results = list(engine.classify(sample_photos, embeddings=True))
    assert all(r.ok and r.embedding is not None for r in results)


def test_classify_cli_fast_mode_calibrated_on_a_folder(
    resnet18_weights: Path, sample_photos: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    folder = tmp_path / "mine"
    folder.mkdir()
    for photo in sample_photos[:2]:
        shutil.copy(photo, folder)
    args = ["classify", str(sample_photos[0]), "--model", "resnet18", "--weights", str(resnet18_weights)]
    assert main([*args, "--precision", "fast", "--calibration", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "(onnxruntime, fast)" in err and "Note: Fast (int8) model, agreement with fp32 PyTorch" in err
    assert main([*args, "--calibration", str(folder)]) == 2
    assert "--calibration is for --precision fast only" in capsys.readouterr().err


def test_a_remembered_torch_choice_needs_no_onnx_graph(loaded: zoo.LoadedModel) -> None:
    import json

    Engine(loaded, "cpu", backend="auto", workers=1)  # measures and remembers
    choices = onnx_backend.cache_dir() / backends.CHOICES_FILE
    data = json.loads(choices.read_text())
    (entry,) = data.values()
    entry["backend"] = "torch"  # as if PyTorch had been faster on this machine
    choices.write_text(json.dumps(data))
    for graph in onnx_backend.cache_dir().glob("*.onnx"):
        graph.unlink()
    engine = Engine(loaded, "cpu", backend="auto", workers=1)
    assert engine.backend == "torch" and engine.onnxruntime is None
    assert engine.backend_choice is not None and not engine.backend_choice.measured_now
    assert list(onnx_backend.cache_dir().glob("*.onnx")) == []  # nothing exported this time


def test_on_an_accelerator_auto_is_torch_and_onnxruntime_is_refused(loaded: zoo.LoadedModel) -> None:
    cuda = torch.device("cuda")  # select() decides before anything touches the device
    chosen = backends.select(loaded, "auto", cuda, loaded.model, batch=8)
    assert (chosen.name, chosen.ort, chosen.notices) == ("torch", None, [])
    with pytest.raises(SettingsError, match="runs on the CPU"):
        backends.select(loaded, "onnxruntime", cuda, loaded.model, batch=8)
