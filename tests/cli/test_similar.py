"""``resnet-desktop similar`` and ``duplicates``: near-duplicates grouped with their originals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resnet_desktop.cli import main
from tests.core.library.photos import make_photos, near_copies

#: Seeded random resnet18 embeddings of these generated photos: copies >= 0.9985 cosine to their
#: original, distinct photos <= 0.9967 (measured); random weights put everything close together.
RANDOM_WEIGHTS_THRESHOLD = "0.998"


def _model(weights: Path) -> list[str]:
    return ["--model", "resnet18", "--weights", str(weights), "--device", "cpu", "--batch-size", "8"]


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, list[Path], dict[Path, list[Path]]]:
    folder = tmp_path / "library"
    originals = make_photos(folder, 8)
    copies = {original: near_copies(original, folder / "copies") for original in originals[:3]}
    return folder, originals, copies


def test_duplicates_groups_resized_recompressed_and_cropped_copies_with_their_originals(
    library: tuple[Path, list[Path], dict[Path, list[Path]]], resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _originals, copies = library
    args = ["duplicates", str(folder), *_model(resnet18_weights), "--threshold", RANDOM_WEIGHTS_THRESHOLD]
    assert main([*args, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    groups = [sorted(Path(item["path"]) for item in group) for group in json.loads(out)]
    expected = [sorted([original, *copied]) for original, copied in copies.items()]
    assert sorted(groups) == sorted(expected)  # every copy with its original, no distinct photo joined
    assert "3 group(s) of near-duplicates among 17 photos (12 photos)." in err
    assert "Indexed 17 new photo(s)" in err

    assert main(args) == 0  # the second time everything comes from the index
    out, err = capsys.readouterr()
    assert "Indexed" not in err
    assert out.count("Group ") == 3


def test_similar_lists_the_copies_first_with_scores(
    library: tuple[Path, list[Path], dict[Path, list[Path]]], resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, originals, copies = library
    photo = originals[1]
    args = ["similar", str(photo), "--in", str(folder), "-k", "5", *_model(resnet18_weights), "--format", "json"]
    assert main(args) == 0
    out, _err = capsys.readouterr()
    found = json.loads(out)
    assert len(found) == 5
    assert str(photo) not in [item["path"] for item in found]  # not itself
    assert {Path(item["path"]) for item in found[:3]} == set(copies[photo])
    scores = [item["score"] for item in found]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0 for s in scores)

    assert main(["similar", str(photo), "-k", "2", *_model(resnet18_weights)]) == 0  # whole index, table
    out, _err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"Most similar to {photo}:"
    assert len(lines) == 3 and all("_" in line and "copies" in line for line in lines[1:])


def test_similar_with_an_unreadable_photo_is_a_clear_error(
    tmp_path: Path, resnet18_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    assert main(["similar", str(bad), *_model(resnet18_weights)]) == 1
    _out, err = capsys.readouterr()
    assert f"resnet-desktop similar: error: {bad}" in err
    assert "Traceback" not in err


def test_duplicates_rejects_a_bad_threshold(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["duplicates", str(tmp_path), "--threshold", "1.5"])
    assert stop.value.code == 2
    assert "expected a number between 0 and 1" in capsys.readouterr().err
