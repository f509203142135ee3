"""The engine on ONNX Runtime: same records as on PyTorch, cached graph and measurement, ``auto`` and its fallbacks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from resnet_desktop.cli import main
from resnet_desktop.core.errors import SettingsError
from resnet_desktop.core.inference import backend_rule, backends, graph_store
from resnet_desktop.core.inference.engine import Engine
from resnet_desktop.core.inference.fast import FastModeRefused
from resnet_desktop.core.models import backbone, zoo


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


def test_an_onnxruntime_engine_holds_no_pytorch_copy_of_the_model(loaded: zoo.LoadedModel) -> None:
    engine = Engine(loaded, "cpu", backend="onnxruntime", workers=1)
    assert engine._model is None  # the runner runs the graph: no folded, placed second copy in memory
    assert Engine(loaded, "cpu", backend="torch", workers=1)._model is not None


def test_graph_is_cached_on_disk_and_a_damaged_cache_is_rebuilt(
    loaded: zoo.LoadedModel, sample_photos: list[Path]
) -> None:
    first = Engine(loaded, "cpu", backend="onnxruntime", workers=1)
    assert first.onnxruntime is not None and first.onnxruntime.built
    path = first.onnxruntime.graph_path
    assert path.parent == graph_store.cache_dir() / "graphs" and path.stat().st_size > 10_000_000
    second = Engine(loaded, "cpu", backend="onnxruntime", workers=1)
    assert second.onnxruntime is not None and not second.onnxruntime.built and second.onnxruntime.graph_path == path

    path.write_bytes(path.read_bytes()[:4096])  # a truncated cache file (disk full, killed mid-write)
    third = Engine(loaded, "cpu", backend="onnxruntime", workers=1)
    assert third.onnxruntime is not None and third.onnxruntime.built
    assert next(third.classify(sample_photos[:1])).ok


def test_graph_cache_key_follows_the_backbone_and_the_exporter(
    loaded: zoo.LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = graph_store.remember(loaded).fp32_graph()
    other_head = zoo.load_model("resnet18", "random")
    with torch.no_grad():
        other_head.model.fc.bias += 1
    assert graph_store.remember(other_head).fp32_graph() == before  # a new head: the same graph
    other_backbone = zoo.load_model("resnet18", "random")
    with torch.no_grad():
        other_backbone.model.conv1.weight += 1
    assert graph_store.remember(other_backbone).fp32_graph() != before
    monkeypatch.setattr(backbone, "package_version", lambda name: "99.0")  # another torch exporter
    assert graph_store.fp32_graph_path(graph_store.remember(loaded).backbone) != before


def test_auto_measures_once_per_architecture_then_uses_the_remembered_measurement(
    loaded: zoo.LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Engine(loaded, "cpu", backend="auto", workers=1)
    choice = first.backend_choice
    assert choice is not None and choice.measured_now and choice.torch_ips > 0 and choice.onnxruntime_ips > 0
    assert first.backend == choice.backend == ("onnxruntime" if choice.onnxruntime_ips > choice.torch_ips else "torch")
    assert first.plan is not None and first.plan.reason.startswith("auto: measured ONNX Runtime")
    other_weights = zoo.load_model("resnet18", "random")
    with torch.no_grad():
        other_weights.model.fc.weight *= 2
    second = Engine(other_weights, "cpu", backend="auto", workers=1)  # same architecture: not measured again
    assert second.backend_choice is not None and not second.backend_choice.measured_now
    assert second.backend == first.backend
    monkeypatch.setattr(backend_rule, "package_version", lambda name: "0.0-new")  # a library upgrade
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
    with pytest.raises(SettingsError, match="only ONNX Runtime runs; choose the auto or onnxruntime backend"):
        Engine(loaded, "cpu", backend="torch", precision="fast")


def test_fast_without_photos_or_a_verified_model_cannot_be_verified(loaded: zoo.LoadedModel) -> None:
    with pytest.raises(FastModeRefused, match="Fast mode cannot be verified"):
        Engine(loaded, "cpu", backend="onnxruntime", precision="fast")


def test_classify_cli_backend_option(
    resnet18_weights: Path, sample_photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["classify", *map(str, sample_photos[:2]), "--model", "resnet18", "--weights", str(resnet18_weights)]
    assert main([*args, "--format", "json", "--backend", "onnxruntime"]) == 0
    ort_out = capsys.readouterr()
    assert "(onnxruntime, fp32)" in ort_out.err
    assert main([*args, "--format", "json", "--backend", "torch"]) == 0
    torch_out = capsys.readouterr()
    on_ort, on_torch = json.loads(ort_out.out), json.loads(torch_out.out)
    assert [r["predictions"][0]["index"] for r in on_ort] == [r["predictions"][0]["index"] for r in on_torch]


def test_classify_cli_fast_mode_on_two_photos_cannot_be_verified(
    resnet18_weights: Path, sample_photos: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    folder = tmp_path / "mine"
    folder.mkdir()
    for photo in sample_photos[:2]:
        shutil.copy(photo, folder)
    args = ["classify", str(sample_photos[0]), "--model", "resnet18", "--weights", str(resnet18_weights)]
    assert main([*args, "--precision", "fast", "--calibration", str(folder)]) == 2
    assert "Fast mode cannot be verified: it needs at least 100 of your photos" in capsys.readouterr().err
    assert main([*args, "--calibration", str(folder)]) == 2
    assert "--calibration is for --precision fast only" in capsys.readouterr().err


def test_a_remembered_torch_measurement_needs_no_onnx_graph(loaded: zoo.LoadedModel) -> None:
    backend_rule.record("resnet18", 224, torch.get_num_threads(), torch_ips=30.0, onnxruntime_ips=20.0)
    engine = Engine(loaded, "cpu", backend="auto", workers=1)
    assert engine.backend == "torch" and engine.onnxruntime is None
    assert engine.backend_choice is not None and not engine.backend_choice.measured_now
    assert not (graph_store.cache_dir() / "graphs").exists()  # nothing exported this time


def test_on_an_accelerator_auto_is_torch_and_onnxruntime_is_refused(loaded: zoo.LoadedModel) -> None:
    cuda = torch.device("cuda")  # select() decides before anything touches the device
    chosen = backends.select(loaded, "auto", cuda, lambda: loaded.model, batch=8)
    assert (chosen.name, chosen.ort, chosen.notices) == ("torch", None, [])
    assert chosen.plan is not None and chosen.plan.reason == "auto: the GPU (cuda) runs PyTorch"
    with pytest.raises(SettingsError, match="runs on the CPU"):
        backends.select(loaded, "onnxruntime", cuda, lambda: loaded.model, batch=8)
