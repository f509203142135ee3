"""Labels are user data: they survive clearing, pruning and a damaged index; a process killed during
an import or a refit loses no saved label; two processes labeling at once lose nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from resnet_desktop.core.errors import TeachError
from resnet_desktop.core.library.index import LibraryIndex
from resnet_desktop.core.models.ref import ModelRef
from resnet_desktop.core.teach import api
from resnet_desktop.core.teach.importing import PAUSE_ENV
from resnet_desktop.core.teach.session import REFIT_PAUSE_ENV
from resnet_desktop.core.work import drive
from tests.core.teach.conftest import Teaching
from tests.helpers import REPO_ROOT

WAIT_S = 120


def _count(store_path: Path, set_name: str) -> int:
    db = sqlite3.connect(store_path, timeout=30)
    try:
        row = db.execute(
            "SELECT count(*) FROM labels l JOIN label_sets s ON s.id = l.set_id WHERE s.name = ?", (set_name,)
        ).fetchone()
        return int(row[0])
    except sqlite3.OperationalError:  # the table is not there yet
        return 0
    finally:
        db.close()


def _env(store: Path, index: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, RESNET_DESKTOP_USER_STORE=str(store), RESNET_DESKTOP_INDEX=str(index), **extra)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _wait_for(condition: Callable[[], bool], child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if child.poll() is not None:
            raise AssertionError(f"the child ended first: {child.stderr.read().decode() if child.stderr else ''}")
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError("the child never got there")
        time.sleep(0.2)


def _integrity(store_path: Path) -> str:
    db = sqlite3.connect(store_path)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def test_labels_survive_clearing_pruning_and_a_damaged_index(teaching: Teaching, tmp_path: Path) -> None:
    t = teaching
    drive(api.import_labels(t.store, t.world.train, "digits", index=t.index))
    api.create_set(t.store, "empty", classes=["a", "b"])
    t.index.clear()
    assert len(api.labels_of(t.store, "digits")) == 100
    t.index.forget(t.world.train)  # an unmounted drive's folder pruned from the index
    assert len(api.labels_of(t.store, "digits")) == 100
    index_path = t.index.path
    t.index.close()
    index_path.write_bytes(b"this is not a database" * 100)
    with LibraryIndex(index_path) as fresh:
        assert any("was damaged" in n and "moved aside" in n for n in fresh.notices)
        assert [s.labels for s in api.list_sets(t.store)] == [100, 0]
        report = drive(api.teach(t.store, fresh, "digits", base=ModelRef(file=t.world.model)))
        assert report.embeddings.computed == 100  # the index was new: the labeled photos were embedded again
        assert report.fit.held_out_accuracy is not None and report.fit.held_out_accuracy >= 0.7
    t.index = LibraryIndex(index_path)  # for the fixture to close


def test_a_damaged_store_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "library-user.sqlite3"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(TeachError, match="is damaged .* it was left untouched"):
        api.open_store(path)
    assert path.read_bytes() == b"garbage" * 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["library-user.sqlite3"]


def _tiny_tree(root: Path, per_class: int) -> None:
    from PIL import Image

    for name in ("red", "blue"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            colour = (i % 256, i // 256, 255 if name == "red" else 0)
            Image.new("RGB", (2, 2), colour).save(root / name / f"{i:04d}.png")


def test_kill_9_during_a_label_import_keeps_every_saved_label(teaching: Teaching, tmp_path: Path) -> None:
    t = teaching
    drive(api.import_labels(t.store, t.world.train, "digits"))
    big = tmp_path / "big"
    _tiny_tree(big, 600)  # 1,200 photos: 3 batches of 500
    store_path, index_path = t.store.path, t.index.path
    child = subprocess.Popen(
        [sys.executable, "-m", "resnet_desktop", "labels", "import", str(big), "--set", "big"],
        env=_env(store_path, index_path, **{PAUSE_ENV: "2"}),
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: _count(store_path, "big") >= 1000, child)
        time.sleep(0.5)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert _integrity(store_path) == "ok"
    assert _count(store_path, "big") == 1000  # two whole batches, nothing half-written
    assert len(api.labels_of(t.store, "digits")) == 100  # what was there before is untouched
    report = drive(api.import_labels(t.store, big, "big"))  # running it again finishes the job
    assert (report.added, report.unchanged) == (200, 1000)


def test_kill_9_during_a_refit_keeps_every_label_and_writes_no_version(teaching: Teaching, tmp_path: Path) -> None:
    t = teaching
    drive(api.import_labels(t.store, t.world.train, "digits"))
    store_path, index_path = t.store.path, t.index.path
    output = tmp_path / "v.safetensors"
    child = subprocess.Popen(
        [sys.executable, "-m", "resnet_desktop", "teach", "--model", str(t.world.model), "--output", str(output)],
        env=_env(store_path, index_path, **{REFIT_PAUSE_ENV: "1"}),
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: child.stderr is not None and child.poll() is None and _has_regularisation(store_path), child)
        time.sleep(1.0)  # inside the refit now (the regularisation is stored just before it)
        extra = sorted(p for p, n in t.world.pool_labels.items() if n == "four")
        api.label_photos(t.store, "digits", extra, "four")  # the refit holds no lock: labeling goes on
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert _integrity(store_path) == "ok"
    assert len(api.labels_of(t.store, "digits")) == 106
    assert api.list_versions(t.store, "digits") == [] and not output.exists()


def _has_regularisation(store_path: Path) -> bool:
    db = sqlite3.connect(store_path, timeout=30)
    try:
        row = db.execute("SELECT regularisation FROM label_sets").fetchone()
        return row is not None and row[0] is not None
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()


LABEL_ONE_BY_ONE = """
import sys
from pathlib import Path
from resnet_desktop.core.teach import api
store = api.open_store()
for line in sys.argv[2:]:
    path, name = line.rsplit("=", 1)
    api.label_photos(store, sys.argv[1], [Path(path)], name)
store.close()
"""


def test_two_processes_labeling_at_once_lose_nothing(teaching: Teaching) -> None:
    t = teaching
    api.create_set(t.store, "digits", classes=sorted(set(t.world.train_labels.values())))
    store_path, index_path = t.store.path, t.index.path
    jobs = [t.world.train_labels, t.world.pool_labels]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", LABEL_ONE_BY_ONE, "digits", *(f"{p}={n}" for p, n in sorted(labels.items()))],
            env=_env(store_path, index_path),
            stderr=subprocess.PIPE,
        )
        for labels in jobs
    ]
    for child in children:
        _out, err = child.communicate(timeout=WAIT_S)
        assert child.returncode == 0, err.decode()
    got = {(label.path, label.class_name) for label in api.labels_of(t.store, "digits")}
    assert got == {(p, n) for labels in jobs for p, n in labels.items()}
    assert len(got) == 160
