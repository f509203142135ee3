"""Export a loaded model to ONNX (or TorchScript), verified against PyTorch before it is kept.

The graph has one input (``input``: float32 NCHW RGB, scaled to [0, 1] and normalised with the
model's own mean/std) and two outputs, ``logits`` and ``embedding`` (the pooled backbone
features, ``fc``'s input), with a dynamic batch axis. The preprocessing recipe and the class
names travel in the file's ``metadata_props``, so a consumer needs no sidecar.

We use PyTorch's TorchScript-based exporter (``dynamo=False``): it works offline with no extra
package and exports a ResNet in about a second; the ``torch.export``-based one needs onnxscript
(one more dependency for the installer) and we have not measured it. A file is written only after
it agreed with PyTorch on the bundled sample photos and a few random images (``quantize.agreement``),
and an int8 file only after it passed the quality gate on the person's own photos (``models.gate``).
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from resnet_desktop import __version__
from resnet_desktop.core.atomic import check_writable, write_bytes
from resnet_desktop.core.errors import ExportError, SettingsError, WeightsError
from resnet_desktop.core.models import int8 as int8_recipes
from resnet_desktop.core.models import quantize, spec
from resnet_desktop.core.models.gate import MAX_VERIFICATION, MIN_PHOTOS, GateResult, PhotoSet
from resnet_desktop.core.models.graph import exporter_version, graph_module, onnx_bytes
from resnet_desktop.core.models.spec import Preprocessing

if TYPE_CHECKING:
    import onnx

    from resnet_desktop.core.models.quantize import Agreement
    from resnet_desktop.core.models.zoo import LoadedModel

logger = logging.getLogger(__name__)

FORMATS = spec.EXPORT_FORMATS
PRECISIONS = spec.EXPORT_PRECISIONS
#: ``metadata_props`` key that marks a file as ours (its value is the metadata format version).
FORMAT_KEY = "resnet_desktop.format"
INPUT_DESCRIPTION = (
    "float32 NCHW RGB, scaled to [0, 1], resized (shorter side resize_size) and centre-cropped to "
    "crop_size, normalised with mean/std; outputs: logits (N, classes), embedding (N, features)"
)
Progress = Callable[[str], None]


def metadata(loaded: LoadedModel, precision: str) -> dict[str, str]:
    """What a consumer needs to use the file without us: preprocessing, class names, provenance."""
    return {
        FORMAT_KEY: "1",
        "arch": loaded.arch,
        "class_names": json.dumps(list(loaded.categories), ensure_ascii=False),
        "preprocessing": json.dumps(loaded.preprocessing.to_dict()),
        "precision": precision,
        "input": INPUT_DESCRIPTION,
        "source": loaded.source,
        "exporter": exporter_version(),
        "app_version": __version__,
    }


def set_metadata(model: onnx.ModelProto, props: dict[str, str]) -> None:
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name = "resnet-desktop"
    model.producer_version = __version__


@dataclass(frozen=True)
class OnnxInfo:
    """What an exported file says about itself (read back from ``metadata_props``)."""

    path: Path
    arch: str
    class_names: list[str]
    preprocessing: Preprocessing
    precision: str
    metadata: dict[str, str]


def load_onnx(path: str | Path) -> onnx.ModelProto:
    """Parse and check an ONNX file; a corrupt or truncated one is refused with a plain message."""
    import onnx

    path = Path(path)
    try:
        model = onnx.load_model_from_string(path.read_bytes())
        onnx.checker.check_model(model)
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such file") from None
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{path}: not a valid ONNX model (corrupt or truncated?): {first[:200]}") from exc
    return model


def read_onnx_info(path: str | Path) -> OnnxInfo:
    """Read an exported file's metadata back, refusing files that are not ours or are damaged."""
    path = Path(path)
    props = {p.key: p.value for p in load_onnx(path).metadata_props}
    if FORMAT_KEY not in props:
        raise WeightsError(f"{path}: an ONNX model, but not one exported by ResNet Desktop (no {FORMAT_KEY})")
    try:
        names = json.loads(props["class_names"])
        preprocessing = Preprocessing.from_dict(json.loads(props["preprocessing"]), source=str(path))
    except (KeyError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: the embedded metadata is incomplete or damaged ({exc})") from exc
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise WeightsError(f"{path}: the embedded class names are not a list of names")
    return OnnxInfo(
        path=path,
        arch=props.get("arch", ""),
        class_names=names,
        preprocessing=preprocessing,
        precision=props.get("precision", "fp32"),
        metadata=props,
    )


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    precision: str
    size_bytes: int
    agreement: Agreement
    #: int8 only: the quality gate on the person's photos (what decided that the file was written).
    gate: GateResult | None = None

    def verified(self) -> str:
        """How the file was verified, in one line (the gate's figure for int8)."""
        return self.gate.summary() if self.gate is not None else self.agreement.summary()


def _check_choice(value: str, choices: Sequence[str], what: str) -> None:
    if value not in choices:
        raise SettingsError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")


def build_onnx(
    loaded: LoadedModel,
    precision: str = "fp32",
    *,
    calibration: Sequence[Path] | None = None,
    fp32: bytes | None = None,
    recipe: int8_recipes.Recipe = int8_recipes.DEFAULT_RECIPE,
) -> bytes:
    """The serialized ONNX file (metadata included) for ``precision``, not yet verified."""
    import onnx

    _check_choice(precision, PRECISIONS, "precision")
    data = fp32 if fp32 is not None else onnx_bytes(loaded.model, loaded.preprocessing.crop_size)
    if precision != "fp32":
        data = quantize.convert(data, precision, loaded.preprocessing, calibration=calibration, recipe=recipe)
    model = onnx.load_model_from_string(data)
    set_metadata(model, metadata(loaded, precision))
    return bytes(model.SerializeToString())


def torchscript_bytes(loaded: LoadedModel) -> bytes:
    """A traced TorchScript file (same two outputs) with the metadata as an extra file."""
    module = graph_module(loaded.model)
    crop = loaded.preprocessing.crop_size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript is in maintenance mode and says so
        traced = torch.jit.trace(module, torch.zeros((1, 3, crop, crop)))
        buffer = io.BytesIO()
        extra = {"resnet_desktop.json": json.dumps(metadata(loaded, "fp32"))}
        torch.jit.save(traced, buffer, _extra_files=extra)
    return buffer.getvalue()


def export_model(
    loaded: LoadedModel,
    output: str | Path,
    *,
    format: str = "onnx",
    precision: str = "fp32",
    photos: PhotoSet | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Export, verify against PyTorch, and only then write ``output`` atomically.

    int8 calibrates on ``photos.calibration`` (static) and must pass the quality gate on
    ``photos.verification`` (at least ``gate.MIN_PHOTOS`` of the person's photos). Raises
    ``ExportError`` with the figures when the file does not match PyTorch within the bound or fails
    the gate (nothing is written), ``OutputError`` when ``output`` cannot be written.
    """
    _check_choice(format, FORMATS, "format")
    _check_choice(precision, PRECISIONS, "precision")
    if format == "torchscript" and precision != "fp32":
        raise SettingsError("TorchScript export is fp32 only; use --format onnx for fp16/int8")
    output = Path(output)
    check_writable(output, overwrite=overwrite)  # refuse before the slow part
    int8 = precision.startswith("int8")
    if int8:
        photos = int8_photos(precision, photos)
    say: Progress = progress or (lambda _message: None)
    say(f"Exporting {loaded.arch} to {format} ({precision})…")
    calibration = photos.calibration if int8 and photos is not None else None
    fp32 = onnx_bytes(loaded.model, loaded.preprocessing.crop_size) if format == "onnx" else None

    def build_checked(recipe: int8_recipes.Recipe) -> tuple[bytes, Agreement]:
        data = (
            torchscript_bytes(loaded)
            if format == "torchscript"
            else build_onnx(loaded, precision, calibration=calibration, fp32=fp32, recipe=recipe)
        )
        say("Verifying against PyTorch on the sample photos…")
        inputs = quantize.verification_inputs(loaded.preprocessing)
        agreement = quantize.agreement(loaded, data, inputs, precision=precision, format=format)
        if not agreement.passed:
            summary = agreement.summary()
            raise ExportError(f"The exported model does not match PyTorch, so it was not written: {summary}")
        return data, agreement

    result = None
    if int8 and photos is not None:
        gated = photos

        def attempt(recipe: int8_recipes.Recipe) -> tuple[tuple[bytes, Agreement], GateResult]:
            built = build_checked(recipe)
            say(f"Checking the int8 model against PyTorch on {len(gated.verification)} of your photos…")
            return built, quantize.gate_file(loaded, built[0], gated)

        # int8-static tries the recipes in order, as Fast Mode does: the first the gate passes is written.
        recipes = int8_recipes.RECIPES if precision == "int8-static" else int8_recipes.RECIPES[:1]
        (data, agreement), result = int8_recipes.first_passing(recipes, attempt, say)
        if not result.passed:
            raise ExportError(f"The int8 model would change answers, so it was not written: {result.summary()}")
    else:
        data, agreement = build_checked(int8_recipes.DEFAULT_RECIPE)
    written = write_bytes(output, data, overwrite=overwrite)
    verified = result.summary() if result is not None else agreement.summary()
    logger.info("exported %s to %s (%d bytes): %s", loaded.arch, written, len(data), verified)
    return ExportResult(written, format, precision, len(data), agreement, result)


def int8_photos(precision: str, photos: PhotoSet | None) -> PhotoSet:
    """The photos an int8 export calibrates and verifies on, refused when there are too few to verify.

    Dynamic int8 calibrates on nothing, so every photo verifies it.
    """
    if photos is not None and precision == "int8-dynamic":
        every = [*photos.calibration, *photos.verification]
        photos = PhotoSet([], every[:MAX_VERIFICATION], None)  # labels: only the static split keeps them
    found = len(photos.verification) if photos is not None else 0
    if found < MIN_PHOTOS:
        raise ExportError(
            f"The int8 model cannot be verified, so it was not written: it needs at least {MIN_PHOTOS} of your "
            f"photos that were not used to calibrate it ({found} available); give a folder of your photos "
            "(export --calibration FOLDER)"
        )
    assert photos is not None
    return photos


def info_dict(result: ExportResult) -> dict[str, Any]:
    """The export's figures as JSON-ready values (CLI ``--json``, the GUI's status line)."""
    return {
        "path": str(result.path),
        "format": result.format,
        "precision": result.precision,
        "size_bytes": result.size_bytes,
        **result.agreement.to_dict(),
        "gate": result.gate.to_dict() if result.gate is not None else None,
    }
