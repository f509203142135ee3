"""fp16 / int8 variants of an exported graph, and how closely any exported file agrees with PyTorch.

int8 uses ONNX Runtime's own quantisation tools: dynamic (weights only, no data needed) or static
(QDQ, per-channel weights, activations calibrated on the bundled sample photos or a person's
folder). The agreement is measured, never assumed: fp32 must keep every top-1 and stay within
``FP32_BOUND`` of PyTorch's logits; reduced precisions must keep top-5 sets overlapping by at
least ``MIN_TOP5_OVERLAP`` of 5 on average.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from resnet_desktop.core.atomic import scratch_folder
from resnet_desktop.core.errors import ExportError, ImageError, WeightsError
from resnet_desktop.core.models.graph import INPUT_NAME, LOGITS_NAME, graph_module

if TYPE_CHECKING:
    import onnx
    import onnxruntime

    from resnet_desktop.core.models.spec import Preprocessing
    from resnet_desktop.core.models.zoo import LoadedModel

FP32_BOUND = 1e-3
MIN_TOP5_OVERLAP = 4.0
#: Bumped when the fp16/int8 recipe changes (part of the engine's graph cache key).
RECIPE_VERSION = 2
RANDOM_INPUTS = 2
RANDOM_SEED = 0
#: Calibration images for static int8: more barely moves the ranges, and each costs a forward.
MAX_CALIBRATION_IMAGES = 64


def require_onnxruntime() -> Any:
    """The ``onnxruntime`` module, or a plain error saying how to get it."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ExportError("ONNX Runtime is not installed; install it with: pip install 'resnet-desktop[onnx]'") from exc
    return onnxruntime


def session(
    data: bytes | str | Path, *, threads: int | None = None, spin: bool = False
) -> onnxruntime.InferenceSession:
    """A CPU session. ``threads`` intra-op threads; no spinning, so idle pool threads leave the
    cores to the decode threads between batches."""
    ort = require_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    options.log_severity_level = 3  # warnings about unused initializers are noise for a person
    source = data if isinstance(data, bytes) else str(data)
    try:
        return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        where = "" if isinstance(data, bytes) else f"{data}: "
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{where}ONNX Runtime cannot run this model: {first}") from exc


def _reference_tensor(path: Path, preprocessing: Preprocessing) -> torch.Tensor:
    from resnet_desktop.core.images import open_image

    image = open_image(path)
    return preprocessing.reference_transforms()(image)


def verification_inputs(
    preprocessing: Preprocessing, photos: Sequence[Path] | None = None, random_count: int = RANDOM_INPUTS
) -> torch.Tensor:
    """The bundled sample photos (torchvision's reference transform) plus a few seeded random images."""
    from torchvision.transforms import functional as F

    from resnet_desktop.resources import sample_images

    tensors = [_reference_tensor(p, preprocessing) for p in (photos if photos is not None else sample_images())]
    generator = torch.Generator().manual_seed(RANDOM_SEED)
    crop = preprocessing.crop_size
    for _ in range(random_count):
        pixels = torch.rand((3, crop, crop), generator=generator)  # uniform noise in pixel space
        tensors.append(F.normalize(pixels, list(preprocessing.mean), list(preprocessing.std)))
    return torch.stack(tensors)


def calibration_images(folder: str | Path | None) -> list[Path]:
    """Images for static int8 calibration: a folder (first ``MAX_CALIBRATION_IMAGES``) or the samples."""
    from resnet_desktop.core.images import discover
    from resnet_desktop.resources import sample_images

    if folder is None:
        return sample_images()
    found: list[Path] = []
    for path in discover([Path(folder)]):
        found.append(path)
        if len(found) >= MAX_CALIBRATION_IMAGES:
            break
    if not found:
        raise ExportError(f"{folder}: no images found to calibrate the int8 model with")
    return found


@dataclass(frozen=True)
class Agreement:
    """How an exported file's logits compare with PyTorch's on the same inputs."""

    precision: str
    inputs: int
    top1_equal: int
    top5_overlap_mean: float
    top5_overlap_min: int
    max_abs_diff: float
    passed: bool

    @property
    def rule(self) -> str:
        if self.precision == "fp32":
            return f"every top-1 equal and max |logit diff| <= {FP32_BOUND:g}"
        return f"mean top-5 overlap >= {MIN_TOP5_OVERLAP:g}/5"

    def summary(self) -> str:
        return (
            f"top-1 equal on {self.top1_equal}/{self.inputs} inputs, top-5 overlap {self.top5_overlap_mean:.2f}/5 "
            f"(min {self.top5_overlap_min}), max |logit diff| {self.max_abs_diff:.2e} "
            f"[{self.precision}: needs {self.rule}]"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rule": self.rule}


def compare(reference: torch.Tensor, candidate: torch.Tensor, precision: str) -> Agreement:
    """Top-1 / top-5 agreement and the largest logit difference between two ``(N, classes)`` arrays."""
    k = min(5, reference.shape[1])
    ref5, cand5 = reference.topk(k, dim=1).indices, candidate.topk(k, dim=1).indices
    overlaps = [len(set(a.tolist()) & set(b.tolist())) for a, b in zip(ref5, cand5, strict=True)]
    top1 = int((ref5[:, 0] == cand5[:, 0]).sum())
    diff = float((reference - candidate).abs().max()) if reference.numel() else 0.0
    mean_overlap = sum(overlaps) / len(overlaps) * (5 / k) if overlaps else 0.0
    n = reference.shape[0]
    if precision == "fp32":
        passed = top1 == n and diff <= FP32_BOUND
    else:
        passed = mean_overlap >= MIN_TOP5_OVERLAP
    return Agreement(precision, n, top1, mean_overlap, min(overlaps, default=0), diff, passed)


def torch_logits(loaded: LoadedModel, inputs: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return graph_module(loaded.model)(inputs)[0].float()


def run_file(data: bytes, inputs: torch.Tensor, *, format: str = "onnx") -> torch.Tensor:
    """Logits of a serialized export on ``inputs`` (run by ONNX Runtime, or torch for TorchScript)."""
    if format == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(io.BytesIO(data), map_location="cpu")
        with torch.inference_mode():
            return module(inputs)[0].float()
    sess = session(data)
    (logits,) = sess.run([LOGITS_NAME], {INPUT_NAME: inputs.contiguous().numpy()})
    return torch.from_numpy(np.asarray(logits, dtype=np.float32))


def agreement(
    loaded: LoadedModel, data: bytes, inputs: torch.Tensor, *, precision: str, format: str = "onnx"
) -> Agreement:
    return compare(torch_logits(loaded, inputs), run_file(data, inputs, format=format), precision)


class _Calibration:
    """ONNX Runtime's CalibrationDataReader over images, one at a time (bounded memory)."""

    def __init__(self, paths: Sequence[Path], preprocessing: Preprocessing) -> None:
        self._items = self._tensors(paths, preprocessing)

    @staticmethod
    def _tensors(paths: Sequence[Path], preprocessing: Preprocessing) -> Iterator[dict[str, np.ndarray]]:
        for path in paths:
            try:
                x = _reference_tensor(path, preprocessing)
            except ImageError:
                continue  # an unreadable calibration image is skipped, the rest still calibrate
            yield {INPUT_NAME: x[None].numpy()}

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._items, None)


class _FromOnnxRuntime(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname


@contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """ORT's quantiser logs advice for developers on the root logger; a person need not see it."""
    root = logging.getLogger()
    quiet = _FromOnnxRuntime()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


def _sort_nodes(graph: onnx.GraphProto) -> None:
    """Order ``graph``'s nodes so that each comes after the nodes producing its inputs."""
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        runnable = [n for n in pending if all(i in ready for i in n.input)]
        if not runnable:
            raise ExportError("the converted graph has a cycle or an input nothing produces")
        for node in runnable:
            ordered.append(node)
            ready.update(node.output)
        pending = [n for n in pending if not any(n is r for r in runnable)]
    copies = [type(n)() for n in ordered]
    for copy_, node in zip(copies, ordered, strict=True):
        copy_.CopyFrom(node)
    del graph.node[:]
    graph.node.extend(copies)


def convert(
    data: bytes, precision: str, preprocessing: Preprocessing, *, calibration: Sequence[Path] | None = None
) -> bytes:
    """The fp16 or int8 version of an fp32 graph (metadata is set afterwards by the caller)."""
    import onnx

    require_onnxruntime()
    if precision == "fp16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = convert_float_to_float16(onnx.load_model_from_string(data), keep_io_types=True)
        _sort_nodes(model.graph)  # the converter appends its input casts last; the ONNX checker wants order
        return bytes(model.SerializeToString())
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with scratch_folder("resnet-desktop-quant-") as tmp, _quiet_quantizer():
        raw, source, target = Path(tmp) / "raw.onnx", Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        raw.write_bytes(data)  # scratch files of ours, deleted with the folder
        # Shape inference + constant folding first: without it the exporter's folded BatchNorm
        # biases are not initializers, those convs stay fp32, and int8 ran at ~0.6x fp32 here.
        quant_pre_process(raw, source, skip_symbolic_shape=True)
        if precision == "int8-dynamic":
            # ConvInteger has CPU kernels for uint8 weights only.
            quantize_dynamic(source, target, weight_type=QuantType.QUInt8)
        elif precision == "int8-static":
            reader = _Calibration(calibration or calibration_images(None), preprocessing)
            quantize_static(
                source,
                target,
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
        else:
            raise ExportError(f"unknown precision {precision!r}")
        return target.read_bytes()
