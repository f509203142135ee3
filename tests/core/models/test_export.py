"""ONNX export: round trip (metadata, top-1, logit bound), verification refusals, damaged files refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from resnet_desktop.core.errors import ExportError, OutputError, WeightsError
from resnet_desktop.core.models import export, modelfile, quantize, zoo


def fine_tuned_file(folder: Path) -> Path:
    """One of our fine-tuned model files (3 classes, 160-px crop), as the wizard saves it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        model = zoo.build_model("resnet18", 3)
    recipe = zoo.get_weights_info("resnet18", "IMAGENET1K_V1").preprocessing.to_dict()
    recipe.update(resize_size=176, crop_size=160)
    meta = modelfile.ModelFileMeta(arch="resnet18", class_names=["apple", "banana", "cherry"], preprocessing=recipe)
    return modelfile.save_model_file(folder / "fruit.safetensors", model, meta)


@pytest.fixture(scope="module")
def seeded() -> zoo.LoadedModel:
    return zoo.load_model("resnet18", "random")


@pytest.fixture(scope="module")
def exported(seeded: zoo.LoadedModel, tmp_path_factory: pytest.TempPathFactory) -> export.ExportResult:
    return export.export_model(seeded, tmp_path_factory.mktemp("export") / "resnet18.onnx")


def test_imagenet_architecture_round_trips_with_metadata_and_dynamic_batch(
    seeded: zoo.LoadedModel, exported: export.ExportResult, sample_photos: list[Path]
) -> None:
    info = export.read_onnx_info(exported.path)
    assert info.arch == "resnet18"
    assert info.precision == "fp32"
    assert info.class_names == seeded.categories
    assert info.preprocessing == seeded.preprocessing
    assert exported.agreement.passed and exported.agreement.inputs == len(sample_photos) + quantize.RANDOM_INPUTS

    # A consumer that only has the file: preprocessing from the metadata, any batch size.
    inputs = quantize.verification_inputs(info.preprocessing, sample_photos, random_count=0)
    session = ort.InferenceSession(str(exported.path), providers=["CPUExecutionProvider"])
    for batch in (inputs[:1], inputs):
        logits, embedding = session.run(["logits", "embedding"], {"input": batch.numpy()})
        reference = quantize.torch_logits(seeded, batch)
        assert logits.shape == (batch.shape[0], 1000) and embedding.shape == (batch.shape[0], 512)
        assert np.array_equal(logits.argmax(1), reference.argmax(1).numpy())
        assert np.abs(logits - reference.numpy()).max() <= quantize.FP32_BOUND


def test_fine_tuned_model_file_exports_its_own_classes_and_recipe(tmp_path: Path, sample_photos: list[Path]) -> None:
    loaded = zoo.load_model(weights=fine_tuned_file(tmp_path))
    result = export.export_model(loaded, tmp_path / "fruit.onnx")
    info = export.read_onnx_info(result.path)
    assert info.class_names == ["apple", "banana", "cherry"]
    assert (info.preprocessing.crop_size, info.preprocessing.resize_size) == (160, 176)
    inputs = quantize.verification_inputs(info.preprocessing, sample_photos, random_count=0)
    assert inputs.shape[-1] == 160
    candidate = quantize.run_file(result.path.read_bytes(), inputs)
    reference = quantize.torch_logits(loaded, inputs)
    assert torch.equal(candidate.argmax(1), reference.argmax(1))
    assert (candidate - reference).abs().max() <= quantize.FP32_BOUND


def test_export_out_of_bound_is_refused_with_the_figures_and_nothing_written(
    seeded: zoo.LoadedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quantize, "FP32_BOUND", 0.0)  # real ORT numbers differ from torch by ~1e-6
    target = tmp_path / "strict.onnx"
    with pytest.raises(ExportError, match=r"not written: top-1 equal on 7/7 .* max \|logit diff\| [1-9]"):
        export.export_model(seeded, target)
    assert list(tmp_path.iterdir()) == []  # no file, no temp file


def test_existing_file_is_never_replaced_without_overwrite(seeded: zoo.LoadedModel, tmp_path: Path) -> None:
    target = tmp_path / "mine.onnx"
    target.write_bytes(b"a file of the user's")
    with pytest.raises(OutputError, match="already exists"):
        export.export_model(seeded, target)
    assert target.read_bytes() == b"a file of the user's"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_corrupt_or_truncated_onnx_is_refused_clearly(
    exported: export.ExportResult, tmp_path: Path, damage: str
) -> None:
    data = exported.path.read_bytes()
    bad = tmp_path / f"{damage}.onnx"
    bad.write_bytes({"truncated": data[: len(data) // 3], "garbage": b"\x00\xffnot onnx" * 50, "empty": b""}[damage])
    with pytest.raises(WeightsError, match=r"not a valid ONNX model \(corrupt or truncated\?\)|not one exported"):
        export.read_onnx_info(bad)
    with pytest.raises(WeightsError, match="ONNX Runtime cannot run this model"):
        quantize.session(bad)


def test_foreign_onnx_without_our_metadata_is_refused(exported: export.ExportResult, tmp_path: Path) -> None:
    import onnx

    model = onnx.load(exported.path)
    del model.metadata_props[:]
    foreign = tmp_path / "foreign.onnx"
    onnx.save(model, foreign)
    with pytest.raises(WeightsError, match="not one exported by ResNet Desktop"):
        export.read_onnx_info(foreign)


def test_int8_without_photos_to_verify_it_is_refused_and_not_written(seeded: zoo.LoadedModel, tmp_path: Path) -> None:
    """The Fast Mode gate needs 100 of the person's photos not used for calibration; without any the
    int8 file is refused (tests/cli/test_fast_mode.py: accepted and refused on digits)."""
    target = tmp_path / "int8.onnx"
    with pytest.raises(ExportError, match="The int8 model cannot be verified, so it was not written") as caught:
        export.export_model(seeded, target, precision="int8-dynamic")
    assert "(0 available)" in str(caught.value)
    assert not target.exists() and not list(tmp_path.iterdir())


def test_torchscript_export_matches_torch(seeded: zoo.LoadedModel, tmp_path: Path) -> None:
    result = export.export_model(seeded, tmp_path / "resnet18.pt", format="torchscript")
    assert result.agreement.passed and result.agreement.max_abs_diff <= quantize.FP32_BOUND
    with pytest.raises(Exception, match="fp32 only"):
        export.export_model(seeded, tmp_path / "x.pt", format="torchscript", precision="fp16")
