"""``make package``: build the frozen app (PyInstaller one-folder) and the .debs into dist/.

    .venv/bin/python packaging/build.py [--weights FILE ...] [--no-deb] [--no-cpu-edition] [--reuse-bundle]

Two editions come out of one PyInstaller run:
  dist/resnet-desktop/       CUDA edition (GPU when there is one, else CPU), ~4 GB
  dist/resnet-desktop-cpu/   CPU-only edition: the same bundle with the NVIDIA libraries replaced
                             by stubs (packaging/cuda_stubs.py), ~1.3 GB
and a .deb for each: resnet-desktop_<version>_<arch>.deb and resnet-desktop_<version>+cpu_<arch>.deb.

Weights: ``--weights FILE`` ships FILE in ``<bundle>/weights/`` so the installed app classifies
offline. FILE is either a torchvision ResNet file under its published name (e.g.
``resnet50-11ad3fa6.pth``, as found in the torch hub cache) or one of our fine-tuned model files
(``.safetensors`` with its ``.json`` sidecar). Without ``--weights``, the default model's file is
taken from the torch hub cache when it is there; otherwise nothing is bundled and the app
downloads weights on first use as usual. Every file is loaded (safely) and checked before it is
bundled, so a broken or mismatched file fails the build, not the user's first run.

PyInstaller runs at a lower CPU priority (nice 10) so a build does not starve other work.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

PACKAGING_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGING_DIR.parent
SPEC = PACKAGING_DIR / "resnet_desktop.spec"
APP_NAME = "resnet-desktop"
CPU_EDITION = f"{APP_NAME}-cpu"
WEIGHTS_ENV = "RESNET_DESKTOP_BUNDLE_WEIGHTS"
NICE = 10


class BuildError(Exception):
    """A problem the person running the build can fix; the message says how."""


@dataclass(frozen=True)
class BundledWeights:
    """Files to ship for one weights choice, and what they are (for the build summary)."""

    files: tuple[Path, ...]
    description: str


def _torchvision_files() -> dict[str, object]:
    """torchvision ResNet weight files by published file name -> WeightsInfo."""
    from resnet_desktop.core.models import zoo

    return {Path(info.url).name: info for info in zoo.list_weights()}


def check_weights(path: Path) -> BundledWeights:
    """Check that ``path`` is something the app can load offline; raise BuildError naming it if not."""
    from resnet_desktop.core.errors import ResNetDesktopError
    from resnet_desktop.core.models import modelfile, weights, zoo

    path = path.expanduser().resolve()
    if path.suffix == ".json":
        path = path.with_suffix(".safetensors")
    if not path.is_file():
        raise BuildError(f"{path}: no such weights file")
    try:
        if modelfile.is_model_file(path):
            loaded = zoo.load_model(zoo.DEFAULT_ARCH, path)
            return BundledWeights((path, modelfile.sidecar_path(path)), f"model file {path.name}: {loaded.source}")
        info = _torchvision_files().get(path.name)
        if info is None:
            raise BuildError(
                f"{path}: not a torchvision ResNet weights file name (e.g. resnet50-11ad3fa6.pth) and not a "
                "ResNet Desktop model file (.safetensors + .json sidecar). Bundle the file under the name "
                "torchvision publishes it with, or fine-tune and save a model file."
            )
        model = zoo.build_model(info.arch, len(info.categories))
        weights.apply_state_dict(model, weights.load_state_dict(path), source=path)
    except ResNetDesktopError as exc:
        raise BuildError(str(exc)) from exc
    return BundledWeights((path,), f"torchvision {info.arch} {info.name} ({path.name})")


def default_weights_from_hub_cache() -> Path | None:
    """The default model's file in the torch hub cache, if a previous run downloaded it."""
    from resnet_desktop.core.models import weights, zoo

    info = zoo.get_weights_info(zoo.DEFAULT_ARCH, zoo.DEFAULT_WEIGHTS)
    path = weights.cache_path_for(info.url)
    return path if path.is_file() else None


def run_pyinstaller(dist: Path, work: Path, weight_files: tuple[Path, ...], *, nice: bool = True) -> Path:
    """Run PyInstaller on the spec; return the bundle folder."""
    env = dict(os.environ)
    env[WEIGHTS_ENV] = os.pathsep.join(str(p) for p in weight_files)
    command = [
        sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
        "--distpath", str(dist), "--workpath", str(work), str(SPEC),
    ]  # fmt: skip
    preexec = (lambda: os.nice(NICE)) if nice and hasattr(os, "nice") else None
    subprocess.run(command, check=True, env=env, cwd=REPO_ROOT, preexec_fn=preexec)
    bundle = dist / APP_NAME
    if not bundle.is_dir():
        raise BuildError(f"PyInstaller finished but {bundle} is missing")
    return bundle


def make_cpu_edition(bundle: Path, target: Path) -> Path:
    """Copy ``bundle`` to ``target`` (hard links: instant, no extra disk) and stub out CUDA there.

    The stubs replace files by rename, so the CUDA edition's files (shared inodes) stay untouched.
    """
    from build_deb import _link_or_copy
    from cuda_stubs import make_cpu_only

    if target.exists():
        shutil.rmtree(target)  # our own previous build output
    shutil.copytree(bundle, target, symlinks=True, copy_function=_link_or_copy)
    make_cpu_only(target)
    return target


def folder_size(path: Path) -> int:
    """Bytes in regular files under ``path`` (symlinks not followed)."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the frozen app and its installer into dist/.")
    parser.add_argument(
        "--weights",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="weights to bundle (repeatable); default: the default model from the torch hub cache",
    )
    parser.add_argument("--no-hub-cache", action="store_true", help="do not bundle weights from the torch hub cache")
    parser.add_argument("--dist", type=Path, default=REPO_ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument(
        "--work",
        type=Path,
        default=REPO_ROOT / "build" / "pyinstaller",
        help="PyInstaller work folder (default: build/pyinstaller)",
    )
    parser.add_argument("--no-deb", action="store_true", help="build the bundle(s) only")
    parser.add_argument("--no-cpu-edition", action="store_true", help="skip the CPU-only edition")
    parser.add_argument("--reuse-bundle", action="store_true", help="skip PyInstaller; package the existing bundle")
    parser.add_argument("--no-nice", action="store_true", help="run PyInstaller at normal priority")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.path.insert(0, str(REPO_ROOT))
    sys.path.insert(0, str(PACKAGING_DIR))
    from build_deb import build_deb

    from resnet_desktop import __version__

    try:
        choices = [check_weights(p) for p in args.weights]
        if not args.weights and not args.no_hub_cache:
            cached = default_weights_from_hub_cache()
            if cached is not None:
                choices.append(check_weights(cached))
        files = tuple(f for choice in choices for f in choice.files)
        for choice in choices:
            print(f"bundling weights: {choice.description}")
        if not choices:
            print("bundling no weights: the app will download them on first use (or use --weights FILE)")

        start = time.perf_counter()
        bundle = args.dist / APP_NAME
        if args.reuse_bundle:
            if not (bundle / APP_NAME).is_file():
                raise BuildError(f"--reuse-bundle: {bundle} has no executable; build without it first")
        else:
            bundle = run_pyinstaller(args.dist, args.work, files, nice=not args.no_nice)
        bundle_s = time.perf_counter() - start
        print(f"bundle: {bundle} ({folder_size(bundle) / 2**20:.0f} MiB) in {bundle_s:.0f} s")
        editions = [(bundle, __version__)]
        missing = [tool for tool in ("cc", "readelf") if shutil.which(tool) is None]
        if not args.no_cpu_edition and (not sys.platform.startswith("linux") or missing):
            print(f"skipping the CPU-only edition: needs Linux with {', '.join(missing) or 'cc, readelf'}")
        elif not args.no_cpu_edition:
            start = time.perf_counter()
            cpu_bundle = make_cpu_edition(bundle, args.dist / CPU_EDITION)
            print(
                f"bundle: {cpu_bundle} ({folder_size(cpu_bundle) / 2**20:.0f} MiB) "
                f"in {time.perf_counter() - start:.0f} s"
            )
            editions.append((cpu_bundle, f"{__version__}+cpu"))
        if not args.no_deb and shutil.which("dpkg-deb") is None:
            print("skipping the .deb: dpkg-deb is not installed (Debian/Ubuntu: apt-get install dpkg)")
        elif not args.no_deb:
            for edition_bundle, version in editions:
                start = time.perf_counter()
                deb = build_deb(edition_bundle, args.dist, version)
                print(f"deb: {deb} ({deb.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - start:.0f} s")
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
