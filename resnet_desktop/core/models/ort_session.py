"""ONNX Runtime sessions on the CPU, torch-free (the runner, the int8 builder and the exporter's checks)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_desktop.core.errors import ExportError, WeightsError

if TYPE_CHECKING:
    import onnxruntime


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
    cores to the decode threads between batches. A missing file raises ``FileNotFoundError``."""
    ort = require_onnxruntime()
    if not isinstance(data, bytes) and not Path(data).is_file():
        raise FileNotFoundError(str(data))
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
