"""The torch-free route: Pillow + numpy pixels and an ONNX Runtime session give the engine's answers,
a cached model is found by its reference alone, and a classify through it never imports torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from resnet_desktop.cli import main
from resnet_desktop.core.inference import backend_rule, graph_store
from resnet_desktop.core.inference.classifier import open_classifier, open_torch_free
from resnet_desktop.core.inference.decode import normalize
from resnet_desktop.core.inference.engine import Engine
from resnet_desktop.core.inference.ort_runner import OrtRunner
from resnet_desktop.core.inference.pixels import normalize_array, resize_and_crop, to_chw
from resnet_desktop.core.models import zoo
from resnet_desktop.core.models.modelfile import ModelFileMeta, save_model_file
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.models.spec import Preprocessing
from tests.helpers import REPO_ROOT

IMAGENET = Preprocessing(256, 224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@pytest.mark.parametrize("size", [(500, 375), (375, 500), (300, 300), (100, 50), (257, 1000), (90, 80)])
@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "nearest", "lanczos"])
def test_pixels_are_torchvisions_reference_pixels(size: tuple[int, int], interpolation: str) -> None:
    rng = np.random.default_rng(sum(size))
    image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    prep = Preprocessing(256, 224, IMAGENET.mean, IMAGENET.std, interpolation)
    reference = F.center_crop(F.resize(image, [256], InterpolationMode(interpolation), antialias=True), [224])
    ours = resize_and_crop(image, prep)
    assert np.array_equal(np.asarray(reference), np.asarray(ours))
    as_torch = normalize(torch.from_numpy(np.ascontiguousarray(to_chw(ours)[None])), prep).contiguous().numpy()
    assert np.array_equal(normalize_array(to_chw(ours)[None], prep), as_torch)


def test_crop_larger_than_the_resized_image_is_padded_like_torchvision() -> None:
    image = Image.new("RGB", (133, 75), (200, 10, 10))
    prep = Preprocessing(100, 224, IMAGENET.mean, IMAGENET.std)
    reference = F.center_crop(F.resize(image, [100], antialias=True), [224])
    assert np.array_equal(np.asarray(reference), np.asarray(resize_and_crop(image, prep)))


def test_runner_gives_the_engines_answers_and_embeddings(sample_photos: list[Path]) -> None:
    loaded = zoo.load_model("resnet18", "random")
    stored = graph_store.remember(loaded)
    on_torch = list(Engine(loaded, "cpu", backend="torch", workers=1).classify(sample_photos, embeddings=True))
    on_ort = list(OrtRunner(stored, workers=1).classify(sample_photos, embeddings=True))
    for a, b in zip(on_torch, on_ort, strict=True):
        assert a.path == b.path and a.ok and b.ok
        assert [s.index for s in a.scores] == [s.index for s in b.scores]
        assert [s.label for s in a.scores] == [s.label for s in b.scores]
        assert np.allclose([s.probability for s in a.scores], [s.probability for s in b.scores], atol=1e-5)
        assert b.embedding is not None and np.allclose(a.embedding, b.embedding, atol=1e-4)


def test_errors_come_back_in_input_order(tmp_path: Path, sample_photos: list[Path]) -> None:
    stored = graph_store.remember(zoo.load_model("resnet18", "random"))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    results = list(OrtRunner(stored, workers=1, batch_size=2).classify([sample_photos[0], broken, sample_photos[1]]))
    assert [r.path for r in results] == [sample_photos[0], broken, sample_photos[1]]
    assert results[0].ok and results[2].ok and results[1].error


def test_a_cached_model_is_found_by_its_reference_and_forgotten_when_its_file_changes(
    tmp_path: Path, resnet18_weights: Path
) -> None:
    path = tmp_path / "mine.pth"
    shutil.copy(resnet18_weights, path)
    ref = ModelRef.parse(None, str(path))
    assert graph_store.find(ref) is None
    loaded = zoo.load_model(None, path)
    stored = graph_store.remember(loaded, [ref])
    assert stored.exported_now and graph_store.find(ref) == stored
    assert not graph_store.remember(loaded, [ref]).exported_now  # cached: not exported again
    os.utime(path, ns=(1, 1))  # an edited file is another model until torch has seen it
    assert graph_store.find(ref) is None


def test_every_head_on_one_backbone_shares_one_graph_and_a_new_model_file_needs_no_torch(tmp_path: Path) -> None:
    base = zoo.load_model("resnet18", "random")
    graph_store.remember(base)
    model = zoo.build_model("resnet18", 3)
    state = base.model.state_dict()
    model.load_state_dict({k: v for k, v in state.items() if not k.startswith("fc.")}, strict=False)
    meta = ModelFileMeta("resnet18", ["cats", "dogs", "owls"], base.preprocessing.to_dict(), base_weights="random")
    path = save_model_file(tmp_path / "pets.safetensors", model, meta)
    stored = graph_store.find(ModelRef(file=path))  # read with numpy: the backbone graph is cached
    assert stored is not None and stored.categories == ["cats", "dogs", "owls"]
    assert stored.fp32_graph() == graph_store.find(ModelRef.parse("resnet18:random")).fp32_graph()  # type: ignore[union-attr]
    assert len(list((graph_store.cache_dir() / "graphs").glob("*.onnx"))) == 1
    weight, _bias = stored.head()
    assert np.array_equal(weight, model.fc.weight.detach().numpy())


def test_open_classifier_is_torch_free_only_when_the_rule_says_onnx_runtime(sample_photos: list[Path]) -> None:
    ref = ModelRef.parse("resnet18:random")
    first = open_classifier(ref, backend="onnxruntime", device="cpu", workers=1)
    assert not first.torch_free and first.classifier.backend == "onnxruntime"
    again = open_torch_free(ref, backend="onnxruntime", device="cpu")
    assert again is not None and again.torch_free and again.describe() == "ONNX Runtime, fp32 (you chose ONNX Runtime)"
    assert open_torch_free(ref, backend="torch", device="cpu") is None
    # auto: only once a measurement on this machine says ONNX Runtime is faster
    assert open_torch_free(ref, backend="auto", device="cpu") is None
    threads = backend_rule.threads_default()
    backend_rule.record("resnet18", 224, threads, torch_ips=10.0, onnxruntime_ips=20.0)
    chosen = open_torch_free(ref, backend="auto", device="cpu")
    assert chosen is not None and "auto: measured ONNX Runtime 20.0 vs PyTorch 10.0 images/s" in chosen.describe()
    backend_rule.record("resnet18", 224, threads, torch_ips=30.0, onnxruntime_ips=20.0)
    assert open_torch_free(ref, backend="auto", device="cpu") is None


def test_a_damaged_cached_graph_falls_back_to_torch_which_rebuilds_it(sample_photos: list[Path]) -> None:
    ref = ModelRef.parse("resnet18:random")
    opened = open_classifier(ref, backend="onnxruntime", device="cpu", workers=1)
    graph = graph_store.find(ref).fp32_graph()  # type: ignore[union-attr]
    graph.write_bytes(graph.read_bytes()[:4096])  # a truncated cache file (disk full, killed mid-write)
    assert open_torch_free(ref, backend="onnxruntime", device="cpu") is None
    rebuilt = open_classifier(ref, backend="onnxruntime", device="cpu", workers=1)
    assert not rebuilt.torch_free and next(rebuilt.classifier.classify(sample_photos[:1])).ok
    assert opened.classifier.backend == "onnxruntime"
    assert open_torch_free(ref, backend="onnxruntime", device="cpu") is not None


def test_classify_through_a_cached_graph_never_imports_torch(
    tmp_path: Path, sample_photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's proof: a subprocess classifies new photos (top-k and embeddings into the index)
    and torch is not in ``sys.modules`` afterwards."""
    common = ["--model", "resnet18", "--weights", "random", "--backend", "onnxruntime", "--format", "json"]
    assert main(["classify", str(sample_photos[0]), *common]) == 0  # torch: exports and remembers the graph
    capsys.readouterr()
    fresh = tmp_path / "new"
    fresh.mkdir()
    for photo in sample_photos:  # new to the index (other bytes): the runner must classify them
        Image.open(photo).convert("RGB").save(fresh / f"copy-{photo.stem}.png")
    script = (
        "import sys, json\n"
        "from resnet_desktop.cli import main\n"
        f"code = main(['classify', {str(fresh)!r}, *{common!r}])\n"
        "from resnet_desktop.core.library.index import open_index\n"
        "index = open_index()\n"
        "print('EMBEDDINGS', index._db.execute('select count(*) from embeddings').fetchone()[0])\n"
        "print('TORCH', 'torch' in sys.modules, 'torchvision' in sys.modules)\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "TORCH False False" in done.stdout
    assert "EMBEDDINGS 6" in done.stdout  # the torch run's photo + the 5 new ones, from the same forward
    assert "(onnxruntime, fp32)" in done.stderr and "newly classified: 5" in done.stderr
    on_ort = json.loads(done.stdout[: done.stdout.index("EMBEDDINGS")])
    assert main(["classify", str(fresh), *common[:-3], "torch", "--format", "json", "--no-index"]) == 0
    on_torch = json.loads(capsys.readouterr().out)
    for a, b in zip(on_ort, on_torch, strict=True):
        assert a["path"] == b["path"] and a["predictions"][0]["index"] == b["predictions"][0]["index"]
        assert abs(a["predictions"][0]["probability"] - b["predictions"][0]["probability"]) < 1e-4
