"""``resnet-desktop library``: the commands, their refusals, and rules (XMP keywords and organize) that act
on new photos only, once each, and are undone through the journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resnet_desktop.cli import main
from resnet_desktop.core.library import xmp
from tests.core.library.photos import make_photos

RUN = ["--device", "cpu", "--threads", "1", "--batch-size", "4", "--priority", "normal"]


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _status(capsys: pytest.CaptureFixture[str], folder: Path) -> dict[str, object]:
    [status] = _json(capsys, "library", "status", str(folder), "--format", "json")  # type: ignore[misc]
    return status  # type: ignore[no-any-return]


def _add(folder: Path, weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["library", "add", str(folder), "--model", "resnet18", "--weights", str(weights)]) == 0
    capsys.readouterr()


def test_add_list_status_model_and_remove(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    make_photos(folder, 2, size=(64, 48))
    (folder / "a.dng").write_bytes(b"raw")
    added = _json(capsys, "library", "add", str(folder), "--weights", str(resnet18_weights), "--format", "json")
    assert added["path"] == str(folder) and added["model"] == str(resnet18_weights)  # type: ignore[index]
    assert added["rules"]["xmp"] is False and added["rules"]["organize"] is None  # type: ignore[index]  # off by default
    listed = _json(capsys, "library", "list", "--format", "json")
    assert [f["path"] for f in listed] == [str(folder)]  # type: ignore[union-attr]
    status = _status(capsys, folder)
    assert {k: status[k] for k in ("files", "indexed", "pending", "errors", "skipped", "offline")} == {
        "files": 2,
        "indexed": 0,
        "pending": 2,
        "errors": 0,
        "skipped": 1,
        "offline": False,
    }
    assert status["skipped_by_type"] == {"dng": 1}
    assert main(["library", "status"]) == 0
    table = capsys.readouterr().out
    assert "PENDING" in table and "skipped: 1 dng" in table
    assert main(["library", "model", str(folder), "--model", "resnet34", "--weights", "random"]) == 0
    assert "is indexed with resnet34:random from now on" in capsys.readouterr().out
    assert main(["library", "remove", str(folder)]) == 0
    assert "its photos were not touched" in capsys.readouterr().out
    assert folder.is_dir() and len(list(folder.iterdir())) == 3


def test_refusals_are_one_line_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["library", "add", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == f"resnet-desktop library: error: {tmp_path / 'nope'} does not exist"
    assert main(["library", "status", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not a library folder" in err and "Traceback" not in err
    (tmp_path / "p").mkdir()
    assert main(["library", "add", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    assert main(["library", "rules", str(tmp_path / "p"), "--organize", "copy"]) == 2
    assert "an organize rule needs a folder to organize into (--organize-into)" in capsys.readouterr().err
    assert main(["library", "undo", str(tmp_path / "p")]) == 2
    assert "have done nothing that is not undone yet" in capsys.readouterr().err


def test_an_xmp_rule_writes_keywords_for_new_photos_only_once_and_is_undone_by_the_journal(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    old = make_photos(folder, 3, size=(64, 48))
    _add(folder, resnet18_weights, capsys)
    assert main(["library", "scan", *RUN]) == 0  # classified before the rule exists
    capsys.readouterr()
    rules = _json(capsys, "library", "rules", str(folder), "--xmp", "--threshold", "0", "--format", "json")
    assert rules["rules"]["xmp"] is True  # type: ignore[index]
    new = make_photos(folder, 2, start=40, size=(64, 48))

    [result] = _json(capsys, "library", "scan", *RUN, "--format", "json")  # type: ignore[misc]
    assert result["new"] == 2 and result["rules"][0]["rule"] == "xmp" and result["rules"][0]["photos"] == 2
    journal = Path(result["rules"][0]["journal"])
    assert journal.is_file() and not journal.is_relative_to(folder)  # not among the photos
    assert not any(Path(f"{p}.xmp").exists() for p in old)  # photos from before the rule: untouched
    index = {r["path"]: r for r in _json(capsys, "classify", str(folder), "--weights", str(resnet18_weights),
                                         "--device", "cpu", "--format", "json")}  # type: ignore[union-attr]  # fmt: skip
    for photo in new:
        sidecar = Path(f"{photo}.xmp")
        keywords = xmp.read_keywords(sidecar.read_bytes(), sidecar)
        top1 = index[str(photo)]["predictions"][0]["label"]
        assert keywords.subject == (top1,) and keywords.hierarchical == (f"ResNet Desktop|{top1}",)
    written = {p: Path(f"{p}.xmp").stat().st_mtime_ns for p in new}

    new[0].rename(folder / "renamed.jpg")  # the same photo under another name: not new
    [again] = _json(capsys, "library", "scan", *RUN, "--format", "json")  # type: ignore[misc]
    assert again["new"] == 0 and again["rules"] == []
    assert Path(f"{new[1]}.xmp").stat().st_mtime_ns == written[new[1]]  # never touched twice
    assert not (folder / "renamed.jpg.xmp").exists()

    assert main(["library", "undo", str(folder)]) == 0
    assert f"Undid 2 of 2 operation(s) recorded in {journal}" in capsys.readouterr().out
    assert not any(p.name.endswith(".xmp") for p in folder.iterdir())
    [after_undo] = _json(capsys, "library", "scan", *RUN, "--format", "json")  # type: ignore[misc]
    assert after_undo["rules"] == []  # undone is not "new": the rule does not act again
    assert not any(p.name.endswith(".xmp") for p in folder.iterdir())


def test_an_organize_rule_moves_new_photos_into_class_folders_and_undo_brings_them_back(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, sorted_into = tmp_path / "incoming", tmp_path / "sorted"
    make_photos(folder, 1, size=(64, 48))
    _add(folder, resnet18_weights, capsys)
    assert main(["library", "scan", *RUN]) == 0
    args = ["library", "rules", str(folder), "--organize", "move", "--organize-into", str(sorted_into)]
    assert main([*args, "--threshold", "0"]) == 0
    assert f"move into {sorted_into}" in capsys.readouterr().out
    new = make_photos(folder, 2, start=60, size=(64, 48))
    [result] = _json(capsys, "library", "scan", *RUN, "--format", "json")  # type: ignore[misc]
    assert result["rules"][0]["photos"] == 2
    moved = sorted(p.name for p in sorted_into.rglob("*.jpg"))
    assert moved == sorted(p.name for p in new) and not any(p.exists() for p in new)
    assert (folder / "photo_000.jpg").exists()  # from before the rule: stays
    assert main(["library", "undo", str(folder)]) == 0
    assert all(p.exists() for p in new) and not list(sorted_into.rglob("*.jpg"))


def test_scan_runs_at_low_priority_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    niced: list[int] = []
    monkeypatch.setattr(os, "nice", lambda increment: niced.append(increment) or increment)  # the OS's edge
    assert main(["library", "scan"]) == 0  # no folders: nothing to do, but the priority is lowered first
    assert niced == [10]
    assert main(["library", "scan", "--priority", "normal"]) == 0
    assert niced == [10]
    capsys.readouterr()


def test_the_systemd_unit_runs_a_command_line_that_parses() -> None:
    from resnet_desktop.cli import build_parser
    from tests.helpers import REPO_ROOT

    unit = (REPO_ROOT / "packaging" / "systemd" / "resnet-desktop-library.service").read_text()
    [exec_start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    argv = exec_start.split()[1:]
    args = build_parser().parse_args(argv)
    assert (args.command, args.library_command, args.priority, args.threads) == ("library", "watch", "normal", 1)
    assert "Nice=10" in unit.splitlines() and "KillSignal=SIGTERM" in unit.splitlines()
