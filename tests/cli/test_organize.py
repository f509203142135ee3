"""``resnet-desktop organize``: dry run, apply, resume after kill -9, undo, XMP, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_desktop.cli import main
from resnet_desktop.core.inference.records import to_dict
from resnet_desktop.core.library import journal
from tests.core.library.tree import assert_each_once, assert_restored, make_tree, predict
from tests.helpers import REPO_ROOT


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict[Path, str], Path]:
    """A photo tree and a results file for it (as ``classify --format json`` writes)."""
    root = tmp_path / "photos"
    photos = make_tree(root, 16)
    results = tmp_path / "results.json"
    results.write_text(json.dumps([to_dict(p) for p in predict(list(photos), ("cat", "dog", "../evil"))]))
    return root, photos, results


def _journal(tmp_path: Path) -> Path:
    found = journal.find_journals(tmp_path)
    assert len(found) == 1
    return found[0]


def test_dry_run_prints_the_plan_and_touches_nothing(tree, tmp_path: Path, capsys) -> None:
    root, photos, results = tree
    dest = tmp_path / "sorted"
    assert main(["organize", str(root), "--results", str(results), "--into", str(dest), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Plan: copy 16 photos" in out and "nothing done yet" in out
    assert "___evil/" in out and "_uncertain/" in out
    assert not dest.exists() and not journal.find_journals(tmp_path)
    main(["organize", str(root), "--results", str(results), "--into", str(dest), "--dry-run", "--format", "json"])
    plan = json.loads(capsys.readouterr().out)
    assert plan["folders"]["../evil"] == "___evil" and sum(plan["counts"].values()) == 16
    assert {op["action"] for op in plan["operations"]} == {"copy"}
    assert_restored(photos)


def test_apply_and_undo_from_a_results_file(tree, tmp_path: Path, capsys) -> None:
    root, photos, results = tree
    dest = tmp_path / "sorted"
    code = main(["organize", str(root), "--results", str(results), "--into", str(dest), "--mode", "move", "--flat"])
    assert code == 0
    err = capsys.readouterr().err
    assert "Done: 16 of 16 operations (0 failed)" in err and "--undo" in err
    assert_each_once(photos, root, dest)
    assert all(p.parent.parent == dest for p in dest.rglob("*.jpg"))  # flat
    assert main(["organize", "--undo", str(_journal(tmp_path))]) == 0
    assert "Undid 16 of 16 operations (0 refused)" in capsys.readouterr().err
    assert_restored(photos)
    assert not dest.exists()


def test_threshold_from_an_evaluation_report(tree, tmp_path: Path, capsys) -> None:
    root, _photos, results = tree
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"suggested_threshold": 0.95, "accuracy": 0.5}))
    args = ["organize", str(root), "--results", str(results), "--into", str(tmp_path / "d"), "--dry-run"]
    assert main([*args, "--threshold-from", str(report), "--format", "json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["counts"]) == {"_uncertain"}
    report.write_text(json.dumps({"accuracy": 0.5}))
    assert main([*args, "--threshold-from", str(report)]) == 2
    assert "has no suggested_threshold; give a threshold instead" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "move", "--topk", "2"], "moving puts each photo in one folder"),
        (["--results", "{missing}"], "Cannot read the results file"),
    ],
)
def test_bad_options_are_one_line_errors(tree, tmp_path: Path, capsys, args: list[str], message: str) -> None:
    root, _photos, results = tree
    args = [a.replace("{missing}", str(tmp_path / "nope.json")) for a in args]
    base = ["organize", str(root), "--into", str(tmp_path / "d")]
    if "--results" not in args:
        base += ["--results", str(results)]
    assert main(base + args) == 2
    err = capsys.readouterr().err
    assert err.startswith("resnet-desktop organize: error: ") and message in err


def test_a_damaged_journal_is_refused(tmp_path: Path, capsys) -> None:
    bogus = tmp_path / "j.jsonl"
    bogus.write_text("not json\n")
    assert main(["organize", "--undo", str(bogus)]) == 2
    assert "line 1: not a journal line; the journal is damaged" in capsys.readouterr().err
    bogus.write_text('{"type": "header", "format": "something else"}\n')
    assert main(["organize", "--resume", str(bogus)]) == 2
    assert "is not a ResNet Desktop organize journal" in capsys.readouterr().err


def _run_until_paused(args: list[str], pause: str) -> None:
    """Run organize in a subprocess, wait until it pauses at ``pause`` (``done:N``/``started:N``), kill -9."""
    env = {**os.environ, "RESNET_DESKTOP_ORGANIZE_PAUSE": pause, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "resnet_desktop", "organize", *args],
        cwd=REPO_ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("organize paused at"):
                break
        else:
            pytest.fail(f"organize ended (code {proc.wait()}) without pausing at {pause}")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("pause", ["done:5", "started:7"])
@pytest.mark.parametrize("then", ["--resume", "--undo"])
def test_kill_9_in_the_middle_of_a_move_then_resume_or_undo(tree, tmp_path: Path, pause: str, then: str) -> None:
    root, photos, results = tree
    dest = tmp_path / "sorted"
    _run_until_paused([str(root), "--results", str(results), "--into", str(dest), "--mode", "move"], pause)
    path = _journal(tmp_path)
    state = journal.read(path)
    assert state.started and not state.complete  # killed halfway
    if pause.startswith("done"):
        assert len(state.done) == 5
    assert_each_once(photos, root, dest)  # at every moment each photo is in exactly one place
    assert main(["organize", then, str(path)]) == 0
    assert_each_once(photos, root, dest)
    if then == "--resume":
        assert journal.read(path).complete
        assert not any(p.is_file() for p in root.rglob("*"))
    else:
        assert_restored(photos)
        assert not dest.exists()


def test_xmp_keywords_from_the_cli_and_their_undo(tree, tmp_path: Path, capsys) -> None:
    root, photos, results = tree
    dest = tmp_path / "sorted"
    args = ["organize", str(root), "--results", str(results), "--into", str(dest)]
    assert main([*args, "--xmp", "--xmp-naming", "both"]) == 0
    first = sorted(photos)[0]
    assert Path(f"{first}.xmp").is_file() and first.with_suffix(".xmp").is_file()
    assert b"ResNet Desktop|cat" in Path(f"{first}.xmp").read_bytes()
    assert main(["organize", "--undo", str(_journal(tmp_path))]) == 0
    assert not list(root.rglob("*.xmp"))
    assert_restored(photos)


def test_fresh_classification_with_the_model_options(tmp_path: Path, resnet18_weights: Path, capsys) -> None:
    from tests.badfiles import make_good_images

    folder = tmp_path / "new"
    made = make_good_images(folder, n=4)
    (folder / "broken.jpg").write_bytes(b"not a photo")
    dest = folder / "sorted"  # inside the folder being classified: skipped when walking
    args = ["organize", str(folder), "--into", str(dest), "--model", "resnet18", "--weights", str(resnet18_weights)]
    assert main([*args, "--threshold", "0", "--topk", "2", "--mode", "symlink"]) == 1  # broken.jpg is listed
    err = capsys.readouterr().err
    assert "left alone: " in err and "broken.jpg" in err
    links = sorted(p for p in dest.rglob("*") if p.is_symlink())
    assert len(links) == 2 * len(made) and {Path(os.readlink(p)) for p in links} == set(made)
    assert "_uncertain" not in {p.parent.name for p in links}


def test_classes_and_files_can_be_left_out(tree, tmp_path: Path, capsys) -> None:
    root, photos, results = tree
    keep_out = sorted(photos)[0]
    args = ["organize", str(root), "--results", str(results), "--into", str(tmp_path / "d"), "--dry-run"]
    assert main([*args, "--format", "json", "--exclude-class", "../evil", "--exclude-class", "_uncertain"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert set(plan["counts"]) == {"cat", "dog"}
    assert main([*args, "--format", "json", "--exclude", str(keep_out)]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert str(keep_out) not in {op["source"] for op in plan["operations"]}
    assert {"path": str(keep_out), "reason": "excluded"} in plan["skipped"]


def test_organize_takes_known_photos_from_the_index_and_runs_the_chosen_backend(
    tmp_path: Path, resnet18_weights: Path, capsys
) -> None:
    """The front doors: organize classifies through the library index like classify (and with its engine options)."""
    from tests.badfiles import make_good_images

    folder = tmp_path / "new"
    make_good_images(folder, n=3)
    model = ["--model", "resnet18", "--weights", str(resnet18_weights)]
    assert main(["classify", str(folder), *model, "--format", "json"]) == 0
    capsys.readouterr()
    dest = tmp_path / "sorted"
    args = ["organize", str(folder), "--into", str(dest), *model, "--threshold", "0", "--dry-run"]
    assert main([*args, "--backend", "onnxruntime"]) == 0
    err = capsys.readouterr().err
    assert "(onnxruntime, fp32)" in err  # the engine option reached the engine
    assert "From the library index: 3; newly classified: 0." in err
