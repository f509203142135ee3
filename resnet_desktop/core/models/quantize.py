"""fp16 / int8 variants of an exported graph, and how closely any exported file agrees with PyTorch.

int8 uses ONNX Runtime's own quantisation tools: dynamic (weights only) or static (``models.int8``'s
recipe, calibrated on the person's own photos). The agreement is measured, never assumed: fp32 must
keep every top-1 and stay within ``FP32_BOUND`` of PyTorch's logits; fp16 must keep top-5 sets
overlapping by at least ``MIN_TOP5_OVERLAP`` of 5 on average; int8 must pass the quality gate
(``models.gate``: top-1 agreement on at least 100 of the person's photos not used for calibration),
checked by :func:`gate_file`; its figures on the sample photos are shown for information only.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from resnet_desktop.core.atomic import scratch_folder
from resnet_desktop.core.errors import ExportError, ImageError
from resnet_desktop.core.models import int8
from resnet_desktop.core.models.gate import GateResult, PhotoSet, judge
from resnet_desktop.core.models.graph import INPUT_NAME, LOGITS_NAME, graph_module
from resnet_desktop.core.models.ort_session import require_onnxruntime as require_onnxruntime
from resnet_desktop.core.models.ort_session import session as session

if TYPE_CHECKING:
    import onnx

    from resnet_desktop.core.models.spec import Preprocessing
    from resnet_desktop.core.models.zoo import LoadedModel

FP32_BOUND = 1e-3
MIN_TOP5_OVERLAP = 4.0
RANDOM_INPUTS = 2
RANDOM_SEED = 0


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
        if self.precision.startswith("int8"):
            return "for information; the gate on your photos decides"
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
    elif precision.startswith("int8"):
        passed = True  # the quality gate (gate_file) decides, on the person's photos
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


def reference_batches(
    paths: Sequence[Path], preprocessing: Preprocessing, batch_size: int = 16
) -> Iterator[tuple[list[int], torch.Tensor]]:
    """Normalised batches of ``paths`` (torchvision's reference transform after a draft-mode open),
    each with the positions it holds; unreadable photos are skipped."""
    from resnet_desktop.core.images import open_image

    draft = 2 * max(preprocessing.resize_size, preprocessing.crop_size)
    transform = preprocessing.reference_transforms()
    positions: list[int] = []
    tensors: list[torch.Tensor] = []
    for position, path in enumerate(paths):
        try:
            tensors.append(transform(open_image(path, draft_size=(draft, draft))))
        except ImageError:
            continue
        positions.append(position)
        if len(tensors) == batch_size:
            yield positions, torch.stack(tensors)
            positions, tensors = [], []
    if tensors:
        yield positions, torch.stack(tensors)


def gate_file(loaded: LoadedModel, data: bytes, photos: PhotoSet) -> GateResult:
    """The quality gate of an int8 file: its top-1 against PyTorch fp32 on the verification photos."""
    sess = session(data)
    module = graph_module(loaded.model)  # one eval copy for every batch
    index = {name: i for i, name in enumerate(loaded.categories)}
    reference: list[int] = []
    candidate: list[int] = []
    labels: list[int | None] = []
    for positions, batch in reference_batches(photos.verification, loaded.preprocessing):
        with torch.inference_mode():
            reference += module(batch)[0].argmax(dim=1).tolist()
        (logits,) = sess.run([LOGITS_NAME], {INPUT_NAME: batch.contiguous().numpy()})
        candidate += np.asarray(logits).argmax(axis=1).tolist()
        if photos.labels is not None:
            labels += [index.get(photos.labels[p] or "") for p in positions]
    labeled = any(label is not None for label in labels)
    return judge(
        reference,
        candidate,
        class_names=loaded.categories,
        labels=labels if labeled else None,
        calibration_photos=len(photos.calibration),
    )


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
    data: bytes,
    precision: str,
    preprocessing: Preprocessing,
    *,
    calibration: Sequence[Path] | None = None,
    recipe: int8.Recipe = int8.DEFAULT_RECIPE,
) -> bytes:
    """The fp16 or int8 version of an fp32 graph (metadata is set afterwards by the caller).

    int8-static calibrates on ``calibration`` (the person's photos) with ``recipe``;
    both int8 kinds keep the classifier layer in fp32.
    """
    import onnx

    require_onnxruntime()
    if precision == "fp16":
        from onnxruntime.transformers.float16 import convert_float_to_float16

        model = convert_float_to_float16(onnx.load_model_from_string(data), keep_io_types=True)
        _sort_nodes(model.graph)  # the converter appends its input casts last; the ONNX checker wants order
        return bytes(model.SerializeToString())
    if precision == "int8-static":
        if not calibration:
            raise ExportError("int8-static needs photos to calibrate on")
        batches = [
            batch[i : i + 1].numpy()
            for _positions, batch in reference_batches(calibration, preprocessing)
            for i in range(batch.shape[0])
        ]
        return int8.quantize(data, batches, recipe)
    if precision != "int8-dynamic":
        raise ExportError(f"unknown precision {precision!r}")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with scratch_folder("resnet-desktop-quant-") as tmp, int8.quiet_quantizer():
        source = int8.preprocessed(data, Path(tmp))
        target = Path(tmp) / "int8.onnx"
        head = [n.name for n in onnx.load(str(source)).graph.node if n.op_type in ("Gemm", "MatMul")]
        # ConvInteger has CPU kernels for uint8 weights only; the classifier layer stays fp32.
        quantize_dynamic(source, target, weight_type=QuantType.QUInt8, nodes_to_exclude=head)
        return target.read_bytes()
