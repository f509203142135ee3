"""The import graph promised in ARCHITECTURE.md: light top level, Qt-free core."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_top_level_imports_neither_torch_nor_qt() -> None:
    loaded = _modules_after("import resnet_desktop, resnet_desktop.cli")
    assert "torch" not in loaded
    assert not any(m.startswith("PySide6") for m in loaded)


@pytest.mark.parametrize(
    "module",
    ["resnet_desktop.core", "resnet_desktop.core.errors", "resnet_desktop.core.devices"],
)
def test_core_never_imports_qt(module: str) -> None:
    loaded = _modules_after(f"import {module}")
    assert not any(m.startswith("PySide6") or m.startswith("shiboken") for m in loaded), module


def test_every_core_module_is_qt_free() -> None:
    import pkgutil

    import resnet_desktop.core as core

    names = [m.name for m in pkgutil.walk_packages(core.__path__, prefix="resnet_desktop.core.")]
    assert "resnet_desktop.core.inference.engine" in names and len(names) > 20
    loaded = _modules_after("; ".join(f"import {n}" for n in names))
    assert not any(m.startswith("PySide6") for m in loaded), names


@pytest.mark.parametrize(
    "module",
    ["resnet_desktop.core.models.spec", "resnet_desktop.core.inference.records", "resnet_desktop.core.atomic"],
)
def test_names_records_and_the_writer_import_no_torch(module: str) -> None:
    """The GUI thread and --help use these before torch is imported."""
    loaded = _modules_after(f"import {module}")
    assert "torch" not in loaded and "torchvision" not in loaded, module
