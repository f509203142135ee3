"""Matching subfolders to classes: WordNet IDs, names, a mapping file; the rest listed, never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnet_desktop.core.errors import DatasetError
from resnet_desktop.core.evaluate import labels


@pytest.fixture(scope="module")
def imagenet() -> list[str]:
    from resnet_desktop.core.models.zoo import get_weights_info

    return list(get_weights_info("resnet50", "IMAGENET1K_V1").categories)


def test_the_shipped_wordnet_ids_line_up_with_torchvision(imagenet: list[str]) -> None:
    wnids = labels.imagenet_wnids()
    assert len(wnids) == len(set(wnids)) == 1000
    assert list(wnids) == sorted(wnids)  # the devkit's order is the sorted one
    for index, wnid, name in (
        (0, "n01440764", "tench"),
        (281, "n02123045", "tabby"),
        (999, "n15075141", "toilet tissue"),
    ):
        assert wnids[index] == wnid and imagenet[index] == name


def test_folders_match_by_wordnet_id_and_by_name(imagenet: list[str]) -> None:
    folders = ["n02123045", "Great_White  shark", "TENCH", "shih_tzu", "n99999999", "cardigan", "my holiday", "tabbby"]
    result = labels.match_folders(folders, imagenet, imagenet=True)
    found = {f.folder: (f.index, f.how) for f in result.folders}
    assert found["n02123045"] == (281, "wnid")
    assert found["Great_White  shark"] == (imagenet.index("great white shark"), "name")
    assert found["TENCH"] == (0, "name")
    assert found["shih_tzu"] == (imagenet.index("Shih-Tzu"), "name")
    reasons = {f.folder: f.reason for f in result.unmatched}
    assert set(reasons) == {"n99999999", "cardigan", "my holiday", "tabbby"}
    assert "not one of the 1000 ImageNet classes" in reasons["n99999999"]
    # "Cardigan" (the corgi) and "cardigan" (the sweater): ambiguous, so both are offered, none is taken.
    assert "several classes" in reasons["cardigan"] and "n02113186" in reasons["cardigan"]
    assert reasons["my holiday"] == "matches no class of this model"
    assert "'tabby'" in reasons["tabbby"]  # a hint, not a match


def test_wordnet_ids_only_count_for_imagenet_models() -> None:
    result = labels.match_folders(["n02123045", "Dogs"], ["cats", "dogs"])
    assert result.index_of("n02123045") is None and result.index_of("Dogs") == 1


def test_a_mapping_file_wins_and_takes_names_ids_and_indices(tmp_path: Path, imagenet: list[str]) -> None:
    csv = tmp_path / "mapping.csv"
    csv.write_text(
        "\ufefffolder,class\n# my folders\nkittens, tabby\nsweaters,n02963159\n\n"
        "dogs,207\ntench,goldfish\ngone,tabby\n",
        encoding="utf-8",
    )
    mapping = labels.read_mapping(csv)
    assert mapping == {"kittens": "tabby", "sweaters": "n02963159", "dogs": "207", "tench": "goldfish", "gone": "tabby"}
    result = labels.match_folders(["kittens", "sweaters", "dogs", "tench"], imagenet, imagenet=True, mapping=mapping)
    assert [(f.index, f.how) for f in result.folders] == [
        (281, "mapping"),
        (imagenet.index("cardigan"), "mapping"),
        (207, "mapping"),
        (1, "mapping"),  # the mapping overrides the folder's own name
    ]
    assert result.notes == ["The mapping names a folder 'gone' that is not in the labeled folder."]


def test_a_mapping_to_nothing_is_unmatched_with_the_reason(imagenet: list[str]) -> None:
    result = labels.match_folders(["cats"], imagenet, imagenet=True, mapping={"cats": "housecat"})
    (entry,) = result.unmatched
    assert entry.reason.startswith("the mapping says 'housecat', but matches no class")
    result = labels.match_folders(["cats"], ["a", "b"], mapping={"cats": "5"})
    assert "class 5 does not exist (this model has 2 classes)" in result.unmatched[0].reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cats\n", "line 1: expected two columns"),
        ("folder,class\ncats,tabby,extra\n", "line 2: expected two columns"),
        ("cats,tabby\ncats,tiger cat\n", "line 2: folder 'cats' is mapped twice"),
        ("# nothing\n", "has no folder,class rows"),
    ],
)
def test_bad_mapping_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        labels.read_mapping(path)


def test_missing_and_binary_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        labels.read_mapping(tmp_path / "nope.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DatasetError, match="not UTF-8"):
        labels.read_mapping(tmp_path / "bin.csv")
