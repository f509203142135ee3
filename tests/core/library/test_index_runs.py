"""Runs against one index from several processes: a killed run resumes, two runs at once do not corrupt it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resnet_desktop.cli import main
from resnet_desktop.core.library.incremental import PAUSE_ENV
from resnet_desktop.core.library.index import LibraryIndex
from tests.core.library.photos import make_photos
from tests.helpers import REPO_ROOT


def _command(folder: Path, weights: Path, *extra: str) -> list[str]:
    return [
        "classify",
        str(folder),
        "--model",
        "resnet18",
        "--weights",
        str(weights),
        "--device",
        "cpu",
        "--batch-size",
        "2",
        "--threads",
        "1",
        "--format",
        "json",
        *extra,
    ]


def _results(index_file: Path) -> int:
    if not index_file.exists():
        return 0
    db = sqlite3.connect(f"file:{index_file}?mode=ro", uri=True, timeout=10)
    try:
        return int(db.execute("SELECT count(*) FROM results").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created yet
    finally:
        db.close()


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "resnet_desktop", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_run_killed_after_three_batches_resumes_with_only_the_rest(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "photos"
    make_photos(folder, 10, size=(96, 72))
    index_file = tmp_path / "index.sqlite3"
    monkeypatch.setenv("RESNET_DESKTOP_INDEX", str(index_file))
    child = _spawn(_command(folder, resnet18_weights), {**os.environ, PAUSE_ENV: "3"})
    try:
        _wait_for(lambda: _results(index_file) >= 6 or child.poll() is not None, timeout=180)
        assert child.poll() is None, child.communicate()[1]
        time.sleep(0.3)  # it stands still after its third commit; nothing more arrives
        assert _results(index_file) == 6
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL

    assert main(_command(folder, resnet18_weights)) == 0
    resumed_out, err = capsys.readouterr()
    assert "From the library index: 6; newly classified: 4." in err  # only the remaining files
    assert main(_command(folder, resnet18_weights, "--no-index")) == 0
    reference_out, _err = capsys.readouterr()
    resumed, reference = json.loads(resumed_out), json.loads(reference_out)
    assert [r["path"] for r in resumed] == [r["path"] for r in reference]
    for a, b in zip(resumed, reference, strict=True):
        assert [p["label"] for p in a["predictions"]] == [p["label"] for p in b["predictions"]]
        for p, q in zip(a["predictions"], b["predictions"], strict=True):
            assert p["probability"] == pytest.approx(q["probability"], abs=1e-5)
    with LibraryIndex(index_file) as index:
        assert index.integrity() == "ok"
        assert index.info().results == 10


def test_two_processes_writing_one_index_at_once_do_not_corrupt_it(tmp_path: Path, resnet18_weights: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    make_photos(first, 4, size=(96, 72))
    make_photos(second, 4, start=100, size=(96, 72))
    index_file = tmp_path / "index.sqlite3"
    env = {**os.environ, "RESNET_DESKTOP_INDEX": str(index_file)}
    runs = [
        _spawn(_command(first, resnet18_weights, "--batch-size", "1"), env),
        _spawn(_command(second, resnet18_weights, "--batch-size", "1"), env),
    ]
    for run in runs:
        out, err = run.communicate(timeout=240)
        assert run.returncode == 0, err
        assert "Traceback" not in err and "warning" not in err
        assert len(json.loads(out)) == 4
    with LibraryIndex(index_file) as index:
        assert index.integrity() == "ok"
        info = index.info()
        assert (info.files, info.results, info.embeddings, info.models) == (8, 8, 8, 1)
        [(model_id, _description)] = index.models()
        seqs = [seq for _id, seq, _v in index.embeddings_since(model_id, 0)]
        assert sorted(seqs) == list(range(1, 9))  # every write got its own sequence number
