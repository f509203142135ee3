"""Static int8 graphs made with ONNX Runtime's quantiser, torch-free: the recipe and its knobs.

A ``Recipe`` names every choice that changes the int8 model (per-channel weights, how activation
ranges are calibrated, which layers stay fp32), so each can be measured on its own
(``benchmarks/int8.py``) and the cache key follows it. Calibration data are normalised float32
batches of the person's own photos (``inference.fast`` decodes them). "Keep the layers that lose
most in fp32" is measured, not guessed: each quantised activation's own error (its QuantizeLinear
input against its DequantizeLinear output, on the calibration photos) ranks the convolutions, and
the ``keep_fp32`` worst are excluded from quantisation.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

import numpy as np

from resnet_desktop.core.atomic import scratch_folder
from resnet_desktop.core.errors import ExportError
from resnet_desktop.core.models.backbone import INPUT_NAME
from resnet_desktop.core.models.gate import UNVERIFIABLE, GateResult
from resnet_desktop.core.models.ort_session import require_onnxruntime, session

if TYPE_CHECKING:
    import onnx
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

CALIBRATION_METHODS = ("minmax", "percentile", "entropy")


@dataclass(frozen=True)
class Recipe:
    """How an fp32 graph becomes int8. The defaults are the measured best (docs/PERFORMANCE.md)."""

    per_channel: bool = True
    calibration: str = "percentile"
    percentile: float = 99.999
    #: Symmetric activation ranges (int8) instead of asymmetric uint8.
    symmetric_activations: bool = False
    #: The classifier layer (``fc``, a Gemm) stays fp32 (the ONNX Runtime runner also applies the
    #: model's head in fp32 numpy on the embedding).
    head_fp32: bool = True
    #: This many convolutions whose inputs lose most when quantised stay fp32.
    keep_fp32: int = 0
    #: Quantise only the convolutions' inputs: residual additions, pooling and so the embedding stay fp32.
    conv_only: bool = True
    #: The first convolution (whose input is the normalised photo itself) stays fp32.
    stem_fp32: bool = False

    def tag(self) -> str:
        """A short text that changes whenever the recipe does (part of cache keys)."""
        parts = [
            "pc" if self.per_channel else "pt",
            self.calibration + (f"{self.percentile:g}" if self.calibration == "percentile" else ""),
            "sym" if self.symmetric_activations else "asym",
            "head32" if self.head_fp32 else "head8",
            f"keep{self.keep_fp32}",
            *(["convonly"] if self.conv_only else []),
            *(["stem32"] if self.stem_fp32 else []),
        ]
        return "-".join(parts)

    def with_(self, **changes: object) -> Recipe:
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT_RECIPE = Recipe()
#: The recipes Fast Mode and int8 export try, in order; the first that passes the gate on the person's
#: photos is used. Per-channel weights are the better recipe on most models, but on some hosts and
#: models one class loses just over the gate's 2% with them while per-tensor weights hold (measured on
#: the digits model: benchmarks/int8.py). Each is judged by the same gate on the same photos, which
#: none of them was calibrated on; the second is built only when the first is refused.
RECIPES: tuple[Recipe, ...] = (DEFAULT_RECIPE, DEFAULT_RECIPE.with_(per_channel=False))


T = TypeVar("T")


def first_passing(
    recipes: Sequence[Recipe],
    attempt: Callable[[Recipe], tuple[T, GateResult]],
    say: Callable[[str], object],
) -> tuple[T, GateResult]:
    """``attempt`` each recipe in turn (it builds and gates one int8 model) until the gate passes one or
    says it cannot be verified (more recipes would not change that); when every one is refused, the
    attempt that agreed best. Fast Mode and int8 export both go through here."""
    refused: list[tuple[T, GateResult]] = []
    for index, recipe in enumerate(recipes):
        if index:
            say(f"The int8 model with {describe(recipes[index - 1])} would change answers; trying {describe(recipe)}…")
        value, result = attempt(recipe)
        if result.passed or result.verdict == UNVERIFIABLE:
            return value, result
        refused.append((value, result))
    return max(refused, key=lambda tried: (tried[1].agreement, -tried[1].worst_class_lost))


def describe(recipe: Recipe) -> str:
    """How a person reads a recipe ("per-channel weights", "per-tensor weights, int8 classifier layer")."""
    parts = ["per-channel weights" if recipe.per_channel else "per-tensor weights"]
    if recipe.calibration == "percentile" and recipe.percentile != DEFAULT_RECIPE.percentile:
        parts.append(f"activations cut at the {recipe.percentile:g}th percentile")
    if not recipe.head_fp32:
        parts.append("int8 classifier layer")
    if recipe.keep_fp32:
        parts.append(f"{recipe.keep_fp32} convolutions kept fp32")
    return ", ".join(parts)


class _Reader:
    """ONNX Runtime's CalibrationDataReader over batches already in memory (re-readable)."""

    def __init__(self, batches: Sequence[NDArray[np.float32]]) -> None:
        self._batches = batches
        self._next = iter(batches)

    def get_next(self) -> dict[str, NDArray[np.float32]] | None:
        batch = next(self._next, None)
        return None if batch is None else {INPUT_NAME: batch}

    def rewind(self) -> None:
        self._next = iter(self._batches)


class _FromOnnxRuntime(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname


@contextmanager
def quiet_quantizer() -> Iterator[None]:
    """ORT's quantiser logs advice for developers on the root logger and prints its calibration
    steps on stdout (which is the CLI's output); a person need not see either."""
    root = logging.getLogger()
    quiet = _FromOnnxRuntime()
    root.addFilter(quiet)
    real = sys.stdout
    # Only this thread's prints are dropped: ``redirect_stdout`` swaps stdout for every thread, and
    # the app quantises on a worker while the GUI thread (or the CLI's progress) goes on printing.
    sys.stdout = _SilentIn(threading.get_ident(), real)
    try:
        yield
    finally:
        if isinstance(sys.stdout, _SilentIn):
            sys.stdout = real
        root.removeFilter(quiet)


class _SilentIn(io.TextIOBase):
    """stdout that drops what one thread writes and passes the others' writes on."""

    def __init__(self, thread: int, real: TextIO) -> None:
        super().__init__()
        self._thread, self._real = thread, real

    def write(self, text: str) -> int:
        if threading.get_ident() == self._thread:
            return len(text)
        return self._real.write(text)

    def flush(self) -> None:
        self._real.flush()


def preprocessed(data: bytes, folder: Path) -> Path:
    """The graph after ONNX Runtime's shape inference + constant folding, written in ``folder``.

    Without it the exporter's folded BatchNorm biases are not initializers, those convs stay fp32
    with Q/DQ pairs around them, and int8 ran at ~0.6x fp32 (see docs/PERFORMANCE.md).
    """
    from onnxruntime.quantization.shape_inference import quant_pre_process

    raw, source = folder / "raw.onnx", folder / "fp32.onnx"
    raw.write_bytes(data)  # scratch files of ours, deleted with the folder
    quant_pre_process(raw, source, skip_symbolic_shape=True)
    return source


def _conv_nodes(model: onnx.ModelProto) -> list[str]:
    return [node.name for node in model.graph.node if node.op_type == "Conv"]


def _gemm_nodes(model: onnx.ModelProto) -> list[str]:
    return [node.name for node in model.graph.node if node.op_type in ("Gemm", "MatMul")]


def _quantize(
    source: Path, target: Path, batches: Sequence[NDArray[np.float32]], recipe: Recipe, exclude: list[str]
) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    methods = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }
    if recipe.calibration not in methods:
        raise ExportError(f"unknown calibration {recipe.calibration!r}; choose one of {', '.join(CALIBRATION_METHODS)}")
    extra: dict[str, object] = {"ActivationSymmetric": recipe.symmetric_activations}
    if recipe.calibration == "percentile":
        extra["CalibPercentile"] = recipe.percentile
    quantize_static(
        source,
        target,
        _Reader(batches),
        quant_format=QuantFormat.QDQ,
        per_channel=recipe.per_channel,
        activation_type=QuantType.QInt8 if recipe.symmetric_activations else QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=methods[recipe.calibration],
        nodes_to_exclude=exclude or None,
        op_types_to_quantize=["Conv"] if recipe.conv_only else None,
        extra_options=extra,
    )


def input_losses(fp32: Path, int8: Path, batches: Sequence[NDArray[np.float32]]) -> dict[str, float]:
    """Each convolution's input quantisation error on ``batches``, as a noise-to-signal ratio.

    Both graphs run with the convolutions' inputs as extra outputs: the fp32 graph gives what each
    conv should see, the int8 graph what it sees after its input's Quantize/Dequantize (errors of
    earlier layers included, which is what the conv really gets).
    """
    import onnx

    float_model = onnx.load(str(fp32))
    conv_inputs = {node.name: node.input[0] for node in float_model.graph.node if node.op_type == "Conv"}
    q_model = onnx.load(str(int8))
    # In the QDQ graph a quantised conv reads "<input>_DequantizeLinear_Output"-style tensors; find
    # the tensor each conv (same node name) actually reads.
    q_inputs = {node.name: node.input[0] for node in q_model.graph.node if node.op_type == "Conv"}
    names = [n for n in conv_inputs if n in q_inputs]
    with scratch_folder("resnet-desktop-int8-") as tmp:
        outputs_f = _with_outputs(float_model, [conv_inputs[n] for n in names], Path(tmp) / "f.onnx")
        outputs_q = _with_outputs(q_model, [q_inputs[n] for n in names], Path(tmp) / "q.onnx")
        sf, sq = session(outputs_f), session(outputs_q)
        noise = dict.fromkeys(names, 0.0)
        signal = dict.fromkeys(names, 0.0)
        for batch in batches:
            ref = sf.run([conv_inputs[n] for n in names], {INPUT_NAME: batch})
            got = sq.run([q_inputs[n] for n in names], {INPUT_NAME: batch})
            for name, a, b in zip(names, ref, got, strict=True):
                a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
                noise[name] += float(((a64 - b64) ** 2).sum())
                signal[name] += float((a64**2).sum())
    return {n: noise[n] / signal[n] if signal[n] > 0 else 0.0 for n in names}


def _with_outputs(model: onnx.ModelProto, tensors: list[str], path: Path) -> Path:
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    existing = {o.name for o in copy.graph.output}
    for name in tensors:
        if name not in existing:
            copy.graph.output.append(onnx.ValueInfoProto(name=name))
            existing.add(name)
    onnx.save(copy, str(path))
    return path


def quantize(data: bytes, batches: Sequence[NDArray[np.float32]], recipe: Recipe = DEFAULT_RECIPE) -> bytes:
    """The int8 (QDQ) version of an fp32 graph, calibrated on ``batches`` (normalised float32 NCHW)."""
    import onnx

    require_onnxruntime()
    if not batches:
        raise ExportError("no calibration photos could be read to build the int8 model")
    with scratch_folder("resnet-desktop-quant-") as tmp, quiet_quantizer():
        folder = Path(tmp)
        source = preprocessed(data, folder)
        model = onnx.load(str(source))
        exclude = _gemm_nodes(model) if recipe.head_fp32 else []
        if recipe.stem_fp32:
            exclude += _conv_nodes(model)[:1]
        target = folder / "int8.onnx"
        _quantize(source, target, batches, recipe, exclude)
        if recipe.keep_fp32 > 0:
            losses = input_losses(source, target, batches)
            worst = sorted(losses, key=lambda name: losses[name], reverse=True)[: recipe.keep_fp32]
            logger.info("int8: keeping fp32 %s (input noise/signal %s)", worst, [f"{losses[n]:.2e}" for n in worst])
            _quantize(source, target, batches, recipe, exclude + worst)
        return target.read_bytes()
