"""Packaging: the .deb layout and icons (fast), and the real frozen build + installer (slow).

The slow test builds with PyInstaller (minutes), runs the frozen ``--self-test``, builds the .deb,
extracts it with ``dpkg-deb -x`` and runs the self-test from the extracted tree. To reuse a bundle
built earlier (e.g. by ``make package``) set ``RESNET_DESKTOP_TEST_BUNDLE=dist/resnet-desktop``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

PACKAGING = REPO_ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))
import build_deb  # noqa: E402
import bundle_rules  # noqa: E402
import cuda_stubs  # noqa: E402
import make_icons  # noqa: E402

from resnet_desktop import __version__  # noqa: E402

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")
BUNDLE_ENV = "RESNET_DESKTOP_TEST_BUNDLE"


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def _folder_bytes(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _fake_bundle(root: Path) -> Path:
    """A stand-in bundle: an executable script and a data file, enough to check the .deb layout."""
    bundle = root / "resnet-desktop"
    (bundle / "_internal" / "assets").mkdir(parents=True)
    exe = bundle / "resnet-desktop"
    exe.write_text('#!/bin/sh\necho fake app "$@"\n')
    exe.chmod(0o755)
    (bundle / "_internal" / "assets" / "data.txt").write_text("data\n")
    return bundle


@needs_dpkg
def test_deb_layout_control_and_launcher(tmp_path: Path) -> None:
    bundle = _fake_bundle(tmp_path / "dist")
    deb = build_deb.build_deb(bundle, tmp_path / "out", "1.2.3", arch="amd64", compressor="gzip", level=1)
    assert deb.name == "resnet-desktop_1.2.3_amd64.deb"
    assert [p.name for p in deb.parent.iterdir()] == [deb.name]  # no partial file left behind
    assert deb.stat().st_mode & 0o777 == 0o644

    info = subprocess.run(["dpkg-deb", "--field", str(deb)], check=True, capture_output=True, text=True).stdout
    fields = dict(line.split(": ", 1) for line in info.splitlines() if ": " in line and not line.startswith(" "))
    assert fields["Package"] == "resnet-desktop"
    assert fields["Version"] == "1.2.3"
    assert fields["Architecture"] == "amd64"
    assert "libxcb-cursor0" in fields["Depends"]

    root = tmp_path / "x"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    app = root / "opt/resnet-desktop/resnet-desktop"
    assert os.access(app, os.X_OK)
    assert (root / "opt/resnet-desktop/_internal/assets/data.txt").read_text() == "data\n"
    launcher = root / "usr/bin/resnet-desktop"
    assert os.access(launcher, os.X_OK)
    assert 'exec /opt/resnet-desktop/resnet-desktop "$@"' in launcher.read_text()
    desktop = (root / "usr/share/applications/resnet-desktop.desktop").read_text()
    assert "Exec=resnet-desktop" in desktop and "Icon=resnet-desktop" in desktop
    for size in build_deb.ICON_SIZES:
        icon = root / f"usr/share/icons/hicolor/{size}x{size}/apps/resnet-desktop.png"
        from PIL import Image

        with Image.open(icon) as image:
            assert image.size == (size, size)
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], check=True, capture_output=True, text=True).stdout
    assert all(" root/root " in line for line in listing.splitlines())


@needs_dpkg
def test_cpu_edition_deb_says_so(tmp_path: Path) -> None:
    from resnet_desktop.bundle import CPU_ONLY_MARKER

    bundle = _fake_bundle(tmp_path / "dist")
    (bundle / "_internal" / CPU_ONLY_MARKER).write_text("stubs\n")
    deb = build_deb.build_deb(bundle, tmp_path / "out", "1.2.3+cpu", arch="amd64", compressor="gzip", level=1)
    assert deb.name == "resnet-desktop_1.2.3+cpu_amd64.deb"
    description = subprocess.run(
        ["dpkg-deb", "--field", str(deb), "Description"], check=True, capture_output=True, text=True
    ).stdout
    assert description.startswith("Classify, inspect and re-train ResNet image classifiers (CPU-only)")
    assert "never uses a GPU" in description


@needs_dpkg
def test_deb_refuses_a_folder_without_the_app(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty"):
        build_deb.build_deb(tmp_path / "empty", tmp_path / "out", "1.0", arch="amd64")


def test_desktop_entry_is_valid() -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    result = subprocess.run(
        [validator, str(REPO_ROOT / "assets/resnet-desktop.desktop")], capture_output=True, text=True
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_icon_script_writes_every_size_ico_and_icns(tmp_path: Path) -> None:
    from PIL import Image

    written = make_icons.write_icons(tmp_path)
    for size in make_icons.PNG_SIZES:
        with Image.open(tmp_path / f"resnet-desktop-{size}.png") as image:
            assert image.size == (size, size) and image.mode == "RGBA"
            assert image.getpixel((0, 0))[3] < 32  # (nearly) transparent corner: a rounded square
            assert image.getpixel((size // 2, size // 8))[3] == 255
    with Image.open(tmp_path / "resnet-desktop.ico") as ico:
        assert set(ico.info["sizes"]) == {(n, n) for n in make_icons.ICO_SIZES}
    with Image.open(tmp_path / "resnet-desktop.icns") as icns:
        assert icns.format == "ICNS"
    assert len(written) == len(make_icons.PNG_SIZES) + 2
    # The committed icons are what the script draws (regenerate with packaging/make_icons.py).
    for size in (16, 256):
        with (
            Image.open(tmp_path / f"resnet-desktop-{size}.png") as new,
            Image.open(REPO_ROOT / f"assets/icons/resnet-desktop-{size}.png") as committed,
        ):
            assert new.tobytes() == committed.tobytes()


def test_dropped_binaries_match_only_what_they_should() -> None:
    for name in ("nvidia/cu13/lib/libcusolverMg.so.12", "libnvperf_host.so", "nvshmem_transport_ibgda.so.3"):
        assert bundle_rules.is_dropped(name), name
    # Libraries that libtorch_cuda.so lists as NEEDED must stay, or `import torch` fails.
    for name in (
        "libcusolver.so.12",
        "libnvrtc.so.13",
        "libnvrtc-builtins.so.13.0",
        "libcudnn.so.9",
        "libnvshmem_host.so.3",
    ):
        assert not bundle_rules.is_dropped(name), name
    toc = [("a/libcusolverMg.so.12", "/x", "BINARY"), ("a/libcublas.so.13", "/y", "BINARY")]
    assert bundle_rules.filter_toc(toc) == [("a/libcublas.so.13", "/y", "BINARY")]


needs_cc = pytest.mark.skipif(
    shutil.which("cc") is None or shutil.which("readelf") is None, reason="needs a C compiler and readelf"
)


def _compile_library(tmp_path: Path, soname: str, source: str, script: str) -> Path:
    (tmp_path / "real.c").write_text(source)
    (tmp_path / "real.map").write_text(script)
    out = tmp_path / "real" / soname
    out.parent.mkdir()
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-o", str(out), str(tmp_path / "real.c"), f"-Wl,-soname,{soname}",
         f"-Wl,--version-script={tmp_path / 'real.map'}"],
        check=True,
    )  # fmt: skip
    return out


@needs_cc
def test_cuda_stub_keeps_soname_versions_and_api_symbols_only(tmp_path: Path) -> None:
    import ctypes

    real = _compile_library(
        tmp_path,
        "libcufake.so.7",
        "int cuFakeInit(int x) { return 0; }\n"
        'const char *cuFakeGetErrorString(int e) { return "real"; }\n'
        "int cuFakeTable[64];\n"
        "int cuFakeUnused(void) { return 0; }\n"
        "void _ZdlPvm(void *p, unsigned long n) {}\n",  # a statically linked C++ runtime symbol
        "libcufake.so.7 { global: cuFakeInit; cuFakeGetErrorString; cuFakeTable; cuFakeUnused; _ZdlPvm; local: *; };\n",
    )
    needed = {"cuFakeInit", "cuFakeGetErrorString", "cuFakeTable", "_ZdlPvm", "memcpy"}
    stub = cuda_stubs.build_stub(real, needed, tmp_path / "libcufake.so.7")

    exported = cuda_stubs.exported_symbols(stub)
    assert set(exported) == {"cuFakeInit", "cuFakeGetErrorString", "cuFakeTable"}
    assert {s.version for s in exported.values()} == {"libcufake.so.7"}
    assert exported["cuFakeTable"].kind == "OBJECT" and exported["cuFakeTable"].size >= 256
    soname = subprocess.run(["readelf", "-d", str(stub)], check=True, capture_output=True, text=True).stdout
    assert "[libcufake.so.7]" in soname
    assert "NEEDED" not in soname  # a stub depends on nothing

    library = ctypes.CDLL(str(stub))
    assert library.cuFakeInit(0) == cuda_stubs.ERROR_STATUS
    library.cuFakeGetErrorString.restype = ctypes.c_char_p
    assert b"CPU-only" in library.cuFakeGetErrorString(0)


def _self_test(executable: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """Run a frozen app's --self-test with a clean HOME (no torch cache) and no display."""
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update(HOME=str(home), TORCH_HOME=str(home / "torch"), XDG_CACHE_HOME=str(home / "cache"))
    return subprocess.run([str(executable), "--self-test"], env=env, capture_output=True, text=True, timeout=600)


def _deb_round_trip(
    bundle: Path, version: str, tmp_path: Path, label: str
) -> tuple[Path, float, subprocess.CompletedProcess[str]]:
    """Build the .deb of ``bundle``, extract it with dpkg-deb -x, run the extracted app's self-test."""
    start = time.perf_counter()
    deb = build_deb.build_deb(bundle, tmp_path / f"deb-{label}", version, staging_parent=tmp_path)
    seconds = time.perf_counter() - start
    extracted = tmp_path / f"extracted-{label}"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(extracted)], check=True)
    result = _self_test(extracted / "opt/resnet-desktop/resnet-desktop", tmp_path / f"home-{label}")
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(extracted / "opt/resnet-desktop") in result.stdout
    return deb, seconds, result


def _load_build_script() -> object:
    """packaging/build.py by path (a plain ``import build`` could find PyPI's ``build`` package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("resnet_desktop_packaging_build", PACKAGING / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.timeout(3600)
@needs_dpkg
@needs_cc
def test_frozen_app_and_debs_pass_the_self_test(tmp_path: Path) -> None:
    """Build (with bundled weights), self-test the bundle, its .deb, the CPU-only edition and its .deb."""
    build_script = _load_build_script()

    from resnet_desktop.core.models import zoo
    from tests.helpers import save_random_weights

    reuse = os.environ.get(BUNDLE_ENV)
    start = time.perf_counter()
    try:
        if reuse:
            bundle = Path(reuse).resolve()
            assert (bundle / "resnet-desktop").is_file(), f"{BUNDLE_ENV}={reuse}: no resnet-desktop executable there"
            build_note = f"reused {bundle}"
        else:
            # Seeded random weights under torchvision's file name: the build checks and bundles them
            # exactly as it would the real download, and the frozen self-test must load them offline.
            info = zoo.get_weights_info("resnet18", "IMAGENET1K_V1")
            weights = save_random_weights(tmp_path / Path(info.url).name, "resnet18", seed=1)
            dist = tmp_path / "dist"
            subprocess.run(
                [sys.executable, str(PACKAGING / "build.py"), "--no-deb", "--no-cpu-edition", "--weights", str(weights),
                 "--dist", str(dist), "--work", str(tmp_path / "work")],
                check=True, cwd=REPO_ROOT, timeout=3000,
            )  # fmt: skip
            bundle = dist / "resnet-desktop"
            build_note = f"PyInstaller build {time.perf_counter() - start:.0f} s"
        has_weights = (bundle / "_internal" / "weights").is_dir()

        frozen = _self_test(bundle / "resnet-desktop", tmp_path / "home")
        print(frozen.stdout)
        assert frozen.returncode == 0, frozen.stdout + frozen.stderr
        assert "frozen build at" in frozen.stdout and "Self-test passed" in frozen.stdout
        assert ("[bundled]" in frozen.stdout) == has_weights, frozen.stdout
        deb, deb_s, _ = _deb_round_trip(bundle, __version__, tmp_path, "cuda")

        start = time.perf_counter()
        cpu_bundle = build_script.make_cpu_edition(bundle, tmp_path / "cpu" / "resnet-desktop")
        cpu_s = time.perf_counter() - start
        cpu_deb, cpu_deb_s, cpu_run = _deb_round_trip(cpu_bundle, f"{__version__}+cpu", tmp_path, "cpu")
        assert "CPU-only edition" in cpu_run.stdout
        assert "cpu: CPU" in cpu_run.stdout and "cuda:" not in cpu_run.stdout

        if has_weights:  # an install without its weights falls back to generated ones
            app_dir = tmp_path / "extracted-cpu/opt/resnet-desktop"
            shutil.rmtree(app_dir / "_internal" / "weights")
            bare = _self_test(app_dir / "resnet-desktop", tmp_path / "home-bare")
            print(bare.stdout)
            assert bare.returncode == 0, bare.stdout + bare.stderr
            assert "[generated]" in bare.stdout

        print(
            f"\nCUDA edition: bundle {_mib(_folder_bytes(bundle))} ({build_note}), "
            f".deb {_mib(deb.stat().st_size)} (built in {deb_s:.0f} s)"
            f"\nCPU edition:  bundle {_mib(_folder_bytes(cpu_bundle))} (stubbed in {cpu_s:.0f} s), "
            f".deb {_mib(cpu_deb.stat().st_size)} (built in {cpu_deb_s:.0f} s)"
        )
    finally:  # several GB: do not leave them for pytest's tmp-dir retention
        for name in ("dist", "work", "cpu", "deb-cuda", "deb-cpu", "extracted-cuda", "extracted-cpu"):
            shutil.rmtree(tmp_path / name, ignore_errors=True)
