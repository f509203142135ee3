"""The ``--self-test``: it passes on a working install, and it really fails (and says why) otherwise."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from resnet_desktop import bundle, selftest
from tests.helpers import REPO_ROOT, save_random_weights

STEP_NAMES = [name for name, _ in selftest.STEPS]


def _run(args: list[str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)  # the self-test must set it itself
    return subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_self_test_passes_from_the_venv_without_the_modules_the_bundle_leaves_out() -> None:
    """``python -m resnet_desktop --self-test`` exits 0 with every step PASS, run exactly like that but
    with the modules the frozen app leaves out (triton, scipy, sklearn, ...) made unimportable: the
    app must not need them, and this finds out in seconds instead of after a 5-minute build."""
    sys.path.insert(0, str(REPO_ROOT / "packaging"))
    try:
        from bundle_rules import EXCLUDED_MODULES
    finally:
        sys.path.remove(str(REPO_ROOT / "packaging"))
    script = textwrap.dedent(
        f"""
        import runpy, sys
        # None in sys.modules is how "this module does not exist" looks to import and find_spec.
        for name in {list(EXCLUDED_MODULES)!r}:
            sys.modules[name] = None
        sys.argv = ["resnet_desktop", "--self-test"]
        runpy.run_module("resnet_desktop", run_name="__main__", alter_sys=True)
        """
    )
    result = _run([sys.executable, "-c", script])
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in STEP_NAMES:
        assert any(line.startswith("PASS") and f"  {name}  " in line for line in lines), (name, result.stdout)
    assert not any(line.startswith("FAIL") for line in lines), result.stdout
    assert "from source at" in lines[0] and "Self-test passed" in result.stdout
    assert "platform 'offscreen'" in result.stdout


def test_a_failing_step_is_reported_with_its_reason_and_later_steps_still_run() -> None:
    def good(ctx: selftest.SelfTestContext) -> str:
        ctx.values["thing"] = 42
        return "made a thing"

    def broken_check(ctx: selftest.SelfTestContext) -> str:
        raise selftest.StepFailed("expected 3 boxes, saw 2")

    def crashing(ctx: selftest.SelfTestContext) -> str:
        raise OSError("disk on fire")

    def dependent(ctx: selftest.SelfTestContext) -> str:
        ctx.need("missing", "model")
        return "unreachable"

    def uses_thing(ctx: selftest.SelfTestContext) -> str:
        return f"thing is {ctx.need('thing', 'good')}"

    out = io.StringIO()
    ctx = selftest.SelfTestContext(workdir=Path("."))
    steps = (
        ("good", good),
        ("check", broken_check),
        ("crash", crashing),
        ("dependent", dependent),
        ("uses", uses_thing),
    )
    results = selftest.run_steps(steps, ctx, out)
    assert [r.passed for r in results] == [True, False, False, False, True]
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("PASS") and "made a thing" in lines[0]
    assert lines[1].startswith("FAIL") and "expected 3 boxes, saw 2" in lines[1]
    assert lines[2].startswith("FAIL") and "OSError: disk on fire" in lines[2]
    assert lines[3].startswith("FAIL") and "needs the 'model' step" in lines[3]
    assert lines[4].startswith("PASS") and "thing is 42" in lines[4]


def test_a_missing_module_fails_its_step_by_name() -> None:
    with pytest.raises(selftest.StepFailed, match="resnet_desktop.core.not_there"):
        selftest._import("resnet_desktop.core.not_there")


def test_model_step_uses_bundled_torchvision_weights_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle with weights/<torchvision file name> loads that file without any download."""
    from resnet_desktop.core.models import zoo

    info = zoo.get_weights_info("resnet18", "IMAGENET1K_V1")
    weights_dir = tmp_path / "bundle" / bundle.WEIGHTS_DIRNAME
    weights_dir.mkdir(parents=True)
    shipped = save_random_weights(weights_dir / Path(info.url).name, "resnet18", seed=3)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    monkeypatch.delenv("RESNET_DESKTOP_OFFLINE", raising=False)  # the step must force offline itself

    ctx = selftest.SelfTestContext(workdir=tmp_path)
    detail = selftest.step_model(ctx)

    loaded = ctx.values["loaded"]
    assert loaded.arch == "resnet18" and loaded.weights_name == "IMAGENET1K_V1"
    assert "[bundled]" in detail
    link = bundle.torch_hub_checkpoints_dir() / shipped.name
    assert link.is_symlink() and link.resolve() == shipped.resolve()
    assert "RESNET_DESKTOP_OFFLINE" not in os.environ  # restored


def test_model_step_rejects_bundled_weights_with_an_unknown_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights_dir = tmp_path / "bundle" / bundle.WEIGHTS_DIRNAME
    weights_dir.mkdir(parents=True)
    save_random_weights(weights_dir / "my-weights.pth", "resnet18")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    with pytest.raises(selftest.StepFailed, match="my-weights.pth"):
        selftest.step_model(selftest.SelfTestContext(workdir=tmp_path))


def test_seeding_never_replaces_an_existing_cache_entry(tmp_path: Path) -> None:
    shipped = tmp_path / "bundle" / "resnet18-f37072fd.pth"
    shipped.parent.mkdir()
    shipped.write_bytes(b"bundled")
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / shipped.name).write_bytes(b"the user's own download")

    assert bundle.seed_torch_hub_cache([shipped], checkpoints) == []
    assert (checkpoints / shipped.name).read_bytes() == b"the user's own download"

    other = tmp_path / "bundle" / "resnet34-b627a593.pth"
    other.write_bytes(b"bundled too")
    assert bundle.seed_torch_hub_cache([other], checkpoints) == [checkpoints / other.name]
    assert (checkpoints / other.name).read_bytes() == b"bundled too"


def test_hub_dir_matches_torch_without_importing_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    for env in ({"TORCH_HOME": str(tmp_path / "th")}, {"XDG_CACHE_HOME": str(tmp_path / "xdg")}):
        monkeypatch.delenv("TORCH_HOME", raising=False)
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert bundle.torch_hub_checkpoints_dir() == Path(torch.hub.get_dir()) / "checkpoints"


def test_tiny_dataset_has_the_classes_and_images_asked_for(tmp_path: Path) -> None:
    from PIL import Image

    root = selftest.make_tiny_dataset(tmp_path / "data", ("a", "b", "c"), per_class=2)
    assert sorted(p.name for p in root.iterdir()) == ["a", "b", "c"]
    for folder in root.iterdir():
        files = sorted(folder.iterdir())
        assert len(files) == 2
        with Image.open(files[0]) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
