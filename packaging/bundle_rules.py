"""What the frozen app leaves out, and why. Used by ``resnet_desktop.spec``; kept apart so it is testable.

torch's CUDA wheel drags in several GB of NVIDIA libraries. ``import torch`` needs every library
that ``libtorch_cuda.so`` lists as NEEDED (cudart, cublas/cublasLt, cudnn, cufft, curand, cusparse,
cusparseLt, nccl, cufile, nvshmem_host, nvrtc, cupti, ...) even on a machine without a GPU, so those
stay. What goes is what nothing loads at import and the app never uses:

* ``triton`` (~0.9 GB): only for ``torch.compile``; torch checks for it lazily and copes without it.
* NVIDIA libraries that are only ``dlopen``-ed by features the app does not have: multi-GPU
  solvers, profiler metric back-ends, nvshmem's multi-node transports, the ``.alt`` NVRTC variant
  (referenced by nothing but itself), cuFile's RDMA plug-in, the FFTW/BLAS drop-in shims.
* Python packages that are test- or dev-only (scikit-learn, scipy, pytest), GUI toolkits we do not
  use (tkinter), and Qt modules outside QtCore/QtGui/QtWidgets (QML/Quick, WebEngine, 3D, ...).

Each pattern was checked by building, deleting, and running the frozen ``--self-test`` (see
packaging/README.md for the numbers).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import PurePath

# Python modules PyInstaller must not follow.
EXCLUDED_MODULES: tuple[str, ...] = (
    # torch.compile back-end; by far the biggest optional dependency.
    "triton",
    # Optional extras the desktop installer does not ship: a Ray cluster is reached from a
    # pip-installed resnet-desktop[cluster]; without faiss, similar-photo search is exact.
    "ray",
    "pyarrow",
    "faiss",
    # Test / dev-only dependencies of the venv.
    "sklearn",
    "scipy",
    "pytest",
    "_pytest",
    "pytestqt",
    "pluggy",
    "iniconfig",
    "joblib",
    "threadpoolctl",
    "narwhals",
    "setuptools",
    "pkg_resources",
    "pip",
    "PyInstaller",
    "_pyinstaller_hooks_contrib",
    # Other GUI/plot stacks that optional imports would otherwise pull in.
    "tkinter",
    "_tkinter",
    "matplotlib",
    "IPython",
    "pandas",
    "torch.utils.tensorboard",
    "pyqtgraph.examples",
    "pyqtgraph.opengl",
    "pyqtgraph.jupyter",
    "OpenGL",
    # Qt modules the app does not use (PySide6-Essentials ships some of them).
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.QtQuickControls2",
    "PySide6.QtQuickTest",
    "PySide6.QtQuick3D",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtWebEngineQuick",
    "PySide6.QtWebChannel",
    "PySide6.QtWebSockets",
    "PySide6.Qt3DCore",
    "PySide6.Qt3DRender",
    "PySide6.QtMultimedia",
    "PySide6.QtMultimediaWidgets",
    "PySide6.QtCharts",
    "PySide6.QtDataVisualization",
    "PySide6.QtDesigner",
    "PySide6.QtHelp",
    "PySide6.QtUiTools",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "PySide6.QtXml",
    "PySide6.QtNetwork",
    "PySide6.QtConcurrent",
    "PySide6.QtPdf",
    "PySide6.QtPdfWidgets",
    "PySide6.QtBluetooth",
    "PySide6.QtPositioning",
    "PySide6.QtSerialPort",
    "PySide6.QtRemoteObjects",
    "PySide6.QtScxml",
    "PySide6.QtSensors",
    "PySide6.QtStateMachine",
    "PySide6.QtTextToSpeech",
    "PySide6.QtHttpServer",
)

# Binaries (matched on the file name) that nothing in the app loads.
DROPPED_BINARIES: tuple[str, ...] = (
    "libcusolverMg.so*",  # multi-GPU dense solver
    "libnvperf_host.so*",  # CUPTI profiler metrics back-ends
    "libnvperf_target.so*",
    "libpcsamplingutil.so*",  # CUPTI PC sampling
    "libnvrtc.alt.so*",  # alternative NVRTC build, referenced only by itself
    "libnvrtc-builtins.alt.so*",
    "libcufile_rdma.so*",  # GPUDirect Storage over RDMA
    "libcufftw.so*",  # FFTW drop-in API
    "libnvblas.so*",  # BLAS drop-in shim
    "nvshmem_transport_*.so*",  # multi-node transports
    "nvshmem_bootstrap_*.so*",
)


def is_dropped(dest: str, patterns: Iterable[str] = DROPPED_BINARIES) -> bool:
    """True when the file name of ``dest`` (a bundle-relative path) matches a dropped pattern."""
    name = PurePath(dest).name
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def filter_toc(toc: Iterable[tuple[str, str, str]], patterns: Iterable[str] = DROPPED_BINARIES) -> list:
    """PyInstaller TOC entries ``(dest, src, kind)`` without the dropped binaries."""
    patterns = tuple(patterns)
    return [entry for entry in toc if not is_dropped(entry[0], patterns)]
