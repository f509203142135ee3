"""Fine-tuned model save: both files or a clear 'incomplete', no stale temps, normal permissions."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from resnet_desktop.core import atomic
from resnet_desktop.core.errors import IncompleteModelError, OutputError
from resnet_desktop.core.models import modelfile, zoo

CLASSES = ["cat", "dog"]


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return zoo.build_model("resnet18", len(CLASSES)).eval()


def _meta() -> modelfile.ModelFileMeta:
    pre = zoo.Preprocessing(resize_size=160, crop_size=128, mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.2))
    return modelfile.ModelFileMeta(arch="resnet18", class_names=list(CLASSES), preprocessing=pre.to_dict())


def test_weights_without_their_sidecar_are_reported_incomplete(tmp_path: Path) -> None:
    path = modelfile.save_model_file(tmp_path / "m.safetensors", _model(), _meta())
    modelfile.sidecar_path(path).unlink()  # what a kill between the two renames used to leave
    with pytest.raises(IncompleteModelError, match=r"incomplete \(model description missing: m\.json"):
        zoo.load_model("resnet18", path)


def test_a_plain_safetensors_state_dict_still_loads_without_a_sidecar(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "plain.safetensors"
    save_file({k: v.contiguous() for k, v in _model().state_dict().items()}, str(path))
    loaded = zoo.load_model("resnet18", path)
    assert loaded.categories == ["class 0", "class 1"]


def test_failure_while_publishing_the_sidecar_leaves_neither_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_publish = atomic.AtomicFile._publish

    def publish(self: atomic.AtomicFile) -> None:
        if self.target.suffix == ".json":
            raise OSError(28, "No space left on device")
        real_publish(self)

    monkeypatch.setattr(atomic.AtomicFile, "_publish", publish)
    with pytest.raises(OutputError, match="the disk is full"):
        modelfile.save_model_file(tmp_path / "m.safetensors", _model(), _meta())
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_stale_temps_of_a_killed_save_are_cleaned_and_live_ones_kept(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(done.stdout)  # that process has exited
    dead = tmp_path / f".m.safetensors.{dead_pid}-0a1b2c3d.partial"
    live = tmp_path / f".m.safetensors.{os.getppid()}-0a1b2c3d.partial"  # our parent is alive
    old = tmp_path / ".m.json.deadbeef.partial"  # an older writer's name: judged by age
    recent = tmp_path / ".m.json.feedf00d.partial"
    other = tmp_path / ".photo.jpg.deadbeef.partial"
    for path in (dead, live, old, recent, other):
        path.write_bytes(b"half a file")
    long_ago = time.time() - 3 * 24 * 3600
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    modelfile.save_model_file(tmp_path / "m.safetensors", _model(), _meta())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["m.safetensors", "m.json", live.name, recent.name, other.name])


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_saved_files_honour_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        path = modelfile.save_model_file(tmp_path / "m.safetensors", _model(), _meta())
    finally:
        os.umask(previous)
    for written in (path, modelfile.sidecar_path(path)):
        assert stat.S_IMODE(written.stat().st_mode) == 0o644
