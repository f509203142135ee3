"""Turn a frozen CUDA-torch bundle into a CPU-only one by replacing the NVIDIA libraries with stubs.

Why: ``import torch`` (CUDA wheel) loads ``libtorch_cuda.so``, whose NEEDED list names a dozen
NVIDIA libraries (~2.9 GB), so a bundle cannot simply leave them out. A stub is a tiny shared
library with the same soname and symbol versions that defines every symbol the bundle imports
from the real one: functions return an error status (error-string functions return a message),
data objects are zero-filled. The dynamic linker is satisfied, and nothing calls the stubs on a CPU
path: ``cudaGetDeviceCount`` reports an error, so torch sees no GPU and never touches the rest.
Libraries that are only ``dlopen``-ed for GPU work (cuDNN's engines, cuSOLVER, NVRTC builtins,
nvJitLink) are removed.

The result is proven the same way as the full build: by running the frozen ``--self-test``.
Linux only; needs ``readelf`` (binutils) and a C compiler (``cc``).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from resnet_desktop.bundle import CPU_ONLY_MARKER

logger = logging.getLogger(__name__)

# Libraries replaced by stubs (they are NEEDED by torch / torchvision libraries).
STUBBED = (
    "libcudart.so.13",
    "libcublas.so.13",
    "libcublasLt.so.13",
    "libcudnn.so.9",
    "libcufft.so.12",
    "libcurand.so.10",
    "libcusparse.so.12",
    "libcusparseLt.so.0",
    "libnccl.so.2",
    "libcufile.so.0",
    "libnvshmem_host.so.3",
    "libnvrtc.so.13",
    "libcupti.so.13",
)
# Libraries only loaded (dlopen) for GPU work: removed outright.
REMOVED = (
    "libcudnn_*.so*",
    "libnvrtc-builtins*.so*",
    "libcusolver.so*",
    "libtorch_cuda_linalg.so",
    "libnvJitLink.so*",
)
# Only the libraries' own C APIs are stubbed. Some (libcufile) also export a statically linked
# copy of libstdc++; defining those in a stub would hijack every C++ library in the process.
API_SYMBOL = re.compile(r"^(cu|nccl|nvshmem|nvrtc|CUpti|__cuda)")
ERROR_STATUS = 100  # nonzero = failure for every CUDA-family API (cudaErrorNoDevice for cudart)
_ERROR_TEXT_FUNCTION = re.compile(r"(Error|Status)(String|Name)$|ErrorString|GetErrorName")
_SYMBOL_LINE = re.compile(
    r"^\s*\d+:\s+[0-9a-f]+\s+(?P<size>\d+|0x[0-9a-f]+)\s+(?P<type>\w+)\s+(?P<bind>\w+)\s+\w+\s+(?P<ndx>\w+)\s+(?P<name>\S+)"
)


@dataclass(frozen=True)
class Symbol:
    """One dynamic symbol: its version ('' when unversioned), ELF type and size."""

    name: str
    version: str
    kind: str
    size: int


def _readelf_symbols(path: Path) -> list[tuple[str, str, str, int, bool]]:
    """(name, version, type, size, defined) for each dynamic symbol of ``path``."""
    text = subprocess.run(["readelf", "--dyn-syms", "-W", str(path)], check=True, capture_output=True, text=True).stdout
    symbols = []
    for line in text.splitlines():
        match = _SYMBOL_LINE.match(line)
        if not match:
            continue
        raw = match["name"]
        name, _, version = raw.replace("@@", "@").partition("@")
        version = re.sub(r"\s*\(\d+\)$", "", version)
        size = int(match["size"], 0)
        if match["ndx"] == "ABS":  # version-node markers, not real symbols
            continue
        symbols.append((name, version, match["type"], size, match["ndx"] != "UND"))
    return symbols


def exported_symbols(library: Path) -> dict[str, Symbol]:
    """The functions and objects ``library`` defines, by name."""
    exported = {}
    for name, version, kind, size, defined in _readelf_symbols(library):
        if defined and kind in ("FUNC", "OBJECT", "IFUNC") and name:
            exported[name] = Symbol(name, version, kind, size)
    return exported


def imported_names(libraries: list[Path]) -> set[str]:
    """Every undefined dynamic symbol name across ``libraries``."""
    names: set[str] = set()
    for library in libraries:
        names.update(name for name, _, _, _, defined in _readelf_symbols(library) if not defined and name)
    return names


def stub_source(symbols: list[Symbol], soname: str) -> str:
    """C source defining ``symbols``: failing functions, zero-filled objects."""
    lines = [
        f"/* Generated stub for {soname}: a CPU-only ResNet Desktop build has no CUDA. */",
        f'static const char message[] = "CUDA is not available in this CPU-only build ({soname} is a stub)";',
    ]
    for symbol in sorted(symbols, key=lambda s: s.name):
        if symbol.kind == "OBJECT":
            lines.append(f"char {symbol.name}[{max(symbol.size, 8)}] __attribute__((aligned(16)));")
        elif _ERROR_TEXT_FUNCTION.search(symbol.name):
            lines.append(f"const char *{symbol.name}(void) {{ return message; }}")
        else:
            lines.append(f"long {symbol.name}(void) {{ return {ERROR_STATUS}; }}")
    return "\n".join(lines) + "\n"


def version_script(symbols: list[Symbol], versions: set[str] | None = None) -> str | None:
    """A linker version script giving each symbol the version node it has in the real library.

    ``versions``: every version node the real library defines, so that references to a node are
    satisfied even when no symbol of it is needed.
    """
    by_version: dict[str, list[str]] = defaultdict(list)
    for version in versions or ():
        by_version[version]
    for symbol in symbols:
        by_version[symbol.version].append(symbol.name)
    if set(by_version) == {""}:
        return None
    unversioned = by_version.pop("", [])
    blocks = []
    for index, (version, names) in enumerate(sorted(by_version.items())):
        names = sorted(names + (unversioned if index == 0 else []))
        parts = [f"global: {' '.join(n + ';' for n in names)}"] if names else []
        if index == 0:
            parts.append("local: *;")
        blocks.append(f"{version} {{ {' '.join(parts)} }};")
    return "\n".join(blocks) + "\n"


def build_stub(real: Path, needed: set[str], out: Path, *, cc: str = "cc") -> Path:
    """Compile a stub for ``real`` defining the symbols in ``needed`` that it exports; write ``out``."""
    soname = real.name
    exports = exported_symbols(real)
    symbols = [exports[name] for name in sorted(needed & exports.keys()) if API_SYMBOL.match(name)]
    with tempfile.TemporaryDirectory(prefix="cuda-stub-") as tmp:
        source = Path(tmp) / "stub.c"
        source.write_text(stub_source(symbols, soname), encoding="utf-8")
        command = [cc, "-shared", "-fPIC", "-O0", "-nostdlib", "-o", str(Path(tmp) / soname), str(source),
                   f"-Wl,-soname,{soname}"]  # fmt: skip
        script = version_script(symbols, {s.version for s in exports.values() if s.version})
        if script:
            (Path(tmp) / "stub.map").write_text(script, encoding="utf-8")
            command.append(f"-Wl,--version-script={Path(tmp) / 'stub.map'}")
        subprocess.run(command, check=True)
        fd, partial = tempfile.mkstemp(prefix=f".{soname}.", dir=out.parent)
        os.close(fd)
        os.replace(Path(tmp) / soname, partial)
        os.chmod(partial, 0o755)
        os.replace(partial, out)
    logger.info("stubbed %s: %d symbols", soname, len(symbols))
    return out


_SONAME = re.compile(r"\.so(\.\d+)*$")


def _shared_libraries(root: Path) -> list[Path]:
    """ELF libraries by name (``libx.so``, ``libx.so.12.1``; not ``v0.7.1.some-index.parquet``)."""
    return [p for p in root.rglob("*.so*") if p.is_file() and not p.is_symlink() and _SONAME.search(p.name)]


def make_cpu_only(bundle: Path) -> dict[str, int]:
    """Replace/remove the NVIDIA libraries in ``bundle`` (in place); return bytes saved per library."""
    internal = bundle / "_internal"
    libraries = _shared_libraries(internal)
    targets = {p.name: p for p in libraries if p.name in STUBBED}
    removed = [p for p in libraries if any(p.match(pattern) for pattern in REMOVED)]
    users = [p for p in libraries if p.name not in STUBBED and p not in removed]
    needed = imported_names(users)
    saved: dict[str, int] = {}
    for path in removed:
        saved[path.name] = path.stat().st_size
        path.unlink()
    for name, path in sorted(targets.items()):
        before = path.stat().st_size
        build_stub(path, needed, path)
        saved[name] = before - path.stat().st_size
    (internal / CPU_ONLY_MARKER).write_text(
        "This build runs on the CPU only: the NVIDIA libraries are stubs (packaging/cuda_stubs.py).\n",
        encoding="utf-8",
    )
    return saved
